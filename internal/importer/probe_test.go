package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"importer/internal/fakeapi"
)

// probeConfig uses phone matching, update, batches and an incr field, so
// the tests see the probe override the first three and name the fourth.
const probeConfig = `
api: {endpoint: update, batch_size: 50, timeout: 5s}
request: {db_id: 7, matching: phone}
fields:
  phones: {column: Phone, split: ","}
  loyalty: {column: Points, type: int, action: incr}
`

// probeResult is one Probe call and what it printed.
type probeResult struct {
	matches bool
	err     error
	code    int
	out     string // stdout: the plan, the reply, the verdict
	errOut  string // stderr: the question
	log     string // warnings
}

// probeOpts returns options for a probe of url with probeConfig (or cfg),
// the token in a fake environment, answering yes.
func probeOpts(t *testing.T, url, cfg string) ProbeOptions {
	t.Helper()
	if cfg == "" {
		cfg = probeConfig
	}
	return ProbeOptions{
		Config: writeFile(t, t.TempDir(), "c.yaml", cfg),
		APIURL: url,
		Yes:    true,
		Getenv: func(k string) string {
			if k == EnvToken {
				return testToken
			}
			return ""
		},
	}
}

func runProbe(t *testing.T, ctx context.Context, o ProbeOptions) probeResult {
	t.Helper()
	var out, errOut, log syncBuffer
	o.Stdout, o.Stderr = &out, &errOut
	o.Logger = slog.New(slog.NewTextHandler(&log, nil))
	matches, err := Probe(ctx, o)
	r := probeResult{matches: matches, err: err, code: ProbeExitCode(matches, err),
		out: out.String(), errOut: errOut.String(), log: log.String()}
	for _, s := range []string{r.out, r.errOut, r.log, fmt.Sprint(err)} {
		if strings.Contains(s, testToken) {
			t.Fatalf("the token leaked into the output:\n%s", s)
		}
	}
	return r
}

// wantIn fails unless s holds every one of want, comparing words: the
// report wraps its sentences.
func wantIn(t *testing.T, s string, want ...string) {
	t.Helper()
	flat := strings.Join(strings.Fields(s), " ")
	for _, w := range want {
		if !strings.Contains(flat, strings.Join(strings.Fields(w), " ")) {
			t.Errorf("output lacks %q:\n%s", w, s)
		}
	}
}

func batchRequests(f *fakeapi.Server) int64 { return f.Stats().Endpoints["import_batch"].Requests }

// TestProbeAgainstFake probes the fake API in each of its batch reply
// shapes: the ordered one matches the importer's assumption, the other two
// do not, and the verdict says why and what the importer then does.
func TestProbeAgainstFake(t *testing.T) {
	for _, tc := range []struct {
		shape fakeapi.BatchReply
		code  int
		want  []string
	}{
		{fakeapi.BatchOrdered, ExitOK, []string{
			"verdict: matches: one result per item, in order (item 1 ok with profile_id ",
			`item 2 error 400: invalid email "not-an-email"`,
			"work with this installation as they are",
			"The test profile importer-probe@example.com is now in database 7, profile_id ",
		}},
		{fakeapi.BatchErrorsOnly, ExitRowErrors, []string{
			"verdict: differs: 2 items, 1 result The importer's reading",
			"the batch reply had 1 result for 2 profiles",
			"rows using only set are sent again, one per request",
			"rows using incr, add or delete end unknown",
			"set api.batch_size: 1",
			"this config does: loyalty (incr), with api.batch_size 50",
			"may be in database 7 now",
		}},
		{fakeapi.BatchBare, ExitRowErrors, []string{
			"verdict: differs: no result list The importer's reading",
			`{"error":0,"error_text":"Successful operation"}`,
			"rows using only set are sent again, one per request",
			"set api.batch_size: 1",
		}},
	} {
		t.Run(tc.shape.String(), func(t *testing.T) {
			fake, url := startFake(t, fakeapi.Options{BatchReply: tc.shape, DBs: []int{7}})
			r := runProbe(t, t.Context(), probeOpts(t, url, ""))
			if r.code != tc.code || r.err != nil {
				t.Fatalf("exit %d (err %v), want %d\n%s", r.code, r.err, tc.code, r.out)
			}
			wantIn(t, r.out, tc.want...)
			wantIn(t, r.out,
				"POST "+url+"/api/v1.1/profiles/import_batch",
				"matching: email, whatever request.matching says",
				"the config says phone",
				`{"token":"***","db_id":7,"matching":"email","skip_triggers":true,"data":[`+
					`{"email":"importer-probe@example.com","_fname":"importer probe"},{"email":"not-an-email"}]}`,
				"HTTP/1.1 200 OK\n  Content-Type: application/json")
			if strings.Contains(r.out+r.errOut, "[y/N]") {
				t.Errorf("--yes asked anyway:\n%s", r.out)
			}
			st := fake.Stats()
			if st.Requests != 1 || batchRequests(fake) != 1 {
				t.Fatalf("fake saw %d requests (%d import_batch), want 1", st.Requests, batchRequests(fake))
			}
			ps := fake.Profiles()
			if len(ps) != 1 || ps[0].Fields["email"] != probeEmail || ps[0].Fields["_fname"] != "importer probe" || ps[0].DBID != 7 {
				t.Fatalf("fake store = %+v, want only the test profile in database 7", ps)
			}
		})
	}
}

