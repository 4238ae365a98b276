package importer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"importer/internal/fakeapi"
	"importer/internal/results"
)

// simpleConfig maps Email/Name/Score with import on email matching.
const simpleConfig = `
api: {endpoint: import, rate: 0, max_attempts: 3, timeout: 5s}
request: {db_id: 1, matching: email}
fields:
  email: {column: Email, transform: [lower], validate: email, required: true}
  _fname: Name
  score: {column: Score, type: int}
`

// genCSV writes n rows; every 7th row is invalid (bad score) when bad is set,
// and keys repeat over nkeys addresses so per-key order matters.
func genCSV(t testing.TB, dir string, n, nkeys int, bad bool) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("Email,Name,Score\n")
	for i := 1; i <= n; i++ {
		score := strconv.Itoa(i)
		if bad && i%7 == 0 {
			score = "x" + score
		}
		fmt.Fprintf(&b, "user%d@example.com,Name %d,%s\n", i%nkeys, i, score)
	}
	return writeFile(t, dir, "in.csv", b.String())
}

// TestValidateConfigs runs `importer validate` over every example config and
// its sample: the counts are the table of configs/README.md, the journal has
// one line per row in row order.
func TestValidateConfigs(t *testing.T) {
	table := readConfigsTable(t)
	if len(table) < 5 {
		t.Fatalf("configs/README.md lists %d configs, want at least 5", len(table))
	}
	for _, c := range table {
		t.Run(c.config, func(t *testing.T) {
			dir := t.TempDir()
			o := baseOptions(ModeValidate, repoPath("configs/"+c.config), repoPath("samples/"+c.sample), dir)
			o.Payloads = filepath.Join(dir, "payloads.jsonl")
			r := runImporter(t, context.Background(), o)
			wantCode := ExitOK
			if c.invalid > 0 {
				wantCode = ExitRowErrors
			}
			if r.code != wantCode {
				t.Fatalf("exit code = %d, want %d; err %v\n%s", r.code, wantCode, r.err, r.stderr)
			}
			if r.sum.Rows != c.rows || r.sum.Valid != c.valid || r.sum.Invalid != c.invalid {
				t.Errorf("rows/valid/invalid = %d/%d/%d, want %d/%d/%d", r.sum.Rows, r.sum.Valid, r.sum.Invalid, c.rows, c.valid, c.invalid)
			}
			rows := readJournal(t, o.Results)
			if int64(len(rows)) != c.rows {
				t.Fatalf("journal has %d lines, want %d", len(rows), c.rows)
			}
			for i, row := range rows {
				if row["row"] != strconv.Itoa(i+1) {
					t.Fatalf("journal line %d is row %s: validate must keep row order", i+1, row["row"])
				}
				if row["status"] == "invalid" && !strings.Contains(row["error"], "column") && !strings.Contains(row["error"], "line") {
					t.Errorf("row %s: error %q does not name the column or line", row["row"], row["error"])
				}
			}
			payloads, err := os.ReadFile(o.Payloads)
			if err != nil {
				t.Fatal(err)
			}
			if got := int64(strings.Count(string(payloads), "\n")); got != c.valid {
				t.Errorf("payload dump has %d lines, want one per valid row (%d)", got, c.valid)
			}
			if !strings.Contains(string(payloads), `"token":"***"`) {
				t.Errorf("payload dump does not show the token as \"***\"")
			}
		})
	}
}

type configCase struct {
	config, sample       string
	rows, valid, invalid int64
}

