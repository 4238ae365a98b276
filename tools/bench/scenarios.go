package bench

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"importer/internal/fakeapi"
)

// maxRSSKiB is the memory target: 64 MiB whatever the file size.
const maxRSSKiB = 64 << 10

// validateArgs is `importer validate` writing its outputs under Out, named by key.
func (r *runner) validateArgs(key, config, input string, extra ...string) ([]string, string) {
	sum := r.out("validate-" + key + ".summary.json")
	args := []string{"validate", "-c", config, "--progress", "none",
		"--results", r.out("validate-" + key + ".results.csv"),
		"--rejects", r.out("validate-" + key + ".rejects.csv"),
		"--summary", sum}
	args = append(args, extra...)
	return append(args, input), sum
}

// validate compares `importer validate` with the text, phone and full
// mappings against a bare encoding/csv parse of the same file, each the
// best of Repeat runs, interleaved so that drifting machine load hits every
// contender alike.
func (r *runner) validate(ctx context.Context, s *Scenario) error {
	n := r.cfg.ParseRows
	in, st, err := r.data(s, fmt.Sprintf("crm-%d.csv", n), GenOptions{Format: CSV, Rows: n, Seed: r.cfg.Seed})
	if err != nil {
		return err
	}
	jl, _, err := r.data(s, fmt.Sprintf("crm-%d.jsonl", n), GenOptions{Format: JSONL, Rows: n, Seed: r.cfg.Seed})
	if err != nil {
		return err
	}
	type contender struct {
		key, config, input string
		rate               float64       // best rows/s
		wall, cpu          time.Duration // of the best run
		rss                int64         // largest peak RSS of the runs, KiB
		sum                summary
	}
	cs := []*contender{
		{key: MapText, config: r.configs[MapText], input: in},
		{key: MapPhone, config: r.configs[MapPhone], input: in},
		{key: MapFull, config: r.configs[MapFull], input: in},
		{key: "full-jsonl", config: r.configs[MapFull], input: jl},
	}
	var bare float64
	var bareRows int64
	for rep := range r.cfg.Repeat {
		rows, d, err := bareParse(r.path(in))
		if err != nil {
			return err
		}
		bareRows, bare = rows, max(bare, float64(rows)/d.Seconds())
		r.logf("  bare encoding/csv: %d rows in %s", rows, d.Round(time.Millisecond))
		for _, c := range cs {
			args, sumPath := r.validateArgs(c.key, c.config, c.input)
			res, sum, err := r.runImporter(ctx, args, sumPath)
			if err != nil {
				return err
			}
			if rep == 0 {
				s.Commands = append(s.Commands, shellLine("", r.cfg.Importer, args))
			}
			rate := float64(sum.Rows) / res.Wall.Seconds()
			if rate > c.rate {
				c.rate, c.wall, c.cpu, c.sum = rate, res.Wall, res.CPU, sum
			}
			c.rss = max(c.rss, res.MaxRSS)
		}
	}
	s.Commands = append(s.Commands, fmt.Sprintf("# bare: in process, encoding/csv.Reader{ReuseRecord: true} over a 64 KiB bufio.Reader of %s, fields untouched", in))
	if bareRows != st.Rows {
		s.note("Note: encoding/csv read %d data rows, the generator wrote %d.", bareRows, st.Rows)
	}
	s.fig("file", "%s: %d rows × 10 columns, %s", in, st.Rows, humanBytes(st.Bytes))
	s.fig("bare encoding/csv parse", "%s (%.0f MB/s; %.2f µs CPU per row)", perSec(bare), bare*float64(st.Bytes)/float64(st.Rows)/1e6, 1e6/bare)
	for _, c := range cs {
		label := "validate, " + c.key + " mapping"
		if c.key == "full-jsonl" {
			label = "validate, full mapping, the same rows as JSONL"
		}
		s.fig(label, "%s = %s of bare (%s for %d rows; %d valid, %d invalid; %s CPU per row, %.2f cores busy; peak RSS %s)",
			perSec(c.rate), pct(c.rate/bare), c.wall.Round(time.Millisecond), c.sum.Rows, c.sum.Valid, c.sum.Invalid,
			perRow(c.cpu, c.sum.Rows), c.cpu.Seconds()/c.wall.Seconds(), mib(c.rss))
	}
	s.note("Rows/s of validate are rows in the summary over the wall time of the whole process (start, config, "+
		"reading, mapping, writing the journal and rejects), best of %d; the bare parse is the best of %d in process, "+
		"one goroutine. validate maps on every core; the bare parse uses one.", r.cfg.Repeat, r.cfg.Repeat)
	// The target is the text mapping's ("on a 10-column file
	// without phone parsing"); phone parsing is reported beside it as a
	// per-row cost, since libphonenumber alone takes several times the
	// whole budget.
	if len(cs) > 1 && cs[0].sum.Rows > 0 && cs[1].sum.Rows > 0 {
		s.fig("cost of phone parsing", "%s CPU per row more than the text mapping (libphonenumber parse + IsValidNumber)",
			perRow(cs[1].cpu-cs[0].cpu*time.Duration(cs[1].sum.Rows)/time.Duration(cs[0].sum.Rows), cs[1].sum.Rows))
	}
	var gaps []*contender
	for _, c := range cs[:1] {
		ok := c.rate >= 0.25*bare
		s.check("validate throughput, "+c.key+" mapping", "≥ 25% of bare encoding/csv", ok, "%s (%s vs %s)", pct(c.rate/bare), perSec(c.rate), perSec(bare))
		if !ok {
			gaps = append(gaps, c)
			s.note("Gap, %s mapping: 25%% of bare is %s; on %d cores that allows at most %.2f µs of CPU per row with every core busy. "+
				"validate spent %s per row and kept %.2f of %d cores busy.",
				c.key, perSec(0.25*bare), runtime.NumCPU(), float64(runtime.NumCPU())*1e6/(0.25*bare),
				perRow(c.cpu, c.sum.Rows), c.cpu.Seconds()/c.wall.Seconds(), runtime.NumCPU())
		}
	}
	if len(gaps) > 0 && r.cfg.Profile {
		for _, c := range gaps {
			top, cmds, err := r.profileValidate(ctx, c.key, c.config, c.input)
			s.Commands = append(s.Commands, cmds...)
			if err != nil {
				s.note("Profiling validate with the %s mapping failed: %v", c.key, err)
				continue
			}
			s.Raw += top
		}
	}
	return nil
}

