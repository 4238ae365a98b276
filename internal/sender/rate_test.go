package sender

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// arrivals records when requests reached a test server (time since start).
type arrivals struct {
	mu    sync.Mutex
	start time.Time
	at    []time.Duration
}

func newArrivals() *arrivals { return &arrivals{start: time.Now()} }

// add records an arrival and returns its 0-based index.
func (a *arrivals) add() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.at = append(a.at, time.Since(a.start))
	return len(a.at) - 1
}

func (a *arrivals) times() []time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.at)
}

// before counts arrivals before d.
func countBefore(at []time.Duration, d time.Duration) int {
	n := 0
	for _, t := range at {
		if t < d {
			n++
		}
	}
	return n
}

// maxWindow is the most arrivals in any window [t, t+w).
func maxWindow(at []time.Duration, w time.Duration) int {
	at = slices.Clone(at)
	slices.Sort(at)
	best, j := 0, 0
	for i := range at {
		for at[i]-at[j] >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

func manyJobs(n int) []Job {
	jobs := make([]Job, n)
	for i := range jobs {
		jobs[i] = job(i+1, "k"+strconv.Itoa(i+1))
	}
	return jobs
}

// okServer answers every request ok after latency.
func okServer(t *testing.T, arr *arrivals, latency time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decodeRequest(r)
		if err != nil {
			t.Error(err)
			w.WriteHeader(400)
			return
		}
		arr.add()
		time.Sleep(latency)
		writeOK(w, req.Items[0].N)
	})
}

func allOK(t *testing.T, got map[int64]Result, n int) {
	t.Helper()
	if len(got) != n {
		t.Errorf("got %d results, want %d", len(got), n)
	}
	bad := 0
	for id, r := range got {
		if r.Status != OK {
			if bad++; bad <= 5 {
				t.Errorf("job %d: %v %s %s (%d attempts), want ok", id, r.Status, r.Code, r.Error, r.Attempts)
			}
		}
	}
}

// TestRateAccuracy: the achieved rate over 10 s of fake time is within ±2%
// of the limit, and no 1-second window holds more than rate + burst.
func TestRateAccuracy(t *testing.T) {
	for _, rate := range []float64{50, 200} {
		t.Run(strconv.Itoa(int(rate)), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				arr := newArrivals()
				f := startFake(okServer(t, arr, 2*time.Millisecond))
				defer f.Close()
				cfg := testConfig(f.URL, f.Client)
				cfg.Rate, cfg.Concurrency = rate, 16
				p := mustPool(t, cfg)
				n := int(rate*12) + 10
				got, err := runAll(t, context.Background(), p, manyJobs(n))
				if err != nil {
					t.Fatal(err)
				}
				allOK(t, got, n)
				at := arr.times()
				achieved := countBefore(at, 10*time.Second)
				want := int(rate * 10)
				if lo, hi := want*98/100, want*102/100; achieved < lo || achieved > hi {
					t.Errorf("rate %v: %d requests in 10 s, want %d ±2%% [%d, %d]", rate, achieved, want, lo, hi)
				}
				w, limit := maxWindow(at, time.Second), int(rate)+burstFor(rate)
				if w > limit {
					t.Errorf("rate %v: %d requests in one 1-second window, want ≤ rate+burst = %d", rate, w, limit)
				}
				t.Logf("rate %v: %d requests in 10 s (want %d ±2%%); busiest 1-second window %d (limit %d)", rate, achieved, want, w, limit)
			})
		})
	}
}

func mustPool(t testing.TB, cfg Config) *Pool {
	t.Helper()
	p, err := NewPool(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.s.randN = func(n int64) int64 { return n / 2 } // deterministic jitter: half the ceiling
	return p
}

// TestRetryAfterPausesPool: a Retry-After (seconds or HTTP date) on one
// reply holds back every worker: nothing is sent until the time passes.
func TestRetryAfterPausesPool(t *testing.T) {
	tests := []struct {
		name  string
		value func(now time.Time) string
		until func(start time.Time) time.Duration // pause end, since start
	}{
		{"Seconds", func(time.Time) string { return "3" },
			func(time.Time) time.Duration { return 10*time.Millisecond + 3*time.Second }},
		{"HTTPDate", func(now time.Time) string {
			return now.Add(3 * time.Second).Truncate(time.Second).UTC().Format(http.TimeFormat)
		}, func(time.Time) time.Duration { return 3 * time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				arr := newArrivals()
				f := startFake(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					req, _ := decodeRequest(r)
					if arr.add() == 0 {
						time.Sleep(10 * time.Millisecond)
						w.Header().Set("Retry-After", tt.value(time.Now()))
						w.WriteHeader(http.StatusTooManyRequests)
						return
					}
					time.Sleep(20 * time.Millisecond)
					writeOK(w, req.Items[0].N)
				}))
				defer f.Close()
				var logs logBuffer
				cfg := testConfig(f.URL, f.Client)
				cfg.Concurrency, cfg.Logger = 4, logs.logger()
				p := mustPool(t, cfg)
				got, err := runAll(t, context.Background(), p, manyJobs(20))
				if err != nil {
					t.Fatal(err)
				}
				allOK(t, got, 20)
				until := tt.until(arr.start)
				for i, at := range arr.times() {
					if at > 0 && at < until {
						t.Errorf("request %d sent at %v, during the pause (until %v)", i, at, until)
					}
				}
				twice := 0
				for _, r := range got {
					if r.Attempts == 2 {
						twice++
					}
				}
				if twice != 1 {
					t.Errorf("%d jobs took 2 attempts, want 1 (the throttled one)", twice)
				}
				if st := p.Stats(); st.Throttled != 1 || st.Requests != 21 || st.Retries != 1 {
					t.Errorf("stats = %+v, want 1 throttled, 21 requests, 1 retry", st)
				}
				if n := strings.Count(logs.String(), "pausing all requests"); n != 1 {
					t.Errorf("%d pause log lines, want 1:\n%s", n, logs.String())
				}
			})
		})
	}
}

