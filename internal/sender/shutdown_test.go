package sender

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestShutdown: cancelling ctx mid-run lets the requests in flight finish
// and report (their context is not cancelled), gives every other job taken
// a Canceled result, returns ctx's error, and leaves no goroutine behind
// (the bubble would not end otherwise).
func TestShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var served, aborted atomic.Int32
		f := startFake(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req, _ := decodeRequest(r)
			<-release
			if r.Context().Err() != nil {
				aborted.Add(1)
			}
			served.Add(1)
			writeOK(w, req.Items[0].N)
		}))
		defer f.Close()
		cfg := testConfig(f.URL, f.Client)
		cfg.Concurrency, cfg.Window = 4, 20
		p := mustPool(t, cfg)

		ctx, cancel := context.WithCancel(context.Background())
		in := make(chan Job)
		out := make(chan Result, 100)
		errc := make(chan error, 1)
		go func() { errc <- runSingles(ctx, p, in, out) }()
		taken := 0
		for _, j := range manyJobs(100) {
			select {
			case in <- j:
				taken++
				continue
			case <-time.After(time.Millisecond):
			}
			break // the window is full: Run stopped taking jobs
		}
		synctest.Wait()
		if taken != 21 { // the window of 20, and one waiting in runSingles' hand-over
			t.Errorf("%d jobs taken, want the window of 20 and one waiting to be handed over", taken)
		}
		if st := p.Stats(); st.InFlight != 4 {
			t.Errorf("%d in flight, want 4", st.InFlight)
		}
		cancel()
		synctest.Wait()
		select {
		case err := <-errc:
			t.Fatalf("Run returned %v before its requests in flight finished", err)
		default:
		}
		close(release)
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("Run() = %v, want context.Canceled", err)
		}
		close(out)
		var ok, canceled int
		seen := map[int64]bool{}
		for r := range out {
			if seen[r.ID] {
				t.Errorf("job %d: two results", r.ID)
			}
			seen[r.ID] = true
			switch {
			case r.Status == OK:
				ok++
			case r.Status == Canceled && r.Error == "not sent: the run was interrupted" && r.Attempts == 0:
				canceled++
			default:
				t.Errorf("job %d = %+v, want ok or canceled (not sent)", r.ID, r)
			}
		}
		if ok != 4 || canceled != 16 {
			t.Errorf("%d ok, %d canceled; want 4 ok (in flight), 16 canceled", ok, canceled)
		}
		if served.Load() != 4 || aborted.Load() != 0 {
			t.Errorf("server finished %d requests, %d of them aborted; want 4, none aborted", served.Load(), aborted.Load())
		}
	})
}

// TestShutdownWhileWaiting: a row waiting for a backoff or a rate token is
// canceled at once, without waiting either out, and keeps its last error.
func TestShutdownWhileWaiting(t *testing.T) {
	// Rate 1/s, one at a time: row 1 fails at 0 s and 1 s (tokens), then
	// backs off until 1.2 s and would wait for the next token until 2 s.
	for _, deadline := range []time.Duration{1100 * time.Millisecond, 1500 * time.Millisecond} {
		t.Run(deadline.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := startFake(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(503)
				}))
				defer f.Close()
				cfg := testConfig(f.URL, f.Client)
				cfg.Rate, cfg.Concurrency = 1, 1
				p := mustPool(t, cfg)
				p.s.randN = func(n int64) int64 { return n - 1 } // backoff at its ceiling
				ctx, cancel := context.WithTimeout(context.Background(), deadline)
				defer cancel()
				start := time.Now()
				got, err := runAll(t, ctx, p, manyJobs(10))
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("Run() = %v, want context.DeadlineExceeded", err)
				}
				if d := time.Since(start); d != deadline {
					t.Errorf("Run returned after %v, want at the deadline %v", d, deadline)
				}
				want := Result{ID: 1, Status: Canceled, Code: "HTTP 503", Attempts: 2,
					Error: "not retried: the run stopped (last attempt: HTTP 503 Service Unavailable (the request was sent; it may have been applied))"}
				if r := got[1]; r != want {
					t.Errorf("job 1 = %+v, want %+v", r, want)
				}
				for id := int64(2); id <= 10; id++ {
					if r, ok := got[id]; ok && (r.Status != Canceled || r.Attempts != 0) {
						t.Errorf("job %d = %+v, want canceled, not sent", id, r)
					}
				}
				if st := p.Stats(); st.Requests != 2 {
					t.Errorf("%d requests, want 2", st.Requests)
				}
			})
		})
	}
}

// TestShutdownLoopback: the same over real sockets; the goroutine count
// settles back after Run returns.
func TestShutdownLoopback(t *testing.T) {
	before := runtime.NumGoroutine()
	release := make(chan struct{})
	var arrived atomic.Int32
	srv := startLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := decodeRequest(r)
		arrived.Add(1)
		<-release
		writeOK(w, req.Items[0].N)
	}))
	cfg := testConfig(srv.URL, nil)
	cfg.Concurrency = 8
	p := mustPool(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var got map[int64]Result
	var err error
	go func() {
		defer close(done)
		got, err = runAll(t, ctx, p, manyJobs(200))
	}()
	for arrived.Load() < 8 { // wait for 8 requests at the server (a condition, not a duration)
		runtime.Gosched()
	}
	cancel()
	close(release)
	<-done
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run() = %v, want context.Canceled", err)
	}
	ok := 0
	for _, r := range got {
		if r.Status == OK {
			ok++
		} else if r.Status != Canceled {
			t.Errorf("job %d = %+v, want ok or canceled", r.ID, r)
		}
	}
	if ok < 8 {
		t.Errorf("%d ok, want at least the 8 in flight", ok)
	}
	p.s.closeIdle()
	srv.Close()
	// Goroutines of the pool and the connections wind down; allow the
	// runtime a moment by polling the condition, not by sleeping a fixed time.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Run, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

// TestRunTwice: a pool is one-shot.
func TestRunTwice(t *testing.T) {
	srv := startLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeOK(w, 1) }))
	p := mustPool(t, testConfig(srv.URL, nil))
	in := make(chan []Job)
	close(in)
	if err := p.Run(context.Background(), in, make(chan []Result)); err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background(), in, make(chan []Result)); !errors.Is(err, errRanTwice) {
		t.Errorf("second Run() = %v, want %v", err, errRanTwice)
	}
}