// rss validates a file of at least BigBytes and reports the peak RSS.
func (r *runner) rss(ctx context.Context, s *Scenario) error {
	name := "crm-" + strings.ReplaceAll(humanBytes(r.cfg.BigBytes), " ", "") + ".csv"
	in, st, err := r.data(s, name, GenOptions{Format: CSV, MinBytes: r.cfg.BigBytes, Seed: r.cfg.Seed})
	if err != nil {
		return err
	}
	rows, d, err := bareParse(r.path(in))
	if err != nil {
		return err
	}
	bare := float64(rows) / d.Seconds()
	key := "big-" + r.cfg.BigConfig
	args, sumPath := r.validateArgs(key, r.configs[r.cfg.BigConfig], in)
	res, sum, err := r.runImporter(ctx, args, sumPath)
	r.removeAll(r.out("validate-"+key+".results.csv"), r.out("validate-"+key+".rejects.csv"))
	if err != nil {
		return err
	}
	s.Commands = append(s.Commands, shellLine("", r.cfg.Importer, args),
		fmt.Sprintf("# bare: in process, encoding/csv over %s, one pass", in))
	rate := float64(sum.Rows) / res.Wall.Seconds()
	s.fig("file", "%s: %d rows, %s", in, st.Rows, humanBytes(st.Bytes))
	s.fig("validate, "+r.cfg.BigConfig+" mapping", "%s in %s = %s (%d valid, %d invalid; %s CPU per row)", perSec(rate), round(res.Wall), pct(rate/bare)+" of bare", sum.Valid, sum.Invalid, perRow(res.CPU, sum.Rows))
	s.fig("bare encoding/csv parse of the same file", "%s in %s", perSec(bare), round(d))
	s.fig("peak RSS of validate (VmHWM)", "%s", mib(res.MaxRSS))
	s.note("Peak RSS is the child's VmHWM from /proc/PID/status, sampled every 2 ms while it runs (not ru_maxrss, " +
		"which a vfork'd child inherits from its parent). " +
		"The results journal and rejects of this run (hundreds of MB) are written, then deleted.")
	s.check("peak RSS, validate of a "+humanBytes(st.Bytes)+" file", "≤ 64 MiB", res.MaxRSS >= 0 && res.MaxRSS <= maxRSSKiB, "%s", mib(res.MaxRSS))
	return nil
}

