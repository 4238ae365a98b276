package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"importer/internal/cputime"
)

// cpuSample is one measured run: its CPU time and rows.
type cpuSample struct {
	cpu, wall time.Duration
	rows      int64
	gc        gcStats
	rss       int64 // KiB, -1 unknown
}

// perRowNs is the sample's CPU per row in nanoseconds.
func (c cpuSample) perRowNs() float64 { return float64(c.cpu.Nanoseconds()) / float64(max(c.rows, 1)) }

// medianSample is the sample with the median CPU per row (the lower
// middle one of an even count).
func medianSample(s []cpuSample) cpuSample {
	sorted := slices.Clone(s)
	slices.SortFunc(sorted, func(a, b cpuSample) int {
		switch {
		case a.perRowNs() < b.perRowNs():
			return -1
		case a.perRowNs() > b.perRowNs():
			return 1
		}
		return 0
	})
	return sorted[(len(sorted)-1)/2]
}

// spread renders the CPU per row of the samples: "1.23 µs (1.20–1.31)".
func spread(s []cpuSample) string {
	lo, hi := s[0].perRowNs(), s[0].perRowNs()
	for _, x := range s[1:] {
		lo, hi = min(lo, x.perRowNs()), max(hi, x.perRowNs())
	}
	m := medianSample(s).perRowNs()
	if len(s) == 1 {
		return fmt.Sprintf("%.2f µs", m/1e3)
	}
	return fmt.Sprintf("%.2f µs (%.2f–%.2f over %d runs)", m/1e3, lo/1e3, hi/1e3, len(s))
}

