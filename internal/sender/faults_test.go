package sender

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// tries counts attempts per row (by the profile's n) on a test server.
type tries struct {
	mu sync.Mutex
	n  map[int]int
}

func (c *tries) next(row int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[int]int{}
	}
	c.n[row]++
	return c.n[row]
}

func noJitter(p *Pool) *Pool {
	p.s.randN = func(int64) int64 { return 0 }
	return p
}

// TestTransientThenSuccess: each kind of transient failure is retried, and
// the row ends ok with every attempt counted.
func TestTransientThenSuccess(t *testing.T) {
	tests := []struct {
		name string
		fail func(w http.ResponseWriter)
	}{
		{"HTTP503", func(w http.ResponseWriter) { w.WriteHeader(503) }},
		{"HTTP502WithBody", func(w http.ResponseWriter) { w.WriteHeader(502); fmt.Fprint(w, "<html>bad gateway</html>") }},
		{"API500", func(w http.ResponseWriter) { fmt.Fprint(w, `{"error":500,"error_text":"Internal error"}`) }},
		{"NotEnvelope", func(w http.ResponseWriter) { fmt.Fprint(w, `<html>maintenance</html>`) }},
		{"Truncated", func(w http.ResponseWriter) { fmt.Fprint(w, `{"error":0,"profile_id":"x`) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c tries
			srv := startLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				req, err := decodeRequest(r)
				if err != nil {
					t.Error(err)
					return
				}
				if c.next(req.Items[0].N) <= 2 {
					tt.fail(w)
					return
				}
				writeOK(w, req.Items[0].N)
			}))
			cfg := testConfig(srv.URL, nil)
			cfg.Concurrency = 4
			p := noJitter(mustPool(t, cfg))
			got, err := runAll(t, context.Background(), p, manyJobs(20))
			if err != nil {
				t.Fatal(err)
			}
			allOK(t, got, 20)
			for id, r := range got {
				if r.Attempts != 3 || r.ProfileID != fmt.Sprintf("pid-%d", id) {
					t.Errorf("job %d: %d attempts, profile %q; want 3, pid-%d", id, r.Attempts, r.ProfileID, id)
				}
			}
			if st := p.Stats(); st.Requests != 60 || st.Retries != 40 {
				t.Errorf("stats = %+v, want 60 requests, 40 retries", st)
			}
		})
	}
}

// TestRetriesExhausted: a row that never succeeds ends Failed with the last
// error after MaxAttempts.
func TestRetriesExhausted(t *testing.T) {
	srv := startLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(503)
	}))
	cfg := testConfig(srv.URL, nil)
	cfg.MaxAttempts, cfg.BreakerSample = 3, -1
	p := noJitter(mustPool(t, cfg))
	got, err := runAll(t, context.Background(), p, manyJobs(5))
	if err != nil {
		t.Fatal(err)
	}
	for id, r := range got {
		want := Result{ID: id, Status: Failed, Code: "HTTP 503",
			Error: "HTTP 503 Service Unavailable (the request was sent; it may have been applied)", Attempts: 3}
		if r != want {
			t.Errorf("job %d = %+v, want %+v", id, r, want)
		}
	}
}

// TestDroppedConnection: the server reads the request and hangs up. A
// normal row is resent; a Risky row ends Unknown, sent once.
func TestDroppedConnection(t *testing.T) {
	var c tries
	srv := startLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decodeRequest(r)
		if err != nil {
			t.Error(err)
			return
		}
		if c.next(req.Items[0].N) == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			conn.Close()
			return
		}
		writeOK(w, req.Items[0].N)
	}))
	cfg := testConfig(srv.URL, nil)
	cfg.Concurrency = 4
	p := noJitter(mustPool(t, cfg))
	jobs := manyJobs(20)
	for i := range jobs {
		jobs[i].Risky = i%2 == 1
	}
	got, err := runAll(t, context.Background(), p, jobs)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		r := got[j.ID]
		switch {
		case j.Risky && (r.Status != Unknown || r.Attempts != 1 || r.Code != "network" ||
			!strings.Contains(r.Error, "the request was sent; it may have been applied")):
			t.Errorf("risky job %d = %+v, want unknown after 1 attempt", j.ID, r)
		case !j.Risky && (r.Status != OK || r.Attempts != 2):
			t.Errorf("job %d = %+v, want ok after 2 attempts", j.ID, r)
		}
	}
}