// readConfigsTable parses the counts table of configs/README.md, the single
// source of the expected counts.
func readConfigsTable(t *testing.T) []configCase {
	t.Helper()
	f, err := os.Open(repoPath("configs/README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	re := regexp.MustCompile("^\\| `([^`]+)` \\| `([^`]+)` \\| (\\d+) \\| (\\d+) \\| (\\d+) \\|")
	var out []configCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := re.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		n := func(s string) int64 { v, _ := strconv.ParseInt(s, 10, 64); return v }
		out = append(out, configCase{m[1], m[2], n(m[3]), n(m[4]), n(m[5])})
	}
	return out
}

// TestRunLegacyCRM imports the demo's Windows-1251 export into the fake API,
// then fixes the rejects file and feeds it back with the same config.
func TestRunLegacyCRM(t *testing.T) {
	fake, url := startFake(t, fakeapi.Options{})
	dir := t.TempDir()
	o := baseOptions(ModeRun, repoPath("configs/legacy-crm.yaml"), repoPath("samples/legacy-crm.csv"), dir)
	o.APIURL = url
	rate := 0.0
	o.Rate = &rate
	r := runImporter(t, context.Background(), o)
	if r.code != ExitRowErrors {
		t.Fatalf("exit code = %d, want 2; err %v\n%s", r.code, r.err, r.stderr)
	}
	if r.sum.OK != 17 || r.sum.Invalid != 3 || r.sum.Failed != 0 {
		t.Fatalf("ok/invalid/failed = %d/%d/%d, want 17/3/0\n%s", r.sum.OK, r.sum.Invalid, r.sum.Failed, r.stderr)
	}
	rows := readJournal(t, o.Results)
	if len(rows) != 20 {
		t.Fatalf("journal has %d lines, want 20", len(rows))
	}
	for _, row := range rows {
		if row["status"] == "ok" && len(row["profile_id"]) != 24 {
			t.Errorf("row %s ok without a 24-hex profile_id: %q", row["row"], row["profile_id"])
		}
	}
	// Rows 1 and 11 share an e-mail: one profile, 16 in all.
	if got := len(fake.Profiles()); got != 16 {
		t.Errorf("fake store holds %d profiles, want 16", got)
	}
	for _, p := range fake.Profiles() {
		if p.Fields["source"] != "legacy-crm" {
			t.Errorf("profile %s: source = %v, want legacy-crm", p.ID, p.Fields["source"])
		}
	}

	// The rejects file: UTF-8 with a BOM, the original header plus _error.
	raw, err := os.ReadFile(o.Rejects)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(raw), "\ufeff") {
		t.Errorf("rejects file has no UTF-8 BOM")
	}
	fixed := strings.NewReplacer("ivan.petrov@mail;", "ivan.petrov@mail.ru;", ";12345;", ";+7 916 555-12-34;", "31.02.1988", "28.02.1988").Replace(string(raw))
	if fixed == string(raw) {
		t.Fatalf("test could not fix the rejects file:\n%s", raw)
	}
	fixedPath := writeFile(t, dir, "fixed.csv", fixed)
	o2 := baseOptions(ModeRun, repoPath("configs/legacy-crm.yaml"), fixedPath, dir)
	o2.Results = filepath.Join(dir, "fixed.results.csv")
	o2.Rejects = filepath.Join(dir, "fixed.rejects.csv")
	o2.APIURL = url
	o2.Rate = &rate
	r2 := runImporter(t, context.Background(), o2)
	if r2.code != ExitOK || r2.sum.OK != 3 {
		t.Fatalf("feeding the fixed rejects back: exit %d, ok %d, want 0 and 3; err %v\n%s\nfile:\n%s", r2.code, r2.sum.OK, r2.err, r2.stderr, fixed)
	}
	if got := len(fake.Profiles()); got != 19 {
		t.Errorf("after the fixed rejects the store holds %d profiles, want 19", got)
	}
}

