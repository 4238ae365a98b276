package sender

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// TestRedirectToAnotherHost: the body holds the token, so a redirect to
// another host is never followed; the run stops saying so.
func TestRedirectToAnotherHost(t *testing.T) {
	var stolen atomic.Int32
	other := startLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stolen.Add(1)
		writeOK(w, 1)
	}))
	srv := startLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	var logs logBuffer
	cfg := testConfig(srv.URL, nil)
	cfg.Logger = logs.logger()
	p := mustPool(t, cfg)
	got, err := runAll(t, context.Background(), p, manyJobs(10))
	var fe *FatalError
	if !errors.As(err, &fe) {
		t.Fatalf("Run() = %v, want a *FatalError", err)
	}
	if !strings.Contains(fe.Reason, "redirected to another host ("+other.URL+"/api/v1.1/profiles/update)") {
		t.Errorf("FatalError = %q, want it to name the redirect target", fe.Error())
	}
	if n := stolen.Load(); n != 0 {
		t.Errorf("the other host received %d requests", n)
	}
	assertNoToken(t, got, err.Error(), logs.String())
}

// TestRedirectSameHost: a 307/308 on the same host is followed, body and all.
func TestRedirectSameHost(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1.1/profiles/update", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/v2/api/v1.1/profiles/update", http.StatusPermanentRedirect)
	})
	mux.HandleFunc("/v2/api/v1.1/profiles/update", func(w http.ResponseWriter, r *http.Request) {
		req, err := decodeRequest(r)
		if err != nil || req.Token != testToken {
			t.Errorf("redirected request: %v, token ok %v", err, req.Token == testToken)
		}
		writeOK(w, req.Items[0].N)
	})
	srv := startLoopback(t, mux)
	p := mustPool(t, testConfig(srv.URL, nil))
	got, err := runAll(t, context.Background(), p, manyJobs(3))
	if err != nil {
		t.Fatal(err)
	}
	allOK(t, got, 3)
}

// TestCheckRedirect: the policy refuses another host and a downgrade from
// https, and keeps a caller's own policy for the rest.
func TestCheckRedirect(t *testing.T) {
	req := func(u string) *http.Request {
		r, err := http.NewRequest("POST", u, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	callerSaid := errors.New("caller's policy")
	tests := []struct {
		name     string
		client   *http.Client
		from, to string
		want     error
	}{
		{"SameHost", nil, "https://api.test/a", "https://api.test/b", nil},
		{"OtherHost", nil, "https://api.test/a", "https://evil.test/a", errRedirect},
		{"OtherPort", nil, "http://127.0.0.1:1/a", "http://127.0.0.1:2/a", errRedirect},
		{"Downgrade", nil, "https://api.test/a", "http://api.test/a", errRedirect},
		{"Upgrade", nil, "http://api.test/a", "https://api.test/a", nil},
		{"CallerPolicyKept", &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return callerSaid }},
			"https://api.test/a", "https://api.test/b", callerSaid},
		{"CallerCannotOverride", &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }},
			"https://api.test/a", "https://evil.test/b", errRedirect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := guardClient(tt.client, 4)
			err := c.CheckRedirect(req(tt.to), []*http.Request{req(tt.from)})
			if !errors.Is(err, tt.want) {
				t.Errorf("CheckRedirect(%s → %s) = %v, want %v", tt.from, tt.to, err, tt.want)
			}
		})
	}
}

// TestTokenNeverLeaks: replies that echo the request (HTML pages, error
// texts quoting the token) never carry the token into a Result, a log line
// (debug level included) or an error.
func TestTokenNeverLeaks(t *testing.T) {
	var n atomic.Int32
	srv := startLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := decodeRequest(r)
		row := req.Items[0].N
		switch k := n.Add(1); {
		case row == 1 && k < 10:
			fmt.Fprintf(w, "<html>you sent %s</html>", req.Raw) // not the envelope: retried
		case row == 2:
			fmt.Fprintf(w, `{"error":400,"error_text":"bad token field %s"}`, req.Token)
		case row == 3:
			w.WriteHeader(500)
			fmt.Fprintf(w, "%s", req.Raw)
		default:
			writeOK(w, row)
		}
	}))
	var logs logBuffer
	cfg := testConfig(srv.URL, nil)
	cfg.Logger, cfg.Concurrency, cfg.MaxAttempts = logs.logger(), 1, 3
	p := noJitter(mustPool(t, cfg))
	got, err := runAll(t, context.Background(), p, manyJobs(4))
	if err != nil {
		t.Fatal(err)
	}
	if r := got[2]; r.Status != Failed || r.Error != "bad token field ***" {
		t.Errorf("job 2 = %+v, want failed with the token masked", r)
	}
	if !strings.Contains(logs.String(), "retrying") {
		t.Errorf("no debug retry lines logged; the check below would prove nothing:\n%s", logs.String())
	}
	assertNoToken(t, got, logs.String())

	// Config errors never hold the token either.
	bad := testConfig("http://user:"+testToken+"@ho st", nil)
	if _, err := NewPool(bad); err == nil || strings.Contains(err.Error(), testToken) {
		t.Errorf("NewPool(bad URL) = %v, want an error without the token", err)
	}
	bad = testConfig("http://api.test", nil)
	bad.Envelope = []byte(`"db_id":` + testToken)
	if _, err := NewPool(bad); err == nil {
		t.Error("NewPool(bad envelope) = nil, want an error")
	}
}

// TestBearer: with Bearer auth the token travels in the header only.
func TestBearer(t *testing.T) {
	srv := startLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decodeRequest(r)
		if err != nil {
			t.Error(err)
			return
		}
		if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
			t.Errorf("Authorization = %q", got)
		}
		if strings.Contains(string(req.Raw), testToken) || strings.Contains(string(req.Raw), `"token"`) {
			t.Errorf("body holds the token: %s", req.Raw)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		writeOK(w, req.Items[0].N)
	}))
	cfg := testConfig(srv.URL, nil)
	cfg.Bearer = true
	p := mustPool(t, cfg)
	got, err := runAll(t, context.Background(), p, manyJobs(2))
	if err != nil {
		t.Fatal(err)
	}
	allOK(t, got, 2)
}
