package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"importer/internal/fakeapi"
	"importer/internal/importer"
	"importer/internal/state"
)

// The next night's export of the delta scenario, against the night before.
var deltaChurn = Churn{Changed: 0.01, Dropped: 0.001, Added: 0.001}

// Targets of the delta scenario.
const (
	deltaWallRatio   = 1.5  // a delta night's wall time against validate of the same file
	deltaCPURatio    = 1.25 // a first run's CPU with --state against the same run without
	deltaBytesPerKey = 100  // the state file's size over its keys
	deltaHeapBytes   = 64 << 20
)

// deltaFlags are the sending flags of every run of the scenario: batches,
// so that the fake, on the same cores, is not what the runs measure.
var deltaFlags = []string{"--rate", "0", "--concurrency", "0", "--batch-size", "1000"}

// deltaRun is one `importer run` of the delta scenario.
type deltaRun struct {
	res       procResult
	sum       summary
	unchanged int64 // from the summary: rows the state said were sent already
	missing   int64 // from the summary: the state's keys the export lacks
	st        fakeapi.Stats
	sentRows  int64         // profiles the fake received, over every endpoint
	fakeCPU   time.Duration // CPU the fake used during the run; -1 unknown
}

func (d deltaRun) sample() cpuSample {
	return cpuSample{cpu: d.res.CPU, wall: d.res.Wall, rows: d.sum.Rows, gc: d.res.GC, rss: d.res.MaxRSS}
}

// stateFile is a state database's size and keys.
type stateFile struct {
	bytes int64
	keys  int
}

func (f stateFile) perKey() float64 { return float64(f.bytes) / float64(max(f.keys, 1)) }

// delta measures the state database (--state) on two nights of a CRM's
// export: a first run into an empty state against the same run without
// one (CPU), the next night's export against validate of it (wall), what
// the next night sends and reports missing, the state file's bytes per
// key after each night, and the Go heap of every run.
func (r *runner) delta(ctx context.Context, s *Scenario) error {
	n := r.cfg.DeltaRows
	base := GenOptions{Format: CSV, Rows: n, Seed: r.cfg.Seed, Unique: true}
	night1, st1, err := r.deltaData(s, fmt.Sprintf("crm-%d-night1.csv", n), base)
	if err != nil {
		return err
	}
	next := base
	next.Churn = deltaChurn
	night2, st2, err := r.deltaData(s, fmt.Sprintf("crm-%d-night2.csv", n), next)
	if err != nil {
		return err
	}
	db, night1DB := r.out("delta-state.db"), r.out("delta-state.night1.db")
	reps := max(r.cfg.Repeat, 3)
	f, err := r.startFake(ctx, "delta-first")
	if err != nil {
		return err
	}
	s.Commands = append(s.Commands, f.line+" &")
	first, plain, after1, err := r.deltaFirstRuns(ctx, s, f, night1, db, reps)
	fakeRSS := f.stop()
	if err != nil {
		return err
	}
	if err := copyFile(r.path(db), r.path(night1DB)); err != nil {
		return err
	}
	// A fresh fake for the next nights: the first one holds the garbage of
	// millions of profiles, which its collector would sweep and hand back
	// to the system on the cores the timed runs use.
	f, err = r.startFake(ctx, "delta-next")
	if err != nil {
		return err
	}
	s.Commands = append(s.Commands, f.line+" &")
	defer func() {
		s.fig("fakeapi peak RSS", "%s (the first nights), %s (the next nights and the profiles of the gaps)", mib(fakeRSS), mib(f.stop()))
	}()
	nights, validates, after2, err := r.deltaNights(ctx, s, f, night2, db, night1DB, reps)
	if err != nil {
		return err
	}
	gaps := r.deltaReport(s, deltaFigures{
		night1: night1, night2: night2, st1: st1, st2: st2,
		first: first, plain: plain, nights: nights, validates: validates, after1: after1, after2: after2,
	})
	if r.cfg.Profile {
		r.deltaProfiles(ctx, s, f, gaps, night1, night2, db, night1DB)
	}
	return nil
}

