package notify

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const summary = `1000 rows in 12.3s (81 rows/s): 950 ok, 20 failed, 30 invalid, 0 unknown
errors:
  30 rows: invalid phone in column "Phone" — rows 17, 93, 105 …
requests 1000, retries 12
`

// TestPingPaths: the paths and bodies of the three pings, against a real
// server; a query on the check URL stays a query.
func TestPingPaths(t *testing.T) {
	tests := []struct {
		name  string
		base  string // path and query after the server's address
		event Event
		want  request
	}{
		{"start", "/ping/5f1c", Start(),
			request{"POST", "/ping/5f1c/start", "", "text/plain; charset=utf-8", ""}},
		{"success", "/ping/5f1c", Exit(0, summary),
			request{"POST", "/ping/5f1c", "", "text/plain; charset=utf-8", "exit code 0\n" + summary}},
		{"rows rejected", "/ping/5f1c", Exit(2, summary),
			request{"POST", "/ping/5f1c/fail", "", "text/plain; charset=utf-8", "exit code 2\n" + summary}},
		{"interrupted", "/ping/5f1c/", Exit(130, "stopped by SIGTERM\n"),
			request{"POST", "/ping/5f1c/fail", "", "text/plain; charset=utf-8", "exit code 130\nstopped by SIGTERM\n"}},
		{"run id kept as a query", "/ping/5f1c?rid=7a0e", Start(),
			request{"POST", "/ping/5f1c/start", "rid=7a0e", "text/plain; charset=utf-8", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t)
			if err := Ping(context.Background(), srv.URL+tt.base, tt.event); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			if diff := cmp.Diff([]request{tt.want}, srv.requests()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPingBodyLimit: a long summary is cut to its first lines within
// MaxPingBody bytes, on a line boundary, with a "…" line saying so.
func TestPingBodyLimit(t *testing.T) {
	var long strings.Builder
	long.WriteString("20000 rows in 1m0s: 0 ok, 20000 invalid\nerrors:\n")
	for i := range 2000 {
		long.WriteString("  1 row: invalid phone in column \"Телефон\" — row ")
		long.WriteString(strings.Repeat("9", i%7+1))
		long.WriteByte('\n')
	}
	srv := newServer(t)
	if err := Ping(context.Background(), srv.URL+"/p", Exit(2, long.String())); err != nil {
		t.Fatal(err)
	}
	body := srv.requests()[0].Body
	if len(body) > MaxPingBody || len(body) < MaxPingBody-200 {
		t.Errorf("body is %d bytes, want just under %d", len(body), MaxPingBody)
	}
	if !strings.HasPrefix(body, "exit code 2\n20000 rows in 1m0s: 0 ok, 20000 invalid\nerrors:\n") {
		t.Errorf("body does not start with the summary's first lines: %.80q", body)
	}
	if !strings.HasSuffix(body, "\n…\n") || !strings.HasPrefix(long.String(), strings.TrimPrefix(strings.TrimSuffix(body, "…\n"), "exit code 2\n")) {
		t.Errorf("body is not whole lines of the summary plus a … line: ends %q", body[len(body)-80:])
	}
}

// TestFirstLines: the cut keeps whole lines, or whole runes of a line that
// is too long on its own.
func TestFirstLines(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{"fits", "a\nb\n", 10, "a\nb\n"},
		{"exactly", "abcd\n", 5, "abcd\n"},
		{"cut at a line", "aaaa\nbbbb\ncccc\n", 12, "aaaa\n…\n"},
		{"one long line, cut between runes", "жжжжжж", 8, "жж…\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := firstLines(tt.in, tt.max)
			if got != tt.want || len(got) > tt.max {
				t.Errorf("firstLines(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
		})
	}
}

func TestPingZeroEvent(t *testing.T) {
	srv := newServer(t)
	err := Ping(context.Background(), srv.URL, Event{})
	if err == nil || !strings.Contains(err.Error(), "zero Event") {
		t.Fatalf("err = %v, want a refusal of the zero Event", err)
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("%d requests sent for a zero Event", n)
	}
}
