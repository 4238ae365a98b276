package sender

import (
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"importer/internal/hashset"
)

// Pool sends jobs to the Altcraft API: see the package doc for what it
// guarantees. Create it with [NewPool]; call [Pool.Run] once.
type Pool struct {
	s       *settings
	gate    gate
	pace    *pacer
	breaker *breaker
	ran     atomic.Bool

	// singleOnly: a batch reply could not be matched to its items, so every
	// row from then on goes out one per request.
	singleOnly atomic.Bool
	// maxBytes caps a batch body: MaxBatchBytes, lowered below the size of
	// any batch the server refused with HTTP 413.
	maxBytes atomic.Int64

	requests  atomic.Int64
	retries   atomic.Int64
	throttled atomic.Int64
	inFlight  atomic.Int64
	limit     atomic.Int64
	latency   atomic.Int64 // smoothed round trip, nanoseconds
	completed atomic.Int64 // attempts that got a reply or failed: the hill climber's throughput
}

// Stats is a snapshot of a pool's counters.
type Stats struct {
	Requests    int64         // attempts sent (retries included)
	Retries     int64         // attempts after the first of their request
	Throttled   int64         // HTTP 429 replies (and API error 429)
	Rate        float64       // current rate limit in requests/s; 0 = unlimited
	InFlight    int           // requests started and not finished (waiting for a token or a retry included)
	Concurrency int           // current bound on InFlight
	Latency     time.Duration // smoothed round-trip time of recent attempts
}

// NewPool validates cfg and builds a pool. Errors name the bad setting;
// none of them holds the token.
func NewPool(cfg Config) (*Pool, error) {
	s, err := cfg.settle()
	if err != nil {
		return nil, err
	}
	p := &Pool{s: s, breaker: newBreaker(s.BreakerSample, s.MaxAttempts)}
	p.pace = newPacer(s.Rate, s.Logger, time.Now())
	p.pace.obs = s.Observer
	p.limit.Store(int64(s.bound))
	p.maxBytes.Store(int64(s.MaxBatchBytes))
	return p, nil
}

// Stats returns the pool's counters. Safe for concurrent use, during Run too.
func (p *Pool) Stats() Stats {
	return Stats{
		Requests:    p.requests.Load(),
		Retries:     p.retries.Load(),
		Throttled:   p.throttled.Load(),
		Rate:        p.pace.rate(),
		InFlight:    int(p.inFlight.Load()),
		Concurrency: int(p.limit.Load()),
		Latency:     time.Duration(p.latency.Load()),
	}
}

// errRanTwice guards the pool's one-shot state (breaker sample, AIMD).
var errRanTwice = errors.New("sender: Run called twice on one Pool")

