package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"importer/internal/testbin"
	"io/fs"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"importer/internal/fakeapi"
)

func TestAnalyse(t *testing.T) {
	tests := []struct {
		name    string
		counts  []int64
		steady  float64 // NaN: no whole second inside the run
		seconds int
		max     int64
		total   int64
	}{
		{"Empty", nil, math.NaN(), 0, 0, 0},
		{"OneSecond", []int64{0, 150}, math.NaN(), 0, 150, 150},
		{"TwoSeconds", []int64{120, 80}, math.NaN(), 0, 120, 200},
		{"EdgesLeftOut", []int64{50, 200, 202, 198, 30}, 200, 3, 202, 680},
		{"IdleStartAndEnd", []int64{0, 0, 10, 100, 300, 5, 0}, 200, 2, 300, 415},
		{"GapInside", []int64{10, 100, 0, 100, 10}, 200.0 / 3, 3, 100, 220},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := analyse(tt.counts)
			sameSteady := p.Steady == tt.steady || math.IsNaN(p.Steady) && math.IsNaN(tt.steady)
			if !sameSteady || p.Seconds != tt.seconds || p.Max != tt.max || p.Total != tt.total {
				t.Errorf("analyse(%v) = %+v, want steady %v over %d s, max %d, total %d", tt.counts, p, tt.steady, tt.seconds, tt.max, tt.total)
			}
		})
	}
}

func TestBurstFor(t *testing.T) {
	tests := []struct {
		rate float64
		want int64
	}{{200, 10}, {500, 25}, {10, 1}, {0.5, 1}, {1000, 50}, {201, 11}}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.rate), func(t *testing.T) {
			if got := burstFor(tt.rate); got != tt.want {
				t.Errorf("burstFor(%v) = %d, want %d", tt.rate, got, tt.want)
			}
		})
	}
}

