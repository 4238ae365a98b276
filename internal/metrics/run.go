package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultJob is the job name used when Run.Job is empty.
const DefaultJob = "importer"

// Metric names, shared by the Pushgateway and the textfile.
const (
	NameRows        = "importer_rows"
	NameRequests    = "importer_requests"
	NameRetries     = "importer_retries"
	NameThrottled   = "importer_throttled"
	NameDuration    = "importer_duration_seconds"
	NameExitCode    = "importer_exit_code"
	NameSuccess     = "importer_last_run_success"
	NameLastRun     = "importer_last_run_timestamp_seconds"
	NameLastSuccess = "importer_last_success_timestamp_seconds"
)

// Run is the final snapshot of one run, filled by the caller at exit.
type Run struct {
	Job    string // job name: the Pushgateway's job, the textfile's importer_job; "" = DefaultJob
	Config string // the mapping config's name (e.g. its file name without extension); "" = left out
	Shard  string // "K/N" of a sharded run; "" = left out

	Rows Rows // rows by status

	Requests  int64 // HTTP requests, retries included
	Retries   int64 // requests that were retries
	Throttled int64 // HTTP 429 replies

	Duration time.Duration // wall time of the run
	ExitCode int           // the process exit code
	// Success marks a run whose finish should reset the "no success for N
	// hours" alert. The caller decides what counts (exit code 0 is the
	// strict reading); only a successful run sets
	// importer_last_success_timestamp_seconds.
	Success  bool
	Finished time.Time // when the run ended; zero = now
}

// Rows counts a run's rows by status.
type Rows struct {
	OK, Failed, Invalid, Unknown, Unchanged, Missing, Skipped int64
}

// statuses lists the status label values in a fixed order.
func (r Rows) statuses() []struct {
	name string
	n    int64
} {
	return []struct {
		name string
		n    int64
	}{
		{"ok", r.OK}, {"failed", r.Failed}, {"invalid", r.Invalid}, {"unknown", r.Unknown},
		{"unchanged", r.Unchanged}, {"missing", r.Missing}, {"skipped", r.Skipped},
	}
}

func (r Run) job() string {
	if r.Job == "" {
		return DefaultJob
	}
	return r.Job
}

func (r Run) finished() time.Time {
	if r.Finished.IsZero() {
		return time.Now()
	}
	return r.Finished
}

// registry holds the run's gauges, each with the constant labels given.
// lastSuccess, when not nil, is the value of
// importer_last_success_timestamp_seconds; nil leaves the metric out.
func registry(r Run, labels prometheus.Labels, lastSuccess *float64) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	gauge := func(name, help string, v float64) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels})
		g.Set(v)
		reg.MustRegister(g)
	}
	rows := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: NameRows, Help: "Rows of the last run by final status.", ConstLabels: labels,
	}, []string{"status"})
	for _, s := range r.Rows.statuses() {
		rows.WithLabelValues(s.name).Set(float64(s.n))
	}
	reg.MustRegister(rows)
	gauge(NameRequests, "HTTP requests of the last run, retries included.", float64(r.Requests))
	gauge(NameRetries, "HTTP requests of the last run that were retries.", float64(r.Retries))
	gauge(NameThrottled, "HTTP 429 replies in the last run.", float64(r.Throttled))
	gauge(NameDuration, "Wall time of the last run in seconds.", r.Duration.Seconds())
	gauge(NameExitCode, "Exit code of the last run.", float64(r.ExitCode))
	gauge(NameSuccess, "1 if the last run succeeded, else 0.", boolValue(r.Success))
	gauge(NameLastRun, "Unix time at which the last run finished.", unixSeconds(r.finished()))
	if lastSuccess != nil {
		gauge(NameLastSuccess, "Unix time at which the last successful run finished.", *lastSuccess)
	}
	return reg
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// unixSeconds keeps millisecond precision: enough for an alert, and exact
// in a float64.
func unixSeconds(t time.Time) float64 {
	return float64(t.UnixMilli()) / 1000
}
