package main

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"importer/internal/fakeapi"
)

// TestProbeProcess runs `importer probe` as a process against the fake API:
// its help, a --yes run for each verdict, and the refusal to ask a stdin
// that is not a terminal.
func TestProbeProcess(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string // after -c CONFIG --api-url URL, when the fake is used
		shape   fakeapi.BatchReply
		code    int
		sent    int64
		want    []string // in stdout
		wantErr string   // in stderr
	}{
		{name: "help", args: []string{"--help"}, code: 0, wantErr: "Usage: importer probe -c CONFIG"},
		{name: "matches", args: []string{"--yes"}, shape: fakeapi.BatchOrdered, code: 0, sent: 1,
			want: []string{"verdict: matches: one result per item, in order", `"token":"***"`}},
		{name: "differs", args: []string{"-y"}, shape: fakeapi.BatchErrorsOnly, code: 2, sent: 1,
			want: []string{"verdict: differs: 2 items, 1 result", "api.batch_size: 1"}},
		{name: "stdin not a terminal", shape: fakeapi.BatchOrdered, code: 1, sent: 0,
			want: []string{"POST "}, wantErr: "stdin is not a terminal; pass --yes"},
		{name: "an INPUT is refused", args: []string{"--yes", "in.csv"}, code: 1, wantErr: "takes no INPUT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakeapi.New(fakeapi.Options{Token: procToken, BatchReply: tc.shape})
			srv := httptest.NewServer(fake)
			t.Cleanup(srv.Close)
			cfg := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(cfg, []byte(procConfig), 0o644); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"probe", "-c", cfg, "--api-url", srv.URL}, tc.args...)
			cmd := exec.Command(importerBin, args...)
			cmd.Env = append(os.Environ(), "ALTCRAFT_TOKEN="+procToken) // the token only in the environment
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			cmd.Stdin = strings.NewReader("y\n") // a pipe, not a terminal: only --yes sends
			code := exitCode(t, cmd.Run())
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, &stdout, &stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, &stdout)
				}
			}
			if !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tc.wantErr, &stderr)
			}
			if got := fake.Stats().Requests; got != tc.sent {
				t.Errorf("the fake saw %d requests, want %d", got, tc.sent)
			}
			if strings.Contains(stdout.String()+stderr.String(), procToken) || strings.Contains(strings.Join(cmd.Args, " "), procToken) {
				t.Error("the token shows in the output or argv")
			}
		})
	}
}

func TestProbeListedInUsage(t *testing.T) {
	out, err := exec.Command(importerBin, "help").CombinedOutput()
	if exitCode(t, err) != 0 || !strings.Contains(string(out), "importer probe    -c CONFIG [--yes]") {
		t.Fatalf("importer help does not list probe:\n%s", out)
	}
}
