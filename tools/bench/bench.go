package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Scenario names, in the order Run executes them; Config.Only picks among them.
var ScenarioNames = []string{"validate", "cpu", "rss", "send", "rate", "latency", "aimd", "delta", "gobench"}

// Config says what Run measures and where. Zero fields take the defaults of
// DefaultConfig.
type Config struct {
	Dir      string   // working directory of every command (the repository root); "" = the current one
	Out      string   // scratch directory for data, configs, summaries and logs, relative to Dir
	Importer string   // the importer binary, relative to Dir
	FakeAPI  string   // the fakeapi binary, relative to Dir
	Go       string   // the go command, for the Go benchmarks and pprof
	Only     []string // scenarios to run (ScenarioNames); empty = all
	Seed     uint64   // generator seed

	ParseRows int64  // rows of the validate-throughput file
	CPURows   int64  // rows of the validate CPU-per-row file
	Repeat    int    // runs of each throughput measurement; the best is kept
	BigBytes  int64  // least size of the peak-RSS file
	BigConfig string // mapping of the peak-RSS validate: text, phone or full
	// SendConfig is the mapping of the run scenarios: text by default, so
	// that their figures measure sending rather than phone parsing, which
	// the validate scenario measures on its own.
	SendConfig string

	SendRows        int64 // rows of the one-profile-per-call runs
	BatchRows       int64 // rows of the --batch-size runs
	BareConcurrency []int // goroutines of the bare client; the best rate is the yardstick
	// BatchConcurrency is the batches in flight of the --batch-size 1000
	// CPU comparison, for the importer and the bare batch sender alike.
	BatchConcurrency int
	PaceSeconds      int   // length of the rate, latency and AIMD runs
	DeltaRows        int64 // rows of the delta scenario's nightly export

	GoBenchPkgs []string // packages of the Go benchmarks
	GoBenchTime string   // their -benchtime

	// Profile runs validate in process under the CPU profiler when a
	// validate target is missed, and puts the top of the profile in the
	// report.
	Profile bool

	Log io.Writer // progress lines; nil = none
}

// DefaultConfig is sized to finish in well under 10 minutes on the 2-core
// reference machine; the 1 GiB validate dominates.
func DefaultConfig() Config {
	return Config{
		Out: "bench-out", Importer: "bin/importer", FakeAPI: "bin/fakeapi", Go: "go", Seed: 1,
		ParseRows: 300_000, CPURows: 1_000_000, Repeat: 3, BigBytes: 1 << 30, BigConfig: MapFull, SendConfig: MapText,
		SendRows: 30_000, BatchRows: 300_000, BareConcurrency: []int{4, 16, 64}, BatchConcurrency: 4, PaceSeconds: 10, DeltaRows: 1_000_000,
		GoBenchPkgs: []string{"./internal/input", "./internal/mapping", "./internal/sender", "./internal/results", "./internal/jsonenc"},
		GoBenchTime: "300ms",
		Profile:     true,
	}
}

func (c *Config) fill() {
	d := DefaultConfig()
	setS := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	setI := func(p *int64, v int64) {
		if *p <= 0 {
			*p = v
		}
	}
	setS(&c.Out, d.Out)
	setS(&c.Importer, d.Importer)
	setS(&c.FakeAPI, d.FakeAPI)
	setS(&c.Go, d.Go)
	setS(&c.BigConfig, d.BigConfig)
	setS(&c.SendConfig, d.SendConfig)
	setS(&c.GoBenchTime, d.GoBenchTime)
	setI(&c.ParseRows, d.ParseRows)
	setI(&c.CPURows, d.CPURows)
	setI(&c.BigBytes, d.BigBytes)
	setI(&c.SendRows, d.SendRows)
	setI(&c.BatchRows, d.BatchRows)
	setI(&c.DeltaRows, d.DeltaRows)
	if c.Repeat <= 0 {
		c.Repeat = d.Repeat
	}
	if c.BatchConcurrency <= 0 {
		c.BatchConcurrency = d.BatchConcurrency
	}
	if c.PaceSeconds <= 0 {
		c.PaceSeconds = d.PaceSeconds
	}
	if len(c.BareConcurrency) == 0 {
		c.BareConcurrency = d.BareConcurrency
	}
	if c.GoBenchPkgs == nil {
		c.GoBenchPkgs = d.GoBenchPkgs
	}
}

// runner carries one Run's state.
type runner struct {
	cfg     Config
	token   string            // random, for this run only; in the children's environment, never in argv or the report
	configs map[string]string // mapping configs by name, relative to Dir
	rep     *Report
}

func (r *runner) logf(format string, args ...any) {
	if r.cfg.Log != nil {
		fmt.Fprintf(r.cfg.Log, format+"\n", args...)
	}
}

// path resolves a path relative to Dir for use by this process.
func (r *runner) path(p string) string {
	if filepath.IsAbs(p) || r.cfg.Dir == "" {
		return p
	}
	return filepath.Join(r.cfg.Dir, p)
}

func (r *runner) out(name string) string { return filepath.Join(r.cfg.Out, name) }

