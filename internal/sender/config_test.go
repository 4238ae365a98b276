package sender

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"importer/internal/golden"
)

func TestNewPoolErrors(t *testing.T) {
	base := func(f func(*Config)) Config {
		c := testConfig("http://api.test", nil)
		f(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"NoScheme", base(func(c *Config) { c.URL = "api.test" }), `api url "api.test": want an absolute http:// or https:// URL`},
		{"FTP", base(func(c *Config) { c.URL = "ftp://api.test" }), "want an absolute http:// or https:// URL"},
		{"Query", base(func(c *Config) { c.URL = "http://api.test/?token=x" }), "want no query or fragment"},
		{"Endpoint", base(func(c *Config) { c.Endpoint = "add" }), `api endpoint "add": want update or import`},
		{"NoToken", base(func(c *Config) { c.Token = "" }), "no API token: set ALTCRAFT_TOKEN or --token-file"},
		{"Envelope", base(func(c *Config) { c.Envelope = []byte(`"db_id":1,`) }), "request envelope: not valid JSON object members"},
		{"BatchEnvelope", base(func(c *Config) { c.BatchEnvelope = []byte(`db_id`) }), "batch request envelope"},
		{"Rate", base(func(c *Config) { c.Rate = -1 }), "rate -1: want requests per second ≥ 0"},
		{"RateNaN", base(func(c *Config) { c.Rate = math.NaN() }), "rate NaN"},
		{"Concurrency", base(func(c *Config) { c.Concurrency = -2 }), "concurrency -2"},
		{"Timeout", base(func(c *Config) { c.Timeout = -time.Second }), "timeout -1s"},
		{"Attempts", base(func(c *Config) { c.MaxAttempts = -1 }), "max attempts -1"},
		{"Window", base(func(c *Config) { c.Window = -1 }), "window -1"},
		{"Linger", base(func(c *Config) { c.Linger = -1 }), "batch linger"},
		{"BatchBytes", base(func(c *Config) { c.MaxBatchBytes = -1 }), "max batch bytes -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewPool(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewPool() error = %v, want it to contain %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), testToken) {
				t.Errorf("NewPool() error holds the token: %v", err)
			}
		})
	}
}

func TestNewPoolDefaults(t *testing.T) {
	tests := []struct {
		name                string
		cfg                 func(*Config)
		bound, window, conc int
		single, batch       string
	}{
		{"Auto", func(*Config) {}, DefaultMaxConcurrency, 512, autoStart,
			"http://api.test/api/v1.1/profiles/update", "http://api.test/api/v1.1/profiles/update_batch"},
		{"Fixed", func(c *Config) { c.Concurrency = 4 }, 4, 64, 4, "", ""},
		{"Batch", func(c *Config) { c.Concurrency, c.BatchSize = 4, 1000 }, 4, 8000, 4, "", ""},
		{"BigBatch", func(c *Config) { c.BatchSize = 10000 }, DefaultMaxConcurrency, 20000, autoStart, "", ""},
		{"Import", func(c *Config) { c.Endpoint, c.URL = "import", "https://api.test/base/" }, DefaultMaxConcurrency, 512, autoStart,
			"https://api.test/base/api/v1.1/profiles/import", "https://api.test/base/api/v1.1/profiles/import_batch"},
		{"Window", func(c *Config) { c.Window = 7 }, DefaultMaxConcurrency, 7, autoStart, "", ""},
		{"PasswordHidden", func(c *Config) { c.URL = "https://user:pw@api.test" }, DefaultMaxConcurrency, 512, autoStart,
			"https://user:xxxxx@api.test/api/v1.1/profiles/update", "https://user:xxxxx@api.test/api/v1.1/profiles/update_batch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig("http://api.test", nil)
			tt.cfg(&cfg)
			p, err := NewPool(cfg)
			if err != nil {
				t.Fatal(err)
			}
			s := p.s
			if s.bound != tt.bound || s.Window != tt.window {
				t.Errorf("bound, window = %d, %d; want %d, %d", s.bound, s.Window, tt.bound, tt.window)
			}
			if c := newConcurrency(s, time.Now()).limit; c != tt.conc {
				t.Errorf("initial concurrency = %d, want %d", c, tt.conc)
			}
			if tt.single != "" && (s.single != tt.single || s.batch != tt.batch) {
				t.Errorf("URLs = %s, %s; want %s, %s", s.single, s.batch, tt.single, tt.batch)
			}
			if s.Timeout != DefaultTimeout || s.MaxAttempts != DefaultMaxAttempts || s.Linger != DefaultLinger ||
				s.MaxBatchBytes != DefaultMaxBatchBytes || s.BreakerSample != DefaultBreakerSample {
				t.Errorf("defaults not applied: %+v", s.Config)
			}
			tr, ok := s.transport.(*http.Transport)
			if !ok || tr.MaxIdleConnsPerHost != tt.bound || tr.MaxConnsPerHost != tt.bound {
				t.Errorf("transport = %T, want idle and per-host connections = %d", s.transport, tt.bound)
			}
		})
	}
}