// TestExitCodes drives each exit code (README, "Exit codes") through the real
// pipeline and the fake API.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", simpleConfig)
	good := genCSV(t, t.TempDir(), 30, 30, false)
	bad := genCSV(t, t.TempDir(), 70, 70, true)

	tests := []struct {
		name   string
		input  string
		fake   fakeapi.Options
		tweak  func(*Options)
		want   int
		stderr string
	}{
		{name: "AllOK", input: good, want: ExitOK},
		{name: "RowErrors", input: bad, want: ExitRowErrors, stderr: `invalid int in column "Score"`},
		{name: "MaxErrors", input: bad, want: ExitMaxErrors, tweak: func(o *Options) { o.MaxErrors = "3" }, stderr: "--max-errors 3"},
		{name: "TokenRejected", input: good, fake: fakeapi.Options{Token: "another"}, want: ExitFatal, stderr: "token"},
		{name: "NoToken", input: good, want: ExitFatal, tweak: func(o *Options) { o.Getenv = func(string) string { return "" } }},
		{name: "MissingConfig", input: good, want: ExitFatal, tweak: func(o *Options) { o.Config = filepath.Join(dir, "nope.yaml") }},
		{name: "MissingInput", input: filepath.Join(dir, "nope.csv"), want: ExitFatal},
		{name: "BadMaxErrors", input: good, want: ExitFatal, tweak: func(o *Options) { o.MaxErrors = "lots" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, url := startFake(t, tc.fake)
			o := baseOptions(ModeRun, cfg, tc.input, t.TempDir())
			o.APIURL = url
			if tc.tweak != nil {
				tc.tweak(&o)
			}
			r := runImporter(t, context.Background(), o)
			if r.code != tc.want {
				t.Fatalf("exit code = %d, want %d; err %v\n%s", r.code, tc.want, r.err, r.stderr)
			}
			if tc.stderr != "" && !strings.Contains(r.stderr+fmt.Sprint(r.err), tc.stderr) {
				t.Errorf("output does not mention %q:\n%s\nerr: %v", tc.stderr, r.stderr, r.err)
			}
			if strings.Contains(r.stderr+fmt.Sprint(r.err), testToken) {
				t.Errorf("the token leaked into the output")
			}
		})
	}
}

