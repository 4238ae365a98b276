package importer

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"regexp"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"importer/internal/fakeapi"
)

// The fault matrix: the real pipeline (importer.Run) against the real fake
// API over HTTP on 127.0.0.1, one fault at a time and combined. The fake's
// faults are drawn from a PRNG seeded per case, in arrival order: every row
// is sent at least once, so the first `rows` draws always happen and whether
// a fault fires at all is fixed by the seed; which row meets it depends on
// the arrival order and is never asserted.

// faultConfig is simpleConfig with the sending knobs a fault case needs.
// risky adds a counter incremented by every row (action: incr), which makes
// every row Risky: resending it after an unknown outcome would count twice.
func faultConfig(maxAttempts int, timeout time.Duration, risky bool) string {
	c := fmt.Sprintf(`
api: {endpoint: import, rate: 0, max_attempts: %d, timeout: %s}
request: {db_id: 1, matching: email}
fields:
  email: {column: Email, transform: [lower], validate: email, required: true}
  _fname: Name
  score: {column: Score, type: int}
`, maxAttempts, timeout)
	if risky {
		c += "  hits: {value: 1, action: incr}\n"
	}
	return c
}

// faultCase is one row of the matrix.
type faultCase struct {
	name        string
	fake        fakeapi.Options
	rows, keys  int  // genCSV's layout: row i has key user(i%keys)
	bad         bool // every 7th row is invalid
	rate        float64
	concurrency int
	batch       int
	maxAttempts int
	timeout     time.Duration
	risky       bool // the config increments a counter: rows are Risky

	wantCode int
	// seen lists the fake's outcomes that must have happened at least once,
	// so that a case whose fault never fired cannot pass: http_429,
	// http_5xx, dropped, api_error, slow.
	seen []string
	// failed: rows may exhaust max_attempts and end failed (their
	// error_code must match failedCode); otherwise every valid row ends ok
	// (or unknown, for risky rows).
	failed     bool
	failedCode string
	// retries: "none" = the summary counts no retry and the fake exactly
	// one request per valid row; "some" = at least one retry.
	retries string
	// logs must appear in the run's log output.
	logs []string
}

