package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"importer/internal/testbin"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"importer/internal/fakeapi"
)

// These tests run the real binary as a process: signals, exit codes and
// crashes are about processes.

const procToken = "proc-SECRET-token-42"

var importerBin string

func TestMain(m *testing.M) {
	var err error
	if importerBin, err = testbin.Build("importer"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	testbin.Remove()
	os.Exit(code)
}

const procConfig = `
api: {endpoint: import, rate: 0, timeout: 5s}
request: {db_id: 1, matching: email}
fields:
  email: {column: Email, validate: email, required: true}
  _fname: Name
`

// fixture is an input of n rows over distinct keys, a config and a fake API.
type fixture struct {
	dir, cfg, in, results string
	fake                  *fakeapi.Server
	url                   string
	n                     int
}

func newFixture(t *testing.T, n int, opts fakeapi.Options) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{dir: dir, n: n}
	f.cfg = filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(f.cfg, []byte(procConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("Email,Name\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "user%d@example.com,Name %d\n", i, i)
	}
	f.in = filepath.Join(dir, "in.csv")
	if err := os.WriteFile(f.in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	f.results = f.in + ".results.csv"
	opts.Token = procToken
	f.fake = fakeapi.New(opts)
	srv := httptest.NewServer(f.fake)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

// command returns the importer process for args, with the token in its
// environment only.
func (f *fixture) command(args ...string) (*exec.Cmd, *bytes.Buffer) {
	cmd := exec.Command(importerBin, args...)
	cmd.Env = append(os.Environ(), "ALTCRAFT_TOKEN="+procToken)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	return cmd, &out
}

func (f *fixture) runArgs(extra ...string) []string {
	return append([]string{"run", "-c", f.cfg, "--api-url", f.url, "--progress", "log", f.in}, extra...)
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	t.Fatalf("process: %v", err)
	return -1
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// journalRows parses the journal as the resume reader would: a torn last
// line is dropped. Every other line must parse.
func journalRows(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[:i+1]
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("journal is not line-consistent: %v\n%s", err, b)
	}
	if len(recs) == 0 || strings.Join(recs[0], ",") != "row,line,key,status,profile_id,error_code,error,attempts" {
		t.Fatalf("journal header = %v", recs)
	}
	return recs[1:]
}

// checkComplete asserts that every row is ok in the journal (last line wins)
// and in the fake store.
func (f *fixture) checkComplete(t *testing.T) {
	t.Helper()
	last := map[string]string{}
	for _, r := range journalRows(t, f.results) {
		last[r[0]] = r[3]
	}
	for i := 1; i <= f.n; i++ {
		if s := last[fmt.Sprint(i)]; s != "ok" {
			t.Fatalf("row %d: last status %q, want ok", i, s)
		}
	}
	if got := len(f.fake.Profiles()); got != f.n {
		t.Fatalf("fake store holds %d profiles, want %d", got, f.n)
	}
}

func TestUsageAndVersion(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{nil, 1, "Usage:"},
		{[]string{"help"}, 0, "Exit codes:"},
		{[]string{"version"}, 0, "importer "},
		{[]string{"run", "--help"}, 0, "Examples:"},
		{[]string{"validate", "--help"}, 0, "Examples:"},
		{[]string{"check", "--help"}, 0, "Examples:"},
		{[]string{"frobnicate"}, 1, "unknown command"},
		{[]string{"run", "-c", "x.yaml"}, 1, "want exactly one INPUT"},
		{[]string{"run", "--rate", "fast", "x.csv"}, 1, `invalid argument "fast" for "--rate" flag: want a number >= 0`},
		{[]string{"run", "--bacth-size", "5", "x.csv"}, 1, "unknown flag: --bacth-size; did you mean --batch-size?"},
		{[]string{"validate", "--retyr-unknown", "x.csv"}, 1, "did you mean --retry-unknown?"},
		{[]string{"run", "x.csv", "--config"}, 1, "flag needs an argument: --config"},
		{[]string{"check", "--confg", "x.yaml"}, 1, "did you mean --config?"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cmd := exec.Command(importerBin, tc.args...)
			out, err := cmd.CombinedOutput()
			if code := exitCode(t, err); code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, out)
			}
			if !strings.Contains(string(out), tc.out) {
				t.Errorf("output lacks %q:\n%s", tc.out, out)
			}
		})
	}
}

