package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"importer/internal/fakeapi"
	"importer/internal/input"
)

// Secrets the tests plant. None may show up in any output or file.
const (
	fileToken   = "file-SECRET-fedcba9876543210" // the token inside --token-file
	urlPassword = "pw-SECRET-5551212"            // a password in an API URL
)

// secretCase is one command path of the secrets matrix.
type secretCase struct {
	name  string
	mode  Mode // ModeRun, ModeValidate, or "check" for Check
	fake  fakeapi.Options
	input func(t *testing.T, dir string) string // nil: 40 rows, every 7th invalid
	// url returns the API URL for the run from the fake's; nil: the fake's.
	url      func(t *testing.T, fake string) string
	tweak    func(t *testing.T, o *Options, dir string)
	canceled bool // run under a context canceled before the start
	endpoint string

	wantCode int
	want     []string // the output (stderr, logs, error, check's stdout) must hold each
	wantNot  []string // and none of these
	// files: name in the output directory → text it must hold.
	files map[string]string
	// noRequests: the API must see no request at all.
	noRequests bool
}

// TestSecretsNeverLeak drives every command path with distinctive secrets
// (the token from the environment or a token file, a password in the URL)
// and asserts none of them appears in stderr, the log (at debug level),
// the error, check's stdout, or any file the run wrote: results, rejects,
// payload dump, summary, fingerprint, lock.
func TestSecretsNeverLeak(t *testing.T) {
	tests := []secretCase{
		{
			name: "Success", wantCode: ExitOK,
			input: func(t *testing.T, dir string) string { return genCSV(t, dir, 30, 30, false) },
			files: map[string]string{"payloads.jsonl": `"token":"***"`, "summary.json": `"ok": 30`},
			// Loopback http is fine: no warning.
			wantNot: []string{"plain http"},
		},
		{
			// Invalid rows, rows the API refuses (update of missing
			// profiles) and transient faults, retried with debug logging.
			name: "RowFailures", endpoint: "update", wantCode: ExitRowErrors,
			fake:  fakeapi.Options{FailRate: 0.3, ErrorRate: 0.2, Seed: 5},
			want:  []string{"level=DEBUG", "retrying", "Profile not found"},
			files: map[string]string{"rejects.csv": "_error", "results.csv": ",failed,"},
		},
		{
			name: "TokenRejected", fake: fakeapi.Options{Token: "another-token"}, wantCode: ExitFatal,
			want: []string{"the API rejected the token", "check ALTCRAFT_TOKEN/--token-file"},
		},
		{
			name: "Unreachable", wantCode: ExitFatal, noRequests: true,
			url:  func(*testing.T, string) string { return "http://127.0.0.1:1" },
			want: []string{"connection refused"},
		},
		{
			// The token as the URL's password: refused before any request,
			// and neither it nor the user name's password is echoed.
			name: "URLWithCredentials", wantCode: ExitFatal, noRequests: true,
			url: func(_ *testing.T, u string) string {
				return strings.Replace(u, "http://", "http://user:"+testToken+"@", 1)
			},
			want: []string{"--api-url", "credentials"},
		},
		{
			name: "URLWithPassword/env", wantCode: ExitFatal, noRequests: true,
			tweak: func(t *testing.T, o *Options, dir string) {
				u := o.APIURL
				o.APIURL = ""
				o.Getenv = func(k string) string {
					switch k {
					case EnvToken:
						return testToken
					case EnvAPIURL:
						return strings.Replace(u, "http://", "http://admin:"+urlPassword+"@", 1)
					}
					return ""
				}
			},
			want: []string{EnvAPIURL, "credentials"},
		},
		{
			name: "URLWithTokenInQuery", wantCode: ExitFatal, noRequests: true,
			url:  func(_ *testing.T, u string) string { return u + "/?token=" + testToken },
			want: []string{"--api-url", "has a query"},
		},
		{
			// A server that quotes the token back in its error text for
			// every other request: those rows fail with the text masked.
			name: "APIEchoesToken", wantCode: ExitRowErrors,
			url: func(t *testing.T, _ string) string {
				var n atomic.Int64
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					if n.Add(1)%2 == 0 {
						fmt.Fprint(w, `{"error":0,"error_text":"Successful operation","profile_id":"0123456789abcdef01234567"}`)
						return
					}
					fmt.Fprintf(w, `{"error":400,"error_text":"bad request {\"token\":\"%s\"}"}`, testToken)
				}))
				t.Cleanup(srv.Close)
				return srv.URL
			},
			files: map[string]string{"results.csv": "***", "rejects.csv": "***"},
		},
		{
			// A redirect to another host is never followed: the body holds
			// the token.
			name: "RedirectToAnotherHost", wantCode: ExitFatal, noRequests: true,
			url: func(t *testing.T, fake string) string {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, fake+r.URL.Path, http.StatusTemporaryRedirect)
				}))
				t.Cleanup(srv.Close)
				return srv.URL
			},
			want: []string{"redirected to another host"},
		},
		{
			name: "Validate", mode: ModeValidate, wantCode: ExitRowErrors, noRequests: true,
			files: map[string]string{"payloads.jsonl": `"token":"***"`},
		},
		{
			name: "Check", mode: "check", wantCode: ExitOK, noRequests: true,
			want: []string{`"token": "***"`, "row 1 (line 2)"},
		},
		{
			name: "TokenFile/0644", wantCode: ExitOK, fake: fakeapi.Options{Token: fileToken},
			input: func(t *testing.T, dir string) string { return genCSV(t, dir, 10, 10, false) },
			tweak: tokenFile(0o644),
			want:  []string{"token file is readable by other users", "tokenfile"},
		},
		{
			name: "TokenFile/0600", wantCode: ExitOK, fake: fakeapi.Options{Token: fileToken},
			input:   func(t *testing.T, dir string) string { return genCSV(t, dir, 10, 10, false) },
			tweak:   tokenFile(0o600),
			wantNot: []string{"readable by other users"},
		},
	}
	// The plain-http warning: each URL is checked before anything is read
	// or sent. The input does not exist and the context is canceled, so
	// Run stops at opening the input, after the check: not one packet
	// leaves the host.
	for _, u := range []struct {
		url  string
		warn bool
	}{
		{"http://192.0.2.1:9", true},
		{"http://api.example.com", true},
		{"https://192.0.2.1:9", false},
		{"http://localhost:9", false},
		{"http://[::1]:9", false},
	} {
		c := secretCase{
			name: "PlainHTTP/" + u.url, wantCode: ExitFatal, canceled: true, noRequests: true,
			url:   func(*testing.T, string) string { return u.url },
			input: func(_ *testing.T, dir string) string { return filepath.Join(dir, "absent.csv") },
			want:  []string{"absent.csv"},
		}
		const warning = "the API URL is plain http to a non-loopback host"
		if u.warn {
			c.want = append(c.want, warning)
		} else {
			c.wantNot = []string{warning}
		}
		tests = append(tests, c)
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runSecretCase(t, tc) })
	}
}

