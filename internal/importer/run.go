package importer

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"importer/internal/input"
	"importer/internal/mapping"
	"importer/internal/results"
	"importer/internal/sender"
	"importer/internal/source"
	"importer/internal/state"
)

// Run executes `importer run` (ModeRun) or `importer validate` (ModeValidate)
// and returns the run's summary. The summary is nil only when the run failed
// before the first row was read. The error is nil when every row ended ok
// (valid), wraps ErrRowErrors, ErrMaxErrors or ErrInterrupted when the run
// finished in those ways, and is fatal otherwise; see ExitCode.
//
// Run writes the summary to Options.Stderr itself. Its steps: open (config,
// token, input, mapper, paths and the journal decision, outputs, sender),
// the pipeline, then finish (close the outputs, mark a finished journal,
// report).
func Run(ctx context.Context, o Options) (*results.Summary, error) {
	s, err := open(ctx, &o)
	if err != nil {
		reportEarlyFailure(&o, err)
		return nil, err
	}
	defer s.close()
	prog := newProgress(&o, s.in, s.p.counters(), s.log)
	runErr := s.p.run(ctx)
	prog.stop()
	sum, err := s.finish(runErr)
	s.tel.finish(sum, ExitCode(err))
	return sum, err
}

// session is one run's resources, opened in order by open and released by
// close whatever happened.
type session struct {
	o       *Options
	log     *slog.Logger
	start   time.Time
	cfg     *mapping.Config
	in      *input.File
	paths   outputPaths
	lock    *results.FileLock
	out     *outputs
	p       *pipeline
	tel     *telemetry
	closers []func() error

	store      *state.Store // --state
	content    state.Hash   // the input's SHA-256, for the state's ledger
	hasContent bool
	stdinHash  *hashingReader // stdin's bytes hashed as they are read (--state)
	remote     *source.Object // an https:// or s3:// input
	stamp      *source.Stamp  // a local input's size and time at open
	ledger     []state.Run    // the state's latest imports, for --pick
}

// open prepares everything the pipeline needs, failing before any row is
// read when the run cannot start.
func open(ctx context.Context, o *Options) (_ *session, err error) {
	s := &session{o: o, log: o.logger(), start: time.Now()}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if s.cfg, err = loadConfig(o); err != nil {
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
		if token, err = readToken(o, s.log); err != nil {
			return nil, err
		}
		if err := checkURL(s.cfg.API.URL, s.log); err != nil {
			return nil, err
		}
		if strings.Contains(strings.ToLower(s.cfg.API.URL), strings.ToLower(token)) {
			return nil, errors.New("the API URL contains the API token: remove it from the URL; " +
				"the token goes only in " + EnvToken + " or --token-file, and travels in the request body")
		}
	}
	if o.State != "" {
		if err := s.openStore(); err != nil {
			return nil, err
		}
	} else if o.Missing != "" {
		return nil, errNoState
	}
	if s.in, err = s.openInput(ctx); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.closeInput)
	m, err := mapping.Compile(s.cfg, s.in.Header())
	if err != nil {
		return nil, fmt.Errorf("config %s against %s: %w", o.Config, inputName(o.Input), err)
	}
	s.paths = defaultPaths(o, s.in.Format() == input.FormatJSONL)
	if s.lock, err = results.Lock(s.paths.results); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.lock.Unlock)
	prev, err := s.journalStart()
	if err != nil {
		return nil, err
	}
	if s.out, err = openOutputs(o, s.paths, s.in, prev != nil); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.out.close)
	s.p = &pipeline{
		mode: o.Mode, in: s.in, mapper: m, prev: prev, retryUnknown: o.RetryUnknown, limit: o.Limit,
		shardK: shardK, shardN: shardN, journal: s.out.journal, rejects: s.out.rejects, payloads: s.out.payloads,
		budget: budget, sum: results.NewSummary(), log: s.log,
	}
	s.p.sum.Validate = o.Mode == ModeValidate
	if s.store != nil {
		if err := s.openState(m); err != nil {
			return nil, err
		}
	}
	s.p.streaming = o.Input == "-" || s.in.Size() < 0 || s.remote != nil
	if s.out.payloads != nil {
		s.p.envelope = m.AppendEnvelope(nil, false)
	}
	s.tel = startTelemetry(s)
	if o.Mode == ModeRun {
		if s.p.pool, err = s.newPool(m, token); err != nil {
			return nil, err
		}
	}
	s.log.Info("reading", "input", inputName(o.Input), "format", s.in.Format(), "encoding", s.in.Encoding(),
		"delimiter", delimName(s.in.Delimiter()), "columns", len(s.in.Header()))
	for _, w := range s.in.Warnings() {
		s.log.Warn(w, "input", inputName(o.Input))
	}
	return s, nil
}

