package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"importer/internal/cputime"
	"importer/internal/fakeapi"
)

// CPU-per-row targets of `importer run` against the bare senders.
const (
	maxOneCPURatio   = 1.3 // one profile per call vs the bare keep-alive client, per request
	maxBatchCPURatio = 2.5 // --batch-size 1000 vs the bare batch sender, per row
)

// sendGap is a run to profile when its target is missed.
type sendGap struct {
	key, input  string
	batch, conc int
	kind        profileKind
}

// send compares `importer run`, one profile per call and in batches, with
// bare senders doing the least a Go program can do for the same output:
// the request rate against the bare keep-alive client, and the CPU per row
// of each against its yardstick, interleaved runs, medians compared.
func (r *runner) send(ctx context.Context, s *Scenario) error {
	in, _, err := r.data(s, fmt.Sprintf("crm-%d.csv", r.cfg.SendRows), GenOptions{Format: CSV, Rows: r.cfg.SendRows, Seed: r.cfg.Seed})
	if err != nil {
		return err
	}
	big, _, err := r.data(s, fmt.Sprintf("crm-%d.csv", r.cfg.BatchRows), GenOptions{Format: CSV, Rows: r.cfg.BatchRows, Seed: r.cfg.Seed})
	if err != nil {
		return err
	}
	payloads := r.out("send.payloads.jsonl")
	args, _ := r.validateArgs("payloads", r.configs[r.cfg.SendConfig], in, "--payloads", payloads)
	if _, _, err := r.runImporter(ctx, args, ""); err != nil {
		return err
	}
	s.Commands = append(s.Commands, shellLine("", r.cfg.Importer, args)+"   # the bodies of the bare client")
	bodies, err := readBodies(r.path(payloads), r.token)
	if err != nil {
		return err
	}
	f, err := r.startFake(ctx, "send")
	if err != nil {
		return err
	}
	s.Commands = append(s.Commands, f.line+" &")
	defer func() { s.fig("fakeapi peak RSS", "%s", mib(f.stop())) }()
	// Repeated importer runs print the same command: keep one of each.
	defer func() { s.Commands = slices.Compact(s.Commands) }()

	best, bestConc, err := r.bareSweep(ctx, s, f, payloads, bodies)
	if err != nil {
		return err
	}
	one, err := r.importerRun(ctx, s, f, "batch1", in, "--rate", "0", "--concurrency", "0", "--batch-size", "1")
	if err != nil {
		return err
	}
	reqRate := float64(one.sum.Requests) / one.res.Wall.Seconds()
	rows1 := float64(one.sum.Rows) / one.res.Wall.Seconds()
	s.fig("importer run, one profile per call, --rate 0, auto concurrency", "%s requests (%s rows) in %s; %d ok, %d invalid; peak RSS %s; %s; CPU per row: importer %s, fakeapi %s",
		perSec(reqRate), perSec(rows1), one.res.Wall.Round(time.Millisecond), one.sum.OK, one.sum.Invalid, mib(one.res.MaxRSS),
		cpuSplit(one.res.Wall, one.res.CPU, one.fakeCPU, "importer"), perRow(one.res.CPU, one.sum.Rows), perRow(one.fakeCPU, one.sum.Rows))
	okRate := reqRate >= 0.5*best.Rate()
	s.check("run one profile per call vs bare client", "≥ 50% of the bare request rate", okRate,
		"%s (%s vs %s at %d goroutines)", pct(reqRate/best.Rate()), perSec(reqRate), perSec(best.Rate()), bestConc)

	rss := peakRun{one.res.MaxRSS, sendGap{"batch1", in, 1, 0, heapAtPeak}}
	var gaps []sendGap
	okOne, err := r.oneCPU(ctx, s, f, in, bodies, bestConc, best.Rate(), &rss)
	if err != nil {
		return err
	}
	if !okOne {
		gaps = append(gaps, sendGap{"batch1", in, 1, bestConc, cpuProfile})
	}

	run, err := r.importerRun(ctx, s, f, "batch100", big, "--rate", "0", "--concurrency", "0", "--batch-size", "100")
	if err != nil {
		return err
	}
	rss.track(run, sendGap{"batch100", big, 100, 0, heapAtPeak})
	s.fig("importer run, --batch-size 100, auto concurrency", "%s rows = %.1f× one-profile calls (%d rows, %d requests, %d profiles stored, %s; peak RSS %s; %s; CPU per row: importer %s, fakeapi %s)",
		perSec(rowRate(run)), rowRate(run)/rows1, run.sum.Rows, run.sum.Requests, run.st.Profiles, run.res.Wall.Round(time.Millisecond), mib(run.res.MaxRSS),
		cpuSplit(run.res.Wall, run.res.CPU, run.fakeCPU, "importer"), perRow(run.res.CPU, run.sum.Rows), perRow(run.fakeCPU, run.sum.Rows))

	okBatch, err := r.batchCPU(ctx, s, f, big, rows1, &rss)
	if err != nil {
		return err
	}
	if !okBatch {
		gaps = append(gaps, sendGap{"batch1000", big, 1000, r.cfg.BatchConcurrency, cpuProfile})
	}
	if err := r.sendAtRate(ctx, s, f, big, &rss); err != nil {
		return err
	}
	s.note("The runs map with the %s mapping (-send-config), so that they measure sending; phone parsing is the "+
		"validate scenario's. Rates are over the importer's whole process wall time. Rows/s count every row read, "+
		"invalid ones included; requests/s count the HTTP requests the summary reports. "+
		"The fake is reset (store emptied) before every contender, so each one creates the same profiles. "+
		"CPU seconds: the importer's from wait4 (the whole process: start, config, reading, mapping, sending, the journal), "+
		"the bare senders' from getrusage(RUSAGE_SELF) of this process around them, "+
		"the fake's from /proc/PID/stat before and after: client and server share the same cores.", r.cfg.SendConfig)
	okRSS := rss.kib >= 0 && rss.kib <= maxRSSKiB
	s.check("peak RSS, run (the largest of the runs above)", "≤ 64 MiB", okRSS, "%s (--batch-size %d, %s)", mib(rss.kib), rss.run.batch, rss.run.input)
	if !okRSS {
		gaps = append(gaps, rss.run)
	}
	if r.cfg.Profile {
		r.profileGaps(ctx, s, f, gaps)
	}
	return nil
}

