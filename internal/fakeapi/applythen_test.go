package fakeapi_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"importer/internal/fakeapi"
)

// lostCase is one ApplyThen kind: what the client must receive, checked on
// the raw response (nil when the connection died), and the real reply the
// request would have had.
type lostCase struct {
	name  string
	kind  fakeapi.LostReply
	xml   bool
	batch bool
	check func(t *testing.T, resp *http.Response, err error, real string)
}

func wantTextStatus(status int, text string) func(*testing.T, *http.Response, error, string) {
	return func(t *testing.T, resp *http.Response, err error, _ string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != status || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || string(body) != text {
			t.Errorf("reply = HTTP %d %q %q, want HTTP %d text/plain %q", resp.StatusCode, resp.Header.Get("Content-Type"), body, status, text)
		}
	}
}

// TestApplyThen: with ApplyThenRate 1 every request is applied exactly once
// (read back through /fake/profiles) and its reply replaced by the kind's
// documented bytes.
func TestApplyThen(t *testing.T) {
	tests := []lostCase{
		{name: "502", kind: fakeapi.Lost502, check: wantTextStatus(502, "502 Bad Gateway (injected by fakeapi after applying the request)\n")},
		{name: "503", kind: fakeapi.Lost503, check: wantTextStatus(503, "503 Service Unavailable (injected by fakeapi after applying the request)\n")},
		{name: "504", kind: fakeapi.Lost504, check: wantTextStatus(504, "504 Gateway Timeout (injected by fakeapi after applying the request)\n")},
		{name: "500", kind: fakeapi.Lost500, check: wantTextStatus(500, "500 Internal Server Error (injected by fakeapi after applying the request)\n")},
		{name: "504/batch", kind: fakeapi.Lost504, batch: true, check: wantTextStatus(504, "504 Gateway Timeout (injected by fakeapi after applying the request)\n")},
		{name: "reset", kind: fakeapi.LostReset, check: wantConnectionLost},
		{name: "reset/batch", kind: fakeapi.LostReset, batch: true, check: wantConnectionLost},
		{name: "html", kind: fakeapi.LostHTML, check: wantHTML},
		{name: "html/xml", kind: fakeapi.LostHTML, xml: true, check: wantHTML},
		{name: "huge", kind: fakeapi.LostHuge, check: wantHuge("application/json; charset=utf-8")},
		// One huge case only: 64 MiB over loopback costs a quarter of a
		// second under -race. The padding is the same in either format.
		{name: "redirect", kind: fakeapi.LostRedirect, check: wantRedirect("/api/v1.1/profiles/import")},
		{name: "redirect/batch", kind: fakeapi.LostRedirect, batch: true, check: wantRedirect("/api/v1.1/profiles/import_batch")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, fakeapi.Options{ApplyThenRate: 1, ApplyThen: tt.kind})
			// The real reply, from a twin server without the fault.
			real := newEnv(t, fakeapi.Options{})
			method, ctype, body := lostRequest(tt.xml, tt.batch)
			want := string(real.raw(method, ctype, body, nil).raw)

			req, err := http.NewRequest(http.MethodPost, e.url+fakeapi.APIPrefix+method, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", ctype)
			c := &http.Client{Transport: e.c.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := c.Do(req)
			if resp != nil {
				defer resp.Body.Close()
			}
			tt.check(t, resp, err, want)
			checkAppliedOnce(t, e, real)
			if st := e.stats().Endpoints[method]; st.Requests != 1 || st.Outcomes["apply_then"] != 1 {
				t.Errorf("stats = %+v, want one apply_then request", st)
			}
		})
	}
}

// lostRequest is an import (or a batch of two) carrying an incr.
func lostRequest(isXML, batch bool) (method, ctype string, body []byte) {
	switch {
	case isXML && batch:
		return "import_batch", "application/xml", []byte(`<xml><token>` + testToken + `</token><db_id>1</db_id><data array='true'>` +
			`<item><email>a@example.com</email><n><action>incr</action><value>1</value></n></item>` +
			`<item><email>b@example.com</email><n><action>incr</action><value>1</value></n></item></data></xml>`)
	case isXML:
		return "import", "application/xml", []byte(`<xml><token>` + testToken + `</token><db_id>1</db_id><email>a@example.com</email>` +
			`<data><n><action>incr</action><value>1</value></n></data></xml>`)
	case batch:
		return "import_batch", "application/json", []byte(`{"token":"` + testToken + `","db_id":1,"data":[` +
			`{"email":"a@example.com","n":{"action":"incr","value":1}},{"email":"b@example.com","n":{"action":"incr","value":1}}]}`)
	}
	return "import", "application/json", []byte(`{"token":"` + testToken + `","db_id":1,"email":"a@example.com","data":{"n":{"action":"incr","value":1}}}`)
}

