package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"importer/internal/importer"
)

// The command line is parsed with pflag: GNU-style `-c` / `--config`, flags
// before or after INPUT, and `--` ending the flags. The standard flag
// package knows only single-dash flags and stops at the first argument.

// optFloat and optInt are flag values that remember whether they were set,
// so that only flags given override the config.
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

func (f optFloat) Type() string { return "N" }

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

func (f optInt) Type() string { return "N" }

// newFlagSet makes a command's flag set: errors are returned, not printed
// with the whole usage (parse prints one line and a suggestion instead).
func newFlagSet(name string, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.Usage = func() {}
	return fs
}

// runFlags binds the flags of `run` and `validate` to o. validate takes
// every flag run takes, so that a run's command line can be checked by
// swapping the command: it checks the sending settings (--rate,
// --batch-size, --api-url …) against the config, and ignores those about
// resuming an earlier run.
func runFlags(fs *pflag.FlagSet, o *importer.Options, logFormat *string) {
	fs.StringVarP(&o.Config, "config", "c", "", "mapping config (YAML), required")
	fs.StringVar(&o.Results, "results", "", "per-row results journal (default INPUT.results.csv; .jsonl for JSONL; validate: INPUT.validate.csv)")
	fs.StringVar(&o.Rejects, "rejects", "", `rows that ended invalid, failed or unknown, re-importable (default INPUT.rejects.csv; validate: INPUT.validate-rejects.csv; "-" = none)`)
	fs.StringVar(&o.Payloads, "payloads", "", `JSONL dump of each row's request body, token shown as "***"`)
	fs.StringVar(&o.Summary, "summary", "", "write the run summary as JSON to this file")
	fs.StringVar(&o.MaxErrors, "max-errors", "", "stop early once N rows (or N% of rows) failed or were invalid")
	fs.StringVar(&o.Shard, "shard", "", "process only shard K of N (0-based K/N) by match key hash")
	fs.StringVar(&o.Progress, "progress", "auto", "auto | bar | log | none")
	fs.StringVar(logFormat, "log-format", "text", "text | json (stderr)")
	fs.BoolVar(&o.Neutralise, "neutralise-formulas", false, "prefix cells starting with = + - @ with ' in the rejects file")
	fs.BoolVar(&o.Resume, "resume", false, "continue an earlier run: skip rows its journal records as ok (or unknown); append the rest")
	fs.BoolVar(&o.RetryUnknown, "retry-unknown", false, "with --resume: also send rows an earlier run left unknown (check them in Altcraft first)")
	fs.BoolVar(&o.Again, "again", false, "run an input that was already run with this config, sending every row again (the old journal is kept)")
	fs.StringVar(&o.Pick, "pick", "", "with an s3:// prefix or glob as INPUT: newest | oldest object the state's ledger has not imported")
	fs.StringVar(&o.State, "state", "", "state database: send only rows that changed since their last ok, and keep a ledger of imported inputs")
	fs.StringVar(&o.Missing, "missing", "", "with --state: INPUT is a complete export; write the state's keys it lacks to this CSV file")
	fs.Int64Var(&o.Limit, "limit", 0, "only the first N data rows of INPUT, for a trial run (0 = all)")
	fs.BoolVar(&o.Force, "force", false, "with --resume: continue even if the input or config changed, or from a damaged journal")
	fs.StringVar(&o.APIURL, "api-url", "", "API base URL (default $ALTCRAFT_API_URL, then api.url)")
	fs.StringVar(&o.TokenFile, "token-file", "", "read the API token from this file (default $ALTCRAFT_TOKEN)")
	fs.Var(optFloat{&o.Rate}, "rate", "requests per second, shared by all workers; 0 = unlimited (default api.rate)")
	fs.Var(optInt{&o.Concurrency}, "concurrency", "requests in flight; 0 = auto (default api.concurrency)")
	fs.Var(optInt{&o.BatchSize}, "batch-size", "profiles per request; > 1 uses update_batch/import_batch (default api.batch_size)")
	fs.StringVar(&o.Report, "report", "", "write a self-contained HTML run report (charts, errors, config) to this file")
	fs.StringVar(&o.MetricsPush, "metrics-push", "", "push the run's metrics to this Prometheus Pushgateway URL")
	fs.StringVar(&o.MetricsFile, "metrics-file", "", "write the run's metrics for node_exporter's textfile collector to this .prom file")
	fs.StringVar(&o.Ping, "ping", "", "healthchecks-style URL: URL/start at the start, URL on exit 0, URL/fail otherwise")
	fs.StringVar(&o.Notify, "notify", "", "POST the JSON summary (with a text line for Slack/Mattermost) to this URL at the end")
}