// runArgs is `importer run` against url with the given flags, writing its
// outputs under Out, named by key.
func (r *runner) runArgs(key, url, input string, flags ...string) ([]string, string) {
	return r.runArgsWith(r.configs[r.cfg.SendConfig], key, url, input, flags...)
}

// runArgsWith is runArgs with another config.
func (r *runner) runArgsWith(config, key, url, input string, flags ...string) ([]string, string) {
	sum := r.out("run-" + key + ".summary.json")
	args := []string{"run", "-c", config, "--api-url", url}
	args = append(args, flags...)
	args = append(args, "--progress", "none",
		"--results", r.out("run-"+key+".results.csv"),
		"--rejects", r.out("run-"+key+".rejects.csv"),
		"--summary", sum, input)
	return args, sum
}

// sent is one importer run against the fake.
type sent struct {
	res     procResult
	sum     summary
	st      fakeapi.Stats
	fakeCPU time.Duration // CPU the fake used during the run; -1 unknown
}

// importerRun resets the fake, runs the importer and returns its result,
// summary, the fake's stats after it and the CPU the fake used meanwhile.
func (r *runner) importerRun(ctx context.Context, s *Scenario, f *fake, key, input string, flags ...string) (sent, error) {
	return r.importerRunWith(ctx, s, f, r.configs[r.cfg.SendConfig], key, input, flags...)
}

// importerRunWith is importerRun with another config.
func (r *runner) importerRunWith(ctx context.Context, s *Scenario, f *fake, config, key, input string, flags ...string) (sent, error) {
	var out sent
	if err := f.reset(ctx); err != nil {
		return out, err
	}
	args, sumPath := r.runArgsWith(config, key, f.url, input, flags...)
	r.removeAll(r.out("run-" + key + ".results.csv")) // a previous make bench's journal and lock
	cpu0 := f.cpu()
	res, sum, err := r.runImporter(ctx, args, sumPath)
	out.res, out.sum, out.fakeCPU = res, sum, cpuDelta(cpu0, f.cpu())
	s.Commands = append(s.Commands, shellLine(envImporterToken, r.cfg.Importer, args))
	if err != nil {
		return out, err
	}
	if sum.Failed+sum.Unknown+sum.NotSent > 0 {
		s.note("Run %s: %d rows failed, %d unknown, %d not sent (see %s).", key, sum.Failed, sum.Unknown, sum.NotSent, r.out("run-"+key+".rejects.csv"))
	}
	out.st, err = f.stats(ctx)
	return out, err
}

// round shortens a duration for a figure: milliseconds below 10 s.
func round(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}

// perRow is CPU time per row in microseconds.
func perRow(cpu time.Duration, rows int64) string {
	if cpu < 0 || rows <= 0 {
		return "?"
	}
	return fmt.Sprintf("%.1f µs", float64(cpu.Microseconds())/float64(rows))
}

func cpuDelta(a, b time.Duration) time.Duration {
	if a < 0 || b < 0 {
		return -1
	}
	return b - a
}

// cpuSplit says how the machine's CPU went during a run of wall time.
func cpuSplit(wall, client, server time.Duration, clientName string) string {
	secs := func(d time.Duration) string {
		if d < 0 {
			return "?"
		}
		return fmt.Sprintf("%.2f", d.Seconds())
	}
	return fmt.Sprintf("CPU s: %s %s, fakeapi %s, of %.2f available (%d cores × %.2f s wall)",
		clientName, secs(client), secs(server), wall.Seconds()*float64(runtime.NumCPU()), runtime.NumCPU(), wall.Seconds())
}

// pace summarises a per-second histogram.
type pace struct {
	Total   int64
	Seconds int     // whole seconds strictly between the first and the last second with requests
	Steady  float64 // mean of those seconds
	Max     int64   // the largest second
}

