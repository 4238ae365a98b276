package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// secretURL puts a user, a password, a secret path and a secret query on
// the server's address, as a real check or webhook URL may.
func secretURL(base, path string) string {
	return strings.Replace(base, "http://", "http://hcuser:hcpass@", 1) + path + "?token=qsecret"
}

// noSecrets fails if msg holds any secret part of secretURL.
func noSecrets(t *testing.T, msg string) {
	t.Helper()
	for _, s := range []string{"hcuser", "hcpass", "qsecret", "5f1c0a6e", "T0ABC", "XYZsecret"} {
		if strings.Contains(msg, s) {
			t.Errorf("error shows the secret %q: %s", s, msg)
		}
	}
}

// TestServerErrors: failed pings and webhooks are errors to log, retried
// only when another try could help, and never show the URL's secrets.
func TestServerErrors(t *testing.T) {
	tests := []struct {
		name     string
		statuses []int
		reply    string
		wantErr  string // "" = success
		wantReqs int
	}{
		{"500 every time", []int{500}, "internal error", "HTTP 500: internal error", DefaultAttempts},
		{"503 then 200", []int{503, 200}, "", "", 2},
		{"429 then 200", []int{429, 200}, "", "", 2},
		{"404 is not retried", []int{404}, "not found", "HTTP 404: not found", 1},
		{"a reply echoing the URL is masked", []int{400},
			"no check {uri} for hcuser", "HTTP 400: no check …?… for …", 1},
	}
	for _, tt := range tests {
		for _, kind := range []string{"ping", "webhook"} {
			t.Run(tt.name+"/"+kind, func(t *testing.T) {
				srv := newServer(t, tt.statuses...)
				srv.reply = tt.reply
				c := &Client{Timeout: 10 * time.Second}
				var err error
				if kind == "ping" {
					err = c.Ping(context.Background(), secretURL(srv.URL, "/ping/5f1c0a6e"), Exit(1, "fatal"))
				} else {
					err = c.Notify(context.Background(), secretURL(srv.URL, "/hooks/T0ABC/XYZsecret"), nil, "fatal")
				}
				switch {
				case tt.wantErr == "" && err != nil:
					t.Fatalf("err = %v, want success", err)
				case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				case err != nil:
					noSecrets(t, err.Error())
					if !strings.Contains(err.Error(), "http://127.0.0.1:") || !strings.Contains(err.Error(), "/…") {
						t.Errorf("error does not name the target as scheme://host/…: %s", err)
					}
				}
				if n := len(srv.requests()); n != tt.wantReqs {
					t.Errorf("%d requests, want %d", n, tt.wantReqs)
				}
			})
		}
	}
}

// TestRedirects: a redirect to another host is not followed (the other
// host sees nothing), one on the same host is.
func TestRedirects(t *testing.T) {
	other := newServer(t)
	var same *httptest.Server
	same = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-other/5f1c0a6e":
			http.Redirect(w, r, other.URL+"/stolen/5f1c0a6e", http.StatusTemporaryRedirect)
		case "/moved/5f1c0a6e":
			http.Redirect(w, r, "/new/5f1c0a6e", http.StatusPermanentRedirect)
		case "/new/5f1c0a6e":
			w.WriteHeader(http.StatusOK)
		default:
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	defer same.Close()

	err := Ping(context.Background(), secretURL(same.URL, "/to-other/5f1c0a6e"), Exit(0, "done"))
	if err == nil || !strings.Contains(err.Error(), "not followed: another host") {
		t.Fatalf("redirect to another host: err = %v", err)
	}
	noSecrets(t, err.Error())
	if n := len(other.requests()); n != 0 {
		t.Errorf("the other host got %d requests", n)
	}
	// A permanent redirect keeps the POST; "/moved/…" + "" (success ping).
	if err := Ping(context.Background(), same.URL+"/moved/5f1c0a6e", Exit(0, "done")); err != nil {
		t.Errorf("same-host redirect: %v", err)
	}
}

func TestBadURLs(t *testing.T) {
	for _, raw := range []string{"", "hc-ping.com/5f1c0a6e", "ftp://hcuser:hcpass@host/5f1c0a6e", "http://[::1/5f1c0a6e"} {
		err := Ping(context.Background(), raw, Start())
		if err == nil {
			t.Errorf("Ping(%q): no error", raw)
			continue
		}
		noSecrets(t, err.Error())
		if err := Notify(context.Background(), raw, nil, "x"); err == nil {
			t.Errorf("Notify(%q): no error", raw)
		}
	}
}

func TestRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := secretURL(srv.URL, "/ping/5f1c0a6e")
	srv.Close() // nothing listens there now
	err := (&Client{Timeout: 2 * time.Second}).Ping(context.Background(), url, Start())
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v, want connection refused", err)
	}
	noSecrets(t, err.Error())
}

// TestBoundFakeClock: against a server that never answers, each call ends
// exactly at its timeout on the fake clock, after every attempt was made;
// the default bound applies to a zero Client.
func TestBoundFakeClock(t *testing.T) {
	tests := []struct {
		name     string
		client   *Client
		call     func(c *Client, url string) error
		wantTime time.Duration
		wantReqs int64
	}{
		{"ping, zero client", &Client{}, func(c *Client, u string) error { return c.Ping(context.Background(), u, Exit(0, "x")) },
			DefaultTimeout, DefaultAttempts},
		{"webhook, zero client", &Client{}, func(c *Client, u string) error { return c.Notify(context.Background(), u, nil, "x") },
			DefaultTimeout, DefaultAttempts},
		{"ping, 2s and 2 attempts", &Client{Timeout: 2 * time.Second, Attempts: 2},
			func(c *Client, u string) error { return c.Ping(context.Background(), u, Start()) }, 2 * time.Second, 2},
		{"caller's context is shorter", &Client{},
			func(c *Client, u string) error {
				ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
				defer cancel()
				return c.Ping(ctx, u, Start())
			}, 700 * time.Millisecond, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var reqs atomic.Int64
				net := newMemNet(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					io.Copy(io.Discard, r.Body) // the server notices a closed connection only after the body
					reqs.Add(1)
					<-r.Context().Done() // never answers
				}))
				defer net.shutdown()
				tr := net.Transport()
				defer tr.CloseIdleConnections()
				tt.client.Transport = tr

				start := time.Now()
				err := tt.call(tt.client, secretURL("http://hc.test", "/ping/5f1c0a6e"))
				if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
					t.Fatalf("err = %v, want a deadline", err)
				}
				noSecrets(t, err.Error())
				if d := time.Since(start); d != tt.wantTime {
					t.Errorf("returned after %v on the fake clock, want %v", d, tt.wantTime)
				}
				synctest.Wait()
				if n := reqs.Load(); n != tt.wantReqs {
					t.Errorf("%d attempts reached the server, want %d", n, tt.wantReqs)
				}
			})
		})
	}
}

// TestBackoffFakeClock: a 503 is tried again after 100 ms, then 200 ms.
func TestBackoffFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var times []time.Duration
		start := time.Now()
		net := newMemNet(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			times = append(times, time.Since(start))
			if len(times) < 3 {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		}))
		defer net.shutdown()
		tr := net.Transport()
		defer tr.CloseIdleConnections()
		err := (&Client{Transport: tr}).Notify(context.Background(), "http://hooks.test/x", json.RawMessage(`{}`), "x")
		if err != nil {
			t.Fatal(err)
		}
		want := []time.Duration{0, 100 * time.Millisecond, 300 * time.Millisecond}
		if len(times) != len(want) || times[0] != want[0] || times[1] != want[1] || times[2] != want[2] {
			t.Errorf("attempts at %v, want %v", times, want)
		}
	})
}

// TestBoundRealServer: the same bound over a real loopback socket, with a
// short timeout option: a hanging server delays a ping or a webhook by the
// timeout and no more.
func TestBoundRealServer(t *testing.T) {
	var reqs atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		reqs.Add(1)
		<-r.Context().Done()
	}))
	defer srv.Close()
	const timeout = 300 * time.Millisecond
	c := &Client{Timeout: timeout}
	for _, call := range []func() error{
		func() error {
			return c.Ping(context.Background(), secretURL(srv.URL, "/ping/5f1c0a6e"), Exit(3, "stopped"))
		},
		func() error {
			return c.Notify(context.Background(), secretURL(srv.URL, "/hooks/T0ABC/XYZsecret"), nil, "x")
		},
	} {
		start := time.Now()
		err := call()
		elapsed := time.Since(start)
		if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
			t.Fatalf("err = %v, want a deadline", err)
		}
		noSecrets(t, err.Error())
		// The exact bound is checked on the fake clock above; this only
		// catches a call that ignores it on a real socket. The ceiling is
		// loose because the machine is shared.
		if elapsed < timeout || elapsed > timeout+2*time.Second {
			t.Errorf("returned after %v with a %v timeout", elapsed, timeout)
		}
	}
	if reqs.Load() < 2 {
		t.Errorf("the server saw %d requests", reqs.Load())
	}
}