// tokenFile puts the token in a file with mode perm and points the run at
// it, with no token in the environment.
func tokenFile(perm fs.FileMode) func(*testing.T, *Options, string) {
	return func(t *testing.T, o *Options, dir string) {
		p := filepath.Join(dir, "tokenfile")
		if err := os.WriteFile(p, []byte(fileToken+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, perm); err != nil { // not left to the umask
			t.Fatal(err)
		}
		o.TokenFile = p
		o.Getenv = func(string) string { return "" }
	}
}

func runSecretCase(t *testing.T, tc secretCase) {
	fake, fakeURL := startFake(t, tc.fake)
	inDir, out := t.TempDir(), t.TempDir()
	cfgText := simpleConfig
	if tc.endpoint != "" {
		cfgText = strings.Replace(cfgText, "endpoint: import", "endpoint: "+tc.endpoint, 1)
	}
	cfg := writeFile(t, inDir, "c.yaml", cfgText)
	var in string
	if tc.input != nil {
		in = tc.input(t, inDir)
	} else {
		in = genCSV(t, inDir, 40, 40, true)
	}
	mode := tc.mode
	if mode == "" {
		mode = ModeRun
	}
	o := baseOptions(mode, cfg, in, out)
	o.APIURL = fakeURL
	if tc.url != nil {
		o.APIURL = tc.url(t, fakeURL)
	}
	o.Payloads = filepath.Join(out, "payloads.jsonl")
	o.Summary = filepath.Join(out, "summary.json")
	if tc.tweak != nil {
		tc.tweak(t, &o, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if tc.canceled {
		cancel()
	}

	var output string
	var code int
	if mode == "check" {
		var stdout bytes.Buffer
		err := Check(ctx, o, &stdout)
		code = ExitCode(err)
		output = stdout.String() + "\n" + fmt.Sprint(err)
	} else {
		r := runTracked(t, ctx, o)
		code = r.code
		output = r.stderr + "\n" + fmt.Sprint(r.err)
	}
	if code != tc.wantCode {
		t.Fatalf("exit code = %d, want %d\n%s", code, tc.wantCode, output)
	}
	for _, w := range tc.want {
		if !strings.Contains(output, w) {
			t.Errorf("output lacks %q:\n%s", w, output)
		}
	}
	for _, w := range tc.wantNot {
		if strings.Contains(output, w) {
			t.Errorf("output holds %q:\n%s", w, output)
		}
	}
	if tc.noRequests {
		if n := fake.Stats().Requests; n != 0 {
			t.Errorf("the API got %d requests, want none", n)
		}
	}

	secrets := []string{testToken, fileToken, urlPassword}
	for _, s := range secrets {
		if strings.Contains(output, s) {
			t.Errorf("secret %q in the output:\n%s", s, output)
		}
	}
	err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		name := d.Name()
		if name == "tokenfile" {
			return nil // the user's own file
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("secret %q in %s:\n%s", s, name, b)
			}
		}
		if w, ok := tc.files[name]; ok && !bytes.Contains(b, []byte(w)) {
			t.Errorf("%s lacks %q:\n%s", name, w, b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range tc.files {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("the run wrote no %s: %v", name, err)
		}
	}
}

// TestRecoveredPanicCostsOneRow: a panic while mapping a row is recovered
// and turned into that row's error, which names the row and holds no
// secret. No public input is known to make the mapper panic, so the test
// calls the pipeline's mapping step with no mapper at all: a genuine nil
// dereference inside mapping.Mapper.Map.
func TestRecoveredPanicCostsOneRow(t *testing.T) {
	p := &pipeline{}
	it := item{rec: &input.Record{Row: 7, Line: 8, Fields: []string{"a@example.com", "A", "1"}}}
	p.mapItem(&it)
	if it.err == nil || it.req != nil {
		t.Fatalf("mapItem with a panicking mapper: err %v, req %v; want an error and no request", it.err, it.req)
	}
	msg := it.err.Error()
	if !strings.Contains(msg, "internal error mapping row 7") {
		t.Errorf("error %q does not name the row", msg)
	}
	if strings.Contains(msg, testToken) {
		t.Errorf("error %q holds the token", msg)
	}
	if kind, _ := errorGroup(it.err); kind != "internal error" {
		t.Errorf("error group %q, want internal error", kind)
	}
	var re *input.RowError
	if errors.As(it.err, &re) {
		t.Errorf("a recovered panic is not an input error: %v", it.err)
	}
}
