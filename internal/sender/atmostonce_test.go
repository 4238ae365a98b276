package sender

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// applier is a test server that applies every profile it is sent (it counts
// them per e-mail), then answers some requests in a way that leaves the
// client unsure whether anything was applied.
type applier struct {
	mu      sync.Mutex
	applied map[string]int
	calls   int
	fault   func(w http.ResponseWriter, call int) bool // true: the reply was replaced
}

func (a *applier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := decodeRequest(r)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	a.serve(w, req)
}

// serve applies a decoded request and answers it.
func (a *applier) serve(w http.ResponseWriter, req request) {
	a.mu.Lock()
	for _, p := range req.Items {
		a.applied[p.Email]++
	}
	a.calls++
	call := a.calls
	a.mu.Unlock()
	if a.fault != nil && a.fault(w, call) {
		return
	}
	if req.Batch {
		writeBatch(w, req.Items, func(int, profile) int { return 0 })
		return
	}
	writeOK(w, req.Items[0].N)
}

func (a *applier) count(email string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.applied[email]
}

// TestAtMostOnce: whatever a server does after applying a request (a 502
// from a proxy that lost the reply, a reset, an HTML page, a 504, no reply
// within the timeout), a Risky row is applied at most once and its status
// says what is known: ok only when applied, unknown only after such a
// reply, never failed. Set-only rows are sent again and all end ok.
func TestAtMostOnce(t *testing.T) {
	faults := []struct {
		name  string
		reply func(w http.ResponseWriter)
	}{
		{"502AfterApplying", func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) }},
		{"504AfterApplying", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusGatewayTimeout)
			fmt.Fprint(w, "<html>gateway timeout</html>")
		}},
		{"ResetAfterApplying", func(w http.ResponseWriter) {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}},
		{"HTMLWith200", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html><body>Service temporarily unavailable</body></html>")
		}},
		{"TimeoutAfterApplying", func(w http.ResponseWriter) { time.Sleep(3 * time.Second) }},
	}
	for _, f := range faults {
		for _, batch := range []int{1, 5} {
			t.Run(fmt.Sprintf("%s/batch%d", f.name, batch), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					a := &applier{applied: map[string]int{}, fault: func(w http.ResponseWriter, call int) bool {
						if call%3 != 1 { // the 1st, 4th, 7th … request
							return false
						}
						f.reply(w)
						return true
					}}
					srv := startFake(a)
					defer srv.Close()
					cfg := testConfig(srv.URL, srv.Client)
					cfg.BatchSize, cfg.Concurrency, cfg.Timeout, cfg.MaxAttempts = batch, 4, time.Second, 10
					p := mustPool(t, cfg)
					jobs := manyJobs(60)
					for i := range jobs {
						jobs[i].Risky = i%2 == 0
					}
					got, err := runAll(t, context.Background(), p, jobs)
					if err != nil {
						t.Fatal(err)
					}
					unknown := 0
					for _, j := range jobs {
						r, n := got[j.ID], a.count(j.Key)
						switch {
						case j.Risky && n > 1:
							t.Errorf("risky job %d applied %d times", j.ID, n)
						case j.Risky && r.Status == OK:
							if n != 1 {
								t.Errorf("risky job %d is ok but applied %d times", j.ID, n)
							}
						case j.Risky && r.Status == Unknown:
							unknown++
							if !strings.Contains(r.Error, "may have been applied") {
								t.Errorf("risky job %d unknown with %q: want it to say it may have been applied", j.ID, r.Error)
							}
						case j.Risky:
							t.Errorf("risky job %d = %+v, want ok or unknown", j.ID, r)
						case r.Status != OK:
							t.Errorf("set-only job %d = %+v, want ok", j.ID, r)
						}
					}
					if unknown == 0 {
						t.Errorf("no risky job ended unknown: the faults were not met")
					}
				})
			})
		}
	}
}