// peakRun is the largest peak RSS of the runs and the run that reached it:
// the memory target holds for run as much as for validate.
type peakRun struct {
	kib int64
	run sendGap
}

func (p *peakRun) track(s sent, run sendGap) {
	if s.res.MaxRSS > p.kib {
		p.kib, p.run = s.res.MaxRSS, run
	}
}

func rowRate(s sent) float64 { return float64(s.sum.Rows) / s.res.Wall.Seconds() }

// bareSweep runs the bare keep-alive client at each of BareConcurrency and
// returns the best result and its concurrency.
func (r *runner) bareSweep(ctx context.Context, s *Scenario, f *fake, payloads string, bodies [][]byte) (clientResult, int, error) {
	var best clientResult
	bestConc := 0
	for _, conc := range r.cfg.BareConcurrency {
		if err := f.reset(ctx); err != nil {
			return best, 0, err
		}
		self0, fake0 := cputime.Self(), f.cpu()
		res, err := bareClient(ctx, f.url+fakeapi.APIPrefix+"import", bodies, conc)
		self, fakeCPU := cpuDelta(self0, cputime.Self()), cpuDelta(fake0, f.cpu())
		if err != nil {
			return best, 0, err
		}
		r.logf("  bare client, %d goroutines: %d requests in %s = %.0f/s", conc, res.Requests, res.Elapsed.Round(time.Millisecond), res.Rate())
		s.fig(fmt.Sprintf("bare keep-alive client, %d goroutines", conc), "%s (%d requests, %d errors; %s)",
			perSec(res.Rate()), res.Requests, res.Errors, cpuSplit(res.Elapsed, self, fakeCPU, "client"))
		if res.Rate() > best.Rate() || bestConc == 0 {
			best, bestConc = res, conc
		}
	}
	s.Commands = append(s.Commands, fmt.Sprintf("# bare: in process, for each of %v goroutines: POST the %d bodies of %s once each to %s%simport over one keep-alive http.Transport",
		r.cfg.BareConcurrency, len(bodies), payloads, f.url, fakeapi.APIPrefix))
	return best, bestConc, nil
}