// deltaData is r.data for the scenario's exports, which tools/gendata
// cannot write: the command line says what makes them.
func (r *runner) deltaData(s *Scenario, name string, opt GenOptions) (string, GenStats, error) {
	p := r.out(name)
	start := time.Now()
	st, reused, err := ensureData(r.path(p), opt)
	if err != nil {
		return "", st, err
	}
	how := fmt.Sprintf("generated in %.1f s", time.Since(start).Seconds())
	if reused {
		how = "reused from an earlier run (same options, same size)"
	}
	s.Commands = append(s.Commands, fmt.Sprintf("# in process: bench.Generate(%s, GenOptions{Format: %q, Rows: %d, Seed: %d, Unique: true, Churn: %+v})   # %s",
		p, opt.Format, opt.Rows, opt.Seed, opt.Churn, how))
	r.logf("  data %s: %d rows, %s", p, st.Rows, humanBytes(st.Bytes))
	return p, st, nil
}

// deltaFirstRuns runs the first night into an empty state and without a
// state, interleaved, reps times each, and returns the runs and the state
// file the last run with a state left at db.
func (r *runner) deltaFirstRuns(ctx context.Context, s *Scenario, f *fake, night1, db string, reps int) (with, without []deltaRun, after stateFile, err error) {
	for rep := range reps {
		if err := r.removeState(db); err != nil {
			return nil, nil, after, err
		}
		w, err := r.deltaImport(ctx, s, f, "delta-first-state", night1, rep == 0, "--state", db)
		if err != nil {
			return nil, nil, after, err
		}
		with = append(with, w)
		if after, err = r.statFile(db); err != nil {
			return nil, nil, after, err
		}
		wo, err := r.deltaImport(ctx, s, f, "delta-first-nostate", night1, rep == 0)
		if err != nil {
			return nil, nil, after, err
		}
		without = append(without, wo)
	}
	return with, without, after, nil
}

// deltaNights runs the next night against a copy of the first night's
// state, interleaved with validate of the same file, reps times each.
func (r *runner) deltaNights(ctx context.Context, s *Scenario, f *fake, night2, db, night1DB string, reps int) (nights []deltaRun, validates []cpuSample, after stateFile, err error) {
	missing := r.out("delta-missing.csv")
	for rep := range reps {
		if err := r.removeState(db); err != nil {
			return nil, nil, after, err
		}
		if err := copyFile(r.path(night1DB), r.path(db)); err != nil {
			return nil, nil, after, err
		}
		d, err := r.deltaImport(ctx, s, f, "delta-night2", night2, rep == 0, "--state", db, "--missing", missing)
		if err != nil {
			return nil, nil, after, err
		}
		nights = append(nights, d)
		if after, err = r.statFile(db); err != nil {
			return nil, nil, after, err
		}
		args, sumPath := r.validateArgs("delta-night2", r.configs[r.cfg.SendConfig], night2)
		o := runOpts{gctrace: true}
		res, sum, err := r.runImporterWith(ctx, args, sumPath, o)
		if err != nil {
			return nil, nil, after, err
		}
		if rep == 0 {
			s.Commands = append(s.Commands, envPrefix(o)+shellLine("", r.cfg.Importer, args))
		}
		validates = append(validates, cpuSample{cpu: res.CPU, wall: res.Wall, rows: sum.Rows, gc: res.GC, rss: res.MaxRSS})
	}
	return nights, validates, after, nil
}

// deltaImport resets the fake and runs the importer on input with the
// scenario's flags and extra, GODEBUG=gctrace=1 in its environment.
func (r *runner) deltaImport(ctx context.Context, s *Scenario, f *fake, key, input string, show bool, extra ...string) (deltaRun, error) {
	var out deltaRun
	if err := f.reset(ctx); err != nil {
		return out, err
	}
	args, sumPath := r.runArgs(key, f.url, input, append(slices.Clone(deltaFlags), extra...)...)
	r.removeAll(r.out("run-" + key + ".results.csv")) // a previous run's journal and lock
	o := runOpts{gctrace: true}
	cpu0 := f.cpu()
	res, sum, err := r.runImporterWith(ctx, args, sumPath, o)
	out.fakeCPU = cpuDelta(cpu0, f.cpu())
	if show {
		s.Commands = append(s.Commands, envPrefix(o)+shellLine(envImporterToken, r.cfg.Importer, args))
	}
	if err != nil {
		return out, err
	}
	out.res, out.sum = res, sum
	b, err := os.ReadFile(r.path(sumPath))
	if err != nil {
		return out, fmt.Errorf("summary: %w", err)
	}
	var extraSum struct {
		Unchanged int64 `json:"unchanged"`
		Missing   int64 `json:"missing"`
	}
	if err := json.Unmarshal(b, &extraSum); err != nil {
		return out, fmt.Errorf("summary %s: %w", sumPath, err)
	}
	out.unchanged, out.missing = extraSum.Unchanged, extraSum.Missing
	if out.st, err = f.stats(ctx); err != nil {
		return out, err
	}
	for _, es := range out.st.Endpoints {
		out.sentRows += es.Items
	}
	return out, nil
}