func analyse(counts []int64) pace {
	var p pace
	first, last := -1, -1
	for i, c := range counts {
		p.Total += c
		p.Max = max(p.Max, c)
		if c > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	p.Steady = math.NaN()
	if first >= 0 && last-first >= 2 {
		inner := counts[first+1 : last]
		var sum int64
		for _, c := range inner {
			sum += c
		}
		p.Seconds, p.Steady = len(inner), float64(sum)/float64(len(inner))
	}
	return p
}

func histogram(counts []int64) string {
	var b strings.Builder
	for i, c := range counts {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatInt(c, 10))
	}
	return "[" + b.String() + "]"
}

// burstFor mirrors the importer's token bucket size (internal/sender
// pace.go: 50 ms of tokens, at least 1): the "burst" of the rate target.
func burstFor(r float64) int64 { return max(1, int64(math.Ceil(r/20))) }

const paceNote = "Steady rate: the mean of the whole seconds strictly between the first and the last second that saw a " +
	"request, from the fake's per-second histogram (GET /fake/stats?per_second=1, requests counted by arrival, windows aligned " +
	"to the reset before the run; a token bucket of rate r and size b lets at most r + b through in any 1-second window, aligned or not). " +
	"Whole run: requests over the importer's process wall time, start-up and tail included."

// rate runs --rate 200 for PaceSeconds and checks the achieved rate and the
// largest 1-second window.
func (r *runner) rate(ctx context.Context, s *Scenario) error {
	const target = 200.0
	n := int64(target) * int64(r.cfg.PaceSeconds)
	in, _, err := r.data(s, fmt.Sprintf("crm-%d.csv", n), GenOptions{Format: CSV, Rows: n, Seed: r.cfg.Seed})
	if err != nil {
		return err
	}
	f, err := r.startFake(ctx, "rate")
	if err != nil {
		return err
	}
	defer f.stop()
	s.Commands = append(s.Commands, f.line+" &")
	run, err := r.importerRun(ctx, s, f, "rate200", in, "--rate", "200", "--concurrency", "0", "--batch-size", "1")
	if err != nil {
		return err
	}
	res, sum, st := run.res, run.sum, run.st
	p := analyse(st.PerSecond)
	burst := burstFor(target)
	s.fig("requests", "%d (%d rows, %d invalid) in %s", sum.Requests, sum.Rows, sum.Invalid, res.Wall.Round(time.Millisecond))
	s.fig("steady rate", "%s over %d whole seconds (%+.2f%% of 200)", perSec(p.Steady), p.Seconds, 100*(p.Steady/target-1))
	s.fig("whole run", "%s", perSec(float64(sum.Requests)/res.Wall.Seconds()))
	s.fig("largest 1-second window", "%d (rate + burst = %d + %d)", p.Max, int64(target), burst)
	s.fig("requests per second", "%s", histogram(st.PerSecond))
	s.note(paceNote)
	s.check("--rate 200: achieved rate", "200/s ± 2%", !math.IsNaN(p.Steady) && math.Abs(p.Steady/target-1) <= 0.02, "%s (%+.2f%%)", perSec(p.Steady), 100*(p.Steady/target-1))
	s.check("--rate 200: largest 1-second window", fmt.Sprintf("≤ rate + burst = %d", int64(target)+burst), p.Max <= int64(target)+burst, "%d", p.Max)
	return nil
}

// latency runs --rate 500 against a fake answering after 50 ms.
func (r *runner) latency(ctx context.Context, s *Scenario) error {
	const target = 500.0
	n := int64(target) * int64(r.cfg.PaceSeconds)
	in, _, err := r.data(s, fmt.Sprintf("crm-%d.csv", n), GenOptions{Format: CSV, Rows: n, Seed: r.cfg.Seed})
	if err != nil {
		return err
	}
	f, err := r.startFake(ctx, "latency", "--latency", "50ms")
	if err != nil {
		return err
	}
	defer f.stop()
	s.Commands = append(s.Commands, f.line+" &")
	run, err := r.importerRun(ctx, s, f, "latency", in, "--rate", "500", "--concurrency", "0", "--batch-size", "1")
	if err != nil {
		return err
	}
	res, sum, st := run.res, run.sum, run.st
	p := analyse(st.PerSecond)
	whole := float64(sum.Requests) / res.Wall.Seconds()
	s.fig("requests", "%d (%d rows, %d invalid) in %s", sum.Requests, sum.Rows, sum.Invalid, res.Wall.Round(time.Millisecond))
	s.fig("steady rate", "%s over %d whole seconds = %s of 500", perSec(p.Steady), p.Seconds, pct(p.Steady/target))
	s.fig("whole run", "%s = %s of 500", perSec(whole), pct(whole/target))
	s.fig("requests per second", "%s", histogram(st.PerSecond))
	s.note(paceNote + " Little's law: 500/s at 50 ms needs about 25 requests in flight; auto concurrency has to find that.")
	s.check("latency 50 ms, --rate 500, auto concurrency", "≥ 95% of the rate (steady)", !math.IsNaN(p.Steady) && p.Steady >= 0.95*target,
		"%s (%s); whole run %s", pct(p.Steady/target), perSec(p.Steady), pct(whole/target))
	return nil
}