func TestFaultMatrix(t *testing.T) {
	const slowTimeout = 400 * time.Millisecond
	tests := []faultCase{
		{
			name: "Latency", fake: fakeapi.Options{Latency: 10 * time.Millisecond, Jitter: 10 * time.Millisecond, Seed: 1},
			rows: 200, keys: 9, concurrency: 8, retries: "none", wantCode: ExitOK,
		},
		{
			// AIMD: the API allows 100/s, the importer asks for 400/s.
			name: "HTTP429/AIMD", fake: fakeapi.Options{RateLimit: 100, Seed: 2},
			rows: 250, keys: 25, rate: 400, seen: []string{"http_429"}, retries: "some", wantCode: ExitOK,
			logs: []string{"API throttled (HTTP 429): lowering the request rate", "API asked to wait (Retry-After)"},
		},
		{
			name: "HTTP429/RetryAfterDate", fake: fakeapi.Options{RateLimit: 50, RetryAfterDate: true, Seed: 3},
			rows: 100, keys: 100, rate: 200, seen: []string{"http_429"}, retries: "some", wantCode: ExitOK,
			logs: []string{"API throttled (HTTP 429): lowering the request rate"},
		},
		{
			name: "HTTP5xx", fake: fakeapi.Options{FailRate: 0.15, Seed: 4},
			rows: 150, keys: 20, concurrency: 8, seen: []string{"http_5xx"}, retries: "some", wantCode: ExitOK,
		},
		{
			name: "DroppedConnections", fake: fakeapi.Options{DropRate: 0.1, Seed: 5},
			rows: 150, keys: 20, concurrency: 8, seen: []string{"dropped"}, retries: "some", wantCode: ExitOK,
		},
		{
			// The reply comes after the per-attempt timeout: the row was
			// applied, the client cannot know; a plain set-update is resent.
			name: "SlowReplies", fake: fakeapi.Options{SlowRate: 0.1, Slow: 5 * time.Second, Seed: 6},
			rows: 80, keys: 10, concurrency: 8, timeout: slowTimeout, seen: []string{"slow"}, retries: "some", wantCode: ExitOK,
		},
		{
			name: "TransientAPIErrors", fake: fakeapi.Options{ErrorRate: 0.15, Seed: 7},
			rows: 150, keys: 20, concurrency: 8, seen: []string{"api_error"}, retries: "some", wantCode: ExitOK,
		},
		{
			// API error 429 in an HTTP 200 for one request in five: the API
			// throttling us (an occasional 429 only backs off its request).
			name: "TransientAPIErrors/429", fake: fakeapi.Options{ErrorRate: 0.2, ErrorCode: 429, Seed: 8},
			rows: 60, keys: 20, rate: 100, seen: []string{"api_error"}, retries: "some", wantCode: ExitOK,
			logs: []string{"API throttled (HTTP 429): lowering the request rate"},
		},
		{
			name: "Combined", fake: fakeapi.Options{
				RateLimit: 100, RateBurst: 10, FailRate: 0.05, ErrorRate: 0.05, DropRate: 0.02,
				Latency: 2 * time.Millisecond, Jitter: 2 * time.Millisecond, Seed: 9,
			},
			rows: 200, keys: 20, bad: true, rate: 300,
			seen: []string{"http_429", "http_5xx", "api_error", "dropped"}, retries: "some", wantCode: ExitRowErrors,
		},
		{
			name: "Combined/batch5", fake: fakeapi.Options{FailRate: 0.08, ErrorRate: 0.08, DropRate: 0.04, SlowRate: 0.06, Slow: 5 * time.Second, Seed: 10},
			rows: 300, keys: 30, bad: true, batch: 5, concurrency: 4, timeout: slowTimeout, maxAttempts: 10,
			seen: []string{"http_5xx", "api_error", "dropped", "slow"}, retries: "some", wantCode: ExitRowErrors,
		},
		{
			// Half the attempts fail and only two are allowed: some rows run
			// out. The precise rule: a failed row carries the last HTTP
			// status and used every attempt; the store has no trace of it.
			name: "AttemptsExhausted", fake: fakeapi.Options{FailRate: 0.5, Seed: 11},
			rows: 60, keys: 20, concurrency: 4, maxAttempts: 2,
			seen: []string{"http_5xx"}, failed: true, failedCode: `^HTTP 50[023]$`, retries: "some", wantCode: ExitRowErrors,
		},
		{
			// A slow reply to an incr row: applied once, outcome unknown,
			// never resent. Nothing else goes wrong, so the fake sees exactly
			// one request per row.
			name: "Risky/SlowReplies", fake: fakeapi.Options{SlowRate: 0.1, Slow: 5 * time.Second, Seed: 12},
			rows: 80, keys: 80, concurrency: 8, timeout: slowTimeout, risky: true,
			seen: []string{"slow"}, retries: "none", wantCode: ExitRowErrors,
		},
		{
			// Faults before processing (5xx, API errors) are resent; a drop
			// or a slow reply after the body went out makes the row unknown.
			name: "Risky/Combined", fake: fakeapi.Options{FailRate: 0.05, ErrorRate: 0.05, DropRate: 0.03, SlowRate: 0.05, Slow: 5 * time.Second, Seed: 13},
			rows: 150, keys: 150, concurrency: 8, timeout: slowTimeout, risky: true,
			seen: []string{"http_5xx", "api_error", "dropped", "slow"}, retries: "some", wantCode: ExitRowErrors,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runFaultCase(t, tc) })
	}
}

