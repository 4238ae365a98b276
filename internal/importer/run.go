package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"time"

	"importer/internal/input"
	"importer/internal/mapping"
	"importer/internal/results"
	"importer/internal/sender"
)

// Run executes `importer run` (ModeRun) or `importer validate` (ModeValidate)
// and returns the run's summary. The summary is nil only when the run failed
// before the first row was read. The error is nil when every row ended ok
// (valid), wraps ErrRowErrors, ErrMaxErrors or ErrInterrupted when the run
// finished in those ways, and is fatal otherwise; see ExitCode.
//
// Run writes the summary to Options.Stderr itself.
func Run(ctx context.Context, o Options) (*results.Summary, error) {
	log := o.logger()
	start := time.Now()

	cfg, err := loadConfig(&o)
	if err != nil {
		return nil, err
	}
	budget, err := parseMaxErrors(o.MaxErrors)
	if err != nil {
		return nil, err
	}
	shardK, shardN, err := parseShard(o.Shard)
	if err != nil {
		return nil, err
	}

	var token string
	if o.Mode == ModeRun {
		if token, err = readToken(&o, log); err != nil {
			return nil, err
		}
		if err := checkURL(cfg.API.URL, log); err != nil {
			return nil, err
		}
	}

	in, err := openInput(&o, cfg)
	if err != nil {
		return nil, err
	}
	defer in.Close()

	m, err := mapping.Compile(cfg, in.Header())
	if err != nil {
		return nil, fmt.Errorf("config %s against %s: %w", o.Config, inputName(o.Input), err)
	}

	jsonl := in.Format() == input.FormatJSONL
	resultsPath := o.Results
	if resultsPath == "" {
		suffix := ".results" + resultsExt(o.Input, jsonl)
		if o.Mode == ModeValidate {
			// A dry run never clobbers the journal of a real run.
			suffix = ".validate" + resultsExt(o.Input, jsonl)
		}
		resultsPath = defaultPath(o.Input, o.Shard, suffix)
	}
	rejectsPath := o.Rejects
	if rejectsPath == "" {
		rejectsPath = defaultPath(o.Input, o.Shard, ".rejects"+resultsExt(o.Input, jsonl))
	}

	lock, err := results.Lock(resultsPath)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()

	fp, err := results.NewFingerprint(o.Input, cfg.Source)
	if err != nil {
		return nil, err
	}
	var prev *results.Previous
	resume := false
	if o.Resume {
		switch _, statErr := os.Stat(resultsPath); {
		case errors.Is(statErr, fs.ErrNotExist):
			log.Info("nothing to resume: no results journal yet, starting from the first row", "results", resultsPath)
		case statErr != nil:
			return nil, fmt.Errorf("resume: %w", statErr)
		default:
			if !o.Force {
				if err := results.CheckFingerprint(resultsPath, fp); err != nil {
					return nil, fmt.Errorf("resume: %w", err)
				}
			}
			if prev, err = results.ReadJournal(resultsPath); err != nil {
				return nil, fmt.Errorf("resume: %w", err)
			}
			resume = true
			okRows, other := prev.Count()
			log.Info("resuming", "results", resultsPath, "already_ok", okRows, "to_redo", other)
		}
	}
	if err := fp.Save(resultsPath); err != nil {
		return nil, err
	}

	journal, err := results.OpenJournal(resultsPath, resume)
	if err != nil {
		return nil, err
	}
	defer journal.Close()

	var rejects *results.Rejects
	if rejectsPath != "-" {
		if jsonl {
			rejects, err = results.NewJSONLRejects(rejectsPath)
		} else {
			rejects, err = results.NewRejects(rejectsPath, in.Header(), in.Delimiter(), o.Neutralise)
		}
		if err != nil {
			return nil, err
		}
		defer rejects.Close()
	}
	var payloads *results.Payloads
	if o.Payloads != "" {
		if payloads, err = results.NewPayloads(o.Payloads); err != nil {
			return nil, err
		}
		defer payloads.Close()
	}

	p := &pipeline{
		mode:     o.Mode,
		in:       in,
		mapper:   m,
		prev:     prev,
		shardK:   shardK,
		shardN:   shardN,
		journal:  journal,
		rejects:  rejects,
		payloads: payloads,
		budget:   budget,
		sum:      results.NewSummary(),
		log:      log,
	}
	p.sum.Validate = o.Mode == ModeValidate
	if payloads != nil {
		p.envelope = m.AppendEnvelope(nil, false)
	}
	if o.Mode == ModeRun {
		batch := cfg.API.BatchSize > 1
		p.pool, err = sender.NewPool(sender.Config{
			URL:           cfg.API.URL,
			Endpoint:      cfg.API.Endpoint,
			BatchSize:     cfg.API.BatchSize,
			Rate:          cfg.API.Rate,
			Concurrency:   cfg.API.Concurrency,
			Timeout:       cfg.API.Timeout,
			MaxAttempts:   cfg.API.MaxAttempts,
			Token:         token,
			Bearer:        cfg.API.Auth == "bearer",
			Envelope:      m.AppendEnvelope(nil, false),
			BatchEnvelope: m.AppendEnvelope(nil, true),
			Logger:        log,
		})
		if err != nil {
			return nil, err
		}
		log.Info("sending", "url", redactURL(cfg.API.URL), "endpoint", cfg.API.Endpoint,
			"batch", batch, "batch_size", cfg.API.BatchSize, "rate", cfg.API.Rate,
			"concurrency", cfg.API.Concurrency)
	}
	log.Info("reading", "input", inputName(o.Input), "format", in.Format(), "encoding", in.Encoding(),
		"delimiter", delimName(in.Delimiter()), "columns", len(in.Header()))

	prog := newProgress(&o, in, p.counters(), log)
	runErr := p.run(ctx)
	prog.stop()

	// Closing errors matter: a journal that did not reach the disk is a
	// fatal error, whatever the rows did.
	closeErr := journal.Close()
	if rejects != nil {
		closeErr = errors.Join(closeErr, rejects.Close())
	}
	if payloads != nil {
		closeErr = errors.Join(closeErr, payloads.Close())
	}

	p.sum.Duration = time.Since(start)
	if runErr == nil && p.sum.Rows == 0 && p.sum.Skipped == 0 {
		// Not an error (a nightly feed may be empty), but cron mail should say so.
		log.Warn("the input holds no data rows", "input", inputName(o.Input))
	}
	if p.pool != nil {
		st := p.pool.Stats()
		p.sum.Requests, p.sum.Retries = st.Requests, st.Retries
	}
	stderr := o.stderr()
	_ = p.sum.WriteText(stderr)
	fmt.Fprintf(stderr, "results: %s\n", resultsPath)
	if rejects != nil && p.rejected > 0 {
		fmt.Fprintf(stderr, "rejects: %s (%d %s; fix them and run again with the same config)\n", rejectsPath, p.rejected, plural(p.rejected, "row", "rows"))
	}
	if o.Summary != "" {
		if err := writeSummaryFile(o.Summary, p.sum); err != nil {
			closeErr = errors.Join(closeErr, err)
		}
	}

	err = p.verdict(runErr, closeErr)
	switch {
	case errors.Is(err, ErrInterrupted):
		fmt.Fprintf(stderr, "interrupted: %d rows not finished; run the same command with --resume to continue\n", p.sum.NotSent)
	case errors.Is(err, ErrMaxErrors):
		fmt.Fprintf(stderr, "stopped early: --max-errors %s reached; %d rows not sent (--resume continues after you fix the data)\n", budget, p.sum.NotSent)
	}
	return p.sum, err
}

