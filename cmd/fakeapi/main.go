// Command fakeapi serves an in-memory fake of the Altcraft profiles API
// (internal/fakeapi) on a local port, for demos, end-to-end tests and
// benchmarks of the importer.
//
// Usage:
//
//	fakeapi --listen 127.0.0.1:0 --token-file token.txt --addr-file addr.txt [fault flags]
//
// Run fakeapi --help for every flag. SIGINT or SIGTERM stops it gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"importer/internal/fakeapi"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// shutdownGrace bounds how long replies in flight may take to finish on exit.
const shutdownGrace = 5 * time.Second

func main() {
	if os.Getenv("GOGC") == "" {
		// The store is a heap of small maps that only grows; at the default
		// GOGC the collector rescans it every time it doubles and becomes
		// the fake's biggest cost in the batch benchmarks. A test server can
		// spend memory to stay out of the importer's way.
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// usageError is a bad command line: exit 2 with a hint.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func exitCode(err error, stderr io.Writer) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "fakeapi: %v\nRun 'fakeapi --help' for usage.\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "fakeapi: %v\n", err)
		return 1
	}
}

// config is the parsed command line.
type config struct {
	listen    string
	addrFile  string
	opts      fakeapi.Options
	token     string
	tokenFile string
	version   bool
}

const usageText = `fakeapi serves an in-memory fake of the Altcraft profiles API:
POST /api/v1.1/profiles/{import,update,import_batch,update_batch} (JSON or XML,
optionally gzip), GET /fake/profiles (JSONL dump, with per-profile fake_writes and
fake_incr_applied counts), GET /fake/stats, POST /fake/reset, and
POST /fake/quota?profiles=N (a new tariff limit, 0 = none; the count restarts).

Usage:
  fakeapi [--listen ADDR] (--token TOKEN | --token-file FILE | env FAKEAPI_TOKEN) [flags]

Examples:
  # for a script: a free port, its URL written to a file once listening
  fakeapi --listen 127.0.0.1:0 --token-file token.txt --addr-file fakeapi.addr

  # a flaky, rate-limited API, reproducible with a seed
  FAKEAPI_TOKEN=secret fakeapi --rate-limit 300 --retry-after 1s \
      --fail-rate 0.05 --drop-rate 0.02 --slow-rate 0.01 --slow 60s --seed 1

  # a distant API: 50ms ± 10ms on every reply
  fakeapi --token-file token.txt --latency 50ms --jitter 10ms

  # ambiguous outcomes: 10% of requests applied and then their reply lost
  # (connection reset), batch replies that list only the failed items
  fakeapi --token-file token.txt --apply-then-rate 0.1 --apply-then reset \
      --batch-reply errors-only --seed 1

  # a tariff limit of 1000 profile writes (error 402 after it), lifted later with
  #   curl -X POST "$(cat fakeapi.addr)/fake/quota?profiles=0"
  fakeapi --token-file token.txt --addr-file fakeapi.addr --quota 1000

Flags:
`