// Run sends the jobs it reads and sends one Result per job on results.
// Jobs come in slices (a caller's chunk of rows: one channel hand-off for
// many rows) and results leave in slices too, one per request: a row's
// hand-off between goroutines costs more than much of its work.
//
// It reads jobs until the channel is closed, then finishes everything and
// returns nil. When ctx is done it reads no more jobs and starts no new
// request; requests in flight finish (each bounded by its timeout, on a
// context ctx does not cancel) and report; every other job it holds gets a
// Canceled result; then it returns ctx's error. A fatal condition drains the
// same way and returns a *FatalError. Run holds at most about Window jobs
// (it takes a slice whole while below Window), so the sender of jobs is held
// back while the API is slow.
//
// Every job received gets exactly one Result; results is never closed, and
// the caller must keep receiving from it until Run returns. Run must be
// called once per Pool.
func (p *Pool) Run(ctx context.Context, jobs <-chan []Job, results chan<- []Result) error {
	if !p.ran.CompareAndSwap(false, true) {
		return errRanTwice
	}
	stop, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r := &run{
		p: p, s: p.s, ctx: ctx, stop: stop, halt: cancel, results: results,
		wake:      make(chan struct{}, 1),
		keys:      hashset.New(p.s.Window), // never grows while the window is full
		waiting:   make(map[uint64][]Job),
		keySeed:   maphash.MakeSeed(),
		inputOpen: true,
	}
	r.g.SetLimit(p.s.bound)
	r.conc = newConcurrency(p.s, time.Now())
	r.setLimit(r.conc.limit)
	r.linger = time.NewTimer(time.Hour)
	r.linger.Stop()
	defer r.linger.Stop()
	tick := time.NewTicker(controlEvery)
	defer tick.Stop()

	for {
		r.mu.Lock()
		if r.open != nil && r.held >= p.s.Window && r.inFlight == 0 && len(r.pending) == 0 {
			// Nothing else can move: the held jobs are the open batch and
			// those queued behind its keys. Send it as it is.
			r.sealLocked()
		}
		starts := r.launchLocked()
		finished := (!r.inputOpen || r.stopping) && r.held == 0
		reading := r.inputOpen && !r.stopping && r.held < p.s.Window
		lingering := r.open != nil && !r.stopping
		stopping := r.stopping
		r.mu.Unlock()
		r.start(starts)
		if finished {
			break
		}
		var in <-chan []Job
		if reading {
			in = jobs
		}
		var lingerC <-chan time.Time
		if lingering {
			lingerC = r.linger.C
		}
		var stopC <-chan struct{}
		if !stopping {
			stopC = stop.Done()
		}
		select {
		case js, ok := <-in:
			var bad []Result
			r.mu.Lock()
			if !ok {
				r.inputOpen = false
				r.sealLocked()
			}
			for _, j := range js {
				if j.Payload == nil { // a caller's bug; a result, not a panic
					bad = append(bad, Result{ID: j.ID, Status: Failed, Code: "payload", Error: "job has no payload: nothing to send"})
					continue
				}
				r.admitLocked(j)
			}
			r.mu.Unlock()
			if bad != nil {
				r.results <- bad
			}
		case <-r.wake:
		case <-lingerC:
			r.mu.Lock()
			if r.held < p.s.Window {
				r.sealLocked() // the input is slow: send what there is
			} else {
				// The window is full: rows wait on the API, not on the
				// input, so a partial batch would only spend a request (and
				// a rate token) on fewer rows. Fill it once space frees up.
				r.linger.Reset(p.s.Linger)
			}
			r.mu.Unlock()
		case now := <-tick.C:
			r.mu.Lock()
			r.controlLocked(now)
			r.mu.Unlock()
		case <-stopC:
			r.mu.Lock()
			r.stopping = true
			queued := r.takeQueuedLocked()
			r.mu.Unlock()
			r.cancel(queued)
		}
	}
	_ = r.g.Wait() // every unit is done; this waits for the goroutines to return
	p.inFlight.Store(0)
	if p.s.ownClient {
		// Keep-alive connections would otherwise outlive the run by up to
		// IdleConnTimeout, each with its read and write goroutines.
		p.s.closeIdle()
	}
	if fe, ok := context.Cause(stop).(*FatalError); ok {
		return fe
	}
	if r.stopping || r.cut.Load() {
		return ctx.Err() // (a worker may have seen the stop before the coordinator)
	}
	if fe := p.breaker.atEnd(); fe != nil {
		return fe // every row has its Failed result; the run as a whole never reached the API
	}
	return nil
}

// unit is one request: a single job, or a batch.
type unit struct {
	jobs  []Job
	one   [1]Job // backing array for single jobs: no slice allocation
	batch bool
	body  *body // encoded by the coordinator for batches; nil = encode in the worker
	// handoff holds units made of some of jobs (a split batch, rows sent
	// again one by one): queued when u finishes, their jobs keep their keys.
	handoff []*unit
	out     []Result // the results of jobs settled so far, handed over when u is done
}

// run is the state of one Run.
//
// The coordinator (Run's loop) reads jobs, runs the linger timer, the
// control tick and the stop. Workers send units; when one finishes a unit
// it frees the unit's keys and, if a unit is pending and the limit allows,
// goes straight on with it. That keeps a busy pool free of hand-offs
// between goroutines, which on a small machine cost more than the work.
// Workers wake the coordinator (wake) only when it must act: the window
// has room again, all is done, or pending units need more workers.
type run struct {
	p       *Pool
	s       *settings
	ctx     context.Context // the caller's: the parent of attempt contexts (without its cancellation)
	stop    context.Context // done when ctx is, or at a fatal condition
	halt    context.CancelCauseFunc
	results chan<- []Result
	wake    chan struct{}
	cut     atomic.Bool // some job was canceled or abandoned because of the stop
	g       errgroup.Group
	linger  *time.Timer
	conc    *concurrency // coordinator only

	mu sync.Mutex // guards the fields below
	// keys holds the hash of each key with a job in flight or queued, and
	// waiting the jobs queued behind such a key (rare: the same key twice
	// within a window). Hashes, not the keys: a lookup then reads no key
	// bytes (a cache miss a row in a batch run), and two keys with one hash
	// only wait for each other, which keeps the order of each. A map from
	// hash to waiting jobs did both jobs before; its probes were 18% of a
	// --batch-size 1000 run's CPU (hashset's BenchmarkKeySet: 52-71 ns a
	// job against the map's 100-168).
	keys      *hashset.Set
	waiting   map[uint64][]Job
	keySeed   maphash.Seed
	pending   []*unit // sealed units waiting for a worker (FIFO)
	open      *unit   // the batch being filled
	openBody  *body   // the open batch's body so far
	scratch   []byte  // an item moving to the next batch
	held      int     // jobs received and not yet reported
	inFlight  int     // units being worked on
	limit     int
	busy      bool // work waited for a worker since the last control tick: the pool, not the input, was the limit
	inputOpen bool
	stopping  bool
}

