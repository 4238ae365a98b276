package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"importer/internal/importer"
)

// profileKind is what profileImporter records.
type profileKind int

const (
	cpuProfile profileKind = iota // CPU time, whole run
	heapAtPeak                    // the heap profile taken when the heap was largest
)

// profileImporter runs importer.Run, the code the binary runs, in this
// process under a profiler, and returns the top of the profile, plus the
// commands that show it. o's Results is set under Out and deleted
// afterwards; rejects are not written. The token, when o needs one, comes
// from o.Getenv, never from a file or argv.
func (r *runner) profileImporter(ctx context.Context, key string, kind profileKind, o importer.Options) (string, []string, error) {
	suffix, what := ".cpu.pprof", "runtime/pprof CPU profile"
	if kind == heapAtPeak {
		suffix, what = ".heap.pprof", "heap profile taken at the largest heap seen (polled every 50 ms)"
	}
	prof := r.out(key + suffix)
	results := r.out(key + ".profiled.results.csv")
	r.logf("  profiling %s in process → %s", key, prof)
	o.Results, o.Rejects, o.Progress, o.Stderr = r.path(results), "-", "none", io.Discard
	o.Config, o.Input = r.path(o.Config), r.path(o.Input)
	f, err := os.Create(r.path(prof))
	if err != nil {
		return "", nil, fmt.Errorf("profile: %w", err)
	}
	var runErr error
	switch kind {
	case cpuProfile:
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return "", nil, fmt.Errorf("profile: %w", err)
		}
		_, runErr = importer.Run(ctx, o)
		pprof.StopCPUProfile()
	case heapAtPeak:
		var peak []byte
		runErr = watchHeap(func() error { _, err := importer.Run(ctx, o); return err }, &peak)
		_, err = f.Write(peak)
	}
	r.removeAll(results)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", nil, fmt.Errorf("profile: %w", err)
	}
	if runErr != nil && !errors.Is(runErr, importer.ErrRowErrors) {
		return "", nil, fmt.Errorf("profile %s: %w", key, runErr)
	}
	desc := fmt.Sprintf("# profile: importer.Run(%s -c %s %s", o.Mode, o.Config, o.Input)
	if o.Mode == importer.ModeRun {
		desc += fmt.Sprintf(" --rate %v --concurrency %v --batch-size %v, the token from the environment", deref(o.Rate), deref(o.Concurrency), deref(o.BatchSize))
	}
	cmds := []string{desc + ") in process, " + what + " → " + prof}
	sorts := [][]string{{"-top"}, {"-top", "-cum"}}
	if kind == heapAtPeak {
		sorts = [][]string{{"-top", "-sample_index=inuse_space"}, {"-top", "-cum", "-sample_index=inuse_space"}}
	}
	var out strings.Builder
	for _, sortBy := range sorts {
		args := append(append([]string{"tool", "pprof"}, sortBy...), "-nodecount=25", prof)
		cmds = append(cmds, shellLine("", r.cfg.Go, args))
		cmd := exec.CommandContext(ctx, r.cfg.Go, args...)
		cmd.Dir = r.cfg.Dir
		cmd.Env = childEnv()
		b, err := cmd.Output()
		if err != nil {
			return "", cmds, fmt.Errorf("profile: go tool pprof: %w", err)
		}
		fmt.Fprintf(&out, "$ %s\n", shellLine("", r.cfg.Go, args))
		for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
			switch {
			case strings.HasPrefix(line, "File:"), strings.HasPrefix(line, "Build ID:"),
				strings.HasPrefix(line, "Type:"), strings.HasPrefix(line, "Time:"):
				continue // the same for every profile, or noise
			}
			out.WriteString(line + "\n")
		}
	}
	return out.String(), cmds, nil
}

// watchHeap runs fn while polling the heap every 50 ms, and leaves in
// *peak the heap profile taken when the heap in use was the largest seen.
// A heap profile describes the heap as of the last GC, which is when the
// live heap is measured anyway.
func watchHeap(fn func() error, peak *[]byte) error {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var top uint64
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(samples)
			if v := samples[0].Value.Uint64(); v > top+top/20 { // 5% above the last snapshot
				var buf bytes.Buffer
				if pprof.Lookup("heap").WriteTo(&buf, 0) == nil {
					top, *peak = v, buf.Bytes()
				}
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	err := fn()
	close(done)
	wg.Wait()
	return err
}

func deref[T any](p *T) any {
	if p == nil {
		return "(config)"
	}
	return *p
}

// profileValidate profiles `importer validate -c config input`.
func (r *runner) profileValidate(ctx context.Context, key, config, input string) (string, []string, error) {
	return r.profileImporter(ctx, "validate-"+key, cpuProfile, importer.Options{Mode: importer.ModeValidate, Config: config, Input: input})
}

// profileRun profiles `importer run` against the fake, unlimited, with
// the given batch size and concurrency (0 = auto).
func (r *runner) profileRun(ctx context.Context, f *fake, key, input string, batch, conc int, kind profileKind) (string, []string, error) {
	if err := f.reset(ctx); err != nil {
		return "", nil, err
	}
	zero, b := 0.0, batch
	tok := r.token
	return r.profileImporter(ctx, "run-"+key, kind, importer.Options{
		Mode: importer.ModeRun, Config: r.configs[r.cfg.SendConfig], Input: input, APIURL: f.url,
		Rate: &zero, Concurrency: &conc, BatchSize: &b,
		Getenv: func(k string) string {
			if k == importer.EnvToken {
				return tok
			}
			return "" // nothing else from this process's environment
		},
	})
}
