package metrics

import (
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// series parses the text exposition format with expfmt and flattens it to
// `name{label="value",...}` → value, labels sorted, so a test states the
// whole expected content of a scrape as one map.
func series(t *testing.T, r io.Reader) map[string]float64 {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("parse exposition: %v", err)
	}
	out := make(map[string]float64)
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := make(map[string]string)
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			var v float64
			switch {
			case m.GetGauge() != nil:
				v = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				v = m.GetCounter().GetValue()
			case m.GetUntyped() != nil:
				v = m.GetUntyped().GetValue()
			default:
				continue
			}
			out[key(name, labels)] = v
		}
	}
	return out
}

// key renders one series the way series indexes it.
func key(name string, labels map[string]string) string {
	if len(labels) == 0 {
		return name
	}
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(labels)) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + `"` + labels[k] + `"`)
	}
	b.WriteByte('}')
	return b.String()
}

// with returns labels plus one more pair.
func with(labels map[string]string, k, v string) map[string]string {
	out := maps.Clone(labels)
	out[k] = v
	return out
}

// expected lists every series a run should produce under labels, with
// lastSuccess (0 = absent).
func expected(r Run, labels map[string]string, lastSuccess float64) map[string]float64 {
	m := map[string]float64{
		key(NameRequests, labels):  float64(r.Requests),
		key(NameRetries, labels):   float64(r.Retries),
		key(NameThrottled, labels): float64(r.Throttled),
		key(NameDuration, labels):  r.Duration.Seconds(),
		key(NameExitCode, labels):  float64(r.ExitCode),
		key(NameSuccess, labels):   boolValue(r.Success),
		key(NameLastRun, labels):   unixSeconds(r.Finished),
	}
	for _, s := range r.Rows.statuses() {
		m[key(NameRows, with(labels, "status", s.name))] = float64(s.n)
	}
	if lastSuccess != 0 {
		m[key(NameLastSuccess, labels)] = lastSuccess
	}
	return m
}

var (
	night1 = time.Date(2026, 3, 1, 2, 13, 7, 250_000_000, time.UTC)
	night2 = night1.Add(24*time.Hour + 3*time.Minute)
	night3 = night2.Add(24 * time.Hour)
)

// okRun is a clean night.
func okRun(at time.Time) Run {
	return Run{
		Job: "nightly", Config: "legacy-crm", Shard: "1/4",
		Rows:     Rows{OK: 9_990, Unchanged: 120, Skipped: 5},
		Requests: 10_020, Retries: 30, Throttled: 12,
		Duration: 754*time.Second + 500*time.Millisecond, ExitCode: 0, Success: true, Finished: at,
	}
}

// failedRun is a night that ended with rejected rows (exit 2).
func failedRun(at time.Time) Run {
	return Run{
		Job: "nightly", Config: "legacy-crm", Shard: "1/4",
		Rows:     Rows{OK: 7_000, Failed: 40, Invalid: 17, Unknown: 2, Missing: 3},
		Requests: 7_100, Retries: 58, Throttled: 41,
		Duration: 612 * time.Second, ExitCode: 2, Success: false, Finished: at,
	}
}