// TestRefusedIsSafeForRisky: a refused connection sent nothing, so even a
// Risky row is retried.
func TestRefusedIsSafeForRisky(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		arr := newArrivals()
		f := startFake(okServer(t, arr, time.Millisecond))
		defer f.Close()
		var dials atomic.Int32
		f.net.refuse = func() bool { return dials.Add(1) <= 3 }
		cfg := testConfig(f.URL, f.Client)
		cfg.Concurrency = 1
		p := mustPool(t, cfg)
		jobs := manyJobs(3)
		for i := range jobs {
			jobs[i].Risky = true
		}
		got, err := runAll(t, context.Background(), p, jobs)
		if err != nil {
			t.Fatal(err)
		}
		allOK(t, got, 3)
		if got[1].Attempts != 4 {
			t.Errorf("first job: %d attempts, want 4 (3 refused, then ok)", got[1].Attempts)
		}
	})
}

// TestSlowReply: a reply later than the timeout. The attempt was sent, so
// the outcome is unknown: resent for normal rows, Unknown for Risky ones.
func TestSlowReply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c tries
		f := startFake(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req, _ := decodeRequest(r)
			if c.next(req.Items[0].N) == 1 {
				time.Sleep(5 * time.Second)
			}
			writeOK(w, req.Items[0].N)
		}))
		defer f.Close()
		cfg := testConfig(f.URL, f.Client)
		cfg.Timeout, cfg.Concurrency = time.Second, 4
		p := mustPool(t, cfg)
		jobs := manyJobs(8)
		for i := range jobs {
			jobs[i].Risky = i%2 == 1
		}
		start := time.Now()
		got, err := runAll(t, context.Background(), p, jobs)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			r := got[j.ID]
			if j.Risky {
				want := Result{ID: j.ID, Status: Unknown, Code: "timeout",
					Error: "no reply within 1s (the request was sent; it may have been applied)", Attempts: 1}
				if r != want {
					t.Errorf("risky job %d = %+v, want %+v", j.ID, r, want)
				}
			} else if r.Status != OK || r.Attempts != 2 {
				t.Errorf("job %d = %+v, want ok after 2 attempts", j.ID, r)
			}
		}
		// Two rounds of 4 rows: each waits its 1 s timeout, then a short backoff.
		if d := time.Since(start); d > 4*time.Second {
			t.Errorf("run took %v: attempts were not bounded by the timeout", d)
		}
	})
}

// TestFatalStopsAtOnce: a rejected token, a spent account limit or a wrong
// URL stops the run after the requests already in flight, with the hint
// that fixes it. No row gets a verdict: the refused requests were not
// applied (or hold only set-only rows), so every row is Canceled and a
// resumed run sends it.
func TestFatalStopsAtOnce(t *testing.T) {
	tests := []struct {
		name   string
		handle func(w http.ResponseWriter)
		reason string
		hint   string
	}{
		{"HTTP401", func(w http.ResponseWriter) { w.WriteHeader(401) },
			"the API rejected the token (HTTP 401 Unauthorized)", hintToken},
		{"HTTP403", func(w http.ResponseWriter) { w.WriteHeader(403) },
			"the API rejected the token (HTTP 403 Forbidden)", hintToken},
		{"API401", func(w http.ResponseWriter) { fmt.Fprint(w, `{"error":401,"error_text":"API token required"}`) },
			"the API rejected the token (API error 401: API token required)", hintToken},
		{"API403", func(w http.ResponseWriter) { fmt.Fprint(w, `{"error":403,"error_text":"Forbidden"}`) },
			"the API rejected the token (API error 403: Forbidden)", hintToken},
		{"API402", func(w http.ResponseWriter) { fmt.Fprint(w, `{"error":402,"error_text":"Tariff limit reached"}`) },
			"the API refused the request (API error 402: Tariff limit reached)", hintAccount},
		{"HTTP402", func(w http.ResponseWriter) { w.WriteHeader(402) },
			"the API refused the request: HTTP 402 Payment Required", hintAccount},
		{"WrongURL", func(w http.ResponseWriter) { http.Error(w, "404 page not found", 404) },
			"answered HTTP 404 Not Found", hintURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen atomic.Int32
			srv := startLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen.Add(1)
				tt.handle(w)
			}))
			cfg := testConfig(srv.URL, nil)
			cfg.Concurrency = 4
			p := noJitter(mustPool(t, cfg))
			got, err := runAll(t, context.Background(), p, manyJobs(100))
			var fe *FatalError
			if !errors.As(err, &fe) {
				t.Fatalf("Run() = %v, want a *FatalError", err)
			}
			if !strings.Contains(fe.Reason, tt.reason) || fe.Hint != tt.hint {
				t.Errorf("FatalError = %q, want reason with %q and hint %q", fe.Error(), tt.reason, tt.hint)
			}
			if n := seen.Load(); n > 4 {
				t.Errorf("server saw %d requests, want ≤ 4 (only those already in flight)", n)
			}
			if failed, canceled := countStatus(t, got); failed != 0 || canceled != len(got) {
				t.Errorf("%d failed, %d canceled; want every row canceled", failed, canceled)
			}
			assertNoToken(t, got, err.Error())
		})
	}
}