// Test429Storm: the first N requests are refused with 429 + Retry-After;
// every row still ends ok, and no request is sent inside a pause.
func Test429Storm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const storm = 30
		arr := newArrivals()
		var mu sync.Mutex
		var pauses [][2]time.Duration // [answered, until]
		f := startFake(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req, _ := decodeRequest(r)
			i := arr.add()
			time.Sleep(10 * time.Millisecond)
			if i < storm {
				now := time.Since(arr.start)
				mu.Lock()
				pauses = append(pauses, [2]time.Duration{now, now + time.Second})
				mu.Unlock()
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			writeOK(w, req.Items[0].N)
		}))
		defer f.Close()
		cfg := testConfig(f.URL, f.Client)
		cfg.Concurrency = 8
		p := mustPool(t, cfg)
		got, err := runAll(t, context.Background(), p, manyJobs(50))
		if err != nil {
			t.Fatal(err)
		}
		allOK(t, got, 50)
		at := arr.times()
		for _, pz := range pauses {
			for i, a := range at {
				if a > pz[0] && a < pz[1] {
					t.Errorf("request %d sent at %v, inside the pause %v–%v", i, a, pz[0], pz[1])
				}
			}
		}
		if st := p.Stats(); st.Throttled != storm || st.Requests != 50+storm {
			t.Errorf("stats = %+v, want %d throttled of %d requests", st, storm, 50+storm)
		}
	})
}

// TestAIMD: a burst of 429s (the server throttling us) halves the rate at
// once, once; it then recovers step by step to the configured rate, with one
// log line for the decrease and one for the recovery. Unlimited runs start
// from the observed rate and end unlimited.
func TestAIMD(t *testing.T) {
	tests := []struct {
		name     string
		rate     float64
		latency  time.Duration
		at       int // from the arrival of request at, the server throttles for 300 ms
		jobs     int
		wantLow  [2]float64 // the rate right after the 429 lies within
		wantEnd  float64
		recovers string
	}{
		{"Limited", 100, 5 * time.Millisecond, 50, 1500, [2]float64{50, 50}, 100, "request rate recovered"},
		{"Unlimited", 0, 10 * time.Millisecond, 400, 5000, [2]float64{150, 250}, 0, "limit lifted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				arr := newArrivals()
				var mu sync.Mutex
				var from time.Time
				f := startFake(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					req, _ := decodeRequest(r)
					i := arr.add()
					mu.Lock()
					if i == tt.at {
						from = time.Now()
					}
					throttling := !from.IsZero() && time.Since(from) < 300*time.Millisecond
					mu.Unlock()
					time.Sleep(tt.latency)
					if throttling {
						w.WriteHeader(http.StatusTooManyRequests)
						return
					}
					writeOK(w, req.Items[0].N)
				}))
				defer f.Close()
				var logs logBuffer
				cfg := testConfig(f.URL, f.Client)
				cfg.Rate, cfg.Concurrency, cfg.Logger = tt.rate, 4, logs.logger()
				p := mustPool(t, cfg)

				// Sample the rate every 250 ms while the run goes on, half a
				// tick off the controller's, so each sample sees one step.
				var samples []float64
				stop := make(chan struct{})
				sampled := make(chan struct{})
				go func() {
					defer close(sampled)
					time.Sleep(controlEvery / 2)
					for {
						select {
						case <-stop:
							return
						case <-time.After(250 * time.Millisecond):
							samples = append(samples, p.Stats().Rate)
						}
					}
				}()
				got, err := runAll(t, context.Background(), p, manyJobs(tt.jobs))
				close(stop)
				<-sampled
				if err != nil {
					t.Fatal(err)
				}
				allOK(t, got, tt.jobs)

				// Find the drop, then check recovery is monotonic and complete.
				drop := -1
				for i, r := range samples {
					if r != tt.rate {
						drop = i
						break
					}
				}
				if drop < 0 {
					t.Fatalf("rate never dropped: %v", samples)
				}
				if r := samples[drop]; r < tt.wantLow[0] || r > tt.wantLow[1] {
					t.Errorf("rate after the 429 = %v, want within %v", r, tt.wantLow)
				}
				rec := drop
				for i := drop + 1; i < len(samples); i++ {
					prev, cur := samples[i-1], samples[i]
					if cur == tt.rate {
						rec = i
						break
					}
					if cur < prev {
						t.Errorf("rate fell from %v to %v during recovery (sample %d)", prev, cur, i)
					}
					if step := cur - prev; step > 0.05*100*0.25+0.01 && tt.rate > 0 {
						t.Errorf("rate rose by %v in one tick, want additive steps of ≤ 1.25", step)
					}
				}
				if rec == drop || samples[len(samples)-1] != tt.wantEnd {
					t.Errorf("rate did not recover to %v: %v", tt.wantEnd, samples[drop:])
				}
				if secs := float64(rec-drop) / 4; secs < 8 || secs > 14 {
					t.Errorf("recovery took %.2f s, want about 10 s (+5%%/s)", secs)
				}
				l := logs.String()
				if n := strings.Count(l, "lowering the request rate"); n != 1 {
					t.Errorf("%d decrease log lines, want 1:\n%s", n, l)
				}
				if n := strings.Count(l, tt.recovers); n != 1 {
					t.Errorf("%d recovery log lines, want 1:\n%s", n, l)
				}
			})
		})
	}
}