// TestProbeRefused: a probe the API refuses says so and exits 1; nothing
// is judged and nothing was written.
func TestProbeRefused(t *testing.T) {
	t.Run("wrong token", func(t *testing.T) {
		fake, url := startFake(t, fakeapi.Options{Token: "another-token"})
		r := runProbe(t, t.Context(), probeOpts(t, url, ""))
		if r.code != ExitFatal || r.err == nil {
			t.Fatalf("exit %d (err %v), want 1\n%s", r.code, r.err, r.out)
		}
		wantIn(t, r.err.Error(), "the API rejected the token (API error 403: Invalid API token)", "check ALTCRAFT_TOKEN/--token-file")
		wantIn(t, r.out, "verdict: not checked", `"error":403`)
		if n := len(fake.Profiles()); n != 0 {
			t.Fatalf("fake store holds %d profiles", n)
		}
	})
	t.Run("unknown database", func(t *testing.T) {
		// Error 404 for the whole batch is a refusal of the batch, not of
		// the token: the verdict explains both readings.
		_, url := startFake(t, fakeapi.Options{DBs: []int{1}})
		r := runProbe(t, t.Context(), probeOpts(t, url, ""))
		if r.code != ExitRowErrors || r.err != nil {
			t.Fatalf("exit %d (err %v), want 2\n%s", r.code, r.err, r.out)
		}
		wantIn(t, r.out, "verdict: differs: the API refused the whole batch (error 404: database 7 not found)",
			"every row of such a batch failed", "(request.db_id, the token), fix that and probe again")
	})
	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		r := runProbe(t, t.Context(), probeOpts(t, url, ""))
		if r.code != ExitFatal {
			t.Fatalf("exit %d (err %v), want 1", r.code, r.err)
		}
		wantIn(t, r.err.Error(), "the probe request failed", "connection refused", "may be in database 7")
	})
	t.Run("no token", func(t *testing.T) {
		fake, url := startFake(t, fakeapi.Options{})
		o := probeOpts(t, url, "")
		o.Getenv = func(string) string { return "" }
		r := runProbe(t, t.Context(), o)
		if r.code != ExitFatal || r.err == nil || !strings.Contains(r.err.Error(), "no API token") {
			t.Fatalf("exit %d (err %v), want 1: no API token", r.code, r.err)
		}
		if fake.Stats().Requests != 0 {
			t.Fatal("a request was sent without a token")
		}
	})
}

// TestProbeAsks: without --yes the probe shows the request, asks, and
// sends only on y or yes; a script (stdin not a terminal) must pass --yes.
func TestProbeAsks(t *testing.T) {
	for _, tc := range []struct {
		name     string
		terminal bool
		answer   string
		sent     int64
		wantErr  string
	}{
		{"n refuses", true, "n\n", 0, "aborted: nothing was sent"},
		{"enter refuses (the default is no)", true, "\n", 0, "aborted"},
		{"end of input refuses", true, "", 0, "aborted"},
		{"anything else refuses", true, "yes please\n", 0, "aborted"},
		{"y sends", true, "y\n", 1, ""},
		{"YES sends", true, " YES \r\n", 1, ""},
		{"not a terminal is refused", false, "y\n", 0, "stdin is not a terminal; pass --yes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, url := startFake(t, fakeapi.Options{})
			o := probeOpts(t, url, "")
			o.Yes = false
			o.Stdin = strings.NewReader(tc.answer)
			o.StdinIsTerminal = func() bool { return tc.terminal }
			r := runProbe(t, t.Context(), o)
			if got := fake.Stats().Requests; got != tc.sent {
				t.Fatalf("fake saw %d requests, want %d\n%s", got, tc.sent, r.out)
			}
			// The plan is shown before the question either way.
			wantIn(t, r.out, `"token":"***"`, "item 2: {\"email\":\"not-an-email\"}")
			if tc.terminal {
				wantIn(t, r.errOut, "write these to database 7? [y/N] ")
			}
			if tc.wantErr == "" {
				if r.code != ExitOK || r.err != nil {
					t.Fatalf("exit %d (err %v), want 0\n%s", r.code, r.err, r.out)
				}
				return
			}
			if r.code != ExitFatal || r.err == nil || !strings.Contains(r.err.Error(), tc.wantErr) {
				t.Fatalf("exit %d, err %v; want 1 and %q", r.code, r.err, tc.wantErr)
			}
			if strings.Contains(r.out, "verdict") {
				t.Errorf("a verdict without a request:\n%s", r.out)
			}
		})
	}
}