func TestShellLine(t *testing.T) {
	tests := []struct {
		name string
		env  string
		bin  string
		args []string
		want string
	}{
		{"Plain", "", "bin/importer", []string{"validate", "-c", "x.yaml", "in.csv"}, "bin/importer validate -c x.yaml in.csv"},
		{"TokenAsVariable", "ALTCRAFT_TOKEN", "bin/importer", []string{"run"}, `ALTCRAFT_TOKEN="$TOKEN" bin/importer run`},
		{"Quoted", "", "go", []string{"test", "-run", "^$", "a b", "it's", ""}, `go test -run ^$ 'a b' 'it'\''s' ''`},
		{"URL", "", "bin/importer", []string{"--api-url", "http://127.0.0.1:8080"}, "bin/importer --api-url http://127.0.0.1:8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shellLine(tt.env, tt.bin, tt.args); got != tt.want {
				t.Errorf("shellLine = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestReadBodies(t *testing.T) {
	const token = `tok"en`
	tests := []struct {
		name  string
		lines string
		want  []string
		err   string
	}{
		{"TwoRows",
			`{"row":1,"request":{"token":"***","db_id":1,"email":"a@example.com","data":{}}}` + "\n" +
				`{"row":2,"request":{"token":"***","db_id":1,"email":"b@example.com","data":{"_fname":"Б"}}}` + "\n",
			[]string{
				`{"token":"tok\"en","db_id":1,"email":"a@example.com","data":{}}`,
				`{"token":"tok\"en","db_id":1,"email":"b@example.com","data":{"_fname":"Б"}}`,
			}, ""},
		{"Empty", "", nil, ""},
		{"NotMasked", `{"row":1,"request":{"db_id":1}}` + "\n", nil, "does not start with"},
		{"NotJSON", "{\n", nil, "line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "payloads.jsonl")
			if err := os.WriteFile(p, []byte(tt.lines), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := readBodies(p, token)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var gs []string
			for _, b := range got {
				gs = append(gs, string(b))
			}
			if !slices.Equal(gs, tt.want) {
				t.Errorf("bodies =\n%q\nwant\n%q", gs, tt.want)
			}
		})
	}
}

func TestBareParse(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	if _, _, err := ensureData(good, GenOptions{Format: CSV, Rows: 1234, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("a,b\n1,\"2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		rows int64
		err  bool
	}{
		{"Generated", good, 1234, false},
		{"UnclosedQuote", bad, 0, true},
		{"Missing", filepath.Join(dir, "nope.csv"), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, _, err := bareParse(tt.path)
			if (err != nil) != tt.err || (!tt.err && rows != tt.rows) {
				t.Errorf("bareParse = %d rows, %v; want %d rows, error %v", rows, err, tt.rows, tt.err)
			}
		})
	}
}

func TestEnsureDataReuses(t *testing.T) {
	p := filepath.Join(t.TempDir(), "d.csv")
	opt := GenOptions{Format: CSV, Rows: 100, Seed: 1}
	steps := []struct {
		name   string
		before func()
		opt    GenOptions
		reused bool
	}{
		{"First", func() {}, opt, false},
		{"Same", func() {}, opt, true},
		{"OtherOptions", func() {}, GenOptions{Format: CSV, Rows: 101, Seed: 1}, false},
		{"Truncated", func() {
			if err := os.Truncate(p, 10); err != nil {
				t.Fatal(err)
			}
		}, GenOptions{Format: CSV, Rows: 101, Seed: 1}, false},
		{"MetaLost", func() {
			if err := os.Remove(p + ".meta.json"); err != nil {
				t.Fatal(err)
			}
		}, GenOptions{Format: CSV, Rows: 101, Seed: 1}, false},
	}
	for _, s := range steps {
		s.before()
		st, reused, err := ensureData(p, s.opt)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if reused != s.reused {
			t.Errorf("%s: reused = %v, want %v", s.name, reused, s.reused)
		}
		if fi, err := os.Stat(p); err != nil || fi.Size() != st.Bytes || st.Rows != s.opt.Rows {
			t.Errorf("%s: file %v (err %v), stats %+v", s.name, fi.Size(), err, st)
		}
	}
}

func TestBareClient(t *testing.T) {
	const token = "bare-token"
	srv := httptest.NewServer(fakeapi.New(fakeapi.Options{Token: token}))
	t.Cleanup(srv.Close)
	url := srv.URL + fakeapi.APIPrefix + "import"
	bodies := func(tok string, n int) [][]byte {
		var out [][]byte
		for i := range n {
			out = append(out, fmt.Appendf(nil, `{"token":%q,"db_id":1,"email":"u%d@example.com","data":{}}`, tok, i))
		}
		return out
	}
	tests := []struct {
		name   string
		bodies [][]byte
		conc   int
		errs   int64
		err    string
	}{
		{"One", bodies(token, 50), 1, 0, ""},
		{"Eight", bodies(token, 200), 8, 0, ""},
		{"MoreGoroutinesThanBodies", bodies(token, 3), 16, 0, ""},
		{"WrongToken", bodies("wrong", 20), 4, 20, "20 of 20 requests failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := bareClient(context.Background(), url, tt.bodies, tt.conc)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if res.Requests != int64(len(tt.bodies)) || res.Errors != tt.errs {
				t.Errorf("result %+v, want %d requests and %d errors", res, len(tt.bodies), tt.errs)
			}
		})
	}
}

func TestReportMarkdown(t *testing.T) {
	rep := &Report{
		Machine: Machine{CPU: "Test CPU", Cores: 2, Go: "go1.26.8", OS: "linux/amd64", Memory: "1 GiB", Load: "0.1 0.2 0.3", Importer: "v1"},
		Started: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), Elapsed: 90 * time.Second, Complete: true,
		Scenarios: []*Scenario{
			{Name: "validate", Title: "validate", Figures: []Figure{{"a|b", "1/s"}},
				Checks:   []Check{{What: "w1", Target: "≥ 25%", Got: "30%", Pass: true}, {What: "w2", Target: "≥ 25%", Got: "3%"}},
				Commands: []string{"bin/importer validate x"}, Notes: []string{"a note"}, Raw: "profile lines\n"},
			{Name: "rate", Title: "rate", Err: errors.New("fakeapi exited\ndetails")},
		},
	}
	var md, txt bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| CPU | Test CPU |", "| date | 2026-01-02 03:04 UTC |", "| w1 | ≥ 25% | 30% | **PASS** |", "| w2 | ≥ 25% | 3% | **GAP** |",
		`| a\|b | 1/s |`, "```sh\nbin/importer validate x\n```", "a note", "```\nprofile lines\n```",
		"## 2. rate", "**Could not be measured:**", "fakeapi exited\ndetails",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	for _, want := range []string{"Test CPU", "w2", "GAP", "FAILED TO RUN", "fakeapi exited"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, txt.String())
		}
	}
	if strings.Contains(md.String(), "Partial run") {
		t.Error("a complete report says it is partial")
	}
	if got := rep.Gaps(); got != 2 {
		t.Errorf("Gaps() = %d, want 2 (a failed check and a scenario that did not run)", got)
	}
}

