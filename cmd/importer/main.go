// Command importer loads customer records from CSV, TSV and JSONL files into
// the Altcraft Marketing Platform through its profiles API.
//
//	importer run      -c CONFIG [flags] INPUT   import INPUT ("-" = stdin; .gz is decompressed)
//	importer validate -c CONFIG [flags] INPUT   dry run: read, map, validate, never touch the network
//	importer check    -c CONFIG [INPUT]         load and check the config (and INPUT's header against it)
//	importer version
//
// Exit codes: 0 every row ok; 1 fatal (usage, config, I/O, token rejected,
// API unreachable); 2 finished with failed, invalid or unknown rows; 3 stopped
// early by --max-errors; 130 interrupted (--resume continues).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"

	"importer/internal/importer"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

// defaultMemoryLimit is the soft memory limit the importer sets unless
// GOMEMLIMIT says otherwise: it keeps peak RSS near the DESIGN.md §9 budget
// of 64 MB. The live heap of a run (the window of rows in flight) stays well
// below it; without a limit the collector lets the heap grow to twice that
// before it runs. A run whose live heap is larger only collects more often.
const defaultMemoryLimit = 48 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		fmt.Fprintln(os.Stderr, "importer: interrupted: finishing requests in flight, then stopping (interrupt again to exit at once)")
		cancel()
		<-sigs
		fmt.Fprintln(os.Stderr, "importer: interrupted again: exiting now; the results file holds every finished row, --resume continues")
		os.Exit(importer.ExitInterrupted)
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `importer loads CSV, TSV and JSONL files into Altcraft profiles.

Usage:
  importer run      -c CONFIG [flags] INPUT   import INPUT ("-" = stdin; .gz is decompressed)
  importer validate -c CONFIG [flags] INPUT   dry run: read, map, validate; no network
  importer check    -c CONFIG [INPUT]         check the config (and INPUT's header against it)
  importer version

Run "importer COMMAND --help" for the flags of a command.

The API token comes from ALTCRAFT_TOKEN or --token-file, never from a flag or the config.

Exit codes:
  0    every row ok (valid for validate)
  1    fatal: usage, config, I/O, token rejected, API unreachable
  2    finished; some rows failed, were invalid or have an unknown outcome
  3    stopped early by --max-errors
  130  interrupted by SIGINT/SIGTERM; run again with --resume to continue
`

// run is main without the process: it parses args, runs the command and
// returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return importer.ExitFatal
	}
	switch cmd := args[0]; cmd {
	case "run", "validate":
		return runCmd(ctx, importer.Mode(cmd), args[1:], stderr)
	case "check":
		return checkCmd(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "importer", buildVersion())
		return importer.ExitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return importer.ExitOK
	default:
		fmt.Fprintf(stderr, "importer: unknown command %q\n\n%s", cmd, usage)
		return importer.ExitFatal
	}
}

// optFloat and optInt are flags that remember whether they were set, so that
// only given flags override the config.
type optFloat struct{ p **float64 }

func (f optFloat) String() string {
	if f.p == nil || *f.p == nil {
		return ""
	}
	return strconv.FormatFloat(**f.p, 'f', -1, 64)
}

func (f optFloat) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 {
		return errors.New("want a number >= 0")
	}
	*f.p = &v
	return nil
}

type optInt struct{ p **int }

func (f optInt) String() string {
	if f.p == nil || *f.p == nil {
		return ""
	}
	return strconv.Itoa(**f.p)
}

func (f optInt) Set(s string) error {
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return errors.New("want a whole number >= 0")
	}
	*f.p = &v
	return nil
}

