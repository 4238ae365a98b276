package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPushRequest: one POST (push-add, never PUT, which would drop the
// last success) to the group's path, with credentials from the URL sent as
// basic auth.
func TestPushRequest(t *testing.T) {
	type seen struct{ method, path, user, pass string }
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		got <- seen{r.Method, r.URL.EscapedPath(), u, p}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()

	gw := strings.Replace(srv.URL, "http://", "http://pusher:s3cret@", 1) + "/prefix"
	if err := Push(context.Background(), gw, okRun(night1)); err != nil {
		t.Fatalf("Push: %v", err)
	}
	s := <-got
	// "1/4" holds a slash, so the client sends it base64-encoded
	// (shard@base64). The client writes grouping labels in map order; the
	// gateway names a group by the set of labels, so either order is one group.
	s.path = sortedGroupingPath(s.path)
	want := seen{http.MethodPost, "/prefix/metrics/job/nightly/config/legacy-crm/shard@base64/MS80", "pusher", "s3cret"}
	if s != want {
		t.Errorf("request = %+v, want %+v", s, want)
	}
}

// sortedGroupingPath puts the label pairs after /metrics/job/<name>/ in
// name order.
func sortedGroupingPath(path string) string {
	head, tail, ok := strings.Cut(path, "/metrics/")
	if !ok {
		return path
	}
	parts := strings.Split(tail, "/")
	if len(parts) < 2 || len(parts)%2 != 0 {
		return path
	}
	var pairs []string
	for i := 2; i < len(parts); i += 2 {
		pairs = append(pairs, parts[i]+"/"+parts[i+1])
	}
	slices.Sort(pairs)
	return head + "/metrics/" + strings.Join(append(parts[:2:2], pairs...), "/")
}

// TestPushErrors: every failure is an error for the caller to log, never
// holds the URL's password, and a gateway that does not answer is given up
// on when the context ends.
func TestPushErrors(t *testing.T) {
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "pushed metrics are invalid or inconsistent", http.StatusBadRequest)
	}))
	defer failing.Close()
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.1:1/elsewhere", http.StatusTemporaryRedirect)
	}))
	defer redirecting.Close()
	release := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hanging.Close()
	defer close(release)

	withCreds := func(u string) string { return strings.Replace(u, "http://", "http://pusher:s3cret@", 1) }
	tests := []struct {
		name    string
		url     string
		timeout time.Duration
		want    string
	}{
		{"gateway refuses", withCreds(failing.URL), time.Minute, "unexpected status code 400"},
		{"redirect is not followed", withCreds(redirecting.URL), time.Minute, "unexpected status code 307"},
		{"gateway hangs", withCreds(hanging.URL), 200 * time.Millisecond, "context deadline exceeded"},
		{"nothing listens", "http://pusher:s3cret@127.0.0.1:1", time.Minute, "connection refused"},
		{"not a URL", "http://pusher:s3cret@[::1", time.Minute, "does not parse"},
		{"no scheme", "pusher:s3cret@gateway:9091", time.Minute, "must be http://host:port"},
		{"query", "http://pusher:s3cret@gateway:9091/?token=abc", time.Minute, "a query or fragment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			start := time.Now()
			err := Push(ctx, tt.url, failedRun(night2))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if msg := err.Error(); strings.Contains(msg, "s3cret") || strings.Contains(msg, "token=abc") {
				t.Errorf("error shows a secret: %s", msg)
			}
			// Not a timing measurement: a generous ceiling that only a push
			// ignoring its context would cross.
			if d := time.Since(start); d > tt.timeout+3*time.Second {
				t.Errorf("Push took %v with a %v context", d, tt.timeout)
			}
		})
	}
}