// loadConfig loads the config and applies the command line and environment
// over it, then validates the result once more.
func loadConfig(o *Options) (*mapping.Config, error) {
	if o.Config == "" {
		return nil, errors.New("no config: pass -c CONFIG")
	}
	cfg, err := mapping.Load(o.Config)
	if err != nil {
		return nil, err
	}
	// An overriding URL is checked here, so that its problems name the flag
	// or the variable rather than the config's api.url line.
	for _, src := range []struct{ name, val string }{{"--api-url", o.APIURL}, {EnvAPIURL, o.getenv(EnvAPIURL)}} {
		if src.val == "" {
			continue
		}
		if err := urlProblem(src.val); err != nil {
			return nil, fmt.Errorf("%s: %w", src.name, err)
		}
		cfg.API.URL = src.val
		break
	}
	if o.Rate != nil {
		cfg.API.Rate = *o.Rate
	}
	if o.Concurrency != nil {
		cfg.API.Concurrency = *o.Concurrency
	}
	if o.BatchSize != nil {
		cfg.API.BatchSize = *o.BatchSize
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// urlProblem says what is wrong with an API URL, or nil.
func urlProblem(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("API URL %q: want http(s)://host[:port]", redactURL(raw))
	}
	if u.User != nil {
		return fmt.Errorf("API URL %q carries credentials: pass the token with %s or --token-file, never in the URL", redactURL(raw), EnvToken)
	}
	if u.RawQuery != "" {
		return fmt.Errorf("API URL %q has a query: the token travels in the request body, never in the URL", redactURL(raw))
	}
	return nil
}

// checkURL refuses a missing or malformed API URL and warns when the token
// would cross the network in clear text.
func checkURL(raw string, log interface{ Warn(string, ...any) }) error {
	if raw == "" {
		return errors.New("no API URL: set api.url in the config, " + EnvAPIURL + " or --api-url")
	}
	if err := urlProblem(raw); err != nil {
		return err
	}
	if u, _ := url.Parse(raw); u.Scheme == "http" && !isLoopback(u.Hostname()) {
		log.Warn("the API URL is plain http to a non-loopback host: the token travels unencrypted", "url", redactURL(raw))
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redactURL drops user info and the query, where secrets hide.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	u.RawQuery = ""
	return u.String()
}

func openInput(o *Options, cfg *mapping.Config) (*input.File, error) {
	opts := cfg.InputOptions()
	if o.Input == "" {
		return nil, errors.New("no input file: pass INPUT (or - for stdin)")
	}
	if o.Input == "-" {
		var r io.Reader = os.Stdin
		if o.Stdin != nil {
			r = o.Stdin
		}
		return input.NewReader(r, "stdin", opts)
	}
	return input.Open(o.Input, opts)
}

func inputName(p string) string {
	if p == "-" {
		return "stdin"
	}
	return p
}

func delimName(r rune) string {
	switch r {
	case 0:
		return ""
	case '\t':
		return "TAB"
	}
	return string(r)
}

func writeSummaryFile(path string, s *results.Summary) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	if err := s.WriteJSON(f); err != nil {
		f.Close()
		return fmt.Errorf("summary %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("summary %s: %w", path, err)
	}
	return nil
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