func runFaultCase(t *testing.T, tc faultCase) {
	if tc.maxAttempts == 0 {
		// 8 attempts: a row meeting a 15% fault on every one is a 1-in-4e6
		// event, so "every row ends ok" holds without pinning arrival order.
		tc.maxAttempts = 8
	}
	if tc.timeout == 0 {
		tc.timeout = 5 * time.Second
	}
	fake, url := startFake(t, tc.fake)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", faultConfig(tc.maxAttempts, tc.timeout, tc.risky))
	in := genCSV(t, dir, tc.rows, tc.keys, tc.bad)
	o := baseOptions(ModeRun, cfg, in, dir)
	o.APIURL = url
	o.Rate = &tc.rate
	o.Concurrency = &tc.concurrency
	if tc.batch > 0 {
		o.BatchSize = &tc.batch
	}
	r := runTracked(t, context.Background(), o)
	if r.code != tc.wantCode {
		t.Fatalf("exit code = %d, want %d; err %v\n%s", r.code, tc.wantCode, r.err, r.stderr)
	}
	if strings.Contains(r.stderr, testToken) {
		t.Errorf("the token is in the output")
	}

	st := fake.Stats()
	counts := faultCounts(st)
	for _, f := range tc.seen {
		if counts[f] == 0 {
			t.Errorf("the fake saw no %s (counts %v): the case tests nothing", f, counts)
		}
	}

	journal := finalRows(readJournal(t, o.Results))
	status := checkOneLinePerRow(t, journal, tc.rows)
	var failedCode *regexp.Regexp
	if tc.failedCode != "" {
		failedCode = regexp.MustCompile(tc.failedCode)
	}
	valid, n := int64(0), map[string]int64{}
	for _, row := range journal {
		i, _ := strconv.Atoi(row["row"])
		n[row["status"]]++
		if tc.bad && i%7 == 0 {
			if row["status"] != "invalid" {
				t.Errorf("row %d: status %s, want invalid (bad Score)", i, row["status"])
			}
			continue
		}
		valid++
		switch row["status"] {
		case "ok":
			if len(row["profile_id"]) != 24 {
				t.Errorf("row %d: ok without a 24-hex profile_id: %q", i, row["profile_id"])
			}
		case "failed":
			if !tc.failed {
				t.Errorf("row %d: failed (%s %s, %s attempts); with %d attempts every row should end ok",
					i, row["error_code"], row["error"], row["attempts"], tc.maxAttempts)
				continue
			}
			if !failedCode.MatchString(row["error_code"]) {
				t.Errorf("row %d: failed with error_code %q, want %s", i, row["error_code"], tc.failedCode)
			}
			if a, _ := strconv.Atoi(row["attempts"]); a < tc.maxAttempts {
				t.Errorf("row %d: failed after %d attempts, want all %d used", i, a, tc.maxAttempts)
			}
		case "unknown":
			if !tc.risky {
				t.Errorf("row %d: unknown (%s %s); a plain set-update is resent, never unknown", i, row["error_code"], row["error"])
				continue
			}
			// Any reply after the body was sent that does not prove the
			// request unapplied: a timeout, a lost connection, HTTP 5xx.
			if c := row["error_code"]; c != "timeout" && c != "network" && !strings.HasPrefix(c, "HTTP 50") {
				t.Errorf("row %d: unknown with error_code %q, want timeout, network or HTTP 5xx", i, c)
			}
		default:
			t.Errorf("row %d: status %q", i, row["status"])
		}
	}

	s := r.sum
	if s.Rows != int64(tc.rows) || s.OK != n["ok"] || s.Failed != n["failed"] || s.Invalid != n["invalid"] || s.Unknown != n["unknown"] {
		t.Errorf("summary rows/ok/failed/invalid/unknown = %d/%d/%d/%d/%d, journal says %d/%d/%d/%d/%d",
			s.Rows, s.OK, s.Failed, s.Invalid, s.Unknown, tc.rows, n["ok"], n["failed"], n["invalid"], n["unknown"])
	}
	if tc.failed && (n["failed"] == 0 || n["ok"] == 0) {
		t.Errorf("ok/failed = %d/%d: the case should leave some rows failed and some ok", n["ok"], n["failed"])
	}
	if tc.risky && n["unknown"] == 0 {
		t.Errorf("no row ended unknown although the fake held %d replies past the timeout", counts["slow"])
	}
	if tc.risky && n["unknown"] < counts["slow"] {
		t.Errorf("%d rows unknown, but the fake held %d replies past the timeout: each must leave its row unknown", n["unknown"], counts["slow"])
	}
	switch tc.retries {
	case "none":
		if s.Retries != 0 || st.Requests != valid {
			t.Errorf("retries %d, fake requests %d for %d valid rows: want no retry, one request a row", s.Retries, st.Requests, valid)
		}
	case "some":
		if s.Retries == 0 {
			t.Errorf("the summary counts no retry although the fake injected faults %v", counts)
		}
	}
	// Every request the fake saw was counted; every valid row went out at
	// least once (batch: in a batch of at most tc.batch rows).
	if minReq := (valid + int64(max(tc.batch, 1)) - 1) / int64(max(tc.batch, 1)); st.Requests > s.Requests || st.Requests < minReq {
		t.Errorf("summary requests %d, fake requests %d, want fake ≤ summary and ≥ %d for %d valid rows", s.Requests, st.Requests, minReq, valid)
	}
	for _, l := range tc.logs {
		if !strings.Contains(r.stderr, l) {
			t.Errorf("the log lacks %q", l)
		}
	}

	switch {
	case tc.risky:
		checkStoreRisky(t, fake, status, tc.rows, tc.keys)
	case n["ok"] == int64(tc.rows):
		checkLastValues(t, fake, tc.rows, tc.keys) // every row ok: the plain rule
	default:
		checkStoreLastOK(t, fake, status, tc.rows, tc.keys)
	}
}