// admitLocked takes a job in: it waits behind its key, or becomes ready.
func (r *run) admitLocked(j Job) {
	r.held++
	if j.Key != "" {
		h := maphash.String(r.keySeed, j.Key)
		j.keyHash = h // the copies that go on carry it: no second hash when it finishes
		if !r.keys.Add(h) {
			r.waiting[h] = append(r.waiting[h], j)
			return
		}
	}
	r.readyLocked(j)
}

// readyLocked queues a job whose key is free: its own unit, or the open batch.
func (r *run) readyLocked(j Job) {
	if r.s.BatchSize <= 1 || r.p.singleOnly.Load() {
		u := &unit{}
		u.one[0] = j
		u.jobs = u.one[:]
		r.pending = append(r.pending, u)
		return
	}
	if r.open == nil {
		r.openBatchLocked()
	}
	ob := r.openBody
	mark := len(ob.buf)
	if len(r.open.jobs) > 0 {
		ob.buf = append(ob.buf, ',')
	}
	ob.buf = j.Payload.AppendItem(ob.buf)
	maxBytes := int(r.p.maxBytes.Load())
	if len(ob.buf)+2 > maxBytes && len(r.open.jobs) > 0 {
		// Too big with this item: send the batch without it, start the next with it.
		r.scratch = append(r.scratch[:0], ob.buf[mark+1:]...)
		ob.buf = ob.buf[:mark]
		r.sealLocked()
		r.openBatchLocked()
		r.openBody.buf = append(r.openBody.buf, r.scratch...)
		if cap(r.scratch) > 1<<20 {
			r.scratch = nil
		}
	}
	r.open.jobs = append(r.open.jobs, j)
	if len(r.open.jobs) >= r.s.BatchSize || len(r.openBody.buf)+2 >= maxBytes {
		r.sealLocked()
	}
}

func (r *run) openBatchLocked() {
	r.open = &unit{batch: true, jobs: make([]Job, 0, min(r.s.BatchSize, 1024))}
	r.openBody = newBody()
	r.openBody.buf = appendBatchHead(r.openBody.buf, r.s.bodyToken, r.s.BatchEnvelope)
	r.linger.Reset(r.s.Linger)
}

// sealLocked closes the open batch and queues it.
func (r *run) sealLocked() {
	if r.open == nil {
		return
	}
	r.linger.Stop()
	r.openBody.buf = appendBatchTail(r.openBody.buf)
	r.open.body = r.openBody
	r.pending = append(r.pending, r.open)
	r.open, r.openBody = nil, nil
}

// popLocked takes the next pending unit.
func (r *run) popLocked() *unit {
	u := r.pending[0]
	r.pending[0] = nil
	r.pending = r.pending[1:]
	if len(r.pending) == 0 && cap(r.pending) > 1024 {
		r.pending = nil // let a burst's backing array go
	}
	return u
}

// launchLocked claims the units that new workers should start; the caller
// starts them (start) after unlocking.
func (r *run) launchLocked() []*unit {
	var starts []*unit
	for !r.stopping && r.inFlight < r.limit && len(r.pending) > 0 {
		starts = append(starts, r.popLocked())
		r.inFlight++
	}
	if len(r.pending) > 0 {
		r.busy = true
	}
	r.p.inFlight.Store(int64(r.inFlight))
	return starts
}

func (r *run) start(units []*unit) {
	for _, u := range units {
		r.g.Go(func() error {
			r.work(u)
			return nil
		})
	}
}

// work sends u, then whatever is pending while the limit allows.
func (r *run) work(u *unit) {
	for u != nil {
		r.process(u)
		if len(u.out) > 0 {
			r.results <- u.out
			u.out = nil
		}
		r.mu.Lock()
		wasFull := r.held >= r.s.Window
		var canceled []Job
		u, canceled = r.finishLocked(u)
		poke := (wasFull && r.held < r.s.Window) || r.held == 0 ||
			(len(r.pending) > 0 && r.inFlight < r.limit && !r.stopping)
		r.mu.Unlock()
		if len(canceled) > 0 {
			r.cancel(canceled)
		}
		if poke {
			select {
			case r.wake <- struct{}{}:
			default: // a wake-up is already pending
			}
		}
	}
}

