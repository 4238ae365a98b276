package fakeapi_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"importer/internal/fakeapi"
)

// outcomeOf names what a client saw for one request.
func outcomeOf(r reply, err error) string {
	switch {
	case err != nil:
		return "transport-error"
	case r.status != 200:
		return fmt.Sprintf("http-%d", r.status)
	case r.Error != 0:
		return fmt.Sprintf("api-%d", r.Error)
	default:
		return "ok"
	}
}

// sequence sends n imports one at a time, each with its own e-mail, and
// returns what each met.
func sequence(t *testing.T, e *env, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		body := fmt.Sprintf(`{"token":%q,"db_id":1,"email":"u%d@example.com","data":{}}`, testToken, i)
		r, err := e.do(http.MethodPost, fakeapi.APIPrefix+"import", "application/json", []byte(body), nil)
		out[i] = outcomeOf(r, err)
	}
	return out
}

func count(outcomes []string, prefix string) int {
	n := 0
	for _, o := range outcomes {
		if strings.HasPrefix(o, prefix) {
			n++
		}
	}
	return n
}

func TestFailRate(t *testing.T) {
	const n = 400
	opts := fakeapi.Options{FailRate: 0.25, Seed: 7}
	e := newEnv(t, opts)
	got := sequence(t, e, n)
	fails := count(got, "http-5")
	if fails < n*18/100 || fails > n*32/100 {
		t.Errorf("5xx replies = %d of %d, want about 25%%", fails, n)
	}
	for _, s := range []string{"http-500", "http-502", "http-503"} {
		if !slices.Contains(got, s) {
			t.Errorf("no %s among the injected failures", s)
		}
	}
	if ok := count(got, "ok"); ok != n-fails || len(e.api.Profiles()) != ok {
		t.Errorf("ok = %d, profiles = %d, want both %d: a failed request must store nothing", ok, len(e.api.Profiles()), n-fails)
	}
	if st := e.api.Stats().Endpoints["import"]; st.Outcomes["http_5xx"] != int64(fails) {
		t.Errorf("stats http_5xx = %d, want %d", st.Outcomes["http_5xx"], fails)
	}
	again := sequence(t, newEnv(t, opts), n)
	if !slices.Equal(got, again) {
		t.Error("the same seed and request order gave different failures")
	}
}

func TestDropRate(t *testing.T) {
	const n = 200
	e := newEnv(t, fakeapi.Options{DropRate: 0.2, Seed: 3})
	got := sequence(t, e, n)
	drops := count(got, "transport-error")
	if drops < n*12/100 || drops > n*28/100 {
		t.Errorf("dropped = %d of %d, want about 20%%", drops, n)
	}
	st := e.api.Stats().Endpoints["import"]
	if st.Outcomes["dropped"] != int64(drops) {
		t.Errorf("stats dropped = %d, client errors = %d", st.Outcomes["dropped"], drops)
	}
	if len(e.api.Profiles()) != n-drops {
		t.Errorf("profiles = %d, want %d: a dropped request is not processed", len(e.api.Profiles()), n-drops)
	}
}

func TestErrorRate(t *testing.T) {
	const n = 300
	e := newEnv(t, fakeapi.Options{ErrorRate: 0.3, ErrorCode: 503, Seed: 11})
	got := sequence(t, e, n)
	errs := count(got, "api-503")
	if errs < n*22/100 || errs > n*38/100 {
		t.Errorf("API errors = %d of %d, want about 30%%", errs, n)
	}
	if errs+count(got, "ok") != n {
		t.Errorf("outcomes = %v, want only ok and api-503", got)
	}
	if len(e.api.Profiles()) != n-errs {
		t.Errorf("profiles = %d, want %d: an API error stores nothing", len(e.api.Profiles()), n-errs)
	}
	t.Run("TextAndAuthFirst", func(t *testing.T) {
		e := newEnv(t, fakeapi.Options{ErrorRate: 1})
		wantErr(t, e.call("import", obj{"db_id": 1, "email": "a@example.com", "data": obj{}}), 500, "Temporary error, try again later")
		wantErr(t, e.call("import", obj{"token": "wrong", "db_id": 1, "data": obj{}}), 403)
	})
}

