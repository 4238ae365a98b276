package importer

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"importer/internal/input"
)

// Progress reporting cadence.
const (
	barRefresh    = 200 * time.Millisecond // a terminal bar never renders more often than this
	logInterval   = 10 * time.Second       // a log line at least this often off a terminal
	logEveryShare = 10                     // ... and at every 10% of the file
)

// counters are the live counts the pipeline publishes.
type counters struct {
	done, ok, bad *atomic.Int64
}

// bytesSource is the part of input.File progress needs.
type bytesSource interface {
	BytesRead() int64
	Size() int64
}

var _ bytesSource = (*input.File)(nil)

// progress shows how far the run is: a bar on a terminal, calm log lines
// otherwise (cron mails and log collectors get no carriage returns).
type progress struct {
	quit chan struct{}
	wg   sync.WaitGroup
	once sync.Once
	bar  *progressbar.ProgressBar
}

// newProgress starts the reporter chosen by --progress: auto picks the bar
// only when stderr is a terminal. progressbar does no terminal detection of
// its own and would fsync a log file on every frame, so it is never handed a
// non-terminal.
func newProgress(o *Options, src bytesSource, c *counters, log *slog.Logger) *progress {
	p := &progress{quit: make(chan struct{})}
	mode := o.Progress
	if mode == "" || mode == "auto" {
		mode = "log"
		if isTTY(o, o.stderr()) {
			mode = "bar"
		}
	}
	switch mode {
	case "bar":
		p.bar = progressbar.NewOptions64(src.Size(),
			progressbar.OptionSetWriter(o.stderr()),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(barRefresh),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish(),
		)
		p.wg.Go(func() { p.runBar(src, c) })
	case "log":
		p.wg.Go(func() { p.runLog(src, c, log) })
	}
	return p
}

func isTTY(o *Options, w io.Writer) bool {
	if o.IsTTY != nil {
		return o.IsTTY(w)
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (p *progress) runBar(src bytesSource, c *counters) {
	t := time.NewTicker(barRefresh)
	defer t.Stop()
	start := time.Now()
	for {
		select {
		case <-p.quit:
			_ = p.bar.Finish()
			return
		case <-t.C:
			el := time.Since(start).Seconds()
			p.bar.Describe(fmt.Sprintf("%d rows %.0f/s ok %d bad %d",
				c.done.Load(), float64(c.done.Load())/max(el, 0.001), c.ok.Load(), c.bad.Load()))
			_ = p.bar.Set64(src.BytesRead())
		}
	}
}

func (p *progress) runLog(src bytesSource, c *counters, log *slog.Logger) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	start := time.Now()
	last := start
	lastShare := int64(0)
	size := src.Size()
	for {
		select {
		case <-p.quit:
			return
		case now := <-t.C:
			share := int64(-1)
			if size > 0 {
				share = src.BytesRead() * 100 / size
			}
			if now.Sub(last) < logInterval && (share < 0 || share/logEveryShare <= lastShare/logEveryShare) {
				continue
			}
			last, lastShare = now, share
			el := now.Sub(start).Seconds()
			args := []any{"rows", c.done.Load(), "ok", c.ok.Load(), "bad", c.bad.Load(),
				"rows_per_second", int64(float64(c.done.Load()) / max(el, 0.001))}
			if share >= 0 {
				args = append(args, "percent", share)
			}
			log.Info("progress", args...)
		}
	}
}

// stop ends the reporter; safe to call more than once.
func (p *progress) stop() {
	p.once.Do(func() {
		close(p.quit)
		p.wg.Wait()
	})
}
