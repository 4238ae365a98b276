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
	done, ok, bad *atomic.Int64 // rows finished (journal lines), and of them ok / not ok
	read          *atomic.Int64 // rows read, skipped ones too
	passed        *atomic.Int64 // rows read that this run will not finish: skipped, other shards
	eof           *atomic.Bool  // the reader reached the end: the total is known
}

// bytesSource is the part of input.File progress needs.
type bytesSource interface {
	BytesRead() int64
	Size() int64
}

var _ bytesSource = (*input.File)(nil)

// estimate is how far a run is, in rows.
type estimate struct {
	done  int64 // rows finished
	total int64 // rows this run will finish: exact once the input was read, estimated before; -1 unknown
	exact bool
}

// estimateRows says how many rows the run will finish. Once the reader
// reached the end the count is exact (rows read less those this run
// passes over); before, rows read so far are scaled by the share of the
// input's bytes read. Off a file of unknown size there is no estimate.
func estimateRows(done, read, passed, bytesRead, size int64, eof bool) estimate {
	e := estimate{done: done, total: -1}
	mine := read - passed
	switch {
	case eof:
		e.total, e.exact = mine, true
	case size > 0 && bytesRead > 0:
		e.total = int64(float64(mine) * float64(size) / float64(bytesRead))
	}
	if e.total >= 0 && e.total < done {
		e.total = done
	}
	return e
}

// eta is the time left at the rate so far; 0 when it cannot be told.
func (e estimate) eta(elapsed time.Duration) time.Duration {
	if e.total <= 0 || e.done <= 0 || elapsed <= 0 {
		return 0
	}
	rate := float64(e.done) / elapsed.Seconds()
	return time.Duration(float64(e.total-e.done) / rate * float64(time.Second)).Round(time.Second)
}

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
		p.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(o.stderr()),
			progressbar.OptionSetWidth(30),
			// Our ticker decides when to render; a throttle of exactly
			// barRefresh would drop the ticks that come a little early.
			progressbar.OptionThrottle(barRefresh/2),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("rows"),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish(),
			// Zero turns off the library's own spinner goroutine for a bar
			// of unknown length: it reads the bar's state without the lock
			// (a data race with our updates) and outlives a bar that is never
			// finished. Our ticker renders often enough.
			progressbar.OptionSetSpinnerChangeInterval(0),
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

// runBar shows rows finished against the rows the run will finish (an
// estimate until the reader reaches the end), with the rate and the time
// left. Bytes read would reach 100% long before a slow API has the rows.
func (p *progress) runBar(src bytesSource, c *counters) {
	t := time.NewTicker(barRefresh)
	defer t.Stop()
	max := int64(-1)
	for {
		select {
		case <-p.quit:
			_ = p.bar.Finish()
			return
		case <-t.C:
			e := c.estimate(src)
			if e.total != max && e.total >= 0 {
				max = e.total
				p.bar.ChangeMax64(max)
			}
			word := "about "
			if e.exact {
				word = ""
			}
			p.bar.Describe(fmt.Sprintf("ok %d, bad %d of %s%s rows", c.ok.Load(), c.bad.Load(), word, countText(e.total)))
			_ = p.bar.Set64(e.done)
		}
	}
}

func countText(n int64) string {
	if n < 0 {
		return "?"
	}
	return fmt.Sprint(n)
}

// estimate reads the counters now.
func (c *counters) estimate(src bytesSource) estimate {
	return estimateRows(c.done.Load(), c.read.Load(), c.passed.Load(), src.BytesRead(), src.Size(), c.eof.Load())
}

// runLog writes a progress line every logInterval, and at every 10% of the
// rows to finish: rows done, ok, bad, rate, percent and time left.
func (p *progress) runLog(src bytesSource, c *counters, log *slog.Logger) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	start := time.Now()
	last := start
	lastShare := int64(0)
	for {
		select {
		case <-p.quit:
			return
		case now := <-t.C:
			e := c.estimate(src)
			share := int64(-1)
			if e.total > 0 {
				share = e.done * 100 / e.total
			}
			if now.Sub(last) < logInterval && (share < 0 || share/logEveryShare <= lastShare/logEveryShare) {
				continue
			}
			last, lastShare = now, share
			el := now.Sub(start)
			args := []any{"rows", e.done, "ok", c.ok.Load(), "bad", c.bad.Load(),
				"rows_per_second", int64(float64(e.done) / max(el.Seconds(), 0.001))}
			if share >= 0 {
				args = append(args, "percent", share, "of_rows", e.total, "exact", e.exact)
			}
			if left := e.eta(el); left > 0 {
				args = append(args, "eta", left.String())
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