// TestAutoConcurrency: with 50 ms of server latency and a rate of 500/s,
// auto concurrency keeps enough requests in flight for ≥ 95% of the rate.
func TestAutoConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		arr := newArrivals()
		f := startFake(okServer(t, arr, 50*time.Millisecond))
		defer f.Close()
		cfg := testConfig(f.URL, f.Client)
		cfg.Rate = 500
		p := mustPool(t, cfg)
		got, err := runAll(t, context.Background(), p, manyJobs(5600))
		if err != nil {
			t.Fatal(err)
		}
		allOK(t, got, 5600)
		achieved := countBefore(arr.times(), 10*time.Second)
		if achieved < 4750 {
			t.Errorf("%d requests in 10 s, want ≥ 4750 (95%% of 500/s)", achieved)
		}
		// Little's law: 500/s × 50 ms × 1.25 + 1 = 33 in flight.
		if c := p.Stats().Concurrency; c < 30 || c > 40 {
			t.Errorf("concurrency settled at %d, want about 33", c)
		}
		t.Logf("achieved %d requests in 10 s; %+v", achieved, p.Stats())
	})
}

// TestAutoConcurrencyUnlimited: without a rate, the hill climber grows the
// concurrency while throughput improves (fixed latency: it always does, up
// to the bound).
func TestAutoConcurrencyUnlimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		arr := newArrivals()
		f := startFake(okServer(t, arr, 50*time.Millisecond))
		defer f.Close()
		cfg := testConfig(f.URL, f.Client)
		cfg.MaxConcurrency = 64
		p := mustPool(t, cfg)
		got, err := runAll(t, context.Background(), p, manyJobs(4000))
		if err != nil {
			t.Fatal(err)
		}
		allOK(t, got, 4000)
		at := arr.times()
		// At 64 in flight and 50 ms, 1280/s; the climb takes 1.5 s (8→16→32→64).
		last := slices.Max(at)
		inLast := len(at) - countBefore(at, last-time.Second)
		if inLast < 1100 {
			t.Errorf("%d requests in the last second, want ≥ 1100 (64 in flight at 50 ms)", inLast)
		}
		if c := p.Stats().Concurrency; c != 64 {
			t.Errorf("concurrency = %d, want the bound 64", c)
		}
	})
}

// TestRateDecreaseAppliesAtOnce: with many workers waiting for tokens, the
// 429 that shows the server throttling us (5% of the last second's
// requests) slows the very next requests. (Reservations queued in the
// limiter would keep the old rate until they ran out: waiters enter one at
// a time.)
func TestRateDecreaseAppliesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		arr := newArrivals()
		var throttledAt time.Duration
		f := startFake(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req, _ := decodeRequest(r)
			i := arr.add()
			time.Sleep(time.Millisecond)
			if i >= 100 && i < 110 {
				throttledAt = time.Since(arr.start) // by the last, 10% of the last second's requests
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			writeOK(w, req.Items[0].N)
		}))
		defer f.Close()
		cfg := testConfig(f.URL, f.Client)
		cfg.Rate, cfg.Concurrency = 100, 64
		p := mustPool(t, cfg)
		got, err := runAll(t, context.Background(), p, manyJobs(300))
		if err != nil {
			t.Fatal(err)
		}
		allOK(t, got, 300)
		if st := p.Stats(); st.Throttled != 10 {
			t.Fatalf("%d requests throttled, want 10", st.Throttled)
		}
		n := 0
		for _, a := range arr.times() {
			if a > throttledAt && a <= throttledAt+time.Second {
				n++
			}
		}
		// 50/s after the halving, its burst of 3, and the one waiter already
		// holding a token at the old rate.
		if n > 50+burstFor(50)+1 {
			t.Errorf("%d requests in the second after the 429, want ≤ %d (the halved rate)", n, 50+burstFor(50)+1)
		}
	})
}