// TestTooLargeSplits: a batch the server refuses as too large (HTTP 413) is
// split in halves until each part fits; every row ends ok, each applied
// once, and later batches are formed below the refused size. A single row
// that is still too large fails with a message saying so.
func TestTooLargeSplits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit = 400 // bytes: about five items
		var rec batches
		var tooLarge atomic.Int32
		a := &applier{applied: map[string]int{}}
		srv := startFake(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > limit {
				tooLarge.Add(1)
				w.WriteHeader(http.StatusRequestEntityTooLarge)
				fmt.Fprintf(w, `{"error":413,"error_text":"request body larger than %d bytes"}`, limit)
				return
			}
			req, _ := decodeRequest(r)
			rec.add(req, 0, r.URL.Path)
			a.serve(w, req)
		}))
		defer srv.Close()
		var logs logBuffer
		cfg := testConfig(srv.URL, srv.Client)
		cfg.BatchSize, cfg.Concurrency, cfg.Logger = 8, 1, logs.logger()
		p := mustPool(t, cfg)
		var jobs []Job
		for i := 1; i <= 40; i++ {
			jobs = append(jobs, job(i, fmt.Sprintf("user-%03d@long-domain.example.com", i)))
		}
		big := job(41, strings.Repeat("x", limit)+"@example.com")
		jobs = append(jobs, big)
		got, err := runAll(t, context.Background(), p, jobs)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs[:40] {
			if r := got[j.ID]; r.Status != OK || a.count(j.Key) != 1 {
				t.Errorf("job %d = %+v, applied %d times; want ok, once", j.ID, r, a.count(j.Key))
			}
		}
		if r := got[41]; r.Status != Failed || !strings.Contains(r.Error, "more than the API accepts") || r.Code != "HTTP 413" {
			t.Errorf("the oversized row = %+v, want failed as too large", r)
		}
		// One refusal splits the first batch and shrinks the later ones; the
		// oversized row costs one more.
		if n := tooLarge.Load(); n != 2 {
			t.Errorf("%d requests refused as too large, want 2 (batch sizes %v)", n, rec.sizes())
		}
		if !strings.Contains(logs.String(), "keeping later batches smaller") {
			t.Errorf("no log line about the smaller batches:\n%s", logs.String())
		}
	})
}

// TestAccountWideErrorStops: an account-wide refusal (the tariff limit,
// error 402, in the envelope or as HTTP 402) stops the run wherever it
// comes: rows applied before are ok, the refused rows and every row not
// sent are Canceled (a resumed run sends them), none is failed.
func TestAccountWideErrorStops(t *testing.T) {
	for _, tt := range []struct {
		name  string
		batch int
		http  bool
	}{{"Single", 1, false}, {"SingleHTTP402", 1, true}, {"Batch", 5, false}} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const quota = 20
				var mu sync.Mutex
				used, refused := 0, 0
				srv := startFake(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					req, _ := decodeRequest(r)
					mu.Lock()
					over := used+len(req.Items) > quota
					if over {
						refused++
					} else {
						used += len(req.Items)
					}
					mu.Unlock()
					switch {
					case over && tt.http:
						w.WriteHeader(http.StatusPaymentRequired)
						fmt.Fprint(w, `{"error":402,"error_text":"Tariff limit reached"}`)
					case over:
						fmt.Fprint(w, `{"error":402,"error_text":"Tariff limit reached"}`)
					case req.Batch:
						writeBatch(w, req.Items, func(int, profile) int { return 0 })
					default:
						writeOK(w, req.Items[0].N)
					}
				}))
				defer srv.Close()
				cfg := testConfig(srv.URL, srv.Client)
				cfg.BatchSize, cfg.Concurrency = tt.batch, 2
				p := mustPool(t, cfg)
				jobs := manyJobs(200)
				for i := range jobs {
					jobs[i].Risky = true
				}
				got, err := runAll(t, context.Background(), p, jobs)
				var fe *FatalError
				if !errors.As(err, &fe) || fe.Hint != hintAccount || !strings.Contains(fe.Reason, "Tariff limit reached") {
					t.Fatalf("Run() = %v, want the account-limit FatalError", err)
				}
				ok, canceled := 0, 0
				for id, r := range got {
					switch r.Status {
					case OK:
						ok++
					case Canceled:
						canceled++
					default:
						t.Errorf("job %d = %+v, want ok or canceled", id, r)
					}
				}
				if ok != quota || ok+canceled != len(got) {
					t.Errorf("%d ok, %d canceled of %d; want %d ok", ok, canceled, len(got), quota)
				}
				if refused > 2 {
					t.Errorf("the server refused %d requests, want ≤ 2 (those in flight)", refused)
				}
			})
		})
	}
}