func TestSeedReproducible(t *testing.T) {
	opts := fakeapi.Options{FailRate: 0.1, DropRate: 0.1, ErrorRate: 0.1, ThrottleRate: 0.1, ApplyThenRate: 0.1, ApplyThen: fakeapi.Lost504, Seed: 42}
	a := sequence(t, newEnv(t, opts), 150)
	for _, o := range []string{"transport-error", "http-429", "http-5", "api-500", "http-504", "ok"} {
		if count(a, o) == 0 {
			t.Errorf("no %s in 150 requests: the test does not exercise every fault", o)
		}
	}
	b := sequence(t, newEnv(t, opts), 150)
	if !slices.Equal(a, b) {
		t.Fatalf("seed 42 twice:\n%v\n%v", a, b)
	}
	opts.Seed = 43
	if c := sequence(t, newEnv(t, opts), 150); slices.Equal(a, c) {
		t.Error("seeds 42 and 43 gave the same faults")
	}
	opts.Seed = 42
	e := newEnv(t, opts)
	sequence(t, e, 50)
	e.api.Reset()
	if d := sequence(t, e, 150); !slices.Equal(a, d) {
		t.Error("after Reset the fault sequence did not start over")
	}
}

// TestLaterFaultsMoveNoOther: the faults added later (ThrottleRate,
// ApplyThenRate) draw from their own stream, so a seed assigns the older
// faults exactly as before they existed, and turning the new ones on only
// replaces outcomes they may strike.
func TestLaterFaultsMoveNoOther(t *testing.T) {
	old := fakeapi.Options{FailRate: 0.1, DropRate: 0.1, ErrorRate: 0.1, Seed: 42}
	// Recorded before the later faults existed.
	before := []string{"ok", "http-502", "ok", "ok", "transport-error", "http-502", "transport-error", "ok", "ok", "ok",
		"transport-error", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok",
		"api-500", "ok", "ok", "ok", "ok", "ok", "ok", "api-500", "ok", "api-500", "ok", "http-500", "ok"}
	a := sequence(t, newEnv(t, old), len(before))
	if !slices.Equal(a, before) {
		t.Fatalf("seed 42 now gives\n%q\nbefore the later faults it gave\n%q", a, before)
	}
	both := old
	both.ThrottleRate, both.ApplyThenRate, both.ApplyThen = 0.2, 0.2, fakeapi.Lost504
	b := sequence(t, newEnv(t, both), len(before))
	for i := range a {
		switch {
		case a[i] == b[i]:
		case a[i] == "transport-error": // a drop strikes first
			t.Errorf("request %d: %s, want the drop kept", i, b[i])
		case strings.HasPrefix(a[i], "http-5"): // a fail may only meet a throttle first
			if b[i] != "http-429" {
				t.Errorf("request %d: %s then %s, want the fail kept or throttled", i, a[i], b[i])
			}
		case b[i] != "http-429" && b[i] != "http-504":
			t.Errorf("request %d: %s then %s, want it kept, throttled or its reply lost", i, a[i], b[i])
		}
	}
	if count(b, "http-429") == 0 || count(b, "http-504") == 0 {
		t.Errorf("with the later faults at 20%%: %q, want both to strike", b)
	}
}

// TestThrottleRate: the share asked for is answered 429 with Retry-After,
// as the rate limiter answers, and nothing in those requests is applied.
func TestThrottleRate(t *testing.T) {
	const n = 300
	e := newEnv(t, fakeapi.Options{ThrottleRate: 0.25, RetryAfter: 2 * time.Second, Seed: 12})
	got := sequence(t, e, n)
	th := count(got, "http-429")
	if th < n*18/100 || th > n*32/100 || th+count(got, "ok") != n {
		t.Errorf("throttled %d of %d (%d ok), want about 25%% and the rest ok", th, n, count(got, "ok"))
	}
	ps := e.dump()
	if len(ps) != n-th {
		t.Errorf("stored %d profiles, want %d: a throttled request stores nothing", len(ps), n-th)
	}
	stored := byEmail(ps)
	for i, o := range got {
		if _, ok := stored[fmt.Sprintf("u%d@example.com", i)]; ok != (o == "ok") {
			t.Errorf("request %d was %s, stored = %v", i, o, ok)
		}
	}
	st := e.stats().Endpoints["import"]
	if st.Outcomes["throttled_random"] != int64(th) || st.Outcomes["http_429"] != 0 {
		t.Errorf("stats = %+v, want %d throttled_random and no http_429 (the rate limiter's)", st.Outcomes, th)
	}
	e2 := newEnv(t, fakeapi.Options{ThrottleRate: 1, RetryAfter: 2 * time.Second})
	r := e2.raw("import", "application/json", []byte(`{}`), nil)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "2" || string(r.raw) != `{"error":429,"error_text":"Too many requests"}`+"\n" {
		t.Errorf("throttled reply = HTTP %d Retry-After %q %s", r.status, r.header.Get("Retry-After"), r.raw)
	}
}

func TestRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := bubbleEnv(t, fakeapi.Options{RateLimit: 5, RetryAfter: 1500 * time.Millisecond})
		got := sequence(t, e, 7)
		want := []string{"ok", "ok", "ok", "ok", "ok", "http-429", "http-429"}
		if !slices.Equal(got, want) {
			t.Fatalf("burst of 7 at 5/s = %v, want %v", got, want)
		}
		r := e.raw("import", "application/json", []byte(`{}`), nil)
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "2" || r.Error != 429 {
			t.Errorf("429 reply = HTTP %d Retry-After %q %s, want Retry-After 2 (1.5s rounded up)", r.status, r.header.Get("Retry-After"), r.raw)
		}
		time.Sleep(time.Second) // refills 5 tokens
		if got := sequence(t, e, 6); !slices.Equal(got, want[:6]) {
			t.Errorf("after 1s = %v, want %v", got, want[:6])
		}
		time.Sleep(200 * time.Millisecond) // one token
		if got := sequence(t, e, 2); !slices.Equal(got, []string{"ok", "http-429"}) {
			t.Errorf("after 200ms = %v, want one ok", got)
		}
		if st := e.api.Stats().Endpoints["import"]; st.Outcomes["http_429"] != 5 || st.Outcomes["ok"] != 11 {
			t.Errorf("stats = %+v, want 11 ok and 5 http_429", st)
		}
	})
}

func TestRateLimitRetryAfterDate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := bubbleEnv(t, fakeapi.Options{RateLimit: 1, RateBurst: 1, RetryAfterDate: true, RetryAfter: 3 * time.Second})
		time.Sleep(250 * time.Millisecond) // off a whole second, to check the rounding
		sequence(t, e, 1)
		start := time.Now()
		r := e.raw("import", "application/json", []byte(`{}`), nil)
		if r.status != http.StatusTooManyRequests {
			t.Fatalf("second request = HTTP %d, want 429", r.status)
		}
		at, err := http.ParseTime(r.header.Get("Retry-After"))
		if err != nil {
			t.Fatalf("Retry-After %q: %v", r.header.Get("Retry-After"), err)
		}
		if wait := at.Sub(start); wait < 3*time.Second || wait >= 4*time.Second {
			t.Errorf("Retry-After %s is %v after the reply, want 3s rounded up to a whole second", at, wait)
		}
	})
}

func TestSlowReplies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := bubbleEnv(t, fakeapi.Options{SlowRate: 1, Slow: time.Minute})
		e.c.Timeout = 5 * time.Second
		start := time.Now()
		_, err := e.do(http.MethodPost, fakeapi.APIPrefix+"import", "application/json",
			[]byte(`{"token":"`+testToken+`","db_id":1,"email":"slow@example.com","data":{}}`), nil)
		var te interface{ Timeout() bool }
		if !errors.As(err, &te) || !te.Timeout() {
			t.Fatalf("slow reply under a 5s client timeout: err = %v, want a timeout", err)
		}
		if d := time.Since(start); d != 5*time.Second {
			t.Errorf("client gave up after %v, want 5s", d)
		}
		synctest.Wait() // the handler sees the client leave and returns
		if ps := e.api.Profiles(); len(ps) != 1 || ps[0].Fields["email"] != "slow@example.com" {
			t.Errorf("profiles = %+v, want the slow request processed", ps)
		}
		st := e.api.Stats().Endpoints["import"]
		if st.Slow != 1 || st.Outcomes["ok"] != 1 {
			t.Errorf("stats = %+v, want 1 slow ok", st)
		}

		e.c.Timeout = 2 * time.Minute
		start = time.Now()
		r := e.call("update", obj{"db_id": 1, "email": "slow@example.com", "data": obj{}})
		mustOK(t, r)
		if d := time.Since(start); d != time.Minute {
			t.Errorf("patient client got the reply after %v, want 1m", d)
		}
	})
}

func TestLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := bubbleEnv(t, fakeapi.Options{Latency: 50 * time.Millisecond, Jitter: 10 * time.Millisecond, Seed: 5})
		seen := map[time.Duration]bool{}
		for range 20 {
			start := time.Now()
			sequence(t, e, 1)
			d := time.Since(start)
			if d < 40*time.Millisecond || d > 60*time.Millisecond {
				t.Errorf("reply after %v, want 50ms ± 10ms", d)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("only %d distinct latencies in 20 replies: jitter not applied", len(seen))
		}
		r := e.raw("nope", "application/json", nil, nil) // not an API method: no latency, no draw
		if r.status != http.StatusNotFound {
			t.Errorf("unknown method = HTTP %d", r.status)
		}
	})
}