// countStatus counts failed and canceled results and fails on any other.
// (runAll checked that each job Run took got exactly one result.)
func countStatus(t *testing.T, got map[int64]Result) (failed, canceled int) {
	t.Helper()
	for id, r := range got {
		switch r.Status {
		case Failed:
			failed++
		case Canceled:
			canceled++
			if r.Attempts == 0 && !strings.HasPrefix(r.Error, "not sent: the run stopped (") {
				t.Errorf("canceled job %d: error %q", id, r.Error)
			}
		default:
			t.Errorf("job %d = %+v, want failed or canceled", id, r)
		}
	}
	return failed, canceled
}

// TestBreaker: the first 20 requests failing alike stop the run with a
// message saying what to fix; failures that differ, or successes, do not.
func TestBreaker(t *testing.T) {
	tests := []struct {
		name   string
		handle func(w http.ResponseWriter, n int)
		fatal  string // "" = the run must finish
		hint   string
	}{
		{"WrongDB", func(w http.ResponseWriter, _ int) {
			fmt.Fprint(w, `{"error":400,"error_text":"Database not found"}`)
		}, `the first 20 requests all failed with the same error: API error 400 "Database not found"`, hintDB},
		{"SameRowError", func(w http.ResponseWriter, _ int) {
			fmt.Fprint(w, `{"error":404,"error_text":"Profile not found"}`)
		}, `the first 20 requests all failed with the same error: API error 404 "Profile not found"`, ""},
		{"ServerDown", func(w http.ResponseWriter, _ int) { w.WriteHeader(502) },
			"the first 20 requests all failed with the same error: HTTP 502 Bad Gateway (the request was sent; it may have been applied)", ""},
		{"Mixed", func(w http.ResponseWriter, n int) {
			if n%2 == 0 {
				fmt.Fprint(w, `{"error":404,"error_text":"Profile not found"}`)
				return
			}
			writeOK(w, n)
		}, "", ""},
		{"DifferentErrors", func(w http.ResponseWriter, n int) {
			fmt.Fprintf(w, `{"error":400,"error_text":"bad value %d"}`, n)
		}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				req, _ := decodeRequest(r)
				tt.handle(w, req.Items[0].N)
			}))
			cfg := testConfig(srv.URL, nil)
			cfg.Concurrency = 4
			p := noJitter(mustPool(t, cfg))
			got, err := runAll(t, context.Background(), p, manyJobs(200))
			if tt.fatal == "" {
				if err != nil {
					t.Fatalf("Run() = %v, want nil", err)
				}
				if len(got) != 200 {
					t.Errorf("%d results, want 200", len(got))
				}
				return
			}
			var fe *FatalError
			if !errors.As(err, &fe) {
				t.Fatalf("Run() = %v, want a *FatalError", err)
			}
			if fe.Reason != tt.fatal || fe.Hint != tt.hint {
				t.Errorf("FatalError = %q / %q, want %q / %q", fe.Reason, fe.Hint, tt.fatal, tt.hint)
			}
			// Failed rows keep their results; requests stop near the sample.
			failed, _ := countStatus(t, got)
			if st := p.Stats(); st.Requests < 20 || st.Requests > 20+4 {
				t.Errorf("%d requests sent, want the run stopped at 20 (+ those in flight)", st.Requests)
			}
			if rowErr := !strings.HasPrefix(fe.Code, "HTTP"); rowErr && failed < 20 {
				t.Errorf("%d failed, want the 20 rejected rows failed", failed)
			}
		})
	}
}

