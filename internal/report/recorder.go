package report

import (
	"sync"
	"time"
)

// Bounds that keep a report of any run length small.
const (
	// MaxPoints bounds the samples kept: past it, neighbours are merged
	// two by two, so a run of any length keeps between MaxPoints/2 and
	// MaxPoints evenly spaced points.
	MaxPoints = 2000
	// MaxMarks bounds the event marks kept: past it, marks of one kind
	// closer than a window are merged, and the window doubles.
	MaxMarks = 600
)

// Sample is the run's state at one moment, fed by the importer at a fixed
// interval (every second, say). Counters are cumulative since the start.
type Sample struct {
	Elapsed     time.Duration // since the run started
	Rows        int64         // rows finished, whatever their status
	OK          int64         // rows finished ok
	Bad         int64         // rows finished failed, invalid or unknown
	InFlight    int           // requests in flight now
	Concurrency int           // the current bound on requests in flight; 0 = not shown
	RateLimit   float64       // the current request rate limit per second; 0 = unlimited
	Requests    int64         // HTTP requests, retries included
	Retries     int64         // requests that were retries
	Throttled   int64         // HTTP 429 replies
}

// EventKind tells what an Event marks on the timeline. It is an alias of
// string so that the sender can declare the method it calls,
// Event(time.Duration, string, string), without importing this package.
type EventKind = string

// The kinds of events the sender reports.
const (
	EventThrottled   EventKind = "429"       // a 429 reply
	EventRetry       EventKind = "retry"     // a request sent again
	EventRateLowered EventKind = "lowered"   // AIMD lowered the rate ("rate lowered to 25/s")
	EventRecovered   EventKind = "recovered" // AIMD brought the rate back
)

// Recorder gathers what a run does over time, for [Recorder.Write]. Its
// zero value is not usable; call [NewRecorder]. All methods are safe for
// concurrent use, and are no-ops on a nil *Recorder, so a run without a
// report can hold a nil one.
type Recorder struct {
	lat liveHist // written without the lock

	mu      sync.Mutex
	points  []point // evenly spaced, each covering span samples
	pending point   // samples not yet making a whole point
	span    int     // samples per point
	marks   []mark
	window  time.Duration // events of one kind closer than this share a mark
	lastOf  map[EventKind]int
	events  int64 // every Event call, merged or not
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{span: 1, window: time.Second, lastOf: make(map[EventKind]int)}
}

// ObserveLatency records the round trip of one attempt. It is made for the
// request path: an atomic add, no lock, no allocation.
func (r *Recorder) ObserveLatency(d time.Duration) {
	if r == nil {
		return
	}
	r.lat[bucketOf(d)].Add(1)
}

// Sample records the run's state; the latencies observed since the
// previous Sample belong to this interval. Samples are expected in
// elapsed order; one that goes back in time is taken as simultaneous with
// the previous one.
func (r *Recorder) Sample(s Sample) {
	if r == nil {
		return
	}
	p := point{s: s, inFlightSum: float64(s.InFlight), n: 1, lat: r.lat.drain()}
	r.mu.Lock()
	defer r.mu.Unlock()
	if last := r.lastTime(); p.s.Elapsed < last {
		p.s.Elapsed = last
	}
	if r.pending.n == 0 {
		r.pending = p
	} else {
		r.pending = r.pending.merge(p)
	}
	if r.pending.n < r.span {
		return
	}
	r.points = append(r.points, r.pending)
	r.pending = point{}
	if len(r.points) >= MaxPoints {
		r.halve()
	}
}

func (r *Recorder) lastTime() time.Duration {
	switch {
	case r.pending.n > 0:
		return r.pending.s.Elapsed
	case len(r.points) > 0:
		return r.points[len(r.points)-1].s.Elapsed
	}
	return 0
}

// halve merges the points two by two and doubles the span.
func (r *Recorder) halve() {
	out := r.points[:0]
	for i := 0; i+1 < len(r.points); i += 2 {
		out = append(out, r.points[i].merge(r.points[i+1]))
	}
	if len(r.points)%2 == 1 {
		r.pending = r.points[len(r.points)-1]
	}
	clear(r.points[len(out):])
	r.points = out
	r.span *= 2
}

// Event marks something on the timeline at elapsed: a 429, a retry, a
// rate change (text: "rate lowered to 25/s", "rate recovered"). Events of
// one kind close together share a mark that counts them and keeps the
// latest text.
func (r *Recorder) Event(elapsed time.Duration, kind EventKind, text string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events++
	if i, ok := r.lastOf[kind]; ok && elapsed-r.marks[i].from < r.window && elapsed >= r.marks[i].from {
		r.marks[i].add(elapsed, text, 1)
		return
	}
	r.marks = append(r.marks, mark{kind: kind, from: elapsed, to: elapsed, text: truncate(text, 200), count: 1})
	r.lastOf[kind] = len(r.marks) - 1
	if len(r.marks) > MaxMarks {
		r.coarsen()
	}
}

// coarsen doubles the merge window until the marks fit in MaxMarks/2,
// leaving room for more.
func (r *Recorder) coarsen() {
	for len(r.marks) > MaxMarks/2 {
		r.window *= 2
		out := r.marks[:0]
		clear(r.lastOf)
		for _, m := range r.marks {
			if i, ok := r.lastOf[m.kind]; ok && m.from-out[i].from < r.window {
				out[i].add(m.to, m.text, m.count)
				continue
			}
			out = append(out, m)
			r.lastOf[m.kind] = len(out) - 1
		}
		clear(r.marks[len(out):])
		r.marks = out
	}
}

// snapshot copies what Write needs.
func (r *Recorder) snapshot() ([]point, []mark, int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pts := append([]point(nil), r.points...)
	if r.pending.n > 0 {
		pts = append(pts, r.pending)
	}
	return pts, append([]mark(nil), r.marks...), r.events
}

// point is one or more merged samples.
type point struct {
	s           Sample // the last sample's counters; RateLimit the lowest of the merged ones
	inFlightSum float64
	n           int // samples merged
	lat         sparseHist
}

// merge folds the later point b into a.
func (a point) merge(b point) point {
	rate := b.s.RateLimit
	if a.s.RateLimit > 0 && (rate == 0 || a.s.RateLimit < rate) {
		rate = a.s.RateLimit // the lowest limit shows AIMD's dips
	}
	out := point{s: b.s, inFlightSum: a.inFlightSum + b.inFlightSum, n: a.n + b.n, lat: a.lat.merge(b.lat)}
	out.s.RateLimit = rate
	out.s.Concurrency = max(a.s.Concurrency, b.s.Concurrency)
	return out
}

// inFlight is the mean of the merged samples.
func (p point) inFlight() float64 { return p.inFlightSum / float64(p.n) }

// mark is one or more events of a kind.
type mark struct {
	kind     EventKind
	from, to time.Duration
	text     string // the latest
	count    int64
}

func (m *mark) add(at time.Duration, text string, n int64) {
	m.count += n
	if at > m.to {
		m.to = at
	}
	m.text = truncate(text, 200)
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
