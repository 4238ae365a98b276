package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const secret = "cmd-test-s3cret"

func TestParseFlags(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		env     string
		usage   string // a usage error containing this
		wantTok string
	}{
		{"TokenFlag", []string{"--token", secret}, "", "", secret},
		{"TokenFile", []string{"--token-file", tokFile}, "", "", secret},
		{"Env", nil, secret, "", secret},
		{"FlagBeatsEnv", []string{"--token", "a"}, "b", "", "a"},
		{"NoToken", nil, "", "a token is required", ""},
		{"BothTokenFlags", []string{"--token", "a", "--token-file", tokFile}, "", "not both", ""},
		{"EmptyTokenFile", []string{"--token-file", empty}, "", "is empty", ""},
		{"BadDBs", []string{"--token", "a", "--dbs", "1,x"}, "", `--dbs: "x"`, ""},
		{"RateAboveOne", []string{"--token", "a", "--fail-rate", "1.5"}, "", "--fail-rate 1.5", ""},
		{"NegativeLatency", []string{"--token", "a", "--latency", "-1s"}, "", "must not be negative", ""},
		{"Positional", []string{"--token", "a", "extra"}, "", `unexpected argument "extra"`, ""},
		{"UnknownFlag", []string{"--nope"}, "", "flag provided but not defined", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cfg, err := parseFlags(tt.args, &stderr, func(string) string { return tt.env })
			if tt.usage != "" {
				var ue *usageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.usage) {
					t.Fatalf("parseFlags(%q) error = %v, want a usage error containing %q", tt.args, err, tt.usage)
				}
				if exitCode(err, io.Discard) != 2 {
					t.Errorf("exit code for a usage error = %d, want 2", exitCode(err, io.Discard))
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFlags(%q) = %v", tt.args, err)
			}
			if cfg.opts.Token != tt.wantTok {
				t.Errorf("token = %q, want %q", cfg.opts.Token, tt.wantTok)
			}
		})
	}
	t.Run("AllFaultFlags", func(t *testing.T) {
		cfg, err := parseFlags(strings.Fields("--token t --latency 50ms --jitter 10ms --rate-limit 300 --retry-after 2s --retry-after-date "+
			"--fail-rate 0.05 --drop-rate 0.02 --slow-rate 0.01 --slow 60s --error-rate 0.05 --error-code 503 --seed 9 "+
			"--dbs 1,2 --not-found-code 4040 --max-batch 500 --max-body 1048576"), io.Discard, func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		o := cfg.opts
		if o.Latency != 50*time.Millisecond || o.Jitter != 10*time.Millisecond || o.RateLimit != 300 || o.RetryAfter != 2*time.Second ||
			!o.RetryAfterDate || o.FailRate != 0.05 || o.DropRate != 0.02 || o.SlowRate != 0.01 || o.Slow != time.Minute ||
			o.ErrorRate != 0.05 || o.ErrorCode != 503 || o.Seed != 9 || len(o.DBs) != 2 || o.NotFoundCode != 4040 ||
			o.MaxBatch != 500 || o.MaxBody != 1<<20 {
			t.Errorf("options = %+v", o)
		}
	})
	t.Run("Help", func(t *testing.T) {
		var stderr bytes.Buffer
		_, err := parseFlags([]string{"--help"}, &stderr, func(string) string { return "" })
		if !errors.Is(err, flag.ErrHelp) || exitCode(err, io.Discard) != 0 {
			t.Fatalf("--help = %v, want flag.ErrHelp and exit 0", err)
		}
		for _, want := range []string{"Examples:", "--listen 127.0.0.1:0", "-drop-rate", "-token-file"} {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("usage lacks %q:\n%s", want, stderr.String())
			}
		}
	})
}

// TestRun serves in-process: the first stdout line is the URL, the addr file
// holds it too, a request works, and cancelling the context stops it cleanly.
func TestRun(t *testing.T) {
	addrFile := filepath.Join(t.TempDir(), "addr")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--addr-file", addrFile, "--latency", "1h"}, pw, &stderr,
			func(k string) string {
				if k == "FAKEAPI_TOKEN" {
					return secret
				}
				return ""
			})
		pw.Close()
	}()
	url := readURL(t, pr)
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if b, err := os.ReadFile(addrFile); err != nil || strings.TrimSpace(string(b)) != url {
		t.Fatalf("addr file = %q, %v, want %q", b, err, url)
	}
	// A reply held by a long latency must not hold the shutdown.
	reqDone := make(chan struct{})
	go func() {
		defer close(reqDone)
		resp, err := http.Post(url+"/api/v1.1/profiles/import", "application/json",
			strings.NewReader(`{"token":"`+secret+`","db_id":1,"email":"a@example.com","data":{}}`))
		if err == nil {
			resp.Body.Close()
		}
	}()
	waitForRequests(t, url, 1)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run = %v, want nil after cancel", err)
	}
	<-reqDone
	if !strings.Contains(stderr.String(), "stopped after 1 requests") {
		t.Errorf("stderr = %q", stderr.String())
	}
}

// waitForRequests polls /fake/stats until the server has seen n API requests.
func waitForRequests(t *testing.T, url string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/fake/stats")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), `"requests": `+strconv.Itoa(n)) {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the server did not see %d requests", n)
}

func readURL(t *testing.T, r io.Reader) string {
	t.Helper()
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatalf("read the listening line: %v", err)
	}
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "fakeapi listening on ")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("first line = %q, want \"fakeapi listening on http://127.0.0.1:PORT\"", line)
	}
	return url
}

// TestBinary builds the command, starts it on a free port, posts once and
// stops it with SIGTERM: it must exit 0 and never print the token.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "fakeapi")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tokFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokFile, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	addrFile := filepath.Join(dir, "addr")
	cmd := exec.Command(bin, "--listen", "127.0.0.1:0", "--token-file", tokFile, "--addr-file", addrFile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() // only if the test fails before Wait
	br := bufio.NewReader(stdout)
	url := readURL(t, br)
	if b, err := os.ReadFile(addrFile); err != nil || strings.TrimSpace(string(b)) != url {
		t.Fatalf("addr file = %q, %v, want %q", b, err, url)
	}
	resp, err := http.Post(url+"/api/v1.1/profiles/import", "application/json",
		strings.NewReader(`{"token":"`+secret+`","db_id":1,"email":"a@example.com","data":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"error":0`) {
		t.Fatalf("reply = %s", body)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(br)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("after SIGTERM: %v (stderr %q)", err, stderr.String())
	}
	all := url + string(rest) + stderr.String()
	if strings.Contains(all, secret) {
		t.Errorf("output contains the token: %q", all)
	}
	if !strings.Contains(stderr.String(), "stopped after 1 requests, 1 profiles stored") {
		t.Errorf("stderr = %q", stderr.String())
	}
}