// TestStatusString pins the names the results journal uses.
func TestStatusString(t *testing.T) {
	for s, want := range map[Status]string{OK: "ok", Failed: "failed", Unknown: "unknown", Canceled: "canceled", 9: "status(9)"} {
		if got := s.String(); got != want {
			t.Errorf("Status(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}

// TestFatalMessages pins the one-line messages users read when a run
// stops, each with what to fix.
func TestFatalMessages(t *testing.T) {
	x := func(status int, body string) *FatalError {
		e := replyX(status, body, 0)
		return classify(&e, testNow).fatal
	}
	net := func(err error) *FatalError {
		e := transportX(err, false, false)
		return classify(&e, testNow).fatal
	}
	sample := func(e exchange) *FatalError {
		b := newBreaker(20, 5)
		o := classify(&e, testNow)
		var fe *FatalError
		for range 20 {
			fe = b.observe(o)
		}
		return fe
	}
	unreachable := func() *FatalError {
		b := newBreaker(20, 5)
		e := transportX(refused, false, false)
		o := classify(&e, testNow)
		var fe *FatalError
		for range 20 {
			fe = b.done(true, o)
		}
		return fe
	}
	cases := []struct {
		name string
		fe   *FatalError
	}{
		{"HTTP 401", x(401, "")},
		{"HTTP 403 with API text", x(403, `{"error":403,"error_text":"Invalid token"}`)},
		{"API 401", x(200, `{"error":401,"error_text":"API token required"}`)},
		{"HTTP 404", x(404, "not found")},
		{"HTTP 405", x(405, "")},
		{"HTTP 302", x(302, "")},
		{"redirect", net(urlErr(&redirectError{to: "https://other.test/api/v1.1/profiles/update", otherHost: true}))},
		{"redirect same host", net(urlErr(&redirectError{to: "http://api.test/v2/api/v1.1/profiles/update"}))},
		{"breaker: db", sample(replyX(200, `{"error":400,"error_text":"Database with db_id 7 not found"}`, 0))},
		{"breaker: row error", sample(replyX(200, `{"error":409,"error_text":"More than one profile matched"}`, 0))},
		{"breaker: refused", sample(transportX(refused, false, false))},
		{"breaker: HTTP 503", sample(replyX(503, "", 0))},
		{"breaker: bad reply", sample(replyX(200, "<html>", 0))},
		{"unreachable", unreachable()},
	}
	var out bytes.Buffer
	for _, c := range cases {
		if c.fe == nil {
			t.Errorf("%s: no FatalError", c.name)
			continue
		}
		if strings.Contains(c.fe.Error(), "\n") {
			t.Errorf("%s: message spans lines: %q", c.name, c.fe.Error())
		}
		fmt.Fprintf(&out, "%s [%s]\n\t%s\n", c.name, c.fe.Code, c.fe.Error())
	}
	golden.Check(t, "testdata/"+"fatal.golden", out.Bytes())
}

// TestBreakerIgnoresThrottling: 429s neither trip nor disarm the breaker.
func TestBreakerIgnoresThrottling(t *testing.T) {
	b := newBreaker(3, 5)
	thr := outcome{kind: kindRetry, code: "HTTP 429", throttled: true, sig: "HTTP 429"}
	bad := outcome{kind: kindRow, code: "404", text: "x", sig: "404\x00x"}
	for range 10 {
		if fe := b.observe(thr); fe != nil {
			t.Fatalf("429s tripped the breaker: %v", fe)
		}
	}
	b.observe(bad)
	b.observe(thr)
	b.observe(bad)
	if fe := b.observe(bad); fe == nil {
		t.Error("3 equal failures around 429s did not trip the breaker")
	}
}

// TestNilPayload: a job without a payload is a failed row, not a panic.
func TestNilPayload(t *testing.T) {
	srv := startLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := decodeRequest(r)
		writeOK(w, req.Items[0].N)
	}))
	p := mustPool(t, testConfig(srv.URL, nil))
	jobs := manyJobs(3)
	jobs[1].Payload = nil
	got, err := runAll(t, t.Context(), p, jobs)
	if err != nil {
		t.Fatal(err)
	}
	if r := got[2]; r.Status != Failed || r.Code != "payload" {
		t.Errorf("job 2 = %+v, want failed (no payload)", r)
	}
	if got[1].Status != OK || got[3].Status != OK {
		t.Errorf("other jobs = %+v, %+v; want ok", got[1], got[3])
	}
}