// TestConnectionRefused: nothing listens at the URL. The breaker stops the
// run after 20 refused attempts and says to check the URL.
func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	cfg := testConfig(url, nil)
	cfg.Concurrency = 4
	p := noJitter(mustPool(t, cfg))
	got, err := runAll(t, context.Background(), p, manyJobs(50))
	var fe *FatalError
	if !errors.As(err, &fe) {
		t.Fatalf("Run() = %v, want a *FatalError", err)
	}
	if !strings.HasPrefix(fe.Reason, "the first 20 requests all failed with the same error: connection refused") || fe.Hint != hintURL {
		t.Errorf("FatalError = %q, want connection refused and %q", fe.Error(), hintURL)
	}
	countStatus(t, got)
	if st := p.Stats(); st.Requests > 24 {
		t.Errorf("%d attempts, want ≤ 24 (20 + those in flight)", st.Requests)
	}
}

// TestUnreachable: the API answered once, then went away. After 20 rows in
// a row gave up on network errors the run stops: "API unreachable".
func TestUnreachable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		arr := newArrivals()
		f := startFake(okServer(t, arr, time.Millisecond))
		defer f.Close()
		f.srv.SetKeepAlivesEnabled(false) // each request dials: the dial is what fails
		var dials atomic.Int32
		f.net.refuse = func() bool { return dials.Add(1) > 1 }
		cfg := testConfig(f.URL, f.Client)
		cfg.Concurrency = 1
		p := mustPool(t, cfg)
		got, err := runAll(t, context.Background(), p, manyJobs(40))
		var fe *FatalError
		if !errors.As(err, &fe) {
			t.Fatalf("Run() = %v, want a *FatalError", err)
		}
		want := "API unreachable: 20 requests in a row gave up after 5 attempts (last: connection refused by pipe (nothing was sent))"
		if fe.Reason != want || fe.Hint != hintURL+" and the network" {
			t.Errorf("FatalError = %q\nwant reason %q", fe.Error(), want)
		}
		if got[1].Status != OK {
			t.Errorf("job 1 = %+v, want ok", got[1])
		}
		for id := int64(2); id <= 21; id++ {
			if r := got[id]; r.Status != Failed || r.Code != "network" || r.Attempts != 5 {
				t.Errorf("job %d = %+v, want failed (network) after 5 attempts", id, r)
			}
		}
		for id := int64(22); id <= 40; id++ {
			if r := got[id]; r.Status != Canceled {
				t.Errorf("job %d = %+v, want canceled", id, r)
			}
		}
	})
}

// TestUnreachableShortRun: a run too short for the streak rule, whose every
// request gave up on the network, still ends with "API unreachable" (exit 1
// for cron), after each row got its Failed result.
func TestUnreachableShortRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		arr := newArrivals()
		f := startFake(okServer(t, arr, time.Millisecond))
		defer f.Close()
		f.srv.SetKeepAlivesEnabled(false)
		f.net.refuse = func() bool { return true }
		cfg := testConfig(f.URL, f.Client)
		cfg.Concurrency = 1
		p := mustPool(t, cfg)
		got, err := runAll(t, context.Background(), p, manyJobs(3))
		var fe *FatalError
		if !errors.As(err, &fe) {
			t.Fatalf("Run() = %v, want a *FatalError", err)
		}
		if want := "API unreachable: every request (3) gave up after 5 attempts"; !strings.HasPrefix(fe.Reason, want) {
			t.Errorf("FatalError = %q, want it to start with %q", fe.Error(), want)
		}
		for id := int64(1); id <= 3; id++ {
			if r := got[id]; r.Status != Failed || r.Code != "network" {
				t.Errorf("job %d = %+v, want failed (network)", id, r)
			}
		}
	})
}

// TestReachedOnceIsNotUnreachable: one request that got through keeps a
// short run's network failures per row (exit 2), not fatal.
func TestReachedOnceIsNotUnreachable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		arr := newArrivals()
		f := startFake(okServer(t, arr, time.Millisecond))
		defer f.Close()
		f.srv.SetKeepAlivesEnabled(false)
		var dials atomic.Int32
		f.net.refuse = func() bool { return dials.Add(1) > 1 }
		cfg := testConfig(f.URL, f.Client)
		cfg.Concurrency = 1
		p := mustPool(t, cfg)
		got, err := runAll(t, context.Background(), p, manyJobs(3))
		if err != nil {
			t.Fatalf("Run() = %v, want nil: the API answered once", err)
		}
		if got[1].Status != OK || got[2].Status != Failed || got[3].Status != Failed {
			t.Errorf("results = %+v", got)
		}
	})
}