// removeState deletes a state database and what lies beside it.
func (r *runner) removeState(db string) error {
	for _, p := range []string{db, db + ".lock", db + ".rebuild.tmp"} {
		if err := os.Remove(r.path(p)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("state %s: %w", p, err)
		}
	}
	return nil
}

// statFile reads a state database's size and counts its keys (read only:
// no fold, no change).
func (r *runner) statFile(db string) (stateFile, error) {
	st, err := state.Open(r.path(db), state.Options{ReadOnly: true})
	if err != nil {
		return stateFile{}, err
	}
	stats, err := st.Stats(0)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return stateFile{}, err
	}
	return stateFile{bytes: stats.FileSize, keys: stats.Keys}, nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copy %s: %w", to, err)
	}
	return nil
}

// deltaFigures is what the scenario measured.
type deltaFigures struct {
	night1, night2 string
	st1, st2       GenStats
	first, plain   []deltaRun // the first night with and without --state
	nights         []deltaRun // the next night with --state
	validates      []cpuSample
	after1, after2 stateFile
}

func samples(runs []deltaRun) []cpuSample {
	out := make([]cpuSample, len(runs))
	for i, d := range runs {
		out[i] = d.sample()
	}
	return out
}

// medianWall is the sample with the median wall time.
func medianWall(s []cpuSample) cpuSample {
	sorted := slices.Clone(s)
	slices.SortFunc(sorted, func(a, b cpuSample) int { return cmp.Compare(a.wall, b.wall) })
	return sorted[(len(sorted)-1)/2]
}

// wallSpread renders the wall times of the samples: "1.23 s (1.20–1.31 over 3 runs)".
func wallSpread(s []cpuSample) string {
	lo, hi := s[0].wall, s[0].wall
	for _, x := range s[1:] {
		lo, hi = min(lo, x.wall), max(hi, x.wall)
	}
	return fmt.Sprintf("%.3f s (%.3f–%.3f over %d runs)", medianWall(s).wall.Seconds(), lo.Seconds(), hi.Seconds(), len(s))
}

// peakOf is the largest Go heap and peak RSS of the samples.
func peakOf(s []cpuSample) (heap, rssKiB int64) {
	rssKiB = -1
	for _, x := range s {
		heap, rssKiB = max(heap, x.gc.PeakHeap), max(rssKiB, x.rss)
	}
	return heap, rssKiB
}

// deltaGaps are the targets missed that a profile can explain.
type deltaGaps struct {
	slowNight   bool // the next night took too long against validate
	costlyFirst bool // the first night's state cost too much CPU
	heap        bool // a run's heap grew too large
	heapNight   bool // that run was a next night's (else a first night's)
}