// oneCPU compares the CPU per request of `importer run --batch-size 1` at
// conc requests in flight with the bare keep-alive client sending the
// importer's own bodies from as many goroutines: Repeat runs of each,
// interleaved, medians compared. It reports whether the target holds.
func (r *runner) oneCPU(ctx context.Context, s *Scenario, f *fake, in string, bodies [][]byte, conc int, bestRate float64, rss *peakRun) (bool, error) {
	var bare, imp []cpuSample
	var runs []sent
	key := "batch1-c" + strconv.Itoa(conc)
	for range r.cfg.Repeat {
		if err := f.reset(ctx); err != nil {
			return false, err
		}
		self0 := cputime.Self()
		res, err := bareClient(ctx, f.url+fakeapi.APIPrefix+"import", bodies, conc)
		self := cpuDelta(self0, cputime.Self())
		if err != nil {
			return false, err
		}
		bare = append(bare, cpuSample{cpu: self, wall: res.Elapsed, rows: res.Requests, rss: -1})
		run, err := r.importerRun(ctx, s, f, key, in, "--rate", "0", "--concurrency", strconv.Itoa(conc), "--batch-size", "1")
		if err != nil {
			return false, err
		}
		if run.sum.OK != int64(len(bodies)) {
			return false, fmt.Errorf("importer run %s stored %d rows, the bare client sends %d bodies: they no longer send the same", key, run.sum.OK, len(bodies))
		}
		rss.track(run, sendGap{key, in, 1, conc, heapAtPeak})
		runs = append(runs, run)
		imp = append(imp, cpuSample{cpu: run.res.CPU, wall: run.res.Wall, rows: run.sum.OK, rss: run.res.MaxRSS})
		r.logf("  one profile per call, %d in flight: bare %.2f µs, importer %.2f µs CPU per request", conc, bare[len(bare)-1].perRowNs()/1e3, imp[len(imp)-1].perRowNs()/1e3)
	}
	b, m := medianSample(bare), medianSample(imp)
	ratio := m.perRowNs() / b.perRowNs()
	rate := float64(m.rows) / m.wall.Seconds()
	s.fig(fmt.Sprintf("bare keep-alive client, %d goroutines: CPU per request", conc), "%s", spread(bare))
	s.fig(fmt.Sprintf("importer run, one profile per call, --rate 0, --concurrency %d", conc), "%s CPU per request = %.2f× the bare client; median run %s requests = %s of the best bare rate; %.2f cores busy",
		spread(imp), ratio, perSec(rate), pct(rate/bestRate), m.cpu.Seconds()/m.wall.Seconds())
	ok := ratio <= maxOneCPURatio
	s.check("run one profile per call: CPU per request vs the bare keep-alive client", fmt.Sprintf("≤ %.1f×", maxOneCPURatio), ok,
		"%.2f× (%.2f vs %.2f µs, %d goroutines)", ratio, m.perRowNs()/1e3, b.perRowNs()/1e3, conc)
	return ok, nil
}

