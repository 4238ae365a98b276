package notify

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const summaryJSONText = `{
  "rows": 1000, "ok": 950, "failed": 20, "invalid": 30,
  "error_groups": [{"error": "invalid phone", "column": "Phone", "count": 30, "rows": [17, 93]}],
  "exit_code": 2
}`

// TestNotifyBody: the summary arrives whole with "text" merged in first,
// whatever form the caller hands it in.
func TestNotifyBody(t *testing.T) {
	type small struct {
		Rows     int64  `json:"rows"`
		ExitCode int    `json:"exit_code"`
		Text     string `json:"text"`
	}
	tests := []struct {
		name    string
		summary any
		text    string
		want    string
	}{
		{"raw message", json.RawMessage(summaryJSONText), "import legacy-crm: 30 invalid, 20 failed (exit 2)",
			`{"text":"import legacy-crm: 30 invalid, 20 failed (exit 2)","rows":1000,"ok":950,"failed":20,"invalid":30,` +
				`"error_groups":[{"error": "invalid phone", "column": "Phone", "count": 30, "rows": [17, 93]}],"exit_code":2}`},
		{"bytes", []byte(`{"rows": 5}`), "ok", `{"text":"ok","rows":5}`},
		{"a value, its own text replaced", small{Rows: 3, ExitCode: 0, Text: "old"}, "3 rows <ok> & done",
			`{"text":"3 rows <ok> & done","rows":3,"exit_code":0}`},
		{"no summary", nil, "started", `{"text":"started"}`},
		{"not an object", json.RawMessage(`[1, 2]`), "odd", `{"text":"odd","summary":[1, 2]}`},
		{"text on lines", json.RawMessage(`{}`), "line 1\nline \"2\"", `{"text":"line 1\nline \"2\""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t)
			if err := Notify(context.Background(), srv.URL+"/hooks/T0/B1/XYZ", tt.summary, tt.text); err != nil {
				t.Fatalf("Notify: %v", err)
			}
			got := srv.requests()
			if len(got) != 1 {
				t.Fatalf("%d requests, want 1", len(got))
			}
			r := got[0]
			if r.Method != "POST" || r.Path != "/hooks/T0/B1/XYZ" || r.ContentType != "application/json" {
				t.Errorf("request %s %s %s, want POST /hooks/T0/B1/XYZ application/json", r.Method, r.Path, r.ContentType)
			}
			if !json.Valid([]byte(r.Body)) {
				t.Fatalf("body is not JSON: %s", r.Body)
			}
			if diff := cmp.Diff(tt.want, r.Body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNotifyTextLimit: a long text is cut to MaxText bytes on a line.
func TestNotifyTextLimit(t *testing.T) {
	srv := newServer(t)
	text := strings.Repeat("1 row: invalid e-mail in column \"Email\" — row 12345\n", 200)
	if err := Notify(context.Background(), srv.URL, json.RawMessage(`{"rows":1}`), text); err != nil {
		t.Fatal(err)
	}
	var body struct {
		Text string `json:"text"`
		Rows int    `json:"rows"`
	}
	if err := json.Unmarshal([]byte(srv.requests()[0].Body), &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Text) > MaxText || !strings.HasSuffix(body.Text, "row 12345\n…\n") || body.Rows != 1 {
		t.Errorf("text of %d bytes ending %q, rows %d", len(body.Text), body.Text[len(body.Text)-20:], body.Rows)
	}
}

func TestNotifyBadSummary(t *testing.T) {
	srv := newServer(t)
	for _, s := range []any{json.RawMessage(`{"rows":`), make(chan int)} {
		if err := Notify(context.Background(), srv.URL, s, "x"); err == nil || !strings.Contains(err.Error(), "summary") {
			t.Errorf("Notify(%T): err = %v, want one about the summary", s, err)
		}
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("%d requests sent with a bad summary", n)
	}
}