// parse parses args with fs. It returns the positional arguments, and an
// exit code ≥ 0 when the command should end now: after --help (usage
// printed, 0) or a bad flag (one line naming it, the closest flag when
// there is one, and where to read more; 1).
func parse(fs *pflag.FlagSet, args []string, stderr io.Writer, usage func()) ([]string, int) {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return fs.Args(), -1
	case errors.Is(err, pflag.ErrHelp):
		usage()
		return nil, importer.ExitOK
	}
	msg := err.Error()
	if name, ok := unknownFlag(msg); ok {
		if s := suggest(fs, name); s != "" {
			msg += "; did you mean --" + s + "?"
		}
	}
	fmt.Fprintf(stderr, "importer %s: %s\nRun 'importer %s --help' for the flags.\n", fs.Name(), msg, fs.Name())
	return nil, importer.ExitFatal
}

// unknownFlag extracts the flag name from pflag's "unknown flag: --x" and
// "unknown shorthand flag: 'x' in -x" errors.
func unknownFlag(msg string) (string, bool) {
	if rest, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		return rest, true
	}
	if rest, ok := strings.CutPrefix(msg, "unknown shorthand flag: '"); ok {
		if i := strings.IndexByte(rest, ' '); i > 0 {
			rest = rest[i:]
		}
		if _, after, ok := strings.Cut(rest, "in -"); ok {
			return after, true
		}
	}
	return "", false
}

// suggest returns the defined flag closest to name, if it is close enough
// to be a typo (or name is a prefix of it).
func suggest(fs *pflag.FlagSet, name string) string {
	best, bestD := "", len(name)/3+2
	fs.VisitAll(func(f *pflag.Flag) {
		d := distance(name, f.Name)
		if strings.HasPrefix(f.Name, name) && len(name) >= 3 {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = f.Name, d
		}
	})
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// usageFor prints a command's text and its flags.
func usageFor(fs *pflag.FlagSet, w io.Writer, text string) func() {
	return func() {
		fmt.Fprint(w, text)
		fmt.Fprint(w, fs.FlagUsages())
	}
}

func runCmd(ctx context.Context, mode importer.Mode, args []string, stderr io.Writer) int {
	o := importer.Options{Mode: mode, Stderr: stderr, Command: append([]string{"importer", string(mode)}, args...)}
	var logFormat string
	fs := newFlagSet(string(mode), stderr)
	runFlags(fs, &o, &logFormat)
	text := runUsage
	if mode == importer.ModeValidate {
		text = validateUsage
	}
	rest, code := parse(fs, args, stderr, usageFor(fs, stderr, text))
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
	o.Logger, o.LogJSON = log, logFormat == "json"
	_, err = importer.Run(ctx, o)
	code = importer.ExitCode(err)
	if code == importer.ExitFatal {
		reportFatal(log, logFormat, stderr, "importer "+string(mode), err)
	}
	return code
}

// reportFatal prints the error that stopped a command: a plain line for
// people, or with --log-format json one JSON record, so that a log
// collector reading the job's stderr line by line gets the reason too.
func reportFatal(log *slog.Logger, logFormat string, stderr io.Writer, command string, err error) {
	if logFormat == "json" {
		log.Error("stopped", "command", command, "error", err.Error(), "exit_code", importer.ExitFatal)
		return
	}
	fmt.Fprintf(stderr, "%s: %v\n", command, err)
}

const runUsage = `Usage: importer run -c CONFIG [flags] INPUT

Imports INPUT ("-" = stdin; gzip is detected) into Altcraft, one result line per row.

Examples:
  ALTCRAFT_TOKEN=... importer run -c configs/legacy-crm.yaml export.csv
  importer run -c crm.yaml --token-file /etc/importer/token --rate 50 --batch-size 500 feed.jsonl.gz
  importer run -c crm.yaml --resume export.csv          # continue after a crash or Ctrl-C
  importer run -c crm.yaml --max-errors 1% --summary run.json export.csv

A finished input is not run again with the same config unless --again; rows
whose request may have been applied (unknown) are never sent again by
--resume unless --retry-unknown.

Flags:
`

const validateUsage = `Usage: importer validate -c CONFIG [flags] INPUT

Dry run: reads, maps and validates every row exactly as run would, without
any network. Writes INPUT.validate.csv (valid/invalid per row) and
INPUT.validate-rejects.csv. It takes run's flags and checks the sending
settings (--rate, --batch-size, --api-url …) against the config, so a run's
command line can be checked by swapping the command.

Examples:
  importer validate -c configs/legacy-crm.yaml samples/legacy-crm.csv
  importer validate -c crm.yaml --payloads bodies.jsonl export.csv

Flags:
`

func checkCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o importer.Options
	fs := newFlagSet("check", stderr)
	fs.StringVarP(&o.Config, "config", "c", "", "mapping config (YAML), required")
	rest, code := parse(fs, args, stderr, usageFor(fs, stderr, `Usage: importer check -c CONFIG [INPUT]

Loads and validates CONFIG. Given INPUT, also checks that every mapped column
is in INPUT's header (naming the closest header for each one missing) and
prints the first three requests the rows map to (token shown as "***").

Examples:
  importer check -c configs/legacy-crm.yaml
  importer check -c configs/legacy-crm.yaml samples/legacy-crm.csv

Flags:
`))
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