// newPool builds the sender from the config; rows using incr/add/delete are
// recorded in flight before their first request (see pipeline.inFlight).
func (s *session) newPool(m *mapping.Mapper, token string) (*sender.Pool, error) {
	api := s.cfg.API
	pool, err := sender.NewPool(sender.Config{
		URL:           api.URL,
		Endpoint:      api.Endpoint,
		BatchSize:     api.BatchSize,
		Rate:          api.Rate,
		Concurrency:   api.Concurrency,
		Timeout:       api.Timeout,
		MaxAttempts:   api.MaxAttempts,
		Token:         token,
		Bearer:        api.Auth == "bearer",
		Gzip:          api.Compress == "gzip",
		Envelope:      m.AppendEnvelope(nil, false),
		BatchEnvelope: m.AppendEnvelope(nil, true),
		BeforeSend:    s.p.inFlight,
		Observer:      s.tel.observer(),
		Logger:        s.log,
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("sending", "url", redactURL(api.URL), "endpoint", api.Endpoint,
		"batch", api.BatchSize > 1, "batch_size", api.BatchSize, "rate", api.Rate,
		"concurrency", api.Concurrency)
	return pool, nil
}

// finish closes the outputs, marks a journal whose run read everything as
// finished, and reports: the summary, where the files are, what to do next.
func (s *session) finish(runErr error) (*results.Summary, error) {
	o, p, sum := s.o, s.p, s.p.sum
	if s.stamp != nil && runErr == nil {
		if err := s.stamp.Verify(); err != nil {
			runErr = fmt.Errorf("input %s changed while it was read (%w): its rows may mix two versions; run it again once it is complete", o.Input, err)
		}
	}
	stateErr := s.finishState(runErr)
	// Closing errors matter: a journal that did not reach the disk is a
	// fatal error, whatever the rows did.
	closeErr := errors.Join(stateErr, s.out.close())
	sum.Duration = time.Since(s.start)
	if p.limited.Load() {
		s.log.Info("--limit: stopped after the first rows; --resume continues with the rest", "limit", o.Limit)
	}
	if runErr == nil && sum.Rows == 0 && sum.Skipped == 0 {
		// Not an error (a nightly feed may be empty), but cron mail should say so.
		s.log.Warn("the input holds no data rows", "input", inputName(o.Input))
	}
	if p.pool != nil {
		st := p.pool.Stats()
		sum.Requests, sum.Retries = st.Requests, st.Retries
	}
	sum.Input, sum.Config, sum.StartedAt = o.Input, o.Config, s.start
	if runErr == nil && closeErr == nil && o.Mode == ModeRun && !p.limited.Load() {
		if err := results.MarkFinished(s.paths.results, p.rowsRead(), time.Now()); err != nil {
			closeErr = err
		}
	}
	if p.prev != nil && closeErr == nil {
		// A resumed run's counts are its own rows; say how the whole
		// journal stands too.
		if all, err := results.ReadJournal(s.paths.results); err == nil {
			c := all.Count()
			sum.Final = &c
		}
	}
	err := p.verdict(runErr, closeErr)
	sum.ExitCode, sum.Interrupted, sum.FinishedAt = ExitCode(err), errors.Is(err, ErrInterrupted), time.Now()
	if o.LogJSON {
		s.logSummary(sum, errors.Is(closeErr, results.ErrJournalLost))
	} else {
		stderr := o.stderr()
		_ = sum.WriteText(stderr)
		if errors.Is(closeErr, results.ErrJournalLost) {
			fmt.Fprintf(stderr, "results: %s was lost during the run: the rows it should hold are not recorded\n", s.paths.results)
		} else {
			fmt.Fprintf(stderr, "results: %s\n", s.paths.results)
		}
		s.adviseRejects(stderr)
	}
	if o.Summary != "" {
		if werr := writeSummaryFile(o.Summary, sum); werr != nil {
			// A summary a cron job cannot read is fatal, whatever the rows did.
			if err != nil {
				werr = fmt.Errorf("%w (and the run: %v)", werr, err)
			}
			err = werr
			sum.ExitCode = ExitCode(err)
		}
	}
	var stopped string
	switch {
	case errors.Is(err, ErrInterrupted):
		stopped = fmt.Sprintf("interrupted: %d rows read but not finished%s; run the same command with --resume to continue",
			sum.NotSent, s.unread())
	case errors.Is(err, ErrMaxErrors):
		stopped = fmt.Sprintf("stopped early: --max-errors %s reached; %d rows not sent (--resume continues after you fix the data)", p.budget, sum.NotSent)
	}
	if stopped != "" {
		if o.LogJSON {
			s.log.Warn(stopped)
		} else {
			fmt.Fprintln(o.stderr(), stopped)
		}
	}
	return sum, err
}

// unread estimates, for a run that stopped early, the rows of the input it
// never read: ", and about N more not read yet (P% of the input)", or ""
// when the input's size is unknown or it was read to the end.
func (s *session) unread() string {
	size, done, rows := s.in.Size(), s.in.BytesRead(), s.p.rowsRead()
	if size <= 0 || done <= 0 || done >= size || rows == 0 {
		return ""
	}
	left := size - done
	est := int64(float64(left) / float64(done) * float64(rows))
	return fmt.Sprintf(", and about %d more not read yet (%.0f%% of the input)", est, 100*float64(left)/float64(size))
}

// adviseRejects says where the rejected rows are and what to do with them:
// fix and re-run for invalid and failed rows; check in Altcraft first for
// unknown ones, which may have been applied.
// logSummary is the closing summary as one log record, for a stderr that
// is a stream of JSON records: the fields of --summary, where the results
// went, and the advice the text summary would print.
func (s *session) logSummary(sum *results.Summary, journalLost bool) {
	var advice strings.Builder
	s.adviseRejects(&advice)
	attrs := []any{"summary", sum, "results", s.paths.results}
	if journalLost {
		attrs = append(attrs, "journal_lost", true)
	}
	if advice.Len() > 0 {
		attrs = append(attrs, "advice", strings.TrimSpace(advice.String()))
	}
	s.log.Info("finished", attrs...)
}

func (s *session) adviseRejects(w io.Writer) {
	p, sum := s.p, s.p.sum
	if s.out.rejects == nil || p.rejected == 0 {
		return
	}
	fixable := sum.Failed + sum.Invalid
	fmt.Fprintf(w, "rejects: %s (%d %s)\n", s.paths.rejects, p.rejected, plural(p.rejected, "row", "rows"))
	if fixable > 0 {
		fmt.Fprintf(w, "  %d failed or invalid: fix them and run the rejects file with the same config", fixable)
		if sum.NotSent > 0 {
			// The rest of the file goes with --resume; the rejects file
			// holds only rows this run finished, so both may be run.
			fmt.Fprint(w, " (and the rows this run did not finish with --resume)")
		}
		fmt.Fprintln(w)
	}
	if sum.Unknown > 0 {
		fmt.Fprintf(w, "  %d unknown: the request may have been applied; check these profiles in Altcraft before sending them again\n", sum.Unknown)
	}
}

// closeInput closes the input, unless a Read of a streamed input still
// blocks on its producer after the run stopped: closing under it would race
// with it, and the process exit closes it anyway.
func (s *session) closeInput() error {
	if s.p != nil && s.p.streamDone != nil {
		select {
		case <-s.p.streamDone:
		default:
			return nil
		}
	}
	return s.in.Close()
}

// close releases everything open, in reverse order; safe after a failed open.
func (s *session) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		_ = s.closers[i]()
	}
	s.closers = nil
}