// checkAppliedOnce compares the store with the twin's, which got the same
// request without the fault: the same profiles, each written once.
func checkAppliedOnce(t *testing.T, e, twin *env) {
	t.Helper()
	got, want := e.dump(), twin.dump()
	if len(got) != len(want) || len(got) == 0 {
		t.Fatalf("stored %d profiles, want %d: an apply-then request is applied", len(got), len(want))
	}
	for i := range got {
		g := got[i]
		if !equalJSON(g, want[i]) || g.Writes != 1 || g.IncrApplied != 1 || g.Fields["n"] != want[i].Fields["n"] {
			t.Errorf("stored %+v, want %+v, written once with its incr", g, want[i])
		}
	}
	if st := e.stats(); st.Writes != int64(len(got)) || st.IncrWrites != int64(len(got)) || st.IncrAppliedTwice != 0 {
		t.Errorf("stats writes_applied %d incr_applied %d incr_applied_twice %d, want %d, %d, 0", st.Writes, st.IncrWrites, st.IncrAppliedTwice, len(got), len(got))
	}
}

func wantConnectionLost(t *testing.T, resp *http.Response, err error, _ string) {
	t.Helper()
	if err == nil {
		t.Fatalf("reply = HTTP %d, want the connection closed without a reply", resp.StatusCode)
	}
}

func wantHTML(t *testing.T, resp *http.Response, err error, _ string) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
		!strings.HasPrefix(string(body), "<!DOCTYPE html>") || !strings.Contains(string(body), "<h1>502 Bad Gateway</h1>") {
		t.Errorf("reply = HTTP %d %q %q, want HTTP 200 text/html with a 502 page", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

// wantHuge reads the body without keeping it: HugeReplyPadding spaces, then
// the real reply, with no Content-Length to warn the client.
func wantHuge(ctype string) func(*testing.T, *http.Response, error, string) {
	return func(t *testing.T, resp *http.Response, err error, real string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ctype || resp.ContentLength != -1 {
			t.Errorf("reply = HTTP %d %q length %d, want HTTP 200 %s with no length", resp.StatusCode, resp.Header.Get("Content-Type"), resp.ContentLength, ctype)
		}
		n, err := io.Copy(spaceCounter{}, io.LimitReader(resp.Body, fakeapi.HugeReplyPadding))
		if err != nil || n != fakeapi.HugeReplyPadding {
			t.Fatalf("padding = %d bytes, %v, want %d spaces", n, err, fakeapi.HugeReplyPadding)
		}
		tail, err := io.ReadAll(resp.Body)
		if err != nil || string(tail) != real {
			t.Errorf("after the padding: %q, %v, want the real reply %q", tail, err, real)
		}
		if n+int64(len(tail)) <= 64<<20 {
			t.Errorf("body of %d bytes, want over 64 MiB", n+int64(len(tail)))
		}
	}
}

// spaceCounter accepts only spaces. It compares whole chunks with a block
// of spaces (memcmp), so 64 MiB stay cheap under the race detector.
type spaceCounter struct{}

var spaces = bytes.Repeat([]byte{' '}, 64<<10)

func (spaceCounter) Write(p []byte) (int, error) {
	for done := 0; done < len(p); {
		m := min(len(p)-done, len(spaces))
		if !bytes.Equal(p[done:done+m], spaces[:m]) {
			return done, errors.New("padding holds a byte other than a space")
		}
		done += m
	}
	return len(p), nil
}

func wantRedirect(location string) func(*testing.T, *http.Response, error, string) {
	return func(t *testing.T, resp *http.Response, err error, _ string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != location || len(body) != 0 {
			t.Errorf("reply = HTTP %d Location %q %q, want HTTP 307 to %s, empty", resp.StatusCode, resp.Header.Get("Location"), body, location)
		}
	}
}

// TestApplyThenRedirectFollowed: a client that follows the 307 sends the
// request again, and the fake shows every application.
func TestApplyThenRedirectFollowed(t *testing.T) {
	e := newEnv(t, fakeapi.Options{ApplyThenRate: 1, ApplyThen: fakeapi.LostRedirect})
	_, _, body := lostRequest(false, false)
	_, err := e.do(http.MethodPost, fakeapi.APIPrefix+"import", "application/json", body, nil)
	if err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Fatalf("following the redirect: %v, want the client to stop after its redirect limit", err)
	}
	st := e.stats()
	ps := e.dump()
	if len(ps) != 1 || ps[0].IncrApplied != st.Requests || st.Requests < 2 || ps[0].Fields["n"] != jsonNumber(st.Requests) {
		t.Fatalf("after %d requests: %+v, want one profile whose incr was applied by each", st.Requests, ps)
	}
	if st.IncrAppliedTwice != 1 || st.IncrWrites != st.Requests {
		t.Errorf("stats incr_applied_twice %d incr_applied %d, want 1 and %d", st.IncrAppliedTwice, st.IncrWrites, st.Requests)
	}
}

// TestApplyThenTimeout: the reply is held for Slow after the request was
// applied; an impatient client times out, a patient one gets the reply.
func TestApplyThenTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := bubbleEnv(t, fakeapi.Options{ApplyThenRate: 1, ApplyThen: fakeapi.LostTimeout, Slow: time.Minute})
		e.c.Timeout = 5 * time.Second
		_, ctype, body := lostRequest(false, false)
		_, err := e.do(http.MethodPost, fakeapi.APIPrefix+"import", ctype, body, nil)
		var te interface{ Timeout() bool }
		if !errors.As(err, &te) || !te.Timeout() {
			t.Fatalf("err = %v, want a client timeout", err)
		}
		synctest.Wait()
		if ps := e.api.Profiles(); len(ps) != 1 || ps[0].IncrApplied != 1 {
			t.Errorf("profiles = %+v, want the request applied once", ps)
		}
		e.c.Timeout = 2 * time.Minute
		start := time.Now()
		r := e.call("import", obj{"db_id": 1, "email": "b@example.com", "data": obj{}})
		if mustOK(t, r); time.Since(start) != time.Minute {
			t.Errorf("patient client got the reply after %v, want 1m", time.Since(start))
		}
		if st := e.api.Stats().Endpoints["import"]; st.Outcomes["apply_then"] != 2 || st.Slow != 0 {
			t.Errorf("stats = %+v, want 2 apply_then and no SlowRate reply", st)
		}
	})
}