// checkOneLinePerRow asserts a run's journal holds exactly one line for each
// of rows 1..n and nothing else, and returns each row's status.
func checkOneLinePerRow(t *testing.T, journal []map[string]string, n int) map[string]string {
	t.Helper()
	lines := map[string]int{}
	for _, row := range journal {
		lines[row["row"]]++
	}
	for i := 1; i <= n; i++ {
		if c := lines[strconv.Itoa(i)]; c != 1 {
			t.Errorf("row %d has %d lines in the journal, want exactly one", i, c)
		}
	}
	if len(journal) != n {
		t.Errorf("journal has %d lines for %d rows", len(journal), n)
	}
	return lastStatus(journal)
}

// checkStoreLastOK asserts the store holds, for every key, the values of
// the key's last ok row in file order (genCSV's layout), and no profile for
// a key without an ok row. The matrix's failures all happen before the fake
// processes a request (or are resent until they succeed), so a failed row
// leaves no trace.
func checkStoreLastOK(t *testing.T, fake *fakeapi.Server, status map[string]string, n, nkeys int) {
	t.Helper()
	last := map[string]int{}
	for i := 1; i <= n; i++ {
		if status[strconv.Itoa(i)] == "ok" {
			last[fmt.Sprintf("user%d@example.com", i%nkeys)] = i
		}
	}
	profiles := fake.Profiles()
	if len(profiles) != len(last) {
		t.Errorf("store holds %d profiles, want %d (one per key with an ok row)", len(profiles), len(last))
	}
	for _, p := range profiles {
		email, _ := p.Fields["email"].(string)
		i, ok := last[email]
		if !ok {
			t.Errorf("store holds %s, which has no ok row", email)
			continue
		}
		if p.Fields["_fname"] != fmt.Sprintf("Name %d", i) || fmt.Sprint(p.Fields["score"]) != strconv.Itoa(i) {
			t.Errorf("%s: _fname %v score %v, want row %d's (the key's last ok row in file order)", email, p.Fields["_fname"], p.Fields["score"], i)
		}
	}
}

// checkStoreRisky asserts no incr was applied twice: every profile counts
// exactly one hit, and every ok row's profile is there. An unknown row may
// or may not have been applied, which is what unknown means.
func checkStoreRisky(t *testing.T, fake *fakeapi.Server, status map[string]string, n, nkeys int) {
	t.Helper()
	byEmail := map[string]fakeapi.Profile{}
	for _, p := range fake.Profiles() {
		email, _ := p.Fields["email"].(string)
		byEmail[email] = p
		if h := fmt.Sprint(p.Fields["hits"]); h != "1" {
			t.Errorf("%s: hits = %s, want 1: an incr row was applied more than once", email, h)
		}
	}
	for i := 1; i <= n; i++ {
		email := fmt.Sprintf("user%d@example.com", i%nkeys)
		if status[strconv.Itoa(i)] == "ok" {
			if _, ok := byEmail[email]; !ok {
				t.Errorf("row %d is ok but %s is not in the store", i, email)
			}
		}
	}
}

// faultCounts sums the fake's outcomes over its endpoints, plus "slow".
func faultCounts(st fakeapi.Stats) map[string]int64 {
	out := map[string]int64{}
	for _, ep := range st.Endpoints {
		for k, v := range ep.Outcomes {
			out[k] += v
		}
		out["slow"] += ep.Slow
	}
	return out
}

