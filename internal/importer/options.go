package importer

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"

	"importer/internal/sender"
	"importer/internal/source"
)

// Mode says what Run does with each mapped row.
type Mode string

// The two modes of Run.
const (
	ModeRun      Mode = "run"      // send every valid row to the API
	ModeValidate Mode = "validate" // dry run: read, map and validate; never touch the network
)

// Options are the command line of `importer run` and `importer validate`.
// Pointer fields override the config only when set.
type Options struct {
	Mode   Mode
	Config string // mapping config path (required)
	Input  string // input path, "-" = stdin

	Results  string // results journal; "" = beside the input
	Rejects  string // rejects file; "" = beside the input, "-" = none
	Payloads string // payload dump; "" = none
	Summary  string // JSON summary; "" = none

	Resume       bool  // skip rows the journal records as ok (or unknown); append the rest
	Force        bool  // resume even when the input or config changed, or from a damaged journal
	RetryUnknown bool  // with Resume: send rows an earlier run left unknown, too
	Again        bool  // run an input whose journal says it was run already (the old journal is kept)
	Limit        int64 // > 0: only the first Limit data rows of the input (a trial run)

	Pick    string // with a remote prefix or glob INPUT: "newest" or "oldest" not yet imported
	State   string // state database (delta imports); "" = none
	Missing string // with State: write the keys the (complete) export lacks here

	APIURL      string   // overrides ALTCRAFT_API_URL and api.url
	TokenFile   string   // the token's file; otherwise ALTCRAFT_TOKEN
	Rate        *float64 // requests per second, 0 = unlimited
	Concurrency *int     // requests in flight, 0 = auto
	BatchSize   *int     // profiles per request
	MaxErrors   string   // "N" or "N%": stop early once this many rows failed or were invalid
	Shard       string   // "K/N": only rows whose match key hashes to shard K (0-based) of N
	Progress    string   // auto | bar | log | none
	Neutralise  bool     // prefix spreadsheet formulas in the rejects file with '

	Report      string   // self-contained HTML run report; "" = none
	MetricsPush string   // Prometheus Pushgateway URL; "" = none
	MetricsFile string   // node_exporter textfile collector path; "" = none
	Ping        string   // healthchecks-style check URL: /start, success, /fail; "" = none
	Notify      string   // webhook URL that gets the JSON summary; "" = none
	Command     []string // the command line, for the report (token-like values are masked there)

	Stdin  io.Reader    // "-" input; nil = os.Stdin
	Stderr io.Writer    // summary and progress; nil = os.Stderr
	Logger *slog.Logger // nil = discard
	// LogJSON says stderr is a stream of JSON records (Logger's): the
	// closing summary goes to Logger as one record instead of as text.
	LogJSON bool
	Getenv  func(string) string    // nil = os.Getenv
	IsTTY   func(w io.Writer) bool // nil = golang.org/x/term on *os.File
}

func (o *Options) getenv(k string) string {
	if o.Getenv != nil {
		return o.Getenv(k)
	}
	return os.Getenv(k)
}

func (o *Options) stderr() io.Writer {
	if o.Stderr != nil {
		return o.Stderr
	}
	return os.Stderr
}