// batchCPU compares the CPU per row of `importer run --batch-size 1000`
// with the bare batch sender, the same concurrency for both: Repeat runs
// of each, interleaved, medians compared. It reports whether the target
// holds; the bare sender is written for the text mapping, so with another
// -send-config there is nothing to compare and it reports true.
func (r *runner) batchCPU(ctx context.Context, s *Scenario, f *fake, big string, rows1 float64, rss *peakRun) (bool, error) {
	const batch = 1000
	conc := r.cfg.BatchConcurrency
	key := fmt.Sprintf("batch%d-c%d", batch, conc)
	compare := r.cfg.SendConfig == MapText
	var bare, imp, zipped []cpuSample
	var bareFake, impFake []time.Duration
	var wire, body int64 // bytes of the compressed runs' bodies: sent, and as read
	bareOut := r.out("bare-batch.results.csv")
	gzConfig, err := r.gzipConfig()
	if err != nil {
		return false, err
	}
	for range r.cfg.Repeat {
		if compare {
			smp, fakeCPU, err := r.bareBatchRun(ctx, f, big, bareOut, batch, conc)
			if err != nil {
				return false, err
			}
			bare, bareFake = append(bare, smp), append(bareFake, fakeCPU)
		}
		run, err := r.importerRun(ctx, s, f, key, big, "--rate", "0", "--concurrency", strconv.Itoa(conc), "--batch-size", strconv.Itoa(batch))
		if err != nil {
			return false, err
		}
		if compare && run.sum.Rows != bare[len(bare)-1].rows {
			return false, fmt.Errorf("importer run %s read %d rows, the bare batch sender %d", key, run.sum.Rows, bare[len(bare)-1].rows)
		}
		rss.track(run, sendGap{key, big, batch, conc, heapAtPeak})
		imp, impFake = append(imp, cpuSample{cpu: run.res.CPU, wall: run.res.Wall, rows: run.sum.Rows, rss: run.res.MaxRSS}), append(impFake, run.fakeCPU)
		gz, err := r.importerRunWith(ctx, s, f, gzConfig, key+"-gzip", big, "--rate", "0", "--concurrency", strconv.Itoa(conc), "--batch-size", strconv.Itoa(batch))
		if err != nil {
			return false, err
		}
		zipped = append(zipped, cpuSample{cpu: gz.res.CPU, wall: gz.res.Wall, rows: gz.sum.Rows, rss: gz.res.MaxRSS})
		es := gz.st.Endpoints["import_batch"]
		wire, body = es.WireBytes, es.BodyBytes
		if compare {
			lb, li := bare[len(bare)-1], imp[len(imp)-1]
			r.logf("  --batch-size %d, %d in flight: bare %.2f µs CPU per row in %s, importer %.2f µs in %s", batch, conc, lb.perRowNs()/1e3, round(lb.wall), li.perRowNs()/1e3, round(li.wall))
		}
	}
	m := medianSample(imp)
	rate := float64(m.rows) / m.wall.Seconds()
	s.fig(fmt.Sprintf("importer run, --batch-size %d, --concurrency %d", batch, conc), "%s CPU per row; median run %s rows = %.1f× one-profile calls (%d rows, %s; %.2f cores busy; fakeapi %s CPU per row)",
		spread(imp), perSec(rate), rate/rows1, m.rows, round(m.wall), m.cpu.Seconds()/m.wall.Seconds(), perRow(medianDur(impFake), m.rows))
	z := medianSample(zipped)
	s.fig(fmt.Sprintf("importer run, --batch-size %d, --concurrency %d, api.compress: gzip", batch, conc),
		"%s CPU per row = %+.2f µs a row over the uncompressed runs; bodies %.1f× smaller on the wire (%s sent for %s of JSON, counted by the fake)",
		spread(zipped), (z.perRowNs()-m.perRowNs())/1e3, float64(body)/float64(max(wire, 1)), humanBytes(wire), humanBytes(body))
	s.note("api.compress: gzip (off by default) is measured, not judged: gzip level 1 in the importer, the fake decompressing. " +
		"It pays only where the link, not the CPU, is the limit.")
	if !compare {
		s.note("No batch CPU comparison: the bare batch sender builds items for the text mapping, the runs use %s.", r.cfg.SendConfig)
		return true, nil
	}
	b := medianSample(bare)
	ratio := m.perRowNs() / b.perRowNs()
	s.fig("bare batch sender (yardstick)", "%s CPU per row; %s rows/s in the median run (fakeapi %s CPU per row)",
		spread(bare), perSec(float64(b.rows)/b.wall.Seconds()), perRow(medianDur(bareFake), b.rows))
	s.Commands = append(s.Commands, fmt.Sprintf("# bare batch sender: in process, bareBatchSend (tools/bench/handsend.go) reads %s, builds each row's item for text.yaml, "+
		"POSTs batches of %d from %d goroutines over one keep-alive http.Transport to %s%simport_batch, writes %s", big, batch, conc, f.url, fakeapi.APIPrefix, bareOut))
	ok := ratio <= maxBatchCPURatio
	s.check(fmt.Sprintf("run --batch-size %d: CPU per row vs a bare batch sender", batch), fmt.Sprintf("≤ %.1f×", maxBatchCPURatio), ok,
		"%.2f× (%.2f vs %.2f µs, %d in flight)", ratio, m.perRowNs()/1e3, b.perRowNs()/1e3, conc)
	s.note("CPU per row of batches: each contender ran %d times, interleaved, the fake reset before each; the figures are "+
		"the median run's, with the range. The bare batch sender (tools/bench/handsend.go) reads the file with a small CSV "+
		"reader, builds each row's item by code written for the text mapping, POSTs the batches and scans each reply for "+
		"the items' results, writing one journal line per row; TestBareBatchSenderMatchesImporter checks that it sends the "+
		"importer's envelope and items and writes the importer's journal lines.", r.cfg.Repeat)
	return ok, nil
}