// cpu compares the CPU per row of `importer validate` with the 10-column
// mapping against the hand-written loop that writes the same bytes, and
// with a phone column against the same run without it. Contenders run
// at least cpuRepeat times, interleaved, and the medians are compared.
//
// On this kind of machine (2 vCPUs shared with other tenants) a run that
// keeps both cores busy is the one a neighbour's burst hits hardest: the
// importer's CPU per row moved by up to 50% between runs of the same
// binary, the one-goroutine loop's by 25%. Five runs make the median
// robust to one or two such runs; the one-core run shows the code's own
// cost apart from the cost of running on both cores at once.
func (r *runner) cpu(ctx context.Context, s *Scenario) error {
	n := r.cfg.CPURows
	in, st, err := r.data(s, fmt.Sprintf("crm-%d.csv", n), GenOptions{Format: CSV, Rows: n, Seed: r.cfg.Seed})
	if err != nil {
		return err
	}
	type contender struct {
		key, label, config string
		opts               runOpts
		samples            []cpuSample
		sum                summary
		results            string
	}
	cs := []*contender{
		{key: "mapped", label: "importer validate, 10-column mapping", config: r.configs[MapMapped]},
		{key: "mapped-phone", label: "importer validate, the same with phones parsed", config: r.configs[MapMappedPhone]},
		{key: "mapped-gogc100", label: "importer validate, 10-column mapping, GOGC=100 (Go's default)", config: r.configs[MapMapped],
			opts: runOpts{env: []string{"GOGC=100"}}},
		{key: "mapped-1core", label: "importer validate, 10-column mapping, one core (GOMAXPROCS=1)", config: r.configs[MapMapped],
			opts: runOpts{env: []string{"GOMAXPROCS=1"}}},
	}
	handOut := r.out("hand.results.csv")
	var hand []cpuSample
	var handStats handStats
	reps := max(r.cfg.Repeat, cpuRepeat)
	for rep := range reps {
		f, err := os.Create(r.path(handOut))
		if err != nil {
			return err
		}
		cpu0, start := cputime.Self(), time.Now()
		handStats, err = handValidate(r.path(in), f, nil)
		cpu, wall := cpuDelta(cpu0, cputime.Self()), time.Since(start)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		r.logf("  hand loop: %d rows, %.2f µs CPU per row", handStats.Rows, float64(cpu.Nanoseconds())/float64(handStats.Rows)/1e3)
		hand = append(hand, cpuSample{cpu: cpu, wall: wall, rows: handStats.Rows, rss: -1})
		for _, c := range cs {
			c.opts.gctrace = true
			args, sumPath := r.validateArgs(c.key, c.config, in)
			res, sum, err := r.runImporterWith(ctx, args, sumPath, c.opts)
			if err != nil {
				return err
			}
			if rep == 0 {
				s.Commands = append(s.Commands, envPrefix(c.opts)+shellLine("", r.cfg.Importer, args))
			}
			c.sum, c.results = sum, args[slices.Index(args, "--results")+1]
			c.samples = append(c.samples, cpuSample{cpu: res.CPU, wall: res.Wall, rows: sum.Rows, gc: res.GC, rss: res.MaxRSS})
		}
	}
	s.Commands = append(s.Commands, fmt.Sprintf("# hand loop: in process, one goroutine: handValidate (tools/bench/hand.go) reads %s, builds each row's request body (dropped) and writes %s", in, handOut))
	same, err := sameFile(r.path(handOut), r.path(cs[0].results))
	if err != nil {
		return err
	}
	if !same {
		return fmt.Errorf("the hand loop's journal %s differs from the importer's %s: the yardstick no longer writes the same bytes", handOut, cs[0].results)
	}
	s.fig("file", "%s: %d rows × 10 columns, %s", in, st.Rows, humanBytes(st.Bytes))
	s.fig("hand-written loop (yardstick)", "%s CPU per row, one goroutine; %d rows, %.0f bytes of request bodies a row; journal identical to the importer's",
		spread(hand), handStats.Rows, float64(handStats.PayloadBytes)/float64(max(handStats.Rows, 1)))
	for _, c := range cs {
		m := medianSample(c.samples)
		s.fig(c.label, "%s CPU per row = %.2f× the hand loop (%d valid, %d invalid; %s wall, %.2f cores busy; %d collections, largest heap %s; peak RSS %s)",
			spread(c.samples), m.perRowNs()/medianSample(hand).perRowNs(), c.sum.Valid, c.sum.Invalid, round(m.wall), m.cpu.Seconds()/m.wall.Seconds(),
			m.gc.Count, humanBytes(m.gc.PeakHeap), mib(m.rss))
	}
	base, phone, handM := medianSample(cs[0].samples), medianSample(cs[1].samples), medianSample(hand)
	ratio := base.perRowNs() / handM.perRowNs()
	s.check("validate, 10-column mapping: CPU per row", "≤ 2× a hand-written loop writing the same bytes", ratio <= 2,
		"%.2f× (%.2f vs %.2f µs)", ratio, base.perRowNs()/1e3, handM.perRowNs()/1e3)
	pr := phone.perRowNs() / base.perRowNs()
	s.check("validate with a type: phone column", "≤ 2.5× the CPU of the same run without it", pr <= 2.5,
		"%.2f× (%.2f vs %.2f µs per row)", pr, phone.perRowNs()/1e3, base.perRowNs()/1e3)
	s.note("CPU per row: the importer's user + system time from wait4 (the whole process: start, config, reading, "+
		"mapping on every core, the journal and the rejects) over the rows of its summary; the hand loop's from "+
		"getrusage of this process around it. Each contender ran %d times, interleaved; the figure is the median "+
		"run's, with the range. The hand loop is code written for this one mapping (tools/bench/hand.go): it reads "+
		"the file on one goroutine with a small CSV reader that keeps quoted bytes as the importer does, trims, "+
		"lower-cases and checks the e-mail, reparses the date, maps the gender and the subscription status, splits the "+
		"city, JSON-encodes each row's request body and writes the same journal; its journal is compared with the "+
		"importer's byte for byte in every run, and its bodies with --payloads in TestHandValidateMatchesImporter. "+
		"Collections and the largest heap come from GODEBUG=gctrace=1. The importer sets a soft memory limit of "+
		"48 MiB and GOGC 400 under it; the GOGC=100 run shows what that higher collector target saves. The one-core "+
		"run shows the importer's own work apart from running on both cores at once, which on this shared machine "+
		"costs every busy core some speed.", reps)
	return nil
}

// cpuRepeat is the fewest runs of each contender of the cpu scenario.
const cpuRepeat = 5

// sameFile reports whether two files hold the same bytes, reading both
// in step.
func sameFile(a, b string) (bool, error) {
	fa, err := os.Open(a)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	ba, bb := make([]byte, 64<<10), make([]byte, 64<<10)
	for {
		na, ea := io.ReadFull(fa, ba)
		nb, eb := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		switch {
		case ea == io.EOF || ea == io.ErrUnexpectedEOF:
			return eb == io.EOF || eb == io.ErrUnexpectedEOF, nil
		case ea != nil:
			return false, ea
		case eb != nil && eb != io.EOF && eb != io.ErrUnexpectedEOF:
			return false, eb
		}
	}
}
