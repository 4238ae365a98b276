// Command importer loads customer records from CSV, TSV and JSONL files into
// the Altcraft Marketing Platform through its profiles API.
//
//	importer run      -c CONFIG [flags] INPUT   import INPUT ("-" = stdin; .gz is decompressed)
//	importer validate -c CONFIG [flags] INPUT   dry run: read, map, validate, never touch the network
//	importer check    -c CONFIG [INPUT]         load and check the config (and INPUT's header against it)
//	importer probe    -c CONFIG [--yes]         send one test batch; check the API's batch reply
//	importer state    stats|export|forget --state PATH   inspect and edit a delta-import state
//	importer version
//
// Exit codes: 0 every row ok; 1 fatal (usage, config, I/O, token rejected,
// API unreachable); 2 finished with failed, invalid or unknown rows; 3 stopped
// early by --max-errors; 130 interrupted (--resume continues).
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"importer/internal/importer"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

// defaultMemoryLimit is the soft memory limit the importer sets unless
// GOMEMLIMIT says otherwise: it keeps peak RSS near the memory target in docs/ARCHITECTURE.md
// of 64 MB. The live heap of a run (the window of rows in flight) stays well
// below it; without a limit the collector lets the heap grow to twice that
// before it runs. A run whose live heap is larger only collects more often.
const defaultMemoryLimit = 48 << 20

// defaultGCPercent lets the heap grow to five times the live heap before a
// collection, under the memory limit above: a run's live heap is a few MB
// and its garbage is most of the allocation, so the default of 100
// collected every few MB and cost about a quarter of validate's CPU
// (1M rows, 10 columns: 2.6–2.8 s user at 100, 1.9–2.1 s at 400, peak RSS
// 33 MB and 49–57 MB). The limit still bounds the heap when the live part
// grows. GOGC in the environment overrides it.
const defaultGCPercent = 400

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
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
  importer probe    -c CONFIG [--yes]         send one test batch; check the API's batch reply
  importer state    stats|export|forget --state PATH   inspect and edit a delta-import state
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
	case "probe":
		return probeCmd(ctx, args[1:], stdout, stderr)
	case "state":
		return stateCmd(args[1:], stdout, stderr)
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