// TestProbeInterruptedAtQuestion: an interrupt while the question waits
// ends the probe (exit 130) with nothing sent.
func TestProbeInterruptedAtQuestion(t *testing.T) {
	fake, url := startFake(t, fakeapi.Options{})
	pr, pw := io.Pipe()
	defer pw.Close()
	o := probeOpts(t, url, "")
	o.Yes = false
	o.Stdin = pr
	o.StdinIsTerminal = func() bool { return true }
	var out, question syncBuffer
	o.Stdout, o.Stderr = &out, &question
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := Probe(ctx, o)
		done <- err
	}()
	waitUntil(t, func() bool { return strings.Contains(question.String(), "[y/N]") })
	cancel()
	err := <-done
	if code := ProbeExitCode(false, err); !errors.Is(err, context.Canceled) || code != ExitInterrupted {
		t.Fatalf("err %v (exit %d), want context.Canceled and 130", err, code)
	}
	if fake.Stats().Requests != 0 {
		t.Fatal("a request was sent after the interrupt")
	}
}

// waitUntil polls cond, which a goroutine of the test makes true.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(time.Millisecond)
	}
}

// cannedAPI is a loopback server answering every request with one canned
// reply, recording what it received.
type cannedAPI struct {
	mu       sync.Mutex
	requests []*http.Request
	bodies   [][]byte
	reply    func(w http.ResponseWriter, r *http.Request)
}

func (c *cannedAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.requests = append(c.requests, r)
	c.bodies = append(c.bodies, b)
	c.mu.Unlock()
	c.reply(w, r)
}

func startCanned(t *testing.T, reply func(w http.ResponseWriter, r *http.Request)) (*cannedAPI, string) {
	t.Helper()
	c := &cannedAPI{reply: reply}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return c, srv.URL
}