// TestBatchItemWithoutVerdict: in a reply with one result per item, an item
// whose result has no error code may have been applied: a Risky row ends
// Unknown, a set-only row goes out again alone.
func TestBatchItemWithoutVerdict(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec batches
		srv := startFake(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req, _ := decodeRequest(r)
			rec.add(req, 0, r.URL.Path)
			if !req.Batch {
				writeOK(w, req.Items[0].N)
				return
			}
			fmt.Fprint(w, `{"error":0,"result":[{"error":0,"profile_id":"a"},{"profile_id":"b"},{"profile_id":"c"},{"error":404,"error_text":"Profile not found"}]}`)
		}))
		defer srv.Close()
		cfg := testConfig(srv.URL, srv.Client)
		cfg.BatchSize, cfg.Concurrency = 4, 1
		p := mustPool(t, cfg)
		jobs := manyJobs(4)
		jobs[1].Risky = true
		got, err := runAll(t, context.Background(), p, jobs)
		if err != nil {
			t.Fatal(err)
		}
		want := map[int64]Status{1: OK, 2: Unknown, 3: OK, 4: Failed}
		for id, st := range want {
			if got[id].Status != st {
				t.Errorf("job %d = %+v, want %v", id, got[id], st)
			}
		}
		if sizes := rec.sizes(); len(sizes) != 2 || sizes[0] != 4 || sizes[1] != 1 {
			t.Errorf("request sizes %v, want the batch of 4, then job 3 alone", sizes)
		}
	})
}

// TestBeforeSend: the caller hears of every Risky row before the first
// request holding it leaves (and only once, however often it is sent), and
// an error from it stops the run before anything is sent.
func TestBeforeSend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		announced := map[int64]int{}
		var early atomic.Int32
		srv := startFake(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req, _ := decodeRequest(r)
			mu.Lock()
			for _, it := range req.Items {
				if it.N%2 == 0 && announced[int64(it.N)] == 0 {
					early.Add(1)
				}
			}
			mu.Unlock()
			w.WriteHeader(http.StatusServiceUnavailable) // not applied: every row is retried
		}))
		defer srv.Close()
		cfg := testConfig(srv.URL, srv.Client)
		cfg.BatchSize, cfg.Concurrency, cfg.MaxAttempts, cfg.BreakerSample = 3, 2, 3, -1
		cfg.BeforeSend = func(ids []int64) error {
			mu.Lock()
			defer mu.Unlock()
			for _, id := range ids {
				announced[id]++
			}
			return nil
		}
		p := mustPool(t, cfg)
		jobs := manyJobs(12)
		for i := range jobs {
			jobs[i].Risky = jobs[i].ID%2 == 0
		}
		if _, err := runAll(t, context.Background(), p, jobs); err != nil {
			t.Fatal(err)
		}
		if n := early.Load(); n != 0 {
			t.Errorf("%d risky rows reached the server before they were announced", n)
		}
		for _, j := range jobs {
			if n := announced[j.ID]; j.Risky != (n == 1) || n > 1 {
				t.Errorf("job %d (risky %v) announced %d times", j.ID, j.Risky, n)
			}
		}
	})
	t.Run("ErrorStops", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var hits atomic.Int32
			srv := startFake(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				writeOK(w, 1)
			}))
			defer srv.Close()
			cfg := testConfig(srv.URL, srv.Client)
			cfg.Concurrency = 1
			cfg.BeforeSend = func([]int64) error { return errors.New("disk full") }
			p := mustPool(t, cfg)
			jobs := manyJobs(3)
			jobs[0].Risky = true
			got, err := runAll(t, context.Background(), p, jobs)
			var fe *FatalError
			if !errors.As(err, &fe) || !strings.Contains(fe.Reason, "disk full") {
				t.Fatalf("Run() = %v, want a FatalError naming the cause", err)
			}
			if hits.Load() != 0 || got[1].Status != Canceled {
				t.Errorf("%d requests sent, job 1 = %+v; want none sent, canceled", hits.Load(), got[1])
			}
		})
	})
}