// deltaReport renders the figures and checks of m and returns the gaps.
func (r *runner) deltaReport(s *Scenario, m deltaFigures) deltaGaps {
	want := m.st2.Changed + m.st2.Added
	s.fig("first night's export", "%s: %d rows, %s, no repeated e-mails", m.night1, m.st1.Rows, humanBytes(m.st1.Bytes))
	s.fig("next night's export", "%s: %d rows, %s: %d changed (%s), %d new (%s), %d gone (%s)", m.night2, m.st2.Rows, humanBytes(m.st2.Bytes),
		m.st2.Changed, pct(float64(m.st2.Changed)/float64(m.st1.Rows)), m.st2.Added, pct(float64(m.st2.Added)/float64(m.st1.Rows)),
		m.st2.Dropped, pct(float64(m.st2.Dropped)/float64(m.st1.Rows)))
	first, plain := samples(m.first), samples(m.plain)
	for _, c := range []struct {
		label string
		runs  []deltaRun
		s     []cpuSample
	}{{"first night, --state (empty)", m.first, first}, {"first night, no --state", m.plain, plain}, {"next night, --state --missing", m.nights, samples(m.nights)}} {
		med := medianSample(c.s)
		heap, rss := peakOf(c.s)
		d := c.runs[len(c.runs)-1]
		s.fig(c.label, "CPU %s a row, %s in all (median), %d collections; wall %s; last run: %d ok, %d unchanged, the fake got %d rows in %d requests and used %s of CPU; largest Go heap %s, peak RSS %s",
			spread(c.s), round(med.cpu), med.gc.Count, wallSpread(c.s), d.sum.OK, d.unchanged, d.sentRows, d.st.Requests, cpuSecs(d.fakeCPU), humanBytes(heap), mib(rss))
	}
	vheap, vrss := peakOf(m.validates)
	s.fig("validate of the next night's export, no --state", "wall %s; CPU %s a row, %d collections; largest Go heap %s, peak RSS %s",
		wallSpread(m.validates), spread(m.validates), medianSample(m.validates).gc.Count, humanBytes(vheap), mib(vrss))
	s.fig("state file after the first night", "%s, %d keys = %.1f bytes a key", humanBytes(m.after1.bytes), m.after1.keys, m.after1.perKey())
	s.fig("state file after the next night", "%s, %d keys = %.1f bytes a key", humanBytes(m.after2.bytes), m.after2.keys, m.after2.perKey())

	// 1. What the next night sends, and how long it takes.
	exact := true
	for _, d := range m.nights {
		exact = exact && d.sentRows == want && d.sum.OK == want
	}
	last := m.nights[len(m.nights)-1]
	s.check("next night: rows sent", fmt.Sprintf("= changed + new = %d + %d", m.st2.Changed, m.st2.Added), exact,
		"%d rows in %d requests, every run (%d ok, %d unchanged)", last.sentRows, last.st.Requests, last.sum.OK, last.unchanged)
	nw, vw := medianWall(samples(m.nights)).wall, medianWall(m.validates).wall
	wr := nw.Seconds() / vw.Seconds()
	s.check("next night with --state: wall time", fmt.Sprintf("≤ %.1f× validate of the same file", deltaWallRatio), wr <= deltaWallRatio,
		"%.2f× (%s vs %s, medians)", wr, round(nw), round(vw))
	// 2. What recording the first night costs.
	wc, pc := medianSample(first), medianSample(plain)
	cr := wc.perRowNs() / pc.perRowNs()
	s.check("first night: importer CPU with --state", fmt.Sprintf("≤ %.2f× the same run without", deltaCPURatio), cr <= deltaCPURatio,
		"%.2f× (%.2f vs %.2f µs a row, medians)", cr, wc.perRowNs()/1e3, pc.perRowNs()/1e3)
	// 3. The state's size on disk and every run's heap.
	for _, a := range []struct {
		when string
		f    stateFile
	}{{"the first night", m.after1}, {"the next night", m.after2}} {
		s.check("state file after "+a.when, fmt.Sprintf("≤ %d bytes a key", deltaBytesPerKey), a.f.perKey() <= deltaBytesPerKey,
			"%.1f (%s, %d keys)", a.f.perKey(), humanBytes(a.f.bytes), a.f.keys)
	}
	heap, which := int64(0), ""
	for _, c := range []struct {
		label string
		s     []cpuSample
	}{{"first night --state", first}, {"next night --state", samples(m.nights)}} {
		if h, _ := peakOf(c.s); h >= heap {
			heap, which = h, c.label
		}
	}
	s.check("Go heap, every run with --state", "≤ 64 MiB", heap <= deltaHeapBytes, "%s (%s)", humanBytes(heap), which)
	// 4. The keys gone.
	s.check("next night --missing", fmt.Sprintf("= the rows gone (%d)", m.st2.Dropped), last.missing == m.st2.Dropped,
		"%d", last.missing)
	s.note("Every run is `importer run` with --rate 0 --concurrency 0 --batch-size 1000 against the fake, "+
		"with the %s mapping (-send-config) and GODEBUG=gctrace=1: batches, so that the fake, which shares the "+
		"cores, is not what the runs measure. The fake is reset before every run, so the rows it got are the run's. "+
		"First night: %d runs into an empty state (the file deleted before each) interleaved with %d runs without "+
		"--state; CPU is the importer's user + system time from wait4, the median run's, with the range. Next night: "+
		"%d runs, each against a copy of the state the first night left, interleaved with %d runs of validate of the "+
		"same file without --state; wall times are the median's. The exports have no repeated e-mails: a key that "+
		"comes twice in an export is sent every night, by design, and would blur the count. Bytes a key: the state "+
		"file's size (bbolt, pages of 4 KiB) over the keys `importer state stats` counts. The largest Go heap is the "+
		"largest heap a gctrace line showed at the start or end of a collection; peak RSS is VmHWM, which counts the "+
		"state file's pages mapped in memory while they are resident. The importer sets a soft memory limit of 48 MiB "+
		"(GOMEMLIMIT overrides it): a live heap near it makes the collector run more often, as the collections show. "+
		"The next nights talk to a fake started afresh, not to the one that stored the first nights' profiles.", r.cfg.SendConfig, len(m.first), len(m.plain), len(m.nights), len(m.validates))
	return deltaGaps{slowNight: wr > deltaWallRatio, costlyFirst: cr > deltaCPURatio,
		heap: heap > deltaHeapBytes, heapNight: which == "next night --state"}
}

