package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"importer/internal/metrics"
	"importer/internal/notify"
	"importer/internal/report"
	"importer/internal/results"
	"importer/internal/sender"
)

// sampleEvery is the run report's sampling interval: a 10M-row run's
// report stays small because the recorder merges neighbours past ~2,000
// points, not because it samples rarely.
const sampleEvery = time.Second

// telemetry is how a run reports itself to people who are not at the
// terminal: the HTML run report (--report), Prometheus metrics
// (--metrics-push, --metrics-file), dead-man's-switch pings (--ping) and a
// completion webhook (--notify). None of it ever fails the run: a failure
// is logged.
type telemetry struct {
	o     *Options
	s     *session
	start time.Time
	rec   *report.Recorder // nil without --report

	pinged  chan struct{} // closed when the start ping is done
	quit    chan struct{}
	sampler sync.WaitGroup
}

// startTelemetry sends the start ping (in the background: it must not
// delay the run) and starts sampling for the report.
func startTelemetry(s *session) *telemetry {
	t := &telemetry{o: s.o, s: s, start: s.start, pinged: make(chan struct{}), quit: make(chan struct{})}
	if s.o.Report != "" {
		t.rec = report.NewRecorder()
	}
	go func() {
		defer close(t.pinged)
		if s.o.Ping != "" {
			if err := notify.Ping(context.Background(), s.o.Ping, notify.Start()); err != nil {
				s.log.Warn("start ping failed (the run goes on)", "error", err.Error())
			}
		}
	}()
	if t.rec != nil {
		t.sampler.Go(t.sample)
	}
	return t
}

// observer is the sender's view of the report: nil without --report.
func (t *telemetry) observer() sender.Observer {
	if t.rec == nil {
		return nil
	}
	return reportObserver{rec: t.rec, start: t.start}
}

// reportObserver turns the sender's wall-clock events into the report's
// elapsed ones.
type reportObserver struct {
	rec   *report.Recorder
	start time.Time
}

func (r reportObserver) ObserveLatency(d time.Duration) { r.rec.ObserveLatency(d) }
func (r reportObserver) Event(at time.Time, kind, text string) {
	r.rec.Event(at.Sub(r.start), kind, text)
}

// sample feeds the report every sampleEvery until the run ends.
func (t *telemetry) sample() {
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			t.takeSample()
		case <-t.quit:
			t.takeSample()
			return
		}
	}
}

func (t *telemetry) takeSample() {
	p := t.s.p
	smp := report.Sample{Elapsed: time.Since(t.start), Rows: p.done.Load(), OK: p.ok.Load(), Bad: p.bad.Load()}
	if p.pool != nil {
		st := p.pool.Stats()
		smp.InFlight, smp.Concurrency, smp.RateLimit = st.InFlight, st.Concurrency, st.Rate
		smp.Requests, smp.Retries, smp.Throttled = st.Requests, st.Retries, st.Throttled
	}
	t.rec.Sample(smp)
}

// finish reports the finished run everywhere asked, at once: the report,
// the metrics, the ping and the webhook go out concurrently, each bounded
// by a few seconds, so the exit waits for the slowest alone.
func (t *telemetry) finish(sum *results.Summary, code int) {
	close(t.quit)
	t.sampler.Wait()
	<-t.pinged // the start ping goes before the end one
	var text, js bytes.Buffer
	_ = sum.WriteText(&text)
	_ = sum.WriteJSON(&js)
	o := t.o
	first, _, _ := strings.Cut(text.String(), "\n")
	a := announcement{ping: notify.Exit(code, text.String()), body: json.RawMessage(js.Bytes()),
		line: "importer " + string(o.Mode) + " " + inputName(o.Input) + ": " + first}
	if o.MetricsPush != "" || o.MetricsFile != "" {
		a.metrics = t.metricsRun(sum, code)
	}
	if t.rec != nil {
		a.report = func() error { return t.rec.WriteFile(o.Report, t.final(sum, code)) }
	}
	announce(o, t.s.log, a)
}

// announcement is what a run tells its watchers when it ends.
type announcement struct {
	metrics metrics.Run  // for --metrics-push and --metrics-file
	ping    notify.Event // for --ping
	body    any          // the webhook's JSON document (--notify)
	line    string       // the webhook's text line
	report  func() error // writes --report; nil when there is none
}