// gzipConfig writes the send config with api.compress: gzip beside it and
// returns its path.
func (r *runner) gzipConfig() (string, error) {
	src := r.configs[r.cfg.SendConfig]
	b, err := os.ReadFile(r.path(src))
	if err != nil {
		return "", fmt.Errorf("gzip config: %w", err)
	}
	if !bytes.Contains(b, []byte("\napi:\n")) {
		return "", fmt.Errorf("gzip config: %s has no top-level api: section to add compress to", src)
	}
	b = bytes.Replace(b, []byte("\napi:\n"), []byte("\napi:\n  compress: gzip\n"), 1)
	p := strings.TrimSuffix(src, ".yaml") + "-gzip.yaml"
	if err := os.WriteFile(r.path(p), b, 0o644); err != nil {
		return "", fmt.Errorf("gzip config: %w", err)
	}
	return p, nil
}

// bareBatchRun runs the bare batch sender once on a reset fake, writing
// its result lines to out, and returns its CPU sample and the fake's CPU.
func (r *runner) bareBatchRun(ctx context.Context, f *fake, in, out string, batch, conc int) (cpuSample, time.Duration, error) {
	if err := f.reset(ctx); err != nil {
		return cpuSample{}, 0, err
	}
	w, err := os.Create(r.path(out))
	if err != nil {
		return cpuSample{}, 0, err
	}
	self0, fake0 := cputime.Self(), f.cpu()
	res, err := bareBatchSend(ctx, f.url+fakeapi.APIPrefix+"import_batch", r.token, r.path(in), batch, conc, w)
	self, fakeCPU := cpuDelta(self0, cputime.Self()), cpuDelta(fake0, f.cpu())
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return cpuSample{cpu: self, wall: res.Elapsed, rows: res.Rows, rss: -1}, fakeCPU, err
}

// medianDur is the median of ds (the lower middle one of an even count).
func medianDur(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return -1
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	return sorted[(len(sorted)-1)/2]
}

// sendAtRate is the batch lever as users meet it: an API's rate limit caps
// requests, not rows (API rate × batch size = rows/s).
func (r *runner) sendAtRate(ctx context.Context, s *Scenario, f *fake, big string, rss *peakRun) error {
	const apiRate = 50
	n := min(500, r.cfg.SendRows) // 10 s at 50/s
	small, _, err := r.data(s, fmt.Sprintf("crm-%d.csv", n), GenOptions{Format: CSV, Rows: n, Seed: r.cfg.Seed})
	if err != nil {
		return err
	}
	lim1, err := r.importerRun(ctx, s, f, "rate50-batch1", small, "--rate", strconv.Itoa(apiRate), "--batch-size", "1")
	if err != nil {
		return err
	}
	lim1000, err := r.importerRun(ctx, s, f, "rate50-batch1000", big, "--rate", strconv.Itoa(apiRate), "--batch-size", "1000")
	if err != nil {
		return err
	}
	rss.track(lim1000, sendGap{"rate50-batch1000", big, 1000, 0, heapAtPeak})
	limRows1, limRows1000 := rowRate(lim1), rowRate(lim1000)
	s.fig(fmt.Sprintf("importer run at --rate %d, one profile per call", apiRate), "%s rows (%d rows in %s)",
		perSec(limRows1), lim1.sum.Rows, lim1.res.Wall.Round(time.Millisecond))
	s.fig(fmt.Sprintf("importer run at --rate %d, --batch-size 1000", apiRate), "%s rows = %.0f× one-profile calls (%d rows, %d requests in %s)",
		perSec(limRows1000), limRows1000/limRows1, lim1000.sum.Rows, lim1000.sum.Requests, lim1000.res.Wall.Round(time.Millisecond))
	s.check(fmt.Sprintf("run --batch-size 1000 vs one profile per call, at --rate %d", apiRate), "≥ 20× the rows/s", limRows1000 >= 20*limRows1,
		"%.0f× (%s vs %s)", limRows1000/limRows1, perSec(limRows1000), perSec(limRows1))
	return nil
}

// profileGaps profiles, in process, the runs whose target was missed and
// puts the top of each profile in the report.
func (r *runner) profileGaps(ctx context.Context, s *Scenario, f *fake, gaps []sendGap) {
	for _, g := range gaps {
		top, cmds, err := r.profileRun(ctx, f, g.key, g.input, g.batch, g.conc, g.kind)
		s.Commands = append(s.Commands, cmds...)
		if err != nil {
			s.note("Profiling run %s failed: %v", g.key, err)
			continue
		}
		s.Raw += top
	}
}