// TestOccasional429 keeps the pool going: with 1% of requests refused at
// random (each with Retry-After: 1), only the refused requests back off;
// the pool is never paused and the rate is not lowered, so the run keeps
// most of its fault-free speed (measured on the fake clock).
func TestOccasional429(t *testing.T) {
	run := func(t *testing.T, every int) (time.Duration, *Pool, string) {
		var d time.Duration
		var p *Pool
		var logs logBuffer
		synctest.Test(t, func(t *testing.T) {
			var n atomic.Int64
			srv := startFake(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				req, _ := decodeRequest(r)
				time.Sleep(5 * time.Millisecond)
				if every > 0 && n.Add(1)%int64(every) == 0 {
					w.Header().Set("Retry-After", "1")
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				writeOK(w, req.Items[0].N)
			}))
			defer srv.Close()
			cfg := testConfig(srv.URL, srv.Client)
			cfg.Concurrency, cfg.Logger = 32, logs.logger()
			p = mustPool(t, cfg)
			start := time.Now()
			got, err := runAll(t, context.Background(), p, manyJobs(2000))
			d = time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			allOK(t, got, 2000)
		})
		return d, p, logs.String()
	}
	clean, _, _ := run(t, 0)
	faulty, p, logs := run(t, 100)
	if st := p.Stats(); st.Throttled < 15 {
		t.Fatalf("%d requests throttled, want about 20", st.Throttled)
	}
	if share := float64(clean) / float64(faulty); share < 0.5 {
		t.Errorf("with 1%% 429s the run took %v against %v fault-free: %.0f%% of the speed, want ≥ 50%%", faulty, clean, share*100)
	}
	if strings.Contains(logs, "pausing all requests") || strings.Contains(logs, "lowering the request rate") {
		t.Errorf("occasional 429s paused the pool or lowered the rate:\n%s", logs)
	}
}

// TestLate429DoesNotExtendPause: a 429 answering a request sent before the
// current pause began neither extends it nor starts a new one after it.
func TestLate429DoesNotExtendPause(t *testing.T) {
	var g gate
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	if !g.pause(t0, t0.Add(10*time.Millisecond), time.Second) {
		t.Fatal("the first 429 did not start a pause")
	}
	until := g.until.Load()
	// Sent before the pause began, answered during it and after it.
	if g.pause(t0.Add(5*time.Millisecond), t0.Add(500*time.Millisecond), time.Second) || g.until.Load() != until {
		t.Error("a late 429 extended the pause")
	}
	if g.pause(t0.Add(5*time.Millisecond), t0.Add(2*time.Second), time.Second) || g.until.Load() != until {
		t.Error("a late 429 started a new pause")
	}
	// Sent after the pause began: a new signal.
	if !g.pause(t0.Add(1500*time.Millisecond), t0.Add(2*time.Second), time.Second) {
		t.Error("a 429 for a request sent after the pause began was ignored")
	}
}