// TestApplyThenRate: about the share asked for meets the fault, every
// request is stored whatever it met, and the seed fixes which.
func TestApplyThenRate(t *testing.T) {
	const n = 300
	opts := fakeapi.Options{ApplyThenRate: 0.3, ApplyThen: fakeapi.Lost504, Seed: 8}
	e := newEnv(t, opts)
	got := sequence(t, e, n)
	lost := count(got, "http-504")
	if lost < n*22/100 || lost > n*38/100 || lost+count(got, "ok") != n {
		t.Errorf("outcomes: %d http-504 of %d, %d ok, want about 30%% and the rest ok", lost, n, count(got, "ok"))
	}
	if ps := e.dump(); len(ps) != n {
		t.Errorf("stored %d profiles, want all %d: a lost reply does not undo the write", len(ps), n)
	}
	if st := e.stats().Endpoints["import"]; st.Outcomes["apply_then"] != int64(lost) || st.Outcomes["ok"] != int64(n-lost) {
		t.Errorf("stats = %+v, want %d apply_then", st.Outcomes, lost)
	}
}

func TestLostReplyText(t *testing.T) {
	names := []string{"502", "503", "504", "500", "reset", "html", "huge", "redirect", "timeout"}
	for i, name := range names {
		var k fakeapi.LostReply
		if err := k.UnmarshalText([]byte(name)); err != nil || k != fakeapi.LostReply(i) || k.String() != name {
			t.Errorf("UnmarshalText(%q) = %v, %v", name, k, err)
		}
		if b, err := k.MarshalText(); err != nil || string(b) != name {
			t.Errorf("MarshalText(%v) = %q, %v", k, b, err)
		}
	}
	var k fakeapi.LostReply
	if err := k.UnmarshalText([]byte("close")); err == nil || !strings.Contains(err.Error(), `unknown lost reply kind "close" (want 502, 503`) {
		t.Errorf("UnmarshalText(close) = %v", err)
	}
}

func TestNewRejectsUndeclaredKinds(t *testing.T) {
	for _, opts := range []fakeapi.Options{{ApplyThen: fakeapi.LostReply(42)}, {BatchReply: fakeapi.BatchReply(7)}} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "not a declared constant") {
					t.Errorf("New(%+v) recovered %v, want a panic naming the bad option", opts, r)
				}
			}()
			fakeapi.New(opts)
		}()
	}
}