// aimd runs --rate 1000 against a fake that answers 429 above 300/s.
func (r *runner) aimd(ctx context.Context, s *Scenario) error {
	const limit = 300.0
	n := int64(limit) * int64(r.cfg.PaceSeconds)
	in, _, err := r.data(s, fmt.Sprintf("crm-%d.csv", n), GenOptions{Format: CSV, Rows: n, Seed: r.cfg.Seed})
	if err != nil {
		return err
	}
	f, err := r.startFake(ctx, "aimd", "--rate-limit", "300")
	if err != nil {
		return err
	}
	defer f.stop()
	s.Commands = append(s.Commands, f.line+" &")
	run, err := r.importerRun(ctx, s, f, "aimd", in, "--rate", "1000", "--concurrency", "0", "--batch-size", "1")
	if err != nil {
		return err
	}
	res, sum, st := run.res, run.sum, run.st
	var ok, limited int64
	for _, es := range st.Endpoints {
		ok += es.Outcomes["ok"] + es.Outcomes["api_error"]
		limited += es.Outcomes["http_429"]
	}
	p := analyse(st.PerSecond)
	okRate := float64(ok) / res.Wall.Seconds()
	s.fig("rows", "%d ok, %d invalid, %d failed in %s", sum.OK, sum.Invalid, sum.Failed, res.Wall.Round(time.Millisecond))
	s.fig("achieved rate (requests the fake accepted over wall time)", "%s = %s of the 300/s limit", perSec(okRate), pct(okRate/limit))
	s.fig("HTTP 429 replies", "%d of %d requests = %s (importer retries: %d)", limited, st.Requests, pct(float64(limited)/float64(max(st.Requests, 1))), sum.Retries)
	s.fig("attempted rate, steady (429s included)", "%s over %d whole seconds", perSec(p.Steady), p.Seconds)
	s.fig("requests per second (429s included)", "%s", histogram(st.PerSecond))
	s.note("No target: this shows how close AIMD gets to an API limit it does not know, and what it costs in 429s. " +
		"The fake's bucket holds one second's worth (300) and answers 429 with Retry-After: 1.")
	return nil
}

// gobench runs the Go benchmarks of the hot-path packages.
func (r *runner) gobench(ctx context.Context, s *Scenario) error {
	args := append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", r.cfg.GoBenchTime, "-count", "1"}, r.cfg.GoBenchPkgs...)
	s.Commands = append(s.Commands, shellLine("", r.cfg.Go, args))
	r.logf("  $ %s", s.Commands[0])
	cmd := exec.CommandContext(ctx, r.cfg.Go, args...)
	cmd.Dir = r.cfg.Dir
	cmd.Env = childEnv()
	out, err := cmd.CombinedOutput()
	var b strings.Builder
	cpuSeen := false
	for _, line := range strings.Split(string(bytes.TrimSpace(out)), "\n") {
		switch {
		case strings.HasPrefix(line, "goos:"), strings.HasPrefix(line, "goarch:"), line == "PASS":
			continue
		case strings.HasPrefix(line, "cpu:"):
			if cpuSeen {
				continue
			}
			cpuSeen = true
		}
		b.WriteString(line + "\n")
	}
	s.Raw = b.String()
	if err != nil {
		return fmt.Errorf("go test -bench: %w", err)
	}
	return nil
}
