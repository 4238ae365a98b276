package report

import (
	"sync"
	"testing"
	"time"
)

// TestDownsampling: however many samples come, at most MaxPoints are kept,
// evenly spaced, the last one holds the final counters, and no latency
// observation is lost in the merging.
func TestDownsampling(t *testing.T) {
	for _, n := range []int{1, MaxPoints - 1, MaxPoints, MaxPoints + 1, 3*MaxPoints + 7, 10_800} {
		rec := NewRecorder()
		var s Sample
		for i := 1; i <= n; i++ {
			s = Sample{Elapsed: time.Duration(i) * time.Second, Rows: int64(i) * 90, OK: int64(i) * 88, Bad: int64(i) * 2,
				InFlight: 4, RateLimit: 100, Requests: int64(i) * 91, Retries: int64(i), Throttled: int64(i / 100)}
			rec.ObserveLatency(40 * time.Millisecond)
			rec.ObserveLatency(120 * time.Millisecond)
			rec.Sample(s)
		}
		pts, _, _ := rec.snapshot()
		if len(pts) > MaxPoints || (n >= MaxPoints && len(pts) < MaxPoints/2) {
			t.Errorf("%d samples kept as %d points, want %d..%d", n, len(pts), MaxPoints/2, MaxPoints)
		}
		last := pts[len(pts)-1]
		if last.s != s {
			t.Errorf("%d samples: last point %+v, want the final sample %+v", n, last.s, s)
		}
		var obs uint64
		var samples int
		for i, p := range pts {
			obs += p.lat.total()
			samples += p.n
			if i > 0 && p.s.Elapsed <= pts[i-1].s.Elapsed {
				t.Fatalf("%d samples: point %d at %v after %v", n, i, p.s.Elapsed, pts[i-1].s.Elapsed)
			}
			if p.inFlight() != 4 {
				t.Fatalf("%d samples: point %d in flight %v, want the mean 4", n, i, p.inFlight())
			}
		}
		if obs != uint64(2*n) || samples != n {
			t.Errorf("%d samples: points hold %d latencies and %d samples, want %d and %d", n, obs, samples, 2*n, n)
		}
	}
}

// TestMergeKeepsLowestRate: a merged point shows the lowest rate limit of
// its samples (AIMD's dips survive downsampling), unlimited counting as
// the highest.
func TestMergeKeepsLowestRate(t *testing.T) {
	tests := []struct {
		a, b, want float64
	}{
		{100, 50, 50}, {50, 100, 50}, {0, 40, 40}, {40, 0, 40}, {0, 0, 0},
	}
	for _, tt := range tests {
		a := point{s: Sample{RateLimit: tt.a}, n: 1}
		b := point{s: Sample{RateLimit: tt.b}, n: 1}
		if got := a.merge(b).s.RateLimit; got != tt.want {
			t.Errorf("merge(%v, %v) rate = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestSampleBackInTime: a sample earlier than the previous one is taken as
// simultaneous, so rates never divide by a negative interval.
func TestSampleBackInTime(t *testing.T) {
	rec := NewRecorder()
	rec.Sample(Sample{Elapsed: 2 * time.Second, Rows: 10})
	rec.Sample(Sample{Elapsed: time.Second, Rows: 20})
	pts, _, _ := rec.snapshot()
	if pts[1].s.Elapsed != 2*time.Second {
		t.Errorf("second point at %v, want 2s", pts[1].s.Elapsed)
	}
}

// TestEventCoalescing: thousands of events keep at most MaxMarks marks,
// every event counted once, rate changes kept apart from 429s.
func TestEventCoalescing(t *testing.T) {
	rec := NewRecorder()
	const n = 20_000
	for i := range n {
		at := time.Duration(i) * 500 * time.Millisecond
		kind := EventThrottled
		switch {
		case i%1000 == 0:
			kind = EventRateLowered
		case i%1000 == 500:
			kind = EventRecovered
		case i%3 == 0:
			kind = EventRetry
		}
		rec.Event(at, kind, "text")
	}
	_, marks, events := rec.snapshot()
	if len(marks) > MaxMarks {
		t.Errorf("%d marks, want at most %d", len(marks), MaxMarks)
	}
	var total int64
	lowered := 0
	for _, m := range marks {
		total += m.count
		if m.kind == EventRateLowered {
			lowered++
		}
		if m.to < m.from {
			t.Errorf("mark %+v ends before it starts", m)
		}
	}
	if total != n || events != n {
		t.Errorf("marks count %d events, recorder %d, want %d", total, events, n)
	}
	if lowered == 0 {
		t.Error("the rate changes were merged away")
	}
}

// TestNilRecorder: a run without --report can call everything on nil.
func TestNilRecorder(t *testing.T) {
	var rec *Recorder
	rec.ObserveLatency(time.Millisecond)
	rec.Sample(Sample{Elapsed: time.Second})
	rec.Event(time.Second, EventRetry, "x")
	var b writeCounter
	if err := rec.Write(&b, Final{}); err != nil || b == 0 {
		t.Errorf("Write on nil: %v, %d bytes", err, b)
	}
}

type writeCounter int

func (w *writeCounter) Write(p []byte) (int, error) { *w += writeCounter(len(p)); return len(p), nil }

// TestConcurrentUse: observers, events and samples from many goroutines
// (run with -race); no observation is lost across the interval resets.
func TestConcurrentUse(t *testing.T) {
	rec := NewRecorder()
	const workers, each = 8, 5000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				rec.ObserveLatency(time.Duration(w*each+i) * time.Microsecond)
				if i%500 == 0 {
					rec.Event(time.Duration(i)*time.Millisecond, EventThrottled, "429")
				}
			}
		})
	}
	done := make(chan struct{})
	workersDone := ctxDone(&wg)
	go func() {
		defer close(done)
		for i := 1; ; i++ {
			rec.Sample(Sample{Elapsed: time.Duration(i) * time.Millisecond})
			select {
			case <-workersDone:
				rec.Sample(Sample{Elapsed: time.Duration(i+1) * time.Millisecond})
				return
			default:
			}
		}
	}()
	<-done
	pts, _, events := rec.snapshot()
	var obs uint64
	for _, p := range pts {
		obs += p.lat.total()
	}
	if obs != workers*each || events != workers*each/500 {
		t.Errorf("%d latencies and %d events recorded, want %d and %d", obs, events, workers*each, workers*each/500)
	}
}

// ctxDone closes when wg is done.
func ctxDone(wg *sync.WaitGroup) <-chan struct{} {
	c := make(chan struct{})
	go func() { wg.Wait(); close(c) }()
	return c
}

// TestSenderInterface: the sender can declare the methods it calls with
// plain types and be handed a *Recorder.
func TestSenderInterface(t *testing.T) {
	type observer interface {
		ObserveLatency(time.Duration)
		Event(elapsed time.Duration, kind, text string)
	}
	var o observer = NewRecorder()
	o.Event(time.Second, "lowered", "rate lowered to 5/s")
	_, marks, _ := o.(*Recorder).snapshot()
	if len(marks) != 1 || marks[0].kind != EventRateLowered {
		t.Errorf("marks = %+v", marks)
	}
}