// Run executes the scenarios of cfg and returns the report. A scenario that
// fails to run is recorded in the report (Scenario.Err) and the others
// still run; Run's error is for what stops everything (a bad Config, a
// missing binary, the context).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.fill()
	for _, name := range cfg.Only {
		if !slices.Contains(ScenarioNames, name) {
			return nil, fmt.Errorf("bench: unknown scenario %q: want one of %s", name, strings.Join(ScenarioNames, ", "))
		}
	}
	switch cfg.SendConfig {
	case MapText, MapPhone, MapFull:
	default:
		return nil, fmt.Errorf("bench: send config %q: want text, phone or full", cfg.SendConfig)
	}
	switch cfg.BigConfig {
	case MapText, MapPhone, MapFull:
	default:
		return nil, fmt.Errorf("bench: big config %q: want text, phone or full", cfg.BigConfig)
	}
	var tok [16]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return nil, fmt.Errorf("bench: token: %w", err)
	}
	r := &runner{cfg: cfg, token: "bench-" + hex.EncodeToString(tok[:])}
	for _, bin := range []string{cfg.Importer, cfg.FakeAPI} {
		if _, err := os.Stat(r.path(bin)); err != nil {
			return nil, fmt.Errorf("bench: %w (run make build first)", err)
		}
	}
	if err := os.MkdirAll(r.path(cfg.Out), 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	abs, err := writeConfigs(r.path(cfg.Out))
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	r.configs = map[string]string{}
	for name := range abs {
		r.configs[name] = r.out(name + ".yaml")
	}
	r.rep = &Report{Machine: describeMachine(), Started: time.Now(), Complete: len(cfg.Only) == 0}
	r.rep.Machine.Importer = r.importerVersion(ctx)

	steps := map[string]func(context.Context, *Scenario) error{
		"validate": r.validate, "cpu": r.cpu, "rss": r.rss, "send": r.send, "rate": r.rate,
		"latency": r.latency, "aimd": r.aimd, "delta": r.delta, "gobench": r.gobench,
	}
	titles := map[string]string{
		"validate": "validate throughput vs bare encoding/csv",
		"cpu":      "validate CPU per row vs a hand-written loop; the cost of phones",
		"rss":      "peak RSS of validate on a ≥ " + humanBytes(cfg.BigBytes) + " file",
		"send":     "run vs a bare keep-alive client; batches",
		"rate":     fmt.Sprintf("rate accuracy, --rate 200 for %d s", cfg.PaceSeconds),
		"latency":  "latency hiding: server latency 50 ms, --rate 500, auto concurrency",
		"aimd":     "AIMD: server limit 300/s, --rate 1000",
		"delta":    "nightly delta imports with --state: what is sent, what the state costs",
		"gobench":  "Go benchmarks of the hot paths (-benchmem)",
	}
	for _, name := range ScenarioNames {
		if len(cfg.Only) > 0 && !slices.Contains(cfg.Only, name) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return r.rep, err
		}
		s := &Scenario{Name: name, Title: titles[name]}
		r.rep.Scenarios = append(r.rep.Scenarios, s)
		start := time.Now()
		r.logf("bench: %s …", s.Title)
		if err := steps[name](ctx, s); err != nil {
			s.Err = err
			r.logf("bench: %s FAILED: %v", name, err)
		}
		r.logf("bench: %s done in %s", name, time.Since(start).Round(100*time.Millisecond))
	}
	r.rep.Elapsed = time.Since(r.rep.Started)
	return r.rep, ctx.Err()
}

func (r *runner) importerVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, r.path(r.cfg.Importer), "version").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "importer"))
}

// data makes sure a generated file exists and returns its path (relative
// to Dir) and stats.
func (r *runner) data(s *Scenario, name string, opt GenOptions) (string, GenStats, error) {
	p := r.out(name)
	start := time.Now()
	st, reused, err := ensureData(r.path(p), opt)
	if err != nil {
		return "", st, err
	}
	how := fmt.Sprintf("generated in %.1f s (%.0f MB/s)", time.Since(start).Seconds(), float64(st.Bytes)/1e6/time.Since(start).Seconds())
	if reused {
		how = "reused from an earlier run (same options, same size)"
	}
	size := strconv.Itoa(int(opt.Rows)) + " rows"
	if opt.MinBytes > 0 {
		size = "≥ " + humanBytes(opt.MinBytes)
	}
	s.Commands = append(s.Commands, fmt.Sprintf("go run ./tools/gendata -format %s %s -seed %d -o %s   # %s",
		opt.Format, genSizeFlag(opt), opt.Seed, p, how))
	r.logf("  data %s (%s): %d rows, %s", p, size, st.Rows, humanBytes(st.Bytes))
	return p, st, nil
}

func genSizeFlag(opt GenOptions) string {
	if opt.MinBytes > 0 {
		return "-size " + strconv.FormatInt(opt.MinBytes, 10)
	}
	return "-rows " + strconv.FormatInt(opt.Rows, 10)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func mib(kib int64) string {
	if kib < 0 {
		return "?"
	}
	return fmt.Sprintf("%.1f MiB", float64(kib)/1024)
}

// perSec formats a rate.
func perSec(v float64) string {
	switch {
	case math.IsNaN(v):
		return "?"
	case v >= 1000:
		return fmt.Sprintf("%.0f/s", v)
	}
	return fmt.Sprintf("%.1f/s", v)
}

func pct(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }

// removeAll deletes scratch outputs a scenario no longer needs (a 1 GiB
// validate leaves a journal of hundreds of MB).
func (r *runner) removeAll(paths ...string) {
	for _, p := range paths {
		_ = os.Remove(r.path(p))
		_ = os.Remove(r.path(p + ".lock"))
		_ = os.Remove(r.path(p + ".fingerprint"))
	}
}