// TestRunEndToEnd runs every scenario at toy sizes with freshly built
// binaries: the driver starts the fake, runs the importer, reads the
// summaries and stats, profiles the gaps, and never lets the token out.
func TestRunEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries and runs about 15 s of scenarios")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	importerBin, fakeBin := testbin.MustBuild(t, "importer"), testbin.MustBuild(t, "fakeapi")
	out := t.TempDir()
	var log bytes.Buffer
	cfg := Config{
		Dir: root, Out: out, Importer: importerBin, FakeAPI: fakeBin,
		ParseRows: 400, CPURows: 2000, Repeat: 1, BigBytes: 100_000, BigConfig: MapPhone,
		SendRows: 300, BatchRows: 2000, BareConcurrency: []int{2}, PaceSeconds: 2, DeltaRows: 2000,
		GoBenchPkgs: []string{"./internal/jsonenc"}, GoBenchTime: "1x", Profile: true, Log: &log,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, log.String())
	}
	var names []string
	for _, s := range rep.Scenarios {
		names = append(names, s.Name)
		if s.Err != nil {
			t.Errorf("scenario %s: %v", s.Name, s.Err)
		}
		if len(s.Commands) == 0 {
			t.Errorf("scenario %s reports no command", s.Name)
		}
	}
	if !slices.Equal(names, ScenarioNames) || !rep.Complete {
		t.Fatalf("ran %v (complete %v), want %v", names, rep.Complete, ScenarioNames)
	}
	wantChecks := []string{
		"validate throughput, text mapping", "validate, 10-column mapping: CPU per row", "validate with a type: phone column",
		"peak RSS, validate of a",
		"run one profile per call vs bare client", "run one profile per call: CPU per request vs the bare keep-alive client",
		"run --batch-size 1000: CPU per row vs a bare batch sender",
		"run --batch-size 1000 vs one profile per call, at --rate 50", "peak RSS, run",
		"--rate 200: achieved rate", "--rate 200: largest 1-second window", "latency 50 ms, --rate 500, auto concurrency",
		"next night: rows sent", "next night with --state: wall time", "first night: importer CPU with --state",
		"state file after the first night", "state file after the next night", "Go heap, every run with --state", "next night --missing",
	}
	checks := rep.Checks()
	if len(checks) != len(wantChecks) {
		t.Fatalf("%d checks, want %d: %+v", len(checks), len(wantChecks), checks)
	}
	for i, c := range checks {
		if !strings.HasPrefix(c.What, wantChecks[i]) || c.Got == "" {
			t.Errorf("check %d = %+v, want %q with a measured value", i, c, wantChecks[i])
		}
	}
	figure := func(scenario, label string) string {
		for _, s := range rep.Scenarios {
			for _, f := range s.Figures {
				if s.Name == scenario && strings.HasPrefix(f.Label, label) {
					return f.Value
				}
			}
		}
		t.Errorf("no figure %q in %s", label, scenario)
		return ""
	}
	// The rate run sent 400 rows at 200/s: the fake's histogram saw them.
	if h := figure("rate", "requests per second"); !regexp.MustCompile(`^\[\d+( \d+)+\]$`).MatchString(h) {
		t.Errorf("rate histogram = %q, want two or more seconds of counts", h)
	}
	if v := figure("rss", "peak RSS of validate"); !strings.HasSuffix(v, " MiB") {
		t.Errorf("peak RSS = %q, want MiB", v)
	}
	if v := figure("send", "importer run, --batch-size 1000"); !strings.Contains(v, "2000 rows") {
		t.Errorf("batch figure = %q, want 2000 rows", v)
	}
	if gb := rep.Scenarios[len(rep.Scenarios)-1]; !strings.Contains(gb.Raw, "Benchmark") {
		t.Errorf("gobench output lacks benchmarks:\n%s", gb.Raw)
	}
	var md, txt bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteText(&txt); err != nil {
		t.Fatal(err)
	}

	// The token is random per run; whatever it was, it must be nowhere:
	// not in the report, the log, nor any file the run left.
	tokenRE := regexp.MustCompile(`bench-[0-9a-f]{32}`)
	for name, b := range map[string][]byte{"markdown": md.Bytes(), "text": txt.Bytes(), "log": log.Bytes()} {
		if m := tokenRE.Find(b); m != nil {
			t.Errorf("%s holds the token %s", name, m)
		}
	}
	files := 0
	err = filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		if tokenRE.Match(b) {
			t.Errorf("%s holds the token", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 20 {
		t.Errorf("only %d files under %s: the scenarios wrote less than expected", files, out)
	}
	t.Logf("report:\n%s\nlog:\n%s", txt.String(), log.String())
}

// TestDeltaScenario runs the delta scenario at a toy size with freshly
// built binaries: the next night sends exactly its changed and new rows,
// --missing counts the rows gone, and every figure and check is there.
func TestDeltaScenario(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	importerBin, fakeBin := testbin.MustBuild(t, "importer"), testbin.MustBuild(t, "fakeapi")
	var log bytes.Buffer
	cfg := Config{
		Dir: root, Out: t.TempDir(), Importer: importerBin, FakeAPI: fakeBin,
		Only: []string{"delta"}, DeltaRows: 2000, Repeat: 1, Log: &log,
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, log.String())
	}
	if len(rep.Scenarios) != 1 || rep.Scenarios[0].Err != nil {
		t.Fatalf("scenarios %+v\n%s", rep.Scenarios, log.String())
	}
	s := rep.Scenarios[0]
	for _, label := range []string{"first night's export", "next night's export", "first night, --state (empty)", "first night, no --state",
		"next night, --state --missing", "validate of the next night's export, no --state", "state file after the first night", "state file after the next night"} {
		if !slices.ContainsFunc(s.Figures, func(f Figure) bool { return f.Label == label && f.Value != "" }) {
			t.Errorf("no figure %q in %+v", label, s.Figures)
		}
	}
	checks := map[string]Check{}
	for _, c := range s.Checks {
		checks[c.What] = c
	}
	tests := []struct {
		what     string
		mustPass bool   // holds at any size: a count, not a cost
		got      string // a pattern the measured value matches
	}{
		{"next night: rows sent", true, `^[1-9]\d* rows in [1-9]\d* requests, every run \([1-9]\d* ok, [1-9]\d* unchanged\)$`},
		{"next night --missing", true, `^[1-9]\d*$`},
		{"next night with --state: wall time", false, `^\d+\.\d\d× \(`},
		{"first night: importer CPU with --state", false, `^\d+\.\d\d× \(`},
		{"state file after the first night", false, `^\d+\.\d \(.*, 2000 keys\)$`},
		{"state file after the next night", false, `^\d+\.\d \(.*, 2002 keys\)$`},
		{"Go heap, every run with --state", false, ` \(.* --state\)$`},
	}
	if len(s.Checks) != len(tests) {
		t.Errorf("%d checks, want %d: %+v", len(s.Checks), len(tests), s.Checks)
	}
	for _, tt := range tests {
		c, ok := checks[tt.what]
		switch {
		case !ok:
			t.Errorf("no check %q", tt.what)
		case tt.mustPass && !c.Pass:
			t.Errorf("check %q failed: %+v", tt.what, c)
		case !regexp.MustCompile(tt.got).MatchString(c.Got):
			t.Errorf("check %q got %q, want %s", tt.what, c.Got, tt.got)
		}
	}
	// The target of the rows sent names the generator's counts: the check
	// compares the fake's with them, so they must be there and non-zero.
	if c := checks["next night: rows sent"]; !regexp.MustCompile(`^= changed \+ new = [1-9]\d* \+ 2$`).MatchString(c.Target) {
		t.Errorf("rows sent target %q, want the changed count and 2 new", c.Target)
	}
}
