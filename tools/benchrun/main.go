// Command benchrun measures the importer against the targets in docs/ARCHITECTURE.md
// in one run on one machine (tools/bench), prints the figures as tables
// and writes them, with the machine and every exact command, to
// BENCHMARKS.md. `make bench` runs it through scripts/bench.sh after
// `make build`.
//
//	benchrun                          # every scenario; rewrites BENCHMARKS.md
//	benchrun -only send,rate          # a subset; writes bench-out/BENCHMARKS.partial.md
//
// It exits 0 when every scenario was measured (targets missed are reported
// as GAP, not as a failure), 1 when a scenario could not run, 2 on a usage
// error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"importer/tools/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := bench.DefaultConfig()
	fs := flag.NewFlagSet("benchrun", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var only, conc, bigSize, report string
	fs.StringVar(&cfg.Dir, "dir", ".", "repository root: where bin/ is and every command runs")
	fs.StringVar(&cfg.Out, "out", cfg.Out, "scratch `dir` for data, configs, summaries and logs (relative to -dir)")
	fs.StringVar(&only, "only", "", "comma-separated `scenarios` to run: "+strings.Join(bench.ScenarioNames, ",")+" (default all)")
	fs.StringVar(&report, "report", "", "markdown report `file` (default BENCHMARKS.md for a full run, OUT/BENCHMARKS.partial.md for -only)")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "generator `seed`")
	fs.Int64Var(&cfg.ParseRows, "parse-rows", cfg.ParseRows, "`rows` of the validate-throughput file")
	fs.Int64Var(&cfg.CPURows, "cpu-rows", cfg.CPURows, "`rows` of the validate CPU-per-row file")
	fs.IntVar(&cfg.Repeat, "repeat", cfg.Repeat, "runs of each measurement, interleaved: throughput keeps the best, CPU per row the median")
	fs.StringVar(&bigSize, "big-size", strconv.FormatInt(cfg.BigBytes, 10), "least `size` of the peak-RSS file (e.g. 1GiB)")
	fs.StringVar(&cfg.BigConfig, "big-config", cfg.BigConfig, "`mapping` of the peak-RSS validate: text, phone or full")
	fs.StringVar(&cfg.SendConfig, "send-config", cfg.SendConfig, "`mapping` of the run scenarios: text, phone or full")
	fs.Int64Var(&cfg.SendRows, "send-rows", cfg.SendRows, "`rows` of the one-profile-per-call runs")
	fs.Int64Var(&cfg.BatchRows, "batch-rows", cfg.BatchRows, "`rows` of the --batch-size runs")
	fs.StringVar(&conc, "bare-concurrency", joinInts(cfg.BareConcurrency), "goroutines of the bare client, comma-separated; the best rate is the yardstick")
	fs.IntVar(&cfg.BatchConcurrency, "batch-concurrency", cfg.BatchConcurrency, "`batches` in flight of the --batch-size 1000 CPU comparison (importer and bare batch sender)")
	fs.Int64Var(&cfg.DeltaRows, "delta-rows", cfg.DeltaRows, "`rows` of the delta scenario's nightly export")
	fs.IntVar(&cfg.PaceSeconds, "pace-seconds", cfg.PaceSeconds, "length in `seconds` of the rate, latency and AIMD runs")
	fs.StringVar(&cfg.Go, "go", cfg.Go, "the `go` command, for the Go benchmarks and pprof")
	fs.StringVar(&cfg.GoBenchTime, "benchtime", cfg.GoBenchTime, "-benchtime of the Go benchmarks")
	fs.BoolVar(&cfg.Profile, "profile", cfg.Profile, "profile validate in process when it misses a target")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "benchrun: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	var err error
	if cfg.BigBytes, err = bench.ParseSize(bigSize); err != nil {
		fmt.Fprintf(stderr, "benchrun: -big-size: %v\n", err)
		return 2
	}
	if cfg.BareConcurrency, err = parseInts(conc); err != nil {
		fmt.Fprintf(stderr, "benchrun: -bare-concurrency: %v\n", err)
		return 2
	}
	for _, name := range strings.Split(only, ",") {
		if name = strings.TrimSpace(name); name != "" {
			cfg.Only = append(cfg.Only, name)
		}
	}
	cfg.Log = stderr

	rep, err := bench.Run(ctx, cfg)
	if rep == nil {
		fmt.Fprintf(stderr, "benchrun: %v\n", err)
		return 1
	}
	if report == "" {
		report = "BENCHMARKS.md"
		if !rep.Complete {
			report = filepath.Join(cfg.Out, "BENCHMARKS.partial.md")
		}
		if !filepath.IsAbs(report) {
			report = filepath.Join(cfg.Dir, report)
		}
	}
	if werr := writeReport(report, rep); werr != nil {
		fmt.Fprintf(stderr, "benchrun: %v\n", werr)
		return 1
	}
	if werr := rep.WriteText(stdout); werr != nil {
		fmt.Fprintf(stderr, "benchrun: %v\n", werr)
		return 1
	}
	fmt.Fprintf(stdout, "\nreport: %s (%d gaps)\n", report, rep.Gaps())
	if err != nil {
		fmt.Fprintf(stderr, "benchrun: %v\n", err)
		return 1
	}
	for _, s := range rep.Scenarios {
		if s.Err != nil {
			return 1
		}
	}
	return 0
}

// writeReport writes the markdown through a temporary file, so an
// interrupted write never leaves half a BENCHMARKS.md.
func writeReport(path string, rep *bench.Report) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	err = rep.WriteMarkdown(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q: want whole numbers ≥ 1, comma-separated", s)
		}
		out = append(out, n)
	}
	return out, nil
}