func runCmd(ctx context.Context, mode importer.Mode, args []string, stderr io.Writer) int {
	o := importer.Options{Mode: mode, Stderr: stderr}
	var logFormat string
	fs := flag.NewFlagSet(string(mode), flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Config, "c", "", "mapping config (YAML), required")
	fs.StringVar(&o.Config, "config", "", "mapping config (YAML), required")
	fs.StringVar(&o.Results, "results", "", "per-row results journal (default INPUT.results.csv; .jsonl for JSONL)")
	fs.StringVar(&o.Rejects, "rejects", "", `rows that ended invalid, failed or unknown, re-importable (default INPUT.rejects.csv; "-" = none)`)
	fs.StringVar(&o.Payloads, "payloads", "", `JSONL dump of each row's request body, token shown as "***"`)
	fs.StringVar(&o.Summary, "summary", "", "write the run summary as JSON to this file")
	fs.StringVar(&o.MaxErrors, "max-errors", "", "stop early once N rows (or N% of rows) failed or were invalid")
	fs.StringVar(&o.Shard, "shard", "", "process only shard K of N (0-based K/N) by match key hash")
	fs.StringVar(&o.Progress, "progress", "auto", "auto | bar | log | none")
	fs.StringVar(&logFormat, "log-format", "text", "text | json (stderr)")
	fs.BoolVar(&o.Neutralise, "neutralise-formulas", false, "prefix cells starting with = + - @ with ' in the rejects file")
	if mode == importer.ModeRun {
		fs.BoolVar(&o.Resume, "resume", false, "skip rows the results journal records as ok; append the rest")
		fs.BoolVar(&o.Force, "force", false, "with --resume: continue even if the input or config changed")
		fs.StringVar(&o.APIURL, "api-url", "", "API base URL (default $ALTCRAFT_API_URL, then api.url)")
		fs.StringVar(&o.TokenFile, "token-file", "", "read the API token from this file (default $ALTCRAFT_TOKEN)")
		fs.Var(optFloat{&o.Rate}, "rate", "requests per second, shared by all workers; 0 = unlimited (default api.rate)")
		fs.Var(optInt{&o.Concurrency}, "concurrency", "requests in flight; 0 = auto (default api.concurrency)")
		fs.Var(optInt{&o.BatchSize}, "batch-size", "profiles per request; > 1 uses update_batch/import_batch (default api.batch_size)")
	}
	fs.Usage = func() {
		if mode == importer.ModeRun {
			fmt.Fprint(stderr, `Usage: importer run -c CONFIG [flags] INPUT

Imports INPUT ("-" = stdin; gzip is detected) into Altcraft, one result line per row.

Examples:
  ALTCRAFT_TOKEN=... importer run -c configs/legacy-crm.yaml export.csv
  importer run -c crm.yaml --token-file /etc/importer/token --rate 50 --batch-size 500 feed.jsonl.gz
  importer run -c crm.yaml --resume export.csv          # continue after a crash or Ctrl-C
  importer run -c crm.yaml --max-errors 1% --summary run.json export.csv

Flags:
`)
		} else {
			fmt.Fprint(stderr, `Usage: importer validate -c CONFIG [flags] INPUT

Dry run: reads, maps and validates every row exactly as run would, without
any network. Writes INPUT.validate.csv (valid/invalid per row) and the rejects.

Examples:
  importer validate -c configs/legacy-crm.yaml samples/legacy-crm.csv
  importer validate -c crm.yaml --payloads bodies.jsonl export.csv

Flags:
`)
		}
		fs.PrintDefaults()
	}
	rest, code := parseInterleaved(fs, args)
	if code >= 0 {
		return code
	}
	if len(rest) != 1 {
		fmt.Fprintf(stderr, "importer %s: want exactly one INPUT (got %d); see importer %s --help\n", mode, len(rest), mode)
		return importer.ExitFatal
	}
	o.Input = rest[0]
	log, err := newLogger(logFormat, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "importer %s: %v\n", mode, err)
		return importer.ExitFatal
	}
	o.Logger = log
	_, err = importer.Run(ctx, o)
	code = importer.ExitCode(err)
	if code == importer.ExitFatal {
		fmt.Fprintf(stderr, "importer %s: %v\n", mode, err)
	}
	return code
}

func checkCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o importer.Options
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Config, "c", "", "mapping config (YAML), required")
	fs.StringVar(&o.Config, "config", "", "mapping config (YAML), required")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: importer check -c CONFIG [INPUT]

Loads and validates CONFIG. Given INPUT, also checks that every mapped column
is in INPUT's header (naming the closest header for each one missing) and
prints the first three requests the rows map to (token shown as "***").

Examples:
  importer check -c configs/legacy-crm.yaml
  importer check -c configs/legacy-crm.yaml samples/legacy-crm.csv

Flags:
`)
		fs.PrintDefaults()
	}
	rest, code := parseInterleaved(fs, args)
	if code >= 0 {
		return code
	}
	if len(rest) > 1 {
		fmt.Fprintln(stderr, "importer check: want at most one INPUT; see importer check --help")
		return importer.ExitFatal
	}
	if len(rest) == 1 {
		o.Input = rest[0]
	}
	if err := importer.Check(ctx, o, stdout); err != nil {
		fmt.Fprintf(stderr, "importer check: %v\n", err)
		return importer.ExitFatal
	}
	return importer.ExitOK
}

// parseInterleaved parses flags that may come before or after the
// positional arguments (`run INPUT -c x.yaml` works like `run -c x.yaml
// INPUT`). It returns the positional arguments, and an exit code ≥ 0 when
// the command should end now (help or a usage error).
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, int) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, importer.ExitOK
			}
			return nil, importer.ExitFatal // the flag package printed the problem and usage
		}
		args = fs.Args()
		if len(args) == 0 {
			return rest, -1
		}
		if args[0] == "--" {
			return append(rest, args[1:]...), -1
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
}

func newLogger(format string, w io.Writer) (*slog.Logger, error) {
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