// deltaProfiles profiles, in process, the runs whose targets were missed:
// the next night (and validate of its file, the yardstick) for time, the
// first night with --state for CPU, and the run whose heap was largest.
func (r *runner) deltaProfiles(ctx context.Context, s *Scenario, f *fake, gaps deltaGaps, night1, night2, db, night1DB string) {
	type job struct {
		key, input string
		kind       profileKind
		night      bool // the next night: against a copy of the first night's state; else into an empty one
	}
	var jobs []job
	if gaps.slowNight {
		jobs = append(jobs, job{"delta-night2", night2, cpuProfile, true})
	}
	if gaps.costlyFirst {
		jobs = append(jobs, job{"delta-first-state", night1, cpuProfile, false})
	}
	if gaps.heap {
		if gaps.heapNight {
			jobs = append(jobs, job{"delta-night2", night2, heapAtPeak, true})
		} else {
			jobs = append(jobs, job{"delta-first-state", night1, heapAtPeak, false})
		}
	}
	for _, j := range jobs {
		err := r.removeState(db)
		if err == nil && j.night {
			err = copyFile(r.path(night1DB), r.path(db))
		}
		if err == nil {
			err = f.reset(ctx)
		}
		if err != nil {
			s.note("Profiling %s failed: %v", j.key, err)
			continue
		}
		o := r.deltaOptions(f, j.input, db)
		if j.night {
			o.Missing = r.path(r.out("delta-missing.profiled.csv"))
		}
		top, cmds, err := r.profileImporter(ctx, j.key, j.kind, o)
		how := "--state " + db + ", emptied first"
		if j.night {
			how = "--state " + db + " (a copy of the first night's) --missing " + o.Missing
		}
		s.Commands = append(s.Commands, "# the profile below ran with "+how)
		s.Commands = append(s.Commands, cmds...)
		if err != nil {
			s.note("Profiling %s failed: %v", j.key, err)
			continue
		}
		s.Raw += top
	}
	if gaps.slowNight {
		top, cmds, err := r.profileValidate(ctx, "delta-night2", r.configs[r.cfg.SendConfig], night2)
		s.Commands = append(s.Commands, cmds...)
		if err != nil {
			s.note("Profiling validate failed: %v", err)
			return
		}
		s.Raw += top
	}
}

// deltaOptions are the options of an in-process run of the scenario: the
// flags of deltaFlags, the state at db, the token from this run only.
func (r *runner) deltaOptions(f *fake, input, db string) importer.Options {
	zero, conc, batch := 0.0, 0, 1000
	tok := r.token
	return importer.Options{
		Mode: importer.ModeRun, Config: r.configs[r.cfg.SendConfig], Input: input, APIURL: f.url,
		Rate: &zero, Concurrency: &conc, BatchSize: &batch, State: r.path(db),
		Getenv: func(k string) string {
			if k == importer.EnvToken {
				return tok
			}
			return ""
		},
	}
}

func cpuSecs(d time.Duration) string {
	if d < 0 {
		return "?"
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}