func parseFlags(args []string, stderr io.Writer, getenv func(string) string) (*config, error) {
	cfg := &config{}
	fs := flag.NewFlagSet("fakeapi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	o := &cfg.opts
	var dbs string
	fs.StringVar(&cfg.listen, "listen", "127.0.0.1:8080", "`address` to listen on; port 0 picks a free port")
	fs.StringVar(&cfg.addrFile, "addr-file", "", "write the base URL (http://HOST:PORT) to this `file` once listening")
	fs.StringVar(&cfg.token, "token", "", "the API `token` clients must send (or --token-file, or env FAKEAPI_TOKEN)")
	fs.StringVar(&cfg.tokenFile, "token-file", "", "read the API token from this `file`")
	fs.StringVar(&dbs, "dbs", "", "accepted db_id `list`, comma-separated (default any positive id)")
	fs.IntVar(&o.NotFoundCode, "not-found-code", fakeapi.DefaultNotFoundCode, "error `code` of update for a missing profile")
	fs.IntVar(&o.MaxBatch, "max-batch", fakeapi.DefaultMaxBatch, "most `profiles` in one batch call")
	fs.Int64Var(&o.MaxBody, "max-body", fakeapi.DefaultMaxBody, "largest request body in `bytes`, as sent or decompressed (HTTP 413 above)")
	fs.DurationVar(&o.Latency, "latency", 0, "`delay` added to every API reply")
	fs.DurationVar(&o.Jitter, "jitter", 0, "uniform ± `spread` around --latency")
	fs.Float64Var(&o.RateLimit, "rate-limit", 0, "answer HTTP 429 above this many `requests/s` (0 = no limit)")
	fs.IntVar(&o.RateBurst, "rate-burst", 0, "requests the rate limiter lets through at once (0 = one second's worth)")
	fs.DurationVar(&o.RetryAfter, "retry-after", fakeapi.DefaultRetryAfter, "`wait` sent in Retry-After with HTTP 429 (whole seconds, rounded up)")
	fs.BoolVar(&o.RetryAfterDate, "retry-after-date", false, "send Retry-After as an HTTP date instead of seconds")
	fs.Float64Var(&o.FailRate, "fail-rate", 0, "`share` of requests answered HTTP 500/502/503")
	fs.Float64Var(&o.DropRate, "drop-rate", 0, "`share` of requests whose connection is closed without a reply")
	fs.Float64Var(&o.SlowRate, "slow-rate", 0, "`share` of requests processed, then answered only after --slow")
	fs.DurationVar(&o.Slow, "slow", time.Minute, "`delay` of a slow reply")
	fs.Float64Var(&o.ErrorRate, "error-rate", 0, "`share` of requests answered HTTP 200 with a transient API error")
	fs.IntVar(&o.ErrorCode, "error-code", fakeapi.DefaultErrorCode, "error `code` of that transient API error")
	fs.Float64Var(&o.ThrottleRate, "throttle-rate", 0, "`share` of requests answered HTTP 429 with Retry-After at random, whatever the rate")
	fs.Float64Var(&o.ApplyThenRate, "apply-then-rate", 0, "`share` of requests processed and stored, then their reply replaced as --apply-then says")
	fs.TextVar(&o.ApplyThen, "apply-then", fakeapi.Lost502, "`kind` of reply lost by --apply-then-rate: 502, 503, 504, 500 (text/plain status),\n"+
		"reset (connection closed), html (HTTP 200 HTML page), huge (HTTP 200, over 64 MiB),\n"+
		"redirect (HTTP 307 to itself) or timeout (the reply held for --slow)")
	fs.TextVar(&o.BatchReply, "batch-reply", fakeapi.BatchOrdered, "`shape` of a batch reply: ordered (result[i] answers data[i]),\n"+
		"errors-only (result lists the failed items only) or bare (no result)")
	fs.IntVar(&o.Quota, "quota", 0, "tariff limit: refuse every request with error 402 once this many `profiles` were written (0 = none)")
	fs.BoolVar(&o.QuotaHTTP, "quota-http", false, "answer the tariff limit with HTTP 402 instead of HTTP 200")
	fs.Int64Var(&o.Seed, "seed", 1, "`seed` of the fault decisions: the same seed and request order give the same faults")
	fs.BoolVar(&cfg.version, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, &usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return nil, &usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if cfg.version {
		return cfg, nil
	}
	if dbs != "" {
		for f := range strings.SplitSeq(dbs, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				return nil, &usageError{fmt.Sprintf("--dbs: %q is not a positive integer", f)}
			}
			o.DBs = append(o.DBs, n)
		}
	}
	for _, r := range []struct {
		name string
		v    float64
	}{
		{"fail-rate", o.FailRate}, {"drop-rate", o.DropRate}, {"slow-rate", o.SlowRate}, {"error-rate", o.ErrorRate},
		{"throttle-rate", o.ThrottleRate}, {"apply-then-rate", o.ApplyThenRate},
	} {
		if r.v < 0 || r.v > 1 {
			return nil, &usageError{fmt.Sprintf("--%s %v: want a share between 0 and 1", r.name, r.v)}
		}
	}
	switch {
	case o.RateLimit < 0:
		return nil, &usageError{"--rate-limit must not be negative"}
	case o.Latency < 0 || o.Jitter < 0 || o.Slow < 0 || o.RetryAfter < 0:
		return nil, &usageError{"--latency, --jitter, --slow and --retry-after must not be negative"}
	case o.MaxBatch <= 0 || o.MaxBody <= 0:
		return nil, &usageError{"--max-batch and --max-body must be positive"}
	case o.Quota < 0:
		return nil, &usageError{fmt.Sprintf("--quota %d: want a count of profiles, 0 for no limit", o.Quota)}
	}
	tok, err := resolveToken(cfg, getenv)
	if err != nil {
		return nil, err
	}
	o.Token = tok
	return cfg, nil
}

// resolveToken takes the token from --token, --token-file or FAKEAPI_TOKEN,
// exactly one of the two flags at most.
func resolveToken(cfg *config, getenv func(string) string) (string, error) {
	if cfg.token != "" && cfg.tokenFile != "" {
		return "", &usageError{"give --token or --token-file, not both"}
	}
	tok := cfg.token
	if cfg.tokenFile != "" {
		b, err := os.ReadFile(cfg.tokenFile)
		if err != nil {
			return "", fmt.Errorf("read token file: %w", err)
		}
		tok = strings.TrimSpace(string(b))
		if tok == "" {
			return "", &usageError{fmt.Sprintf("token file %s is empty", cfg.tokenFile)}
		}
	}
	if tok == "" {
		tok = strings.TrimSpace(getenv("FAKEAPI_TOKEN"))
	}
	if tok == "" {
		return "", &usageError{"a token is required: --token, --token-file or env FAKEAPI_TOKEN"}
	}
	return tok, nil
}

// run serves until ctx ends, then shuts down gracefully. It returns
// flag.ErrHelp after --help, a *usageError for a bad command line.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg, err := parseFlags(args, stderr, getenv)
	if err != nil {
		return err
	}
	if cfg.version {
		fmt.Fprintln(stdout, "fakeapi", version)
		return nil
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	url := "http://" + ln.Addr().String()
	if cfg.addrFile != "" {
		if err := writeFileAtomic(cfg.addrFile, url+"\n"); err != nil {
			_ = ln.Close() // the write error is the one to report
			return fmt.Errorf("write addr file: %w", err)
		}
	}
	api := fakeapi.New(cfg.opts)
	// Request contexts derive from base, so cancelling it on shutdown ends
	// latency and slow-reply waits at once instead of holding the exit.
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "fakeapi listening on %s\n", url)

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	cancelBase()
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err = srv.Shutdown(sctx)
	st := api.Stats()
	fmt.Fprintf(stderr, "fakeapi: stopped after %d requests, %d profiles stored\n", st.Requests, st.Profiles)
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// writeFileAtomic writes through a temporary file and a rename, so a
// script polling for the file never reads half a line.
func writeFileAtomic(path, content string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".fakeapi-addr-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.WriteString(content); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
