package sender

import (
	"context"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// gate pauses the whole pool until a time a server named in Retry-After.
// Every attempt passes it before taking a rate token. Safe for concurrent use.
type gate struct {
	until atomic.Int64 // unix nanoseconds; in the past = open
	began atomic.Int64 // unix nanoseconds: when the latest pause began
}

// pause closes the gate until now+d (never shortening a longer pause) and
// reports whether it was open before, so the caller logs each pause once.
// A reply to a request sent before the latest pause began says nothing new
// (that request was part of the burst the pause answers), so it neither
// extends the pause nor starts another one.
func (g *gate) pause(sentAt, now time.Time, d time.Duration) (started bool) {
	if sentAt.UnixNano() < g.began.Load() {
		return false
	}
	t := now.Add(d).UnixNano()
	for {
		cur := g.until.Load()
		if t <= cur {
			return false
		}
		if g.until.CompareAndSwap(cur, t) {
			if cur <= now.UnixNano() {
				g.began.Store(now.UnixNano())
				return true
			}
			return false
		}
	}
}

// wait blocks until the gate is open or ctx is done.
func (g *gate) wait(ctx context.Context) error {
	for {
		d := time.Until(time.Unix(0, g.until.Load()))
		if d <= 0 {
			return nil
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Backoff: full jitter over an exponential ceiling.
const (
	backoffBase = 100 * time.Millisecond
	backoffCap  = 10 * time.Second
)

// backoff returns the wait before retry n (n ≥ 1): uniform in
// [0, min(backoffCap, backoffBase·2^(n-1))]. randN(k) returns a uniform
// integer in [0, k).
func backoff(n int, randN func(int64) int64) time.Duration {
	ceil := backoffCap
	if n < 8 { // 100ms·2^7 > 10s already
		ceil = min(backoffCap, backoffBase<<(n-1))
	}
	return time.Duration(randN(int64(ceil) + 1))
}

// Rate control.
const (
	// A 429 is taken as the server throttling us, which lowers the rate and
	// honours Retry-After for the whole pool, when at least wideShare of the
	// last second's requests were throttled, when that second held fewer
	// than wideMin requests (at a low rate every 429 counts), or when the
	// same request was refused wideRepeat times in a row. An occasional 429
	// at a high rate only backs off its own request: pausing every worker
	// for each of 1% random 429s would stop a fast run most of the time.
	wideShare  = 0.05
	wideMin    = 20
	wideRepeat = 3

	controlEvery  = 250 * time.Millisecond // how often the controllers look
	minRate       = 1.0                    // AIMD never goes below 1 request/s
	recoverShare  = 0.05                   // additive increase: 5% of the ceiling per second
	decreaseQuiet = time.Second            // one decrease per second: a burst of 429s is one signal
)

// burstFor is the bucket size for a rate: 50 ms of tokens, at least 1. A
// small bucket keeps every 1-second window within rate+burst while
// absorbing scheduling jitter that would otherwise lose tokens.
func burstFor(r float64) int {
	return max(1, int(math.Ceil(r/20)))
}

// pacer owns the one token bucket every attempt of every worker draws from,
// and its AIMD control: after a 429 the rate halves (floor 1/s; from the
// observed rate when the run is unlimited), then grows back by 5% of the
// ceiling per second without a 429, up to the configured rate (or, when the
// run was unlimited, up to the rate it had reached, after which the limit is
// lifted). Safe for concurrent use.
type pacer struct {
	lim  *rate.Limiter
	free atomic.Bool // the limit is infinite: skip the bucket entirely
	// serial admits one waiter to the bucket at a time: a waiter's
	// reservation is fixed at the rate of the moment, so a queue of waiters
	// would keep the old rate long after a decrease (x/time/rate fixes a reservation's time when it is made).
	serial chan struct{}
	log    *slog.Logger
	obs    Observer // nil: nobody listens

	mu         sync.Mutex
	configured float64 // 0 = unlimited
	current    float64 // 0 = unlimited
	ceiling    float64 // where recovery stops
	lastDown   time.Time
	lastTick   time.Time
	// sent counts requests and thr the 429s among their replies; window and
	// thrWindow keep the last second of per-tick counts, to know the
	// achieved rate when an unlimited run is first throttled and the share
	// of 429s.
	sent      atomic.Int64
	thr       atomic.Int64
	window    [int(time.Second / controlEvery)]int64
	thrWindow [int(time.Second / controlEvery)]int64
	wi        int
	lastCnt   int64
	lastThr   int64
	started   time.Time
}

func newPacer(r float64, log *slog.Logger, now time.Time) *pacer {
	p := &pacer{serial: make(chan struct{}, 1), log: log, configured: r, current: r, ceiling: r, started: now, lastTick: now}
	if r > 0 {
		p.lim = rate.NewLimiter(rate.Limit(r), burstFor(r))
	} else {
		p.lim = rate.NewLimiter(rate.Inf, 1)
		p.free.Store(true)
	}
	return p
}

// wait passes the gate and takes one token. ctx is the run's stop context:
// never a per-attempt deadline, which would make Wait fail at once when the
// queue is longer than the deadline.
func (p *pacer) wait(ctx context.Context, g *gate) error {
	if err := g.wait(ctx); err != nil {
		return err
	}
	if p.free.Load() {
		return nil
	}
	select {
	case p.serial <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.serial }()
	// A pause may have begun while we queued.
	if err := g.wait(ctx); err != nil {
		return err
	}
	if err := p.lim.Wait(ctx); err != nil {
		if ctx.Err() == nil {
			// The caller's deadline is nearer than our turn: nothing can be
			// sent before it, so wait for it to pass.
			<-ctx.Done()
		}
		return ctx.Err()
	}
	// And one began while we waited for the token: the token is spent,
	// but the pause still holds.
	return g.wait(ctx)
}

// throttled records an HTTP 429 for a request sent at sentAt, its repeat-th
// in a row, and reports whether it is one of many (see wideShare); if so it
// halves the rate, at most once a second and not for a request sent before
// the last decrease.
func (p *pacer) throttled(sentAt, now time.Time, repeat int) (widespread bool) {
	p.thr.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	sent, thr := p.lastSecond()
	if sent >= wideMin && float64(thr) < wideShare*float64(sent) && repeat < wideRepeat {
		return false
	}
	if !p.lastDown.IsZero() && (now.Sub(p.lastDown) < decreaseQuiet || sentAt.Before(p.lastDown)) {
		return true
	}
	p.lastDown = now
	from := p.current
	if from == 0 { // unlimited: start from what we achieved
		from = p.observed(now)
		p.ceiling = max(from, minRate)
	}
	next := max(minRate, from/2)
	p.setLocked(next)
	p.log.Info("API throttled (HTTP 429): lowering the request rate",
		"rate", round1(next), "from", round1(from))
	p.event(now, EventRateLowered, "rate lowered to "+round1(next)+"/s")
	return true
}

// lastSecond returns the requests sent and the 429s received over the last
// second (the window and the current tick). Caller holds mu.
func (p *pacer) lastSecond() (sent, thr int64) {
	for i := range p.window {
		sent += p.window[i]
		thr += p.thrWindow[i]
	}
	return sent + p.sent.Load() - p.lastCnt, thr + p.thr.Load() - p.lastThr
}

// observed is the request rate over the last second (or since the start).
// Caller holds mu.
func (p *pacer) observed(now time.Time) float64 {
	var n int64
	for _, c := range p.window {
		n += c
	}
	n += p.sent.Load() - p.lastCnt // the current, unfinished tick
	span := min(now.Sub(p.started), time.Duration(len(p.window))*controlEvery+now.Sub(p.lastTick))
	// Throttled within the first few milliseconds: a span that short would
	// give a wild rate, and one of a whole second would make a dozen
	// requests a ceiling of a dozen per second. A floor of 25 ms errs high,
	// which AIMD corrects by halving again if the server still says 429.
	span = max(span, controlEvery/10)
	return float64(n) / span.Seconds()
}

// tick runs the additive increase; called every controlEvery.
func (p *pacer) tick(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cnt, thr := p.sent.Load(), p.thr.Load()
	p.window[p.wi] = cnt - p.lastCnt
	p.thrWindow[p.wi] = thr - p.lastThr
	p.wi = (p.wi + 1) % len(p.window)
	p.lastCnt, p.lastThr = cnt, thr
	dt := now.Sub(p.lastTick)
	p.lastTick = now
	if p.current == 0 || p.current >= p.ceiling || now.Sub(p.lastDown) < decreaseQuiet {
		return
	}
	next := p.current + recoverShare*p.ceiling*dt.Seconds()
	if next < p.ceiling {
		p.setLocked(next)
		return
	}
	if p.configured == 0 {
		p.setLocked(0)
		p.log.Info("request rate recovered: limit lifted")
		p.event(now, EventRecovered, "rate limit lifted")
		return
	}
	p.setLocked(p.ceiling)
	p.log.Info("request rate recovered", "rate", round1(p.ceiling))
	p.event(now, EventRecovered, "rate recovered to "+round1(p.ceiling)+"/s")
}

// setLocked applies a rate; 0 = unlimited. Caller holds mu.
func (p *pacer) setLocked(r float64) {
	p.current = r
	if r == 0 {
		p.free.Store(true)
		p.lim.SetLimit(rate.Inf)
		return
	}
	p.lim.SetLimit(rate.Limit(r))
	p.lim.SetBurst(burstFor(r))
	p.free.Store(false)
}

// event tells the observer, if any, of a rate change.
func (p *pacer) event(at time.Time, kind, text string) {
	if p.obs != nil {
		p.obs.Event(at, kind, text)
	}
}

// rate returns the current limit in requests per second; 0 = unlimited.
func (p *pacer) rate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.current
}

func round1(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
