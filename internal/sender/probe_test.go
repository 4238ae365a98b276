package sender

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func probeResp(status int, ctype string) *http.Response {
	u, _ := url.Parse("http://127.0.0.1:9/api/v1.1/profiles/import_batch")
	h := http.Header{}
	if ctype != "" {
		h.Set("Content-Type", ctype)
	}
	return &http.Response{StatusCode: status, Header: h, Request: &http.Request{Method: http.MethodPost, URL: u}}
}

// TestCheckBatchReply: each reply a batch of two may get, and how the pool
// reads it.
func TestCheckBatchReply(t *testing.T) {
	const ok, bad = `{"error":0,"profile_id":"p1"}`, `{"error":400,"error_text":"invalid email"}`
	for _, tc := range []struct {
		name    string
		status  int
		ctype   string
		body    string
		kind    ReplyKind
		results int
		code    string
		why     string // a part of Why
	}{
		{"one result per item", 200, "application/json", `{"error":0,"result":[` + ok + `,` + bad + `]}`, ReplyMatched, 2, "", ""},
		{"an item without a code is still matched", 200, "", `{"error":0,"result":[` + ok + `,{}]}`, ReplyMatched, 2, "", ""},
		{"a top-level error with one result per item", 200, "", `{"error":400,"result":[` + ok + `,` + bad + `]}`, ReplyMatched, 2, "", ""},
		{"errors only", 200, "", `{"error":0,"result":[` + bad + `]}`, ReplyUnmatched, 1, "reply", "1 result for 2 profiles"},
		{"no result list", 200, "", `{"error":0,"error_text":"Successful operation"}`, ReplyUnmatched, -1, "reply", "no result list"},
		{"result not a list", 200, "", `{"error":0,"result":{}}`, ReplyUnmatched, -1, "reply", "no result list"},
		{"not JSON", 200, "text/html", `<html>`, ReplyMaybe, -1, "reply", "not valid JSON; text/html, 6 bytes"},
		{"no error member", 200, "", `{"result":[]}`, ReplyMaybe, -1, "reply", `no integer "error" member`},
		{"HTTP 502", 502, "text/plain", `bad gateway`, ReplyMaybe, -1, "HTTP 502", "may have been applied"},
		{"whole batch refused", 200, "", `{"error":400,"error_text":"invalid email"}`, ReplyRefused, -1, "400", "invalid email"},
		{"throttled", 429, "", ``, ReplyRetry, -1, "HTTP 429", "Too Many Requests"},
		{"transient API error", 200, "", `{"error":503,"error_text":"later"}`, ReplyRetry, -1, "503", "later"},
		{"too large", 413, "", ``, ReplyRetry, -1, "HTTP 413", "Too Large"},
		{"token refused", 200, "", `{"error":403,"error_text":"Invalid API token"}`, ReplyFatal, -1, "403", "rejected the token"},
		{"HTTP 401", 401, "", ``, ReplyFatal, -1, "HTTP 401", "check ALTCRAFT_TOKEN"},
		{"redirect", 307, "", ``, ReplyFatal, -1, "HTTP 307", "a redirect not followed"},
		{"wrong URL", 404, "text/html", `<h1>404</h1>`, ReplyFatal, -1, "HTTP 404", "import_batch answered HTTP 404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := CheckBatchReply(probeResp(tc.status, tc.ctype), []byte(tc.body), 2)
			if c.Kind != tc.kind || c.Results != tc.results || c.Code != tc.code {
				t.Fatalf("kind %v, results %d, code %q; want %v, %d, %q (why %q)", c.Kind, c.Results, c.Code, tc.kind, tc.results, tc.code, c.Why)
			}
			if !strings.Contains(c.Why, tc.why) {
				t.Errorf("why %q lacks %q", c.Why, tc.why)
			}
			if (c.Kind == ReplyMatched) != (len(c.Items) == 2) {
				t.Errorf("kind %v with %d items", c.Kind, len(c.Items))
			}
		})
	}
}

func TestCheckBatchReplyItems(t *testing.T) {
	body := `{"error":0,"result":[{"error":"0","profile_id":"p\u0031"},{"error":400,"error_text":"bad \"x\""},{"error_text":"?"}]}`
	c := CheckBatchReply(probeResp(200, ""), []byte(body), 3)
	want := []BatchItem{
		{OK: true, HasCode: true, ProfileID: "p1"},
		{HasCode: true, Code: 400, Text: `bad "x"`},
		{Text: "?"},
	}
	if c.Kind != ReplyMatched || len(c.Items) != len(want) {
		t.Fatalf("%+v", c)
	}
	for i := range want {
		if c.Items[i] != want[i] {
			t.Errorf("item %d = %+v, want %+v", i+1, c.Items[i], want[i])
		}
	}
}

func TestReplyKindString(t *testing.T) {
	if ReplyUnmatched.String() != "unmatched" || ReplyKind(99).String() != "ReplyKind(99)" {
		t.Fatal(ReplyUnmatched.String(), ReplyKind(99).String())
	}
}

// FuzzCheckBatchReply: any reply gets a verdict, never a panic, and a
// matched verdict always has one item per profile.
func FuzzCheckBatchReply(f *testing.F) {
	f.Add(200, []byte(`{"error":0,"result":[{"error":0,"profile_id":"x"},{"error":400}]}`), 2)
	f.Add(200, []byte(`{"error":0,"result":[{"error":400}]}`), 2)
	f.Add(200, []byte(`{"error":0}`), 2)
	f.Add(502, []byte(`<html>`), 2)
	f.Add(200, []byte(`{"error":"403","error_text":"t"}`), 1)
	f.Add(307, []byte{}, 2)
	f.Fuzz(func(t *testing.T, status int, body []byte, items int) {
		if status < 100 || status > 999 || items < 1 || items > 10000 {
			return
		}
		c := CheckBatchReply(probeResp(status, "application/json"), body, items)
		switch {
		case c.Kind == ReplyMatched && (len(c.Items) != items || c.Results != items):
			t.Fatalf("matched with %d items (%d results) for %d", len(c.Items), c.Results, items)
		case c.Kind != ReplyMatched && (c.Items != nil || c.Why == "" || c.Code == ""):
			t.Fatalf("%v: items %v, why %q, code %q", c.Kind, c.Items, c.Why, c.Code)
		case c.Kind > ReplyFatal:
			t.Fatalf("kind %d", c.Kind)
		}
	})
}