// finishLocked takes back a unit whose jobs all have results or were handed
// off: queues the handed-off units, frees the other jobs' keys, lets the
// next job of each key go, and returns the next unit for this worker (nil:
// the worker ends). When the run is stopping, handed-off jobs are returned
// for the caller to cancel once it has unlocked.
func (r *run) finishLocked(u *unit) (next *unit, canceled []Job) {
	var handed map[int64]bool
	if len(u.handoff) > 0 {
		handed = make(map[int64]bool)
		for _, h := range u.handoff {
			for i := range h.jobs {
				handed[h.jobs[i].ID] = true
			}
		}
	}
	r.held -= len(u.jobs) - len(handed)
	if r.stopping {
		for _, h := range u.handoff {
			r.held -= len(h.jobs)
			canceled = append(canceled, h.jobs...)
		}
		u.handoff = nil
	} else {
		if r.p.singleOnly.Load() {
			r.unbatchLocked()
		}
		// Handed-off units go first: they are older than anything pending.
		// (Only when there are some: the append would copy the queue.)
		if len(u.handoff) > 0 {
			r.pending = append(u.handoff, r.pending...)
			u.handoff = nil
		}
		for i := range u.jobs {
			k := u.jobs[i].Key
			if k == "" || handed[u.jobs[i].ID] {
				continue
			}
			h := u.jobs[i].keyHash
			var q []Job
			if len(r.waiting) > 0 {
				q = r.waiting[h]
			}
			if len(q) == 0 {
				r.keys.Remove(h)
				continue
			}
			// The next job of the key goes; the key stays busy.
			next := q[0]
			q[0] = Job{}
			if len(q) == 1 {
				delete(r.waiting, h)
			} else {
				r.waiting[h] = q[1:]
			}
			r.readyLocked(next)
		}
		if r.held >= r.s.Window || !r.inputOpen {
			r.sealLocked() // nothing more can join the open batch soon
		}
		if len(r.pending) > 0 && r.inFlight <= r.limit {
			return r.popLocked(), nil
		}
	}
	r.inFlight--
	r.p.inFlight.Store(int64(r.inFlight))
	return nil, canceled
}

// unbatchLocked turns the open batch and the pending batches, none of them
// sent yet, into single-profile units.
func (r *run) unbatchLocked() {
	explode := func(jobs []Job, into []*unit) []*unit {
		for i := range jobs {
			into = append(into, r.newUnit(jobs[i:i+1], false))
		}
		return into
	}
	var next []*unit
	for _, u := range r.pending {
		if !u.batch || len(u.jobs) == 0 {
			next = append(next, u)
			continue
		}
		if u.body != nil {
			u.body.release()
		}
		next = explode(u.jobs, next)
	}
	r.pending = next
	if r.open != nil {
		r.linger.Stop()
		r.pending = explode(r.open.jobs, r.pending)
		r.openBody.release()
		r.open, r.openBody = nil, nil
	}
}

// lowerMaxBytes keeps later batches below a body size the server refused.
func (p *Pool) lowerMaxBytes(refused int, log *slog.Logger) {
	want := int64(max(refused/2, 1))
	for {
		cur := p.maxBytes.Load()
		if want >= cur {
			return
		}
		if p.maxBytes.CompareAndSwap(cur, want) {
			log.Warn("the API refused a batch as too large (HTTP 413): splitting it, and keeping later batches smaller",
				"refused_bytes", refused, "max_batch_bytes", want)
			return
		}
	}
}

// takeQueuedLocked removes every job not in flight, in submission order per
// key, for cancel.
func (r *run) takeQueuedLocked() []Job {
	var jobs []Job
	for _, u := range r.pending {
		jobs = append(jobs, u.jobs...)
		if u.body != nil {
			u.body.release()
		}
	}
	r.pending = nil
	if r.open != nil {
		jobs = append(jobs, r.open.jobs...)
		r.openBody.release()
		r.open, r.openBody = nil, nil
	}
	for _, q := range r.waiting {
		jobs = append(jobs, q...)
	}
	r.waiting = nil
	r.keys = hashset.New(0)
	r.held -= len(jobs)
	return jobs
}

// cancel gives jobs that were never sent their Canceled result, in one
// hand-off.
func (r *run) cancel(jobs []Job) {
	if len(jobs) == 0 {
		return
	}
	r.cut.Store(true)
	u := &unit{jobs: jobs}
	u.deliver(jobs, r.canceledResult(), 0)
	r.results <- u.out
}

