package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"importer/internal/testbin"
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

	"importer/internal/fakeapi"
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
		{"BadApplyThen", []string{"--token", "a", "--apply-then", "close"}, "", `invalid value "close" for flag -apply-then: unknown lost reply kind "close" (want 502, 503, 504, 500, reset, html, huge, redirect, timeout)`, ""},
		{"EmptyApplyThen", []string{"--token", "a", "--apply-then", ""}, "", `unknown lost reply kind ""`, ""},
		{"BadBatchReply", []string{"--token", "a", "--batch-reply", "errors"}, "", `invalid value "errors" for flag -batch-reply: unknown batch reply shape "errors" (want ordered, errors-only, bare)`, ""},
		{"ApplyThenRateAboveOne", []string{"--token", "a", "--apply-then-rate", "2"}, "", "--apply-then-rate 2: want a share between 0 and 1", ""},
		{"ThrottleRateNegative", []string{"--token", "a", "--throttle-rate", "-0.1"}, "", "--throttle-rate -0.1: want a share between 0 and 1", ""},
		{"NegativeQuota", []string{"--token", "a", "--quota", "-5"}, "", "--quota -5: want a count of profiles, 0 for no limit", ""},
		{"QuotaNotANumber", []string{"--token", "a", "--quota", "many"}, "", `invalid value "many" for flag -quota`, ""},
		{"ZeroMaxBody", []string{"--token", "a", "--max-body", "0"}, "", "--max-batch and --max-body must be positive", ""},
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
			"--dbs 1,2 --not-found-code 4040 --max-batch 500 --max-body 1048576 --throttle-rate 0.03 --apply-then-rate 0.04 "+
			"--apply-then huge --batch-reply errors-only --quota 1000 --quota-http"), io.Discard, func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		o := cfg.opts
		if o.Latency != 50*time.Millisecond || o.Jitter != 10*time.Millisecond || o.RateLimit != 300 || o.RetryAfter != 2*time.Second ||
			!o.RetryAfterDate || o.FailRate != 0.05 || o.DropRate != 0.02 || o.SlowRate != 0.01 || o.Slow != time.Minute ||
			o.ErrorRate != 0.05 || o.ErrorCode != 503 || o.Seed != 9 || len(o.DBs) != 2 || o.NotFoundCode != 4040 ||
			o.MaxBatch != 500 || o.MaxBody != 1<<20 || o.ThrottleRate != 0.03 || o.ApplyThenRate != 0.04 ||
			o.ApplyThen != fakeapi.LostHuge || o.BatchReply != fakeapi.BatchErrorsOnly || o.Quota != 1000 || !o.QuotaHTTP {
			t.Errorf("options = %+v", o)
		}
	})
	t.Run("Defaults", func(t *testing.T) {
		cfg, err := parseFlags([]string{"--token", "t"}, io.Discard, func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		o := cfg.opts
		if o.ApplyThen != fakeapi.Lost502 || o.BatchReply != fakeapi.BatchOrdered || o.Quota != 0 || o.QuotaHTTP ||
			o.ApplyThenRate != 0 || o.ThrottleRate != 0 || o.MaxBody != fakeapi.DefaultMaxBody {
			t.Errorf("default options = %+v", o)
		}
	})
	t.Run("EveryKindParses", func(t *testing.T) {
		for i, k := range []string{"502", "503", "504", "500", "reset", "html", "huge", "redirect", "timeout"} {
			cfg, err := parseFlags([]string{"--token", "t", "--apply-then", k}, io.Discard, func(string) string { return "" })
			if err != nil || cfg.opts.ApplyThen != fakeapi.LostReply(i) {
				t.Errorf("--apply-then %s = %v, %v", k, cfg, err)
			}
		}
		for i, k := range []string{"ordered", "errors-only", "bare"} {
			cfg, err := parseFlags([]string{"--token", "t", "--batch-reply", k}, io.Discard, func(string) string { return "" })
			if err != nil || cfg.opts.BatchReply != fakeapi.BatchReply(i) {
				t.Errorf("--batch-reply %s = %v, %v", k, cfg, err)
			}
		}
	})
	t.Run("Help", func(t *testing.T) {
		var stderr bytes.Buffer
		_, err := parseFlags([]string{"--help"}, &stderr, func(string) string { return "" })
		if !errors.Is(err, flag.ErrHelp) || exitCode(err, io.Discard) != 0 {
			t.Fatalf("--help = %v, want flag.ErrHelp and exit 0", err)
		}
		for _, want := range []string{"Examples:", "--listen 127.0.0.1:0", "-drop-rate", "-token-file", "-apply-then kind", "-apply-then-rate share",
			"-batch-reply shape", "-quota profiles", "-quota-http", "-throttle-rate share", "/fake/quota?profiles=N", "fake_incr_applied", "gzip"} {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("usage lacks %q:\n%s", want, stderr.String())
			}
		}
	})
}

// TestServesUntilCanceled: in process, the first stdout line is the URL,
// the addr file holds it too, a request works, and cancelling the context
// stops it cleanly.
func TestServesUntilCanceled(t *testing.T) {
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

// TestRunNewFlags serves in-process with the newer flags and checks that
// each reaches the server: the body limit, the batch reply shape, the
// tariff limit answered with HTTP 402 and lifted at run time.
func TestRunNewFlags(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--token", secret, "--max-body", "300", "--batch-reply", "bare",
			"--quota", "2", "--quota-http"}, pw, io.Discard, func(string) string { return "" })
		pw.Close()
	}()
	url := readURL(t, pr)
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	post := func(path, body string) (int, string) {
		t.Helper()
		resp, err := http.Post(url+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	batch := func(email, pad string) string {
		return `{"token":"` + secret + `","db_id":1,"data":[{"email":"` + email + `","note":"` + pad + `"}]}`
	}
	ok := `{"error":0,"error_text":"Successful operation"}` + "\n"
	steps := []struct {
		name, path, body string
		status           int
		want             string
	}{
		{"bare batch reply", "/api/v1.1/profiles/import_batch", batch("a@example.com", ""), 200, ok},
		{"body over --max-body", "/api/v1.1/profiles/import_batch", batch("b@example.com", strings.Repeat("x", 300)), 413,
			`{"error":413,"error_text":"request body larger than 300 bytes"}` + "\n"},
		{"second write", "/api/v1.1/profiles/import_batch", batch("b@example.com", ""), 200, ok},
		{"quota reached", "/api/v1.1/profiles/import_batch", batch("c@example.com", ""), 402, `{"error":402,"error_text":"Tariff limit reached"}` + "\n"},
		{"lift", "/fake/quota?profiles=0", "", 200, ok},
		{"after lift", "/api/v1.1/profiles/import_batch", batch("c@example.com", ""), 200, ok},
	}
	for _, s := range steps {
		if status, body := post(s.path, s.body); status != s.status || body != s.want {
			t.Fatalf("%s: HTTP %d %q, want HTTP %d %q", s.name, status, body, s.status, s.want)
		}
	}
	resp, err := http.Get(url + "/fake/profiles")
	if err != nil {
		t.Fatal(err)
	}
	dump, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if n := strings.Count(string(dump), "\n"); n != 3 || !strings.Contains(string(dump), `"fake_writes":1`) {
		t.Errorf("/fake/profiles = %s, want 3 profiles (a, b, c) written once each", dump)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run = %v", err)
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
	bin := testbin.MustBuild(t, "fakeapi")
	t.Cleanup(testbin.Remove)
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