// TestFaultBreaker: an API that answers every request with the same
// transient error stops the run after the first 20 requests with one clear
// message (exit 1), instead of retrying through the whole file. Rows that
// never finished have no line; the others have exactly one, and none is ok.
func TestFaultBreaker(t *testing.T) {
	fake, url := startFake(t, fakeapi.Options{ErrorRate: 1, ErrorCode: 503, Seed: 1})
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", faultConfig(3, 5*time.Second, false))
	in := genCSV(t, dir, 500, 500, false)
	o := baseOptions(ModeRun, cfg, in, dir)
	o.APIURL = url
	conc := 4
	o.Concurrency = &conc
	r := runTracked(t, context.Background(), o)
	if r.code != ExitFatal {
		t.Fatalf("exit code = %d, want 1; err %v\n%s", r.code, r.err, r.stderr)
	}
	if r.err == nil || !strings.Contains(r.err.Error(), "the first 20 requests all failed with the same error") {
		t.Errorf("error %v does not say the first 20 requests failed alike", r.err)
	}
	if got := fake.Stats().Requests; got >= 500 {
		t.Errorf("the fake saw %d requests: the breaker should stop long before the file is burnt", got)
	}
	lines := map[string]int{}
	for _, row := range finalRows(readJournal(t, o.Results)) {
		lines[row["row"]]++
		if row["status"] == "ok" {
			t.Errorf("row %s ok although every request failed", row["row"])
		}
		if lines[row["row"]] > 1 {
			t.Errorf("row %s has %d lines", row["row"], lines[row["row"]])
		}
	}
	if len(fake.Profiles()) != 0 {
		t.Errorf("store holds %d profiles, want none", len(fake.Profiles()))
	}
}

// leakSeq makes each tracked run's pprof label unique.
var leakSeq atomic.Int64

// runTracked is runImporter with a goroutine-leak check: every goroutine
// the run starts (and those they start) inherits a pprof label, and once
// Run has returned none of them may still be running code of the importer.
// Labels, not a goroutine count, so that tests running in parallel, and the
// fake's server goroutines, cannot blur the check.
func runTracked(t *testing.T, ctx context.Context, o Options) run {
	t.Helper()
	id := "leak-" + strconv.FormatInt(leakSeq.Add(1), 10)
	var r run
	pprof.Do(ctx, pprof.Labels("leakcheck", id), func(ctx context.Context) {
		r = runImporter(t, ctx, o)
	})
	checkNoLeaks(t, id)
	return r
}

// checkNoLeaks waits up to a few seconds for goroutines labelled id that run
// importer code to end, then reports those left. Connections the HTTP
// transport keeps alive run only net/http code and are not counted: they
// belong to the transport, and the fake closes them at cleanup.
func checkNoLeaks(t *testing.T, id string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		leaked := labelledGoroutines(id, "importer/internal/")
		if len(leaked) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%d goroutine stacks started by the run are still running after it returned:\n%s",
				len(leaked), strings.Join(leaked, "\n\n"))
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// labelledGoroutines returns the goroutine profile's stacks carrying the
// label leakcheck=id with a frame whose function contains frame.
func labelledGoroutines(id, frame string) []string {
	var b bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
	label := `"leakcheck":"` + id + `"`
	var out []string
	for _, block := range strings.Split(b.String(), "\n\n") {
		if !strings.Contains(block, label) {
			continue
		}
		sc := bufio.NewScanner(strings.NewReader(block))
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) >= 3 && f[0] == "#" && strings.Contains(f[2], frame) {
				out = append(out, block)
				break
			}
		}
	}
	return out
}

// TestLeakCheckSeesLeaks proves the leak check can fail: a goroutine left
// behind by labelled code is found, and no longer once it ends.
func TestLeakCheckSeesLeaks(t *testing.T) {
	id := "leak-selftest"
	stop := make(chan struct{})
	ended := make(chan struct{})
	pprof.Do(context.Background(), pprof.Labels("leakcheck", id), func(context.Context) {
		go func() {
			defer close(ended)
			<-stop
		}()
	})
	if got := labelledGoroutines(id, "importer/internal/"); len(got) != 1 {
		t.Fatalf("the leak check found %d stacks for a goroutine left running, want 1", len(got))
	}
	close(stop)
	<-ended
	checkNoLeaks(t, id)
}