func (o *Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Environment variables read by the importer.
const (
	EnvToken  = "ALTCRAFT_TOKEN"
	EnvAPIURL = "ALTCRAFT_API_URL"
)

// defaultPath names a file beside the input: the input's name plus suffix;
// for stdin, a file in the working directory.
func defaultPath(input, shard, suffix string) string {
	base := input
	switch {
	case input == "-" || input == "":
		base = "stdin"
	case source.IsRemote(input):
		// An object or a download: its name, in the working directory.
		if u, err := url.Parse(input); err == nil && path.Base(u.Path) != "/" && path.Base(u.Path) != "." {
			base = path.Base(u.Path)
		} else {
			base = "remote-input"
		}
	}
	if shard != "" {
		k, n, _ := parseShard(shard)
		base += fmt.Sprintf(".shard-%d-of-%d", k, n)
	}
	return base + suffix
}

// resultsExt is ".jsonl" for JSONL inputs and ".csv" otherwise, so that the
// journal and the rejects look like what was read.
func resultsExt(input string, jsonl bool) string {
	if jsonl {
		return ".jsonl"
	}
	return ".csv"
}

// maxErrors is a parsed --max-errors: a count, or a share of rows finished.
type maxErrors struct {
	count   int64
	percent float64 // > 0: a share in percent
}

// minSampleForPercent is how many rows must have finished before a
// percentage budget is applied, so that one bad first row does not stop a
// million-row run.
const minSampleForPercent = 100

func parseMaxErrors(s string) (maxErrors, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return maxErrors{}, nil
	}
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || v <= 0 || v > 100 {
			return maxErrors{}, fmt.Errorf("--max-errors %q: want a count like 100 or a share like 5%%", s)
		}
		return maxErrors{percent: v}, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return maxErrors{}, fmt.Errorf("--max-errors %q: want a count like 100 or a share like 5%%", s)
	}
	return maxErrors{count: v}, nil
}

// exceeded reports whether bad rows out of done rows are over the budget.
func (m maxErrors) exceeded(bad, done int64) bool {
	switch {
	case m.count > 0:
		return bad >= m.count
	case m.percent > 0:
		return done >= minSampleForPercent && float64(bad)*100 >= m.percent*float64(done)
	}
	return false
}

func (m maxErrors) String() string {
	if m.percent > 0 {
		return strconv.FormatFloat(m.percent, 'f', -1, 64) + "%"
	}
	return strconv.FormatInt(m.count, 10)
}

// parseShard parses "K/N" with 0 ≤ K < N (K is 0-based, like a Kubernetes
// Indexed Job's JOB_COMPLETION_INDEX).
func parseShard(s string) (k, n int, err error) {
	if s == "" {
		return 0, 1, nil
	}
	ks, ns, ok := strings.Cut(s, "/")
	if ok {
		k, err = strconv.Atoi(strings.TrimSpace(ks))
		if err == nil {
			n, err = strconv.Atoi(strings.TrimSpace(ns))
		}
	}
	if !ok || err != nil || n < 1 || k < 0 || k >= n {
		return 0, 0, fmt.Errorf("--shard %q: want K/N with 0 <= K < N, e.g. 0/4 (K is 0-based)", s)
	}
	return k, n, nil
}

// readToken reads the API token from --token-file or the environment. The
// token never comes from a flag value or the config, so it never shows in
// argv or in a file under version control.
func readToken(o *Options, log *slog.Logger) (string, error) {
	if o.TokenFile != "" {
		st, err := os.Stat(o.TokenFile)
		if err != nil {
			return "", fmt.Errorf("token file: %w", err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			log.Warn("token file is readable by other users; chmod 600 it",
				"file", o.TokenFile, "mode", fmt.Sprintf("%#o", st.Mode().Perm()))
		}
		b, err := os.ReadFile(o.TokenFile)
		if err != nil {
			return "", fmt.Errorf("token file: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", fmt.Errorf("token file %s is empty", o.TokenFile)
		}
		return tok, checkToken(tok, "the token in "+o.TokenFile)
	}
	if tok := strings.TrimSpace(o.getenv(EnvToken)); tok != "" {
		return tok, checkToken(tok, EnvToken)
	}
	return "", errors.New("no API token: set " + EnvToken + " or pass --token-file FILE")
}

// checkToken refuses a token too short to be masked reliably wherever a
// server might echo it (any run of 8 of its characters is masked).
func checkToken(tok, where string) error {
	if len(tok) < sender.MinTokenLength {
		return fmt.Errorf("%s has %d characters, want at least %d: check it (Altcraft's tokens are much longer)",
			where, len(tok), sender.MinTokenLength)
	}
	return nil
}
