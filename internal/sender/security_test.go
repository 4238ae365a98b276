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

// TestRedirectSameHost: a redirect is not followed even on the same host:
// following it would send the request again (the first one may have been
// applied), and a redirect to the same URL would send it ten times. The run
// stops with a message naming where the API pointed.
func TestRedirectSameHost(t *testing.T) {
	var hits atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1.1/profiles/update", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, r.URL.Path, http.StatusTemporaryRedirect) // to itself
	})
	srv := startLoopback(t, mux)
	cfg := testConfig(srv.URL, nil)
	cfg.Concurrency = 1
	p := mustPool(t, cfg)
	jobs := manyJobs(3)
	jobs[0].Risky = true
	got, err := runAll(t, context.Background(), p, jobs)
	var fe *FatalError
	if !errors.As(err, &fe) || !strings.Contains(fe.Error(), "redirects are not followed") {
		t.Fatalf("Run() = %v, want a *FatalError saying redirects are not followed", err)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("the server saw %d requests, want 1", n)
	}
	if r := got[1]; r.Status != Unknown {
		t.Errorf("the risky row sent once = %+v, want unknown (the server may have applied it)", r)
	}
}

// redirector answers every request with code and a Location header.
type redirector struct {
	code     int
	location string
}

func (r redirector) RoundTrip(req *http.Request) (*http.Response, error) {
	h := http.Header{}
	if r.location != "" {
		h.Set("Location", r.location)
	}
	return &http.Response{StatusCode: r.code, Header: h, Body: http.NoBody, Request: req}, nil
}

// TestRoundTripRefusesRedirects: no redirect is followed, whatever the
// client given says, and another host (or a downgrade from https) is told
// apart for the message. A 3xx without a Location is an answer like any other.
func TestRoundTripRefusesRedirects(t *testing.T) {
	tests := []struct {
		name      string
		client    *http.Client
		code      int
		from, to  string
		redirect  bool
		otherHost bool
		want      string // the redirect's target as reported
	}{
		{"SameHost", nil, 307, "https://api.test/a", "https://api.test/b", true, false, "https://api.test/b"},
		{"SameURL", nil, 308, "https://api.test/a", "https://api.test/a", true, false, "https://api.test/a"},
		{"Relative", nil, 302, "https://api.test/a/b", "/c", true, false, "https://api.test/c"},
		{"OtherHost", nil, 301, "https://api.test/a", "https://evil.test/a", true, true, "https://evil.test/a"},
		{"OtherPort", nil, 303, "http://127.0.0.1:1/a", "http://127.0.0.1:2/a", true, true, "http://127.0.0.1:2/a"},
		{"Downgrade", nil, 307, "https://api.test/a", "http://api.test/a", true, true, "http://api.test/a"},
		{"Upgrade", nil, 307, "http://api.test/a", "https://api.test/a", true, false, "https://api.test/a"},
		{"PasswordNotShown", nil, 307, "http://api.test/a", "http://u:secret@api.test/b", true, false, "http://u:xxxxx@api.test/b"},
		{"CallerCannotOverride", &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }},
			307, "https://api.test/a", "https://evil.test/b", true, true, "https://evil.test/b"},
		{"NoLocation", nil, 307, "https://api.test/a", "", false, false, ""},
		{"MultipleChoices", nil, 300, "https://api.test/a", "https://evil.test/b", false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.client
			if c == nil {
				c = &http.Client{}
			}
			c.Transport = redirector{tt.code, tt.to}
			req, err := http.NewRequest("POST", tt.from, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := roundTrip(transportOf(c, 4), req)
			if !tt.redirect {
				if err != nil || resp == nil || resp.StatusCode != tt.code {
					t.Fatalf("roundTrip = %v, %v; want the %d reply itself", resp, err, tt.code)
				}
				return
			}
			var re *redirectError
			if resp != nil || !errors.As(err, &re) || !errors.Is(err, errRedirect) || re.otherHost != tt.otherHost || re.to != tt.want {
				t.Errorf("roundTrip(%s → %s) = %v, %#v; want a refusal naming %s with otherHost %v", tt.from, tt.to, resp, err, tt.want, tt.otherHost)
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