// openInput opens the input: a local file, stdin, or a remote object
// (https://, s3://bucket/key, or with --pick the newest object under a
// prefix or matching a glob that the state's ledger has not imported).
func (s *session) openInput(ctx context.Context) (*input.File, error) {
	o := s.o
	switch {
	case source.IsRemote(o.Input):
		return s.openRemote(ctx)
	case o.Input == "-":
		// Opening reads the head of stdin, which waits for the producer:
		// a signal must still stop the run there.
		return openInterruptibly(ctx, func() (*input.File, error) {
			if o.State == "" {
				return openInput(o, s.cfg)
			}
			var r io.Reader = os.Stdin
			if o.Stdin != nil {
				r = o.Stdin
			}
			s.stdinHash = &hashingReader{r: r, h: sha256.New()}
			return input.NewReader(s.stdinHash, "stdin", s.cfg.InputOptions())
		})
	case o.Input != "":
		// A file that changes while it is read is an error, not a silent
		// mix of two versions: its size and time are checked at the end.
		stamp, err := source.StampFile(o.Input)
		if err == nil {
			s.stamp = &stamp
		}
	}
	return openInput(o, s.cfg)
}

// openInterruptibly runs open, and returns early with ctx's error when ctx
// ends first: the open may block on a producer that never writes. The
// process exits soon after, ending the open's goroutine with it.
func openInterruptibly(ctx context.Context, open func() (*input.File, error)) (*input.File, error) {
	type opened struct {
		in  *input.File
		err error
	}
	done := make(chan opened, 1)
	go func() {
		in, err := open()
		done <- opened{in, err}
	}()
	select {
	case r := <-done:
		return r.in, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w while waiting for the first lines of stdin", ctx.Err())
	}
}

