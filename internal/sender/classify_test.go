package sender

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

var testNow = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// reply builds the exchange of an HTTP reply with the given body, parsed
// the way attempt parses it.
func replyX(status int, body string, items int) exchange {
	x := exchange{method: "POST", url: "http://api.test/api/v1.1/profiles/update", timeout: 30 * time.Second,
		status: status, contentType: "application/json", size: len(body), items: items}
	if status >= 200 && (status < 300 || status >= 400) {
		x.parsed = true
		x.repErr = parseReply([]byte(body), &x.rep)
	}
	return x
}

func withRetryAfter(x exchange, v string) exchange { x.retryAfter = v; return x }

func transportX(err error, wrote, timedOut bool) exchange {
	return exchange{method: "POST", url: "http://api.test/api/v1.1/profiles/update", timeout: 30 * time.Second,
		err: err, wrote: wrote, timedOut: timedOut}
}

func urlErr(err error) error {
	return &url.Error{Op: "Post", URL: "http://api.test/api/v1.1/profiles/update", Err: err}
}

var refused = urlErr(&net.OpError{Op: "dial", Net: "tcp",
	Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9},
	Err:  &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}})

// TestClassify walks every row of classify's table.
func TestClassify(t *testing.T) {
	const okBody = `{"error":0,"error_text":"Successful operation","profile_id":"5f4fa1a5ce9448665fef548e"}`
	apiErr := func(code int, text string) string {
		return fmt.Sprintf(`{"error":%d,"error_text":%q}`, code, text)
	}
	batch := func(codes ...int) string {
		var b strings.Builder
		b.WriteString(`{"error":0,"error_text":"","result":[`)
		for i, c := range codes {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"error":%d,"error_text":"e%d","profile_id":"p%d"}`, c, i, i)
		}
		b.WriteString("]}")
		return b.String()
	}
	date := testNow.Add(90 * time.Second).Format(http.TimeFormat)
	tests := []struct {
		name      string
		x         exchange
		kind      kind
		maybe     bool // kindFatal: the attempt may have been applied
		code      string
		text      string // substring of the outcome's text
		throttled bool
		wait      time.Duration
		hint      string // FatalError hint, for kindFatal
	}{
		// Transport failures.
		{name: "TimeoutAfterSending", x: transportX(urlErr(context.DeadlineExceeded), true, true),
			kind: kindMaybe, code: "timeout", text: "no reply within 30s (the request was sent; it may have been applied)"},
		{name: "TimeoutBeforeSending", x: transportX(urlErr(context.DeadlineExceeded), false, true),
			kind: kindRetry, code: "timeout", text: "no reply within 30s (nothing was sent)"},
		{name: "ConnectionRefused", x: transportX(refused, false, false),
			kind: kindRetry, code: "network", text: "connection refused by 127.0.0.1:9 (nothing was sent)"},
		{name: "DNS", x: transportX(urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "api.invalid", IsNotFound: true}}), false, false),
			kind: kindRetry, code: "network", text: "DNS lookup of api.invalid failed: no such host"},
		{name: "DroppedAfterSending", x: transportX(urlErr(io.EOF), true, false),
			kind: kindMaybe, code: "network", text: "connection closed by the server before a reply (the request was sent; it may have been applied)"},
		{name: "DroppedBeforeSending", x: transportX(urlErr(io.EOF), false, false),
			kind: kindRetry, code: "network", text: "(nothing was sent)"},
		{name: "ResetAfterSending", x: transportX(urlErr(&net.OpError{Op: "read", Net: "tcp", Err: &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET}}), true, false),
			kind: kindMaybe, code: "network", text: "connection reset by the server"},
		{name: "RedirectToAnotherHost", x: transportX(urlErr(&redirectError{to: "http://evil.test/x", otherHost: true}), true, false),
			kind: kindFatal, maybe: true, code: "redirect", text: "another host (http://evil.test/x)", hint: "set api.url / --api-url to the final address"},
		{name: "RedirectSameHost", x: transportX(urlErr(&redirectError{to: "http://api.test/y"}), true, false),
			kind: kindFatal, maybe: true, code: "redirect", text: "redirected to http://api.test/y", hint: "set api.url / --api-url to the final address"},

		// HTTP status first.
		{name: "HTTP401", x: replyX(401, "", 0), kind: kindFatal, code: "HTTP 401", text: "HTTP 401 Unauthorized", hint: hintToken},
		{name: "HTTP403WithEnvelope", x: replyX(403, apiErr(403, "Access denied"), 0), kind: kindFatal, code: "HTTP 403", text: "HTTP 403 Forbidden: Access denied", hint: hintToken},
		{name: "HTTP402", x: replyX(402, apiErr(402, "Tariff limit reached"), 0), kind: kindFatal, code: "HTTP 402", text: "HTTP 402 Payment Required: Tariff limit reached", hint: hintAccount},
		{name: "HTTP404WithoutEnvelope", x: replyX(404, "<html>not found</html>", 0), kind: kindFatal, maybe: true, code: "HTTP 404",
			text: "HTTP 404 Not Found from http://api.test/api/v1.1/profiles/update", hint: hintURL},
		{name: "HTTP405", x: replyX(405, "", 0), kind: kindFatal, maybe: true, code: "HTTP 405", text: "HTTP 405 Method Not Allowed", hint: hintURL},
		{name: "HTTP404WithAPIError", x: replyX(404, apiErr(404, "Profile not found"), 0), kind: kindRow, code: "404",
			text: "Profile not found (POST http://api.test/api/v1.1/profiles/update answered HTTP 404 Not Found)"},
		{name: "HTTP429", x: withRetryAfter(replyX(429, "", 0), "7"), kind: kindRetry, code: "HTTP 429", text: "HTTP 429 Too Many Requests", throttled: true, wait: 7 * time.Second},
		{name: "HTTP429NoRetryAfter", x: replyX(429, "", 0), kind: kindRetry, code: "HTTP 429", throttled: true},
		{name: "HTTP503RetryAfterDate", x: withRetryAfter(replyX(503, "", 0), date), kind: kindMaybe, code: "HTTP 503",
			text: "HTTP 503 Service Unavailable (the request was sent; it may have been applied)", wait: 90 * time.Second},
		{name: "HTTP500", x: replyX(500, "oops", 0), kind: kindMaybe, code: "HTTP 500", text: "HTTP 500 Internal Server Error"},
		{name: "HTTP502AfterApplying", x: replyX(502, "", 0), kind: kindMaybe, code: "HTTP 502"},
		{name: "HTTP504", x: replyX(504, "<html>gateway timeout</html>", 0), kind: kindMaybe, code: "HTTP 504"},
		{name: "HTTP503WithEnvelope", x: replyX(503, apiErr(503, "Temporary error"), 0), kind: kindRetry, code: "503", text: "Temporary error"},
		{name: "HTTP500WithZeroEnvelope", x: replyX(500, `{"error":0}`, 0), kind: kindMaybe, code: "HTTP 500"},
		{name: "HTTP408", x: replyX(408, "", 0), kind: kindRetry, code: "HTTP 408"},
		{name: "HTTP400WithoutEnvelope", x: replyX(400, "bad", 0), kind: kindMaybe, code: "HTTP 400", text: "HTTP 400 Bad Request"},
		{name: "HTTP400WithEnvelope", x: replyX(400, apiErr(400, "Invalid email"), 0), kind: kindRow, code: "400", text: "Invalid email"},
		{name: "HTTP413", x: replyX(413, "", 0), kind: kindTooLarge, code: "HTTP 413", text: "HTTP 413 Request Entity Too Large"},
		{name: "HTTP413WithEnvelope", x: replyX(413, apiErr(413, "request body larger than 100 bytes"), 0), kind: kindTooLarge, code: "HTTP 413",
			text: "HTTP 413 Request Entity Too Large: request body larger than 100 bytes"},
		{name: "HTTP301", x: replyX(301, "", 0), kind: kindFatal, maybe: true, code: "HTTP 301", text: "HTTP 301 Moved Permanently", hint: hintURL},
		{name: "HTTP307", x: replyX(307, "", 0), kind: kindFatal, maybe: true, code: "HTTP 307", text: "HTTP 307 Temporary Redirect", hint: hintURL},
		{name: "HTTP1xx", x: replyX(199, "", 0), kind: kindMaybe, code: "HTTP 199"},

		// HTTP 2xx: the envelope decides.
		{name: "OK", x: replyX(200, okBody, 0), kind: kindOK},
		{name: "OKStringCode", x: replyX(200, `{"error":"0","profile_id":"x"}`, 0), kind: kindOK},
		{name: "NotJSON", x: replyX(200, "<html>"+testToken+"</html>", 0), kind: kindMaybe, code: "reply",
			text: "HTTP 200 OK reply is not the API's JSON envelope (not valid JSON; application/json, 30 bytes; the request may have been applied)"},
		{name: "NoErrorMember", x: replyX(200, `{"profile_id":"x"}`, 0), kind: kindMaybe, code: "reply", text: `no integer "error" member`},
		{name: "JSONArray", x: replyX(200, `[1,2]`, 0), kind: kindMaybe, code: "reply", text: "not a JSON object"},
		{name: "API400", x: replyX(200, apiErr(400, "Bad request"), 0), kind: kindRow, code: "400", text: "Bad request"},
		{name: "API402", x: replyX(200, apiErr(402, "Tariff limit reached"), 0), kind: kindFatal, code: "402", text: "Tariff limit reached", hint: hintAccount},
		{name: "API413", x: replyX(200, apiErr(413, "Too large"), 0), kind: kindTooLarge, code: "413", text: "Too large"},
		{name: "API404", x: replyX(200, apiErr(404, "Profile not found"), 0), kind: kindRow, code: "404", text: "Profile not found"},
		{name: "API409", x: replyX(200, apiErr(409, "More than one profile matched"), 0), kind: kindRow, code: "409"},
		{name: "API404EmptyText", x: replyX(200, `{"error":404,"error_text":""}`, 0), kind: kindRow, code: "404", text: "API error 404"},
		{name: "API401", x: replyX(200, apiErr(401, "API token required"), 0), kind: kindFatal, code: "401", text: "API token required", hint: hintToken},
		{name: "API403", x: replyX(200, apiErr(403, "No access"), 0), kind: kindFatal, code: "403", hint: hintToken},
		{name: "API429", x: withRetryAfter(replyX(200, apiErr(429, "Too many requests"), 0), "2"), kind: kindRetry, code: "429", throttled: true, wait: 2 * time.Second},
		{name: "API500", x: replyX(200, apiErr(500, "Internal error"), 0), kind: kindRetry, code: "500", text: "Internal error"},
		{name: "API502", x: replyX(200, apiErr(502, "x"), 0), kind: kindRetry, code: "502"},
		{name: "API503", x: replyX(200, apiErr(503, "x"), 0), kind: kindRetry, code: "503"},
		{name: "API504", x: replyX(200, apiErr(504, "x"), 0), kind: kindRetry, code: "504"},
		{name: "APIEscapedText", x: replyX(200, `{"error":404,"error_text":"\u041f\u0440\u043e\u0444\u0438\u043b\u044c \"x\""}`, 0), kind: kindRow, code: "404", text: `Профиль "x"`},

		// Batches.
		{name: "BatchOK", x: replyX(200, batch(0, 404, 0), 3), kind: kindOK},
		{name: "BatchWrongCount", x: replyX(200, batch(0, 0, 0), 5), kind: kindMaybe, code: "reply",
			text: "the batch reply had 3 results for 5 profiles, so they cannot be matched to the rows (the request may have been applied)"},
		{name: "BatchErrorsOnly", x: replyX(200, `{"error":0,"error_text":"Successful operation","result":[{"error":400,"error_text":"invalid email"}]}`, 5),
			kind: kindMaybe, code: "reply", text: "1 result for 5 profiles"},
		{name: "BatchNoResult", x: replyX(200, okBody, 5), kind: kindMaybe, code: "reply", text: "the batch reply had no result list for 5 profiles"},
		{name: "BatchItemWithoutCodeIsSettledPerItem", x: replyX(200, `{"error":0,"result":[{"error":0},{"profile_id":"x"}]}`, 2), kind: kindOK},
		{name: "BatchLevelRowError", x: replyX(200, apiErr(400, "Database not found"), 5), kind: kindRow, code: "400", text: "Database not found"},
		{name: "BatchLevelErrorWithUnmatchedList", x: replyX(200, `{"error":400,"error_text":"bad","result":[{"error":400}]}`, 5), kind: kindRow, code: "400"},
		{name: "BatchLevelErrorWithFullListUsesTheList", x: replyX(200, `{"error":400,"error_text":"bad","result":[{"error":0},{"error":400}]}`, 2), kind: kindOK},
		{name: "BatchLevelTransient", x: replyX(200, apiErr(503, "busy"), 5), kind: kindRetry, code: "503"},
		{name: "BatchLevel402", x: replyX(200, apiErr(402, "Tariff limit reached"), 5), kind: kindFatal, code: "402", hint: hintAccount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := classify(&tt.x, testNow)
			if o.kind != tt.kind {
				t.Errorf("classify() kind = %v, want %v (outcome %+v)", o.kind, tt.kind, o)
			}
			if o.maybe != tt.maybe {
				t.Errorf("classify() maybe = %v, want %v", o.maybe, tt.maybe)
			}
			if o.code != tt.code {
				t.Errorf("classify() code = %q, want %q", o.code, tt.code)
			}
			if !strings.Contains(o.text, tt.text) {
				t.Errorf("classify() text = %q, want it to contain %q", o.text, tt.text)
			}
			if o.throttled != tt.throttled {
				t.Errorf("classify() throttled = %v, want %v", o.throttled, tt.throttled)
			}
			if o.wait != tt.wait {
				t.Errorf("classify() wait = %v, want %v", o.wait, tt.wait)
			}
			if (o.kind == kindFatal) != (o.fatal != nil) {
				t.Errorf("classify() fatal = %v for kind %v", o.fatal, o.kind)
			}
			if o.fatal != nil && o.fatal.Hint != tt.hint {
				t.Errorf("classify() hint = %q, want %q", o.fatal.Hint, tt.hint)
			}
			if o.kind != kindOK && o.sig == "" {
				t.Errorf("classify() has no breaker signature: %+v", o)
			}
			if strings.Contains(o.text, testToken) {
				t.Errorf("classify() text echoes the reply body: %q", o.text)
			}
		})
	}
}

// TestClassifyNetworkSignature: the breaker compares network errors by kind,
// not by their text (two refused dials to different ports are the same error).
func TestClassifyNetworkSignature(t *testing.T) {
	other := urlErr(&net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 10},
		Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}})
	a, b := transportX(refused, false, false), transportX(other, false, false)
	oa, ob := classify(&a, testNow), classify(&b, testNow)
	if oa.sig != ob.sig || oa.sig != "network:refused" {
		t.Errorf("signatures %q and %q, want both network:refused", oa.sig, ob.sig)
	}
	if oa.text == ob.text {
		t.Errorf("texts should name the address: %q", oa.text)
	}
}

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"5", 5 * time.Second},
		{" 12 ", 12 * time.Second},
		{"600", 10 * time.Minute},
		{"601", maxPause},
		{"99999999999999999999999", maxPause},
		{"-3", 0},
		{"1.5", 0},
		{"soon", 0},
		{testNow.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{testNow.Add(-30 * time.Second).Format(http.TimeFormat), 0},
		{testNow.Add(5 * time.Hour).Format(http.TimeFormat), maxPause},
		{testNow.Add(45 * time.Second).Format(time.RFC850), 45 * time.Second},
		{testNow.Add(45 * time.Second).Format(time.ANSIC), 45 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := parseRetryAfter(tt.in, testNow); got != tt.want {
				t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "120", "-1", "1e3", "Sun, 29 Nov 2026 12:00:30 GMT",
		"Sunday, 29-Nov-26 12:00:30 GMT", "Sun Nov 29 12:00:30 2026", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d := parseRetryAfter(v, testNow)
		if d < 0 || d > maxPause {
			t.Errorf("parseRetryAfter(%q) = %v, want within [0, %v]", v, d, maxPause)
		}
	})
}

func TestBackoff(t *testing.T) {
	top := func(n int64) int64 { return n - 1 } // the largest draw: the ceiling
	bottom := func(int64) int64 { return 0 }    // the smallest
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
		800 * time.Millisecond, 1600 * time.Millisecond, 3200 * time.Millisecond, 6400 * time.Millisecond,
		10 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, w := range want {
		n := i + 1
		if got := backoff(n, top); got != w {
			t.Errorf("backoff(%d) ceiling = %v, want %v", n, got, w)
		}
		if got := backoff(n, bottom); got != 0 {
			t.Errorf("backoff(%d) floor = %v, want 0 (full jitter)", n, got)
		}
	}
	if got := backoff(1000, top); got != backoffCap {
		t.Errorf("backoff(1000) = %v, want the cap %v", got, backoffCap)
	}
	// With the real source every draw lies within [0, ceiling], and the
	// draws spread (full jitter, not a fixed delay).
	seen := map[time.Duration]bool{}
	for range 200 {
		d := backoff(3, defaultRandN)
		if d < 0 || d > 400*time.Millisecond {
			t.Fatalf("backoff(3) = %v, outside [0, 400ms]", d)
		}
		seen[d] = true
	}
	if len(seen) < 100 {
		t.Errorf("backoff(3) drew only %d distinct values in 200: not jittered", len(seen))
	}
}