// canned answers with status, content type and body.
func canned(status int, ctype, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		if ctype != "" {
			w.Header().Set("Content-Type", ctype)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

const (
	okItem  = `{"error":0,"error_text":"Successful operation","profile_id":"p-1"}`
	badItem = `{"error":400,"error_text":"invalid email"}`
)

// TestProbeReplies judges replies Altcraft might give and the fake does not:
// each line is a reply and the verdict it must get.
func TestProbeReplies(t *testing.T) {
	huge := `{"error":0,"result":[` + strings.Repeat(" ", probeMaxRead) + `]}`
	for _, tc := range []struct {
		name  string
		reply func(http.ResponseWriter, *http.Request)
		code  int
		want  []string
	}{
		{"ordered with string codes", canned(200, "application/json", `{"error":"0","result":[`+okItem+`,{"error":"400","error_text":"bad"}]}`),
			ExitOK, []string{"verdict: matches: one result per item, in order (item 1 ok with profile_id p-1, item 2 error 400: bad)"}},
		{"ok without profile_id", canned(200, "application/json", `{"error":0,"result":[{"error":0},`+badItem+`]}`),
			ExitOK, []string{"verdict: matches: one result per item, in order (item 1 ok without a profile_id", "empty profile_id in the results journal",
				"The test profile importer-probe@example.com is now in database 7."}},
		{"HTTP 201", canned(201, "application/json", `{"error":0,"result":[`+okItem+`,`+badItem+`]}`),
			ExitOK, []string{"verdict: matches", "HTTP 201 Created, not 200: the importer takes any 2xx reply the same way"}},
		{"invalid item reported ok", canned(200, "application/json", `{"error":0,"result":[`+okItem+`,`+okItem+`]}`),
			ExitRowErrors, []string{"verdict: differs: the invalid item was reported as ok (item 1 ok with profile_id p-1, item 2 ok with profile_id p-1)",
				"takes \"not-an-email\" as an e-mail", "takes result i as the answer for row i"}},
		{"reversed", canned(200, "application/json", `{"error":0,"result":[`+badItem+`,`+okItem+`]}`),
			ExitRowErrors, []string{"verdict: differs: the results look reversed", "item 1 error 400: invalid email, item 2 ok"}},
		{"both refused", canned(200, "application/json", `{"error":0,"result":[`+badItem+`,`+badItem+`]}`),
			ExitRowErrors, []string{"verdict: differs: both items were refused, so the order of the results cannot be seen",
				"Fix what item 1's error says"}},
		{"item without error code", canned(200, "application/json", `{"error":0,"result":[`+okItem+`,{"error_text":"?"}]}`),
			ExitRowErrors, []string{"verdict: differs: item 2 has no error code The importer reads", "a row using incr, add or delete ends unknown"}},
		{"three results", canned(200, "application/json", `{"error":0,"result":[`+okItem+`,`+badItem+`,`+okItem+`]}`),
			ExitRowErrors, []string{"verdict: differs: 2 items, 3 results The importer's"}},
		{"not JSON", canned(200, "text/html", "<html>502 Bad Gateway</html>"),
			ExitRowErrors, []string{"verdict: differs: not the API's JSON envelope The importer's", "not valid JSON; text/html",
				"Content-Type: text/html", "<html>502 Bad Gateway</html>", "rows using incr, add or delete end unknown"}},
		{"HTTP 502", canned(502, "text/plain", "upstream gone"),
			ExitRowErrors, []string{"verdict: differs: HTTP 502 Bad Gateway, not 200, without the API's envelope", "HTTP/1.1 502 Bad Gateway"}},
		{"whole batch refused", canned(200, "application/json", `{"error":400,"error_text":"invalid email in data[1]"}`),
			ExitRowErrors, []string{"verdict: differs: the API refused the whole batch (error 400: invalid email in data[1])",
				"refuses a whole batch for one bad profile"}},
		{"too large a reply", canned(200, "application/json", huge),
			ExitRowErrors, []string{"verdict: differs: not the API's JSON envelope", "more bytes not shown",
				fmt.Sprintf("longer than %d bytes: the rest was not read", probeMaxRead)}},
		{"empty body", canned(200, "", ""),
			ExitRowErrors, []string{"(empty body)", "Content-Type: (none)", "verdict: differs"}},
		{"control characters escaped", canned(200, "text/plain", "\x1b[2Jcleared\r\n\xff"),
			ExitRowErrors, []string{`\x1b[2Jcleared` + "\n  " + `\xff`}},
		{"throttled", canned(429, "application/json", `{"error":429,"error_text":"Too many requests"}`),
			ExitFatal, []string{"verdict: not checked"}},
		{"HTTP 401", canned(401, "text/plain", "no"),
			ExitFatal, []string{"verdict: not checked", "HTTP/1.1 401 Unauthorized"}},
		{"redirect not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
		}, ExitFatal, []string{"HTTP/1.1 307 Temporary Redirect", "Location: /elsewhere", "verdict: not checked"}},
		{"token echoed is masked", canned(200, "application/json",
			`{"error":0,"error_text":"got `+testToken+`","result":[{"error":0,"profile_id":"`+testToken+`"},{"error":400,"error_text":"bad token `+testToken+`"}]}`),
			ExitOK, []string{`"error_text":"got ***"`, "item 1 ok with profile_id ***, item 2 error 400: bad token ***"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api, url := startCanned(t, tc.reply)
			r := runProbe(t, t.Context(), probeOpts(t, url, ""))
			if r.code != tc.code {
				t.Fatalf("exit %d (err %v), want %d\n%s", r.code, r.err, tc.code, r.out)
			}
			wantIn(t, r.out, tc.want...)
			if len(api.requests) != 1 {
				t.Fatalf("%d requests, want exactly 1 (no redirect followed, no retry)", len(api.requests))
			}
		})
	}
}

// TestProbeRequest checks the request on the wire: one POST of exactly the
// body shown, the token in the body (or the Authorization header with
// auth: bearer), JSON headers, nothing in the URL.
func TestProbeRequest(t *testing.T) {
	items := `"data":[{"email":"importer-probe@example.com","_fname":"importer probe"},{"email":"not-an-email"}]}`
	for _, tc := range []struct {
		name, auth, body, header string
	}{
		{"token in the body", "body", `{"token":"` + testToken + `","db_id":7,"matching":"email","skip_triggers":true,` + items, ""},
		{"bearer", "bearer", `{"db_id":7,"matching":"email","skip_triggers":true,` + items, "Bearer " + testToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api, url := startCanned(t, canned(200, "application/json", `{"error":0,"result":[`+okItem+`,`+badItem+`]}`))
			cfg := strings.Replace(probeConfig, "timeout: 5s}", "timeout: 5s, auth: "+tc.auth+"}", 1)
			r := runProbe(t, t.Context(), probeOpts(t, url+"/", cfg))
			if r.code != ExitOK {
				t.Fatalf("exit %d (err %v)\n%s", r.code, r.err, r.out)
			}
			req, body := api.requests[0], string(api.bodies[0])
			if req.Method != http.MethodPost || req.URL.String() != "/api/v1.1/profiles/import_batch" {
				t.Errorf("request %s %s, want POST /api/v1.1/profiles/import_batch", req.Method, req.URL)
			}
			if body != tc.body {
				t.Errorf("body\n%s\nwant\n%s", body, tc.body)
			}
			if got := req.Header.Get("Authorization"); got != tc.header {
				t.Errorf("Authorization %q, want %q", got, tc.header)
			}
			if req.Header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", req.Header.Get("Content-Type"))
			}
			// What was shown is what was sent, but for the token.
			wantIn(t, r.out, strings.ReplaceAll(body, testToken, "***"))
			if tc.header != "" {
				wantIn(t, r.out, "header: Authorization: Bearer ***")
			}
		})
	}
}