// openRemote opens an https:// or s3:// input.
func (s *session) openRemote(ctx context.Context) (*input.File, error) {
	o := s.o
	if o.Pick != "" {
		meta, err := s.pick(ctx)
		if err != nil {
			return nil, err
		}
		s.log.Info("--pick: taking this input", "rule", o.Pick, "input", meta.Location,
			"size", meta.Size, "modified", meta.LastModified.UTC().Format(time.RFC3339))
		o.Input = meta.Location
	}
	in, obj, err := openRemoteInput(ctx, o.Input, s.cfg, s.log)
	if err != nil {
		return nil, err
	}
	s.remote = obj
	s.closers = append(s.closers, obj.Close)
	return in, nil
}

// pick chooses the export under a prefix (or matching a glob) to import.
// newest: the newest object, and only if the state has not imported it:
// an older export left behind (a night that failed, a file uploaded late)
// would roll the profiles back to older values, so it is never taken
// instead. oldest: the oldest object not imported yet, to work through a
// backlog in order. Every shard of a night sees the same objects, so with
// no upload during the run they all take the same one.
func (s *session) pick(ctx context.Context) (source.Meta, error) {
	o, opts := s.o, sourceOptions(s.cfg, s.log)
	if o.Pick != "newest" {
		return source.Pick(ctx, o.Input, o.Pick, opts, s.imported)
	}
	newest, err := source.Pick(ctx, o.Input, "newest", opts, func(source.Meta) bool { return false })
	if err != nil {
		return source.Meta{}, err
	}
	if s.imported(newest) {
		return source.Meta{}, fmt.Errorf("%w: the newest input under %s, %s (%s), is in the state's ledger already; "+
			"nothing newer to import (name it as INPUT with --again to import it once more)", ErrAlreadyImported, o.Input, newest.Location, newest.LastModified.UTC().Format(time.RFC3339))
	}
	return newest, nil
}

// openRemoteInput opens an https:// or s3:// location as an input.
func openRemoteInput(ctx context.Context, location string, cfg *mapping.Config, log *slog.Logger) (*input.File, *source.Object, error) {
	obj, err := source.Open(ctx, location, sourceOptions(cfg, log))
	if err != nil {
		return nil, nil, err
	}
	in, err := input.NewReader(obj, obj.Meta().Name, cfg.InputOptions())
	if err != nil {
		obj.Close()
		return nil, nil, err
	}
	return in, obj, nil
}

// sourceOptions are the config's settings for remote inputs.
func sourceOptions(cfg *mapping.Config, log *slog.Logger) source.Options {
	s3 := cfg.Input.S3
	return source.Options{Warn: func(m string) { log.Warn(m) },
		S3: source.S3Options{Endpoint: s3.Endpoint, Region: s3.Region, PathStyle: s3.PathStyle}}
}

// imported reports whether the state's ledger holds an import of the
// object (same location and size): --pick passes over it.
func (s *session) imported(m source.Meta) bool {
	for _, r := range s.ledger {
		if r.Input == m.Location && r.Size == m.Size {
			return true
		}
	}
	return false
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