// announce sends a to every watcher the options name, concurrently, and
// logs what failed: a watcher that is down never changes the run's outcome.
func announce(o *Options, log *slog.Logger, a announcement) {
	var wg sync.WaitGroup
	do := func(what string, f func() error) {
		wg.Go(func() {
			if err := f(); err != nil {
				log.Warn(what+" failed (the run's outcome is unchanged)", "error", err.Error())
			}
		})
	}
	ctx := context.Background()
	if a.report != nil {
		do("report "+o.Report, a.report)
	}
	if o.MetricsPush != "" {
		do("metrics push", func() error { return metrics.Push(ctx, o.MetricsPush, a.metrics) })
	}
	if o.MetricsFile != "" {
		do("metrics file "+o.MetricsFile, func() error { return metrics.WriteTextfile(o.MetricsFile, a.metrics) })
	}
	if o.Ping != "" {
		do("end ping", func() error { return notify.Ping(ctx, o.Ping, a.ping) })
	}
	if o.Notify != "" {
		do("notify webhook", func() error { return notify.Notify(ctx, o.Notify, a.body, a.line) })
	}
	wg.Wait()
}

// metricsRun is the run as the metrics see it.
func (t *telemetry) metricsRun(sum *results.Summary, code int) metrics.Run {
	m := metrics.Run{
		Config: configName(t.o.Config), Shard: t.o.Shard,
		Rows: metrics.Rows{OK: sum.OK, Failed: sum.Failed, Invalid: sum.Invalid, Unknown: sum.Unknown,
			Unchanged: sum.Unchanged, Missing: sum.Missing, Skipped: sum.Skipped + sum.SkippedUnknown},
		Requests: sum.Requests, Retries: sum.Retries, Duration: sum.Duration,
		ExitCode: code, Success: code == ExitOK, Finished: time.Now(),
	}
	if t.s.p.pool != nil {
		m.Throttled = t.s.p.pool.Stats().Throttled
	}
	return m
}

// final is the run as the report shows it.
func (t *telemetry) final(sum *results.Summary, code int) report.Final {
	f := report.Final{
		Title: configName(t.o.Config), Input: inputName(t.o.Input), Started: t.start, Finished: time.Now(),
		ExitCode: code, Requests: sum.Requests, Retries: sum.Retries,
		Statuses: []report.StatusCount{{Status: "ok", Rows: sum.OK}, {Status: "failed", Rows: sum.Failed},
			{Status: "invalid", Rows: sum.Invalid}, {Status: "unknown", Rows: sum.Unknown}},
		Command: t.o.Command,
	}
	if t.o.Mode == ModeValidate {
		f.Statuses[0] = report.StatusCount{Status: "valid", Rows: sum.Valid}
	}
	if sum.Unchanged > 0 {
		f.Statuses = append(f.Statuses, report.StatusCount{Status: "unchanged", Rows: sum.Unchanged})
	}
	if sum.Missing > 0 {
		f.Statuses = append(f.Statuses, report.StatusCount{Status: "missing", Rows: sum.Missing})
	}
	if n := sum.Skipped + sum.SkippedUnknown; n > 0 {
		f.Statuses = append(f.Statuses, report.StatusCount{Status: "skipped", Rows: n})
	}
	if sum.NotSent > 0 {
		f.Statuses = append(f.Statuses, report.StatusCount{Status: "not sent", Rows: sum.NotSent})
	}
	if t.s.p.pool != nil {
		f.Throttled = t.s.p.pool.Stats().Throttled
	}
	for _, g := range sum.Groups() {
		f.Errors = append(f.Errors, report.ErrorGroup{Kind: g.Error, Column: g.Column, Count: g.Count, Rows: g.Rows})
	}
	if b, err := os.ReadFile(t.o.Config); err == nil {
		f.Config = string(b) // the config never holds the token: loading refuses one
	}
	return f
}

// configName is a config's file name without its extension: the metrics'
// config label and the report's title.
func configName(path string) string {
	base := filepath.Base(path)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// reportEarlyFailure tells the watchers of a run that failed before it
// read a row (a bad config, no token, a held lock, nothing new to pick):
// the failure ping with the error, the metrics with its exit code (1), the
// webhook. A cron job that dies at once must not look like one that never
// started.
func reportEarlyFailure(o *Options, runErr error) {
	if o.Ping == "" && o.MetricsPush == "" && o.MetricsFile == "" && o.Notify == "" {
		return
	}
	code := ExitCode(runErr)
	line := "importer " + string(o.Mode) + " " + inputName(o.Input) + ": " + runErr.Error()
	announce(o, o.logger(), announcement{
		metrics: metrics.Run{Config: configName(o.Config), Shard: o.Shard, ExitCode: code, Finished: time.Now()},
		ping:    notify.Exit(code, line),
		body:    map[string]any{"input": o.Input, "config": o.Config, "exit_code": code, "error": runErr.Error()},
		line:    line,
	})
}