// canceledResult is the result of a job the run stopped before it was sent.
func (r *run) canceledResult() Result {
	text := "not sent: the run was interrupted"
	if fe, ok := context.Cause(r.stop).(*FatalError); ok {
		text = "not sent: the run stopped (" + fe.Reason + ")"
	}
	return Result{Status: Canceled, Error: text}
}

// controlLocked runs the periodic controllers: AIMD recovery and auto
// concurrency.
func (r *run) controlLocked(now time.Time) {
	r.p.pace.tick(now)
	busy := r.busy || len(r.pending) > 0
	r.busy = false
	if n := r.conc.update(now, r.p, busy); n != r.limit {
		r.setLimit(n)
	}
}

func (r *run) setLimit(n int) {
	r.limit = n
	r.p.limit.Store(int64(n))
}

// recordLatency folds one round trip into the smoothed latency (EWMA, 1/8).
func (p *Pool) recordLatency(d time.Duration) {
	for {
		old := p.latency.Load()
		next := int64(d)
		if old != 0 {
			next = old + (int64(d)-old)/8
		}
		if p.latency.CompareAndSwap(old, next) {
			return
		}
	}
}

// concurrency decides how many requests may be in flight.
//
// Fixed (Config.Concurrency > 0): always that many.
//
// Auto, with a rate limit: Little's law. To keep r requests/s going with a
// round trip of L seconds, about r·L requests must be in flight; the target
// is ⌈r·L·1.25⌉+1 (25% headroom for latency jitter), re-evaluated every
// 250 ms from the smoothed latency and the current (AIMD) rate, within
// [1, MaxConcurrency]. It starts at 8 until the first latencies are in.
//
// Auto, unlimited: hill climbing on throughput. Every 500 ms of saturated
// work (jobs were waiting for a slot) it compares completions per second
// with the best seen: 5% better → remember this limit and double it; not
// better → go back to the best limit and hold it for 10 s; then re-measure
// the best limit and probe 25% above it. Idle periods (the input, not the
// pool, was the limit) teach nothing and change nothing.
type concurrency struct {
	fixed, max int
	limit      int

	// hill climbing
	periodStart time.Time
	periodDone  int64
	best        float64
	bestLimit   int
	hold        int  // periods left to hold the best limit
	idle        bool // a tick of this period found no job waiting for a slot
}

const (
	autoStart    = 8
	climbPeriod  = 500 * time.Millisecond
	climbHold    = 20 // periods: 10 s
	climbBetter  = 1.05
	latencySlack = 1.25
)

func newConcurrency(s *settings, now time.Time) *concurrency {
	c := &concurrency{fixed: s.Concurrency, max: s.bound, periodStart: now}
	if c.fixed > 0 {
		c.limit = c.fixed
	} else {
		c.limit = min(autoStart, c.max)
		c.bestLimit = c.limit
	}
	return c
}

func (c *concurrency) update(now time.Time, p *Pool, busy bool) int {
	if c.fixed > 0 {
		return c.limit
	}
	if r := p.pace.rate(); r > 0 {
		c.periodStart, c.periodDone, c.best, c.hold = now, p.completed.Load(), 0, 0
		lat := time.Duration(p.latency.Load())
		if lat <= 0 {
			return c.limit
		}
		target := int(math.Ceil(r*lat.Seconds()*latencySlack)) + 1
		c.limit = min(max(target, 1), c.max)
		c.bestLimit = c.limit
		return c.limit
	}
	c.idle = c.idle || !busy
	if now.Sub(c.periodStart) < climbPeriod {
		return c.limit
	}
	done := p.completed.Load()
	tput := float64(done-c.periodDone) / now.Sub(c.periodStart).Seconds()
	idle := c.idle
	c.periodStart, c.periodDone, c.idle = now, done, false
	if idle {
		return c.limit
	}
	switch {
	case c.hold > 0:
		c.hold--
		if c.hold == 0 { // re-measured at the best limit: probe above it
			c.best = tput
			c.limit = min(c.max, c.bestLimit+max(1, c.bestLimit/4))
		}
	case tput > c.best*climbBetter:
		c.best, c.bestLimit = tput, c.limit
		c.limit = min(c.max, c.limit*2)
		if c.limit == c.bestLimit { // at the bound: nothing to probe
			c.hold = climbHold
		}
	default:
		c.limit, c.hold = c.bestLimit, climbHold
	}
	return c.limit
}