// TestInterruptAndResume stops a run part-way (as the first SIGINT does),
// checks the partial journal, then resumes to completion: every row ends ok
// exactly once and the store holds the last value of each key.
func TestInterruptAndResume(t *testing.T) {
	fake, url := startFake(t, fakeapi.Options{Latency: 2 * time.Millisecond})
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", simpleConfig)
	in := genCSV(t, dir, 400, 50, false)

	ctx, cancel := context.WithCancel(context.Background())
	o := baseOptions(ModeRun, cfg, in, dir)
	o.APIURL = url
	conc := 4
	o.Concurrency = &conc
	go func() {
		// Interrupt once some rows reached the API.
		for ctx.Err() == nil {
			if fake.Stats().Requests > 50 {
				cancel()
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	r := runImporter(t, ctx, o)
	cancel()
	if r.code != ExitInterrupted {
		t.Fatalf("interrupted run: exit code = %d, want 130; err %v\n%s", r.code, r.err, r.stderr)
	}
	if !strings.Contains(r.stderr, "--resume") {
		t.Errorf("interrupted run does not say how to continue:\n%s", r.stderr)
	}
	first := readJournal(t, o.Results)
	if len(first) == 0 || len(first) >= 400 {
		t.Fatalf("interrupted run finished %d rows, want some but not all", len(first))
	}

	o.Resume = true
	r2 := runImporter(t, context.Background(), o)
	if r2.code != ExitOK {
		t.Fatalf("resumed run: exit code = %d, want 0; err %v\n%s", r2.code, r2.err, r2.stderr)
	}
	if r2.sum.Skipped != int64(len(first)) || r2.sum.OK != 400-int64(len(first)) {
		t.Errorf("resumed run skipped %d and sent %d ok, want %d and %d", r2.sum.Skipped, r2.sum.OK, len(first), 400-len(first))
	}
	if f := r2.sum.Final; f == nil || f.OK != 400 || f.Failed+f.Invalid+f.Unknown != 0 {
		t.Errorf("resumed run's final counts = %+v, want all 400 rows ok", f)
	}
	all := readJournal(t, o.Results)
	okCount := map[string]int{}
	for _, row := range all {
		if row["status"] == "ok" {
			okCount[row["row"]]++
		}
	}
	for i := 1; i <= 400; i++ {
		if n := okCount[strconv.Itoa(i)]; n != 1 {
			t.Fatalf("row %d is ok %d times in the journal, want exactly once", i, n)
		}
	}
	checkLastValues(t, fake, 400, 50)
}

// checkLastValues asserts the store holds, for every key, the values of the
// key's last row in the file (genCSV's layout).
func checkLastValues(t *testing.T, fake *fakeapi.Server, n, nkeys int) {
	t.Helper()
	last := map[string]int{}
	for i := 1; i <= n; i++ {
		last[fmt.Sprintf("user%d@example.com", i%nkeys)] = i
	}
	profiles := fake.Profiles()
	if len(profiles) != len(last) {
		t.Fatalf("store holds %d profiles, want %d", len(profiles), len(last))
	}
	for _, p := range profiles {
		email, _ := p.Fields["email"].(string)
		want := fmt.Sprintf("Name %d", last[email])
		if p.Fields["_fname"] != want {
			t.Errorf("%s: _fname = %v, want %q (the key's last row in file order)", email, p.Fields["_fname"], want)
		}
	}
}

// TestPerKeyOrder sends rows over few keys with many requests in flight and
// a jittery server: each key's last row must win, as in file order.
func TestPerKeyOrder(t *testing.T) {
	for _, batch := range []int{1, 25} {
		t.Run(fmt.Sprintf("batch%d", batch), func(t *testing.T) {
			fake, url := startFake(t, fakeapi.Options{Latency: time.Millisecond, Jitter: time.Millisecond, Seed: 7})
			dir := t.TempDir()
			cfg := writeFile(t, dir, "c.yaml", simpleConfig)
			in := genCSV(t, dir, 600, 9, false)
			o := baseOptions(ModeRun, cfg, in, dir)
			o.APIURL = url
			conc := 16
			o.Concurrency = &conc
			o.BatchSize = &batch
			r := runImporter(t, context.Background(), o)
			if r.code != ExitOK {
				t.Fatalf("exit code = %d; err %v\n%s", r.code, r.err, r.stderr)
			}
			checkLastValues(t, fake, 600, 9)
		})
	}
}

// TestBatchRunMapsResults sends batches with an invalid row and rows the API
// refuses (update of missing profiles): each row gets its own result.
func TestBatchRunMapsResults(t *testing.T) {
	fake, url := startFake(t, fakeapi.Options{})
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", strings.Replace(simpleConfig, "endpoint: import", "endpoint: update", 1))
	// Seed half the profiles so update finds them.
	seedCfg := writeFile(t, dir, "seed.yaml", simpleConfig)
	var seed strings.Builder
	seed.WriteString("Email,Name,Score\n")
	for i := 0; i < 50; i += 2 {
		fmt.Fprintf(&seed, "user%d@example.com,Seed,0\n", i)
	}
	so := baseOptions(ModeRun, seedCfg, writeFile(t, dir, "seed.csv", seed.String()), t.TempDir())
	so.APIURL = url
	if r := runImporter(t, context.Background(), so); r.code != ExitOK {
		t.Fatalf("seeding: exit %d %v\n%s", r.code, r.err, r.stderr)
	}

	in := genCSV(t, dir, 50, 50, true)
	o := baseOptions(ModeRun, cfg, in, dir)
	o.APIURL = url
	bs := 10
	o.BatchSize = &bs
	r := runImporter(t, context.Background(), o)
	if r.code != ExitRowErrors {
		t.Fatalf("exit code = %d, want 2; err %v\n%s", r.code, r.err, r.stderr)
	}
	for _, row := range readJournal(t, o.Results) {
		i, _ := strconv.Atoi(row["row"])
		want := "ok"
		switch {
		case i%7 == 0:
			want = "invalid"
		case (i%50)%2 == 1:
			want = "failed"
		}
		if row["status"] != want {
			t.Errorf("row %d: status %s (%s %s), want %s", i, row["status"], row["error_code"], row["error"], want)
		}
		if want == "failed" && row["error_code"] != "404" {
			t.Errorf("row %d: error_code %q, want the API's 404", i, row["error_code"])
		}
	}
	if st := fake.Stats(); st.Endpoints["update_batch"].Requests == 0 {
		t.Errorf("no update_batch requests reached the fake: %+v", st.Endpoints)
	}
}

// TestNoTokenLeak runs through success, row failures, fatal errors and the
// payload dump, and checks the token shows up in no output and no file.
func TestNoTokenLeak(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", simpleConfig)
	in := genCSV(t, dir, 40, 40, true)
	for _, tc := range []struct {
		name string
		fake fakeapi.Options
		url  string
	}{
		{name: "Success", fake: fakeapi.Options{}},
		{name: "Faults", fake: fakeapi.Options{FailRate: 0.3, ErrorRate: 0.2, Seed: 3}},
		{name: "WrongToken", fake: fakeapi.Options{Token: "other"}},
		{name: "Unreachable", url: "http://127.0.0.1:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, url := startFake(t, tc.fake)
			if tc.url != "" {
				url = tc.url
			}
			out := t.TempDir()
			o := baseOptions(ModeRun, cfg, in, out)
			o.APIURL = url
			o.Payloads = filepath.Join(out, "payloads.jsonl")
			o.Summary = filepath.Join(out, "summary.json")
			r := runImporter(t, context.Background(), o)
			if strings.Contains(r.stderr, testToken) || (r.err != nil && strings.Contains(r.err.Error(), testToken)) {
				t.Fatalf("token in output:\n%s\n%v", r.stderr, r.err)
			}
			entries, _ := os.ReadDir(out)
			if len(entries) == 0 {
				t.Fatal("the run wrote no files")
			}
			for _, e := range entries {
				b, _ := os.ReadFile(filepath.Join(out, e.Name()))
				if strings.Contains(string(b), testToken) {
					t.Errorf("token in %s", e.Name())
				}
			}
		})
	}
}

// TestProgressLogNoCarriageReturn: off a terminal, progress is log lines,
// never bar frames.
func TestProgressLogNoCarriageReturn(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", simpleConfig)
	in := genCSV(t, dir, 2000, 2000, false)
	o := baseOptions(ModeValidate, cfg, in, dir)
	o.Progress = "auto"
	r := runImporter(t, context.Background(), o)
	if r.code != ExitOK {
		t.Fatalf("exit %d: %v\n%s", r.code, r.err, r.stderr)
	}
	if strings.Contains(r.stderr, "\r") {
		t.Errorf("non-terminal output holds carriage returns:\n%q", r.stderr)
	}
}

// TestLockRefusesSecondRun: a journal in use by another run is refused with
// a message naming that run's pid.
func TestLockRefusesSecondRun(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", simpleConfig)
	in := genCSV(t, dir, 5, 5, false)
	o := baseOptions(ModeValidate, cfg, in, dir)
	l, err := results.Lock(o.Results)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	r := runImporter(t, context.Background(), o)
	if r.code != ExitFatal || !errors.Is(r.err, results.ErrLocked) {
		t.Fatalf("exit %d err %v, want 1 and ErrLocked", r.code, r.err)
	}
	if !strings.Contains(r.err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Errorf("error does not name the other run's pid: %v", r.err)
	}
}

// TestResumeRefusesChangedInput: the fingerprint beside the journal stops a
// resume over a different file, unless --force.
func TestResumeRefusesChangedInput(t *testing.T) {
	_, url := startFake(t, fakeapi.Options{})
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", simpleConfig)
	in := genCSV(t, dir, 10, 10, false)
	o := baseOptions(ModeRun, cfg, in, dir)
	o.APIURL = url
	if r := runImporter(t, context.Background(), o); r.code != ExitOK {
		t.Fatalf("first run: exit %d %v", r.code, r.err)
	}
	genCSV(t, dir, 12, 10, false) // rewrites in.csv
	o.Resume = true
	r := runImporter(t, context.Background(), o)
	if r.code != ExitFatal || !errors.Is(r.err, results.ErrFingerprint) {
		t.Fatalf("resume over a changed input: exit %d err %v, want 1 and ErrFingerprint", r.code, r.err)
	}
	o.Force = true
	r = runImporter(t, context.Background(), o)
	if r.code != ExitOK || r.sum.Skipped != 10 || r.sum.OK != 2 {
		t.Fatalf("--force resume: exit %d skipped %d ok %d, want 0, 10, 2; %v", r.code, r.sum.Skipped, r.sum.OK, r.err)
	}
}

// TestShardSplit: --shard K/N over all K is disjoint, complete and keeps
// every key in one shard.
func TestShardSplit(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", simpleConfig)
	in := genCSV(t, dir, 300, 40, true)
	const n = 3
	seen := map[string]int{}
	keyShard := map[string]int{}
	for k := range n {
		o := baseOptions(ModeValidate, cfg, in, dir)
		o.Results = ""
		o.Rejects = "-"
		o.Shard = fmt.Sprintf("%d/%d", k, n)
		r := runImporter(t, context.Background(), o)
		if r.code != ExitRowErrors {
			t.Fatalf("shard %d: exit %d %v", k, r.code, r.err)
		}
		path := defaultPath(in, o.Shard, ".validate.csv")
		for _, row := range readJournal(t, path) {
			seen[row["row"]]++
			if key := row["key"]; key != "" {
				if prev, ok := keyShard[key]; ok && prev != k {
					t.Errorf("key %s in shards %d and %d", key, prev, k)
				}
				keyShard[key] = k
			}
		}
	}
	if len(seen) != 300 {
		t.Errorf("shards cover %d rows, want 300", len(seen))
	}
	for row, c := range seen {
		if c != 1 {
			t.Errorf("row %s in %d shards", row, c)
		}
	}
	if len(keyShard) < 30 {
		t.Errorf("only %d keys seen", len(keyShard))
	}
}

// TestProgressBarOnTerminal: on a terminal (forced here) the bar renders
// frames with the row counts; --progress none prints nothing but the summary.
func TestProgressBarOnTerminal(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", simpleConfig)
	in := genCSV(t, dir, 300, 300, false)
	_, url := startFake(t, fakeapi.Options{Latency: 3 * time.Millisecond})
	for _, tc := range []struct {
		progress string
		tty      bool
		wantBar  bool
	}{
		{"auto", true, true},
		{"bar", false, true},
		{"none", true, false},
	} {
		t.Run(tc.progress, func(t *testing.T) {
			o := baseOptions(ModeRun, cfg, in, t.TempDir())
			o.APIURL = url
			o.Progress = tc.progress
			o.IsTTY = func(io.Writer) bool { return tc.tty }
			conc := 2
			o.Concurrency = &conc
			r := runImporter(t, context.Background(), o)
			if r.code != ExitOK {
				t.Fatalf("exit %d: %v\n%s", r.code, r.err, r.stderr)
			}
			// The bar's own frame: rows finished of the rows to finish,
			// the rate; not the summary's "300 rows in …".
			gotBar := strings.Contains(r.stderr, "\r") && barFrame.MatchString(r.stderr)
			if gotBar != tc.wantBar {
				t.Errorf("--progress %s (tty %v): bar rendered = %v, want %v\n%q", tc.progress, tc.tty, gotBar, tc.wantBar, r.stderr)
			}
		})
	}
}

// barFrame matches a progress bar frame: "ok 120, bad 0 of 300 rows" …
// "120/300" … "rows/s".
var barFrame = regexp.MustCompile(`ok \d+, bad 0 of (about )?300 rows.*\d+/300.*rows/s`)

// TestShardOfIsFNV1a: the shard of a key must never change between
// versions (shards of one file may run different builds): FNV-1a 64 mod N.
func TestShardOfIsFNV1a(t *testing.T) {
	for _, key := range []string{"", "a@b.c", "+79161234567", "Иванов|+7916", strings.Repeat("x", 300)} {
		h := fnv.New64a()
		h.Write([]byte(key))
		for _, n := range []int{1, 2, 3, 4, 7, 1000} {
			if got, want := ShardOf(key, n), int(h.Sum64()%uint64(n)); got != want {
				t.Errorf("ShardOf(%q, %d) = %d, hash/fnv says %d", key, n, got, want)
			}
		}
	}
}

func BenchmarkShardOf(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		ShardOf("anna.ivanova@mail.ru", 4)
	}
}

// TestFlagProblemsNameTheFlag: a bad value given on the command line is
// reported against the flag, not against a config line that said
// something else.
func TestFlagProblemsNameTheFlag(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(cfg, []byte("api: {batch_size: 10}\nrequest: {db_id: 1, matching: email}\nfields:\n  email: Email\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, []byte("Email\na@example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	big := 20000
	_, err := Run(context.Background(), Options{Mode: ModeValidate, Config: cfg, Input: in, BatchSize: &big})
	want := "--batch-size 20000: 20000 is out of range; use 1 (one profile per call) up to 10000"
	if err == nil || err.Error() != want {
		t.Errorf("Run(--batch-size 20000) = %v, want %q", err, want)
	}
}

// TestCompressedBodies: with api.compress: gzip every request reaches the
// fake compressed (fewer bytes on the wire than it reads) and the run ends
// as the same run without it does; a mistyped value is a config error.
func TestCompressedBodies(t *testing.T) {
	tests := []struct {
		name     string
		compress string
		batch    int
		wantCode int
		smaller  bool
	}{
		{"NoneSingle", "none", 1, ExitOK, false},
		{"GzipSingle", "gzip", 1, ExitOK, true},
		{"GzipBatch", "gzip", 25, ExitOK, true},
		{"Mistyped", "zip", 1, ExitFatal, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, url := startFake(t, fakeapi.Options{})
			dir := t.TempDir()
			cfg := writeFile(t, dir, "c.yaml", strings.Replace(simpleConfig, "timeout: 5s}", "timeout: 5s, compress: "+tt.compress+"}", 1))
			o := baseOptions(ModeRun, cfg, genCSV(t, dir, 100, 100, false), dir)
			o.APIURL, o.BatchSize = url, &tt.batch
			r := runImporter(t, context.Background(), o)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d (%v), want %d\n%s", r.code, r.err, tt.wantCode, r.stderr)
			}
			if tt.wantCode != ExitOK {
				if !strings.Contains(r.stderr+fmt.Sprint(r.err), `api.compress: "zip" is not a compression`) {
					t.Errorf("the error does not name api.compress and the value:\n%v\n%s", r.err, r.stderr)
				}
				return
			}
			if r.sum.OK != 100 {
				t.Fatalf("%d rows ok, want 100", r.sum.OK)
			}
			var wire, body int64
			for _, st := range fake.Stats().Endpoints {
				wire, body = wire+st.WireBytes, body+st.BodyBytes
			}
			if got := wire < body; got != tt.smaller || body == 0 {
				t.Errorf("the fake read %d bytes on the wire for %d of bodies; compressed = %v, want %v", wire, body, got, tt.smaller)
			}
		})
	}
}