// TestProbeConfigProblems: a probe that cannot start says what to fix.
func TestProbeConfigProblems(t *testing.T) {
	for _, tc := range []struct {
		name, cfg, url, want string
	}{
		{"no URL", probeConfig, "", "no API URL"},
		{"credentials in the URL", probeConfig, "http://user:pw@127.0.0.1:1", "carries credentials"},
		{"bad config", "api: {endpoint: sideways}\n", "http://127.0.0.1:1", "endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runProbe(t, t.Context(), probeOpts(t, tc.url, tc.cfg))
			if r.code != ExitFatal || r.err == nil || !strings.Contains(r.err.Error(), tc.want) {
				t.Fatalf("exit %d, err %v; want 1 and %q", r.code, r.err, tc.want)
			}
			if r.out != "" {
				t.Errorf("printed a plan for a probe that cannot start:\n%s", r.out)
			}
		})
	}
	t.Run("no config", func(t *testing.T) {
		o := probeOpts(t, "http://127.0.0.1:1", "")
		o.Config = ""
		r := runProbe(t, t.Context(), o)
		if r.err == nil || !strings.Contains(r.err.Error(), "pass -c CONFIG") {
			t.Fatalf("err %v, want: pass -c CONFIG", r.err)
		}
	})
	t.Run("token file", func(t *testing.T) {
		_, url := startFake(t, fakeapi.Options{})
		o := probeOpts(t, url, "")
		o.Getenv = func(string) string { return "" }
		o.TokenFile = writeFile(t, t.TempDir(), "token", testToken+"\n")
		if r := runProbe(t, t.Context(), o); r.code != ExitOK {
			t.Fatalf("exit %d (err %v)", r.code, r.err)
		}
	})
}

// TestProbeItemSingle: the probe's items also encode as single requests,
// as the Payload contract asks.
func TestProbeItemSingle(t *testing.T) {
	var got map[string]any
	b := append(append([]byte{'{'}, probeBatch[0].AppendSingle(nil)...), '}')
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	data, _ := got["data"].(map[string]any)
	if got["email"] != probeEmail || data["email"] != probeEmail || data["_fname"] != probeName {
		t.Fatalf("single members %s", b)
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain ünïcode\tand\nlines": "plain ünïcode\tand\nlines",
		"crlf\r\nline":              "crlf\nline",
		"bell\a esc\x1b del\x7f":    `bell\x07 esc\x1b del\x7f`,
		"c1 \u0085 ls \u2028":       `c1 \u0085 ls \u2028`,
		"bad \xff\xfe utf8":         `bad \xff\xfe utf8`,
		"lone cr\r":                 `lone cr\x0d`,
	} {
		if got := printable([]byte(in)); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriteWrapped(t *testing.T) {
	long := strings.Repeat("word ", 60) + strings.Repeat("x", 120) + " end"
	var b bytes.Buffer
	writeWrapped(&b, long)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) < 4 {
		t.Fatalf("not wrapped:\n%s", b.String())
	}
	var words []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "  ") {
			t.Errorf("line %q not indented", l)
		}
		if n := utf8.RuneCountInString(l); n > wrapWidth && strings.Count(strings.TrimSpace(l), " ") > 0 {
			t.Errorf("line of %d columns holding more than one word: %q", n, l)
		}
		words = append(words, strings.Fields(l)...)
	}
	if strings.Join(words, " ") != strings.Join(strings.Fields(long), " ") {
		t.Errorf("words changed:\n%s", b.String())
	}
}