// TestSIGINTDrainsThenResumes: the first SIGINT stops reading, lets requests
// in flight finish, flushes and exits 130; --resume then completes the file.
func TestSIGINTDrainsThenResumes(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			f := newFixture(t, 300, fakeapi.Options{Latency: 20 * time.Millisecond})
			cmd, out := f.command(f.runArgs("--concurrency", "4")...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "requests to reach the fake", func() bool { return f.fake.Stats().Requests >= 20 })
			cmd.Process.Signal(sig)
			code := exitCode(t, cmd.Wait())
			if code != 130 {
				t.Fatalf("exit %d after %v, want 130\n%s", code, sig, out)
			}
			rows := journalRows(t, f.results)
			// Drained: every request the fake answered is in the journal.
			if got, sent := len(rows), int(f.fake.Stats().Requests); got != sent {
				t.Errorf("journal holds %d rows, the fake answered %d requests: a drained stop records them all", got, sent)
			}
			if !strings.Contains(out.String(), "--resume") {
				t.Errorf("no hint to resume:\n%s", out)
			}

			cmd, out = f.command(f.runArgs("--resume")...)
			if code := exitCode(t, cmd.Run()); code != 0 {
				t.Fatalf("resume: exit %d\n%s", code, out)
			}
			f.checkComplete(t)
			if got := f.fake.Stats().Requests; got != int64(f.n) {
				t.Errorf("the fake saw %d requests for %d rows: a drained stop resends nothing", got, f.n)
			}
		})
	}
}

// TestSecondSignalExitsAtOnce: with requests stuck on a slow server, a
// second SIGINT exits 130 at once and the journal stays line-consistent.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	f := newFixture(t, 200, fakeapi.Options{SlowRate: 0.5, Slow: time.Hour, Seed: 1})
	cmd, out := f.command(f.runArgs("--concurrency", "8")...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "slow requests in flight", func() bool { return f.fake.Stats().Requests >= 16 })
	cmd.Process.Signal(syscall.SIGINT)
	time.Sleep(100 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if code := exitCode(t, err); code != 130 {
			t.Fatalf("exit %d, want 130\n%s", code, out)
		}
	case <-time.After(3 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("a second SIGINT did not exit at once\n%s", out)
	}
	journalRows(t, f.results)
	if strings.Contains(out.String(), procToken) {
		t.Error("token in output")
	}
}

// TestKillNineThenResume: kill -9 at several points of a run, then resume:
// no row is lost, and rows sent twice stay within the in-flight window.
func TestKillNineThenResume(t *testing.T) {
	const conc = 4
	for _, at := range []int64{0, 1, 37, 150} {
		t.Run(fmt.Sprintf("after%d", at), func(t *testing.T) {
			f := newFixture(t, 240, fakeapi.Options{Latency: 5 * time.Millisecond})
			cmd, _ := f.command(f.runArgs("--concurrency", fmt.Sprint(conc))...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if at == 0 {
				waitFor(t, "the journal", func() bool { _, err := os.Stat(f.results); return err == nil })
			} else {
				waitFor(t, "requests", func() bool { return f.fake.Stats().Requests >= at })
			}
			cmd.Process.Kill()
			cmd.Wait()
			before := f.fake.Stats().Requests
			done := len(journalRows(t, f.results))

			cmd, out := f.command(f.runArgs("--resume", "--concurrency", fmt.Sprint(conc))...)
			if code := exitCode(t, cmd.Run()); code != 0 {
				t.Fatalf("resume after kill -9: exit %d\n%s", code, out)
			}
			f.checkComplete(t)
			resent := f.fake.Stats().Requests - int64(f.n)
			// Rows answered but not yet journaled at the kill are the only
			// ones sent twice: at most those in flight plus the writer's queue.
			if window := int64(conc + 16); resent > window {
				t.Errorf("%d rows sent twice (killed after %d requests, %d journaled): more than the in-flight window %d", resent, before, done, window)
			}
		})
	}
}

// TestCheckCommand prints the preview and names a missing column's closest
// header.
func TestCheckCommand(t *testing.T) {
	f := newFixture(t, 5, fakeapi.Options{})
	out, err := exec.Command(importerBin, "check", "-c", f.cfg, f.in).CombinedOutput()
	if code := exitCode(t, err); code != 0 {
		t.Fatalf("check: exit %d\n%s", code, out)
	}
	for _, want := range []string{"row 1 (line 2)", `"token": "***"`, `"email": "user1@example.com"`, "row 3"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	bad := filepath.Join(f.dir, "bad.csv")
	os.WriteFile(bad, []byte("E-mail,Name\nx@example.com,X\n"), 0o644)
	out, err = exec.Command(importerBin, "check", "-c", f.cfg, bad).CombinedOutput()
	if code := exitCode(t, err); code != 1 {
		t.Fatalf("check with a missing column: exit %d, want 1\n%s", code, out)
	}
	if !strings.Contains(string(out), `"Email"`) || !strings.Contains(string(out), `"E-mail"`) {
		t.Errorf("check does not name the missing column and its closest header:\n%s", out)
	}
}
