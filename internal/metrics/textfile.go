package metrics

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// WriteTextfile writes r to path in the Prometheus text exposition format,
// for node_exporter's textfile collector (path should end in ".prom" and
// sit in the collector's directory).
//
// The file is replaced atomically: the metrics go to a temporary file in
// the same directory (its name does not end in ".prom", so the collector
// never reads it half written), which is then renamed over path, mode 0644.
//
// A failed run keeps importer_last_success_timestamp_seconds of the file it
// replaces (same importer_job, config and shard), so the textfile never
// loses the last success. If that file cannot be read, the new one is
// still written and the error says the value was not carried over.
func WriteTextfile(path string, r Run) error {
	labels := prometheus.Labels{"importer_job": r.job()}
	if r.Config != "" {
		labels["config"] = r.Config
	}
	if r.Shard != "" {
		labels["shard"] = r.Shard
	}
	var last *float64
	var prevErr error
	if r.Success {
		v := unixSeconds(r.finished())
		last = &v
	} else {
		last, prevErr = previousLastSuccess(path, labels)
	}
	mfs, err := registry(r, labels, last).Gather()
	if err != nil {
		return fmt.Errorf("metrics: textfile %s: %w", path, err)
	}
	if err := writeAtomic(path, mfs); err != nil {
		return err
	}
	return prevErr
}

// writeAtomic encodes mfs into a temporary file beside path and renames it
// over path.
func writeAtomic(path string, mfs []*dto.MetricFamily) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("metrics: textfile: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	enc := expfmt.NewEncoder(f, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return fmt.Errorf("metrics: textfile %s: %w", path, err)
		}
	}
	// CreateTemp makes the file 0600; the collector may run as another user.
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("metrics: textfile: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("metrics: textfile: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("metrics: textfile: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("metrics: textfile: %w", err)
	}
	return nil
}

// previousLastSuccess reads importer_last_success_timestamp_seconds with
// exactly these labels from the file at path. A missing file, or one
// without the series, gives nil and no error.
func previousLastSuccess(path string, labels prometheus.Labels) (*float64, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("metrics: last success not carried over: %w", err)
	}
	defer f.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(f)
	if err != nil {
		return nil, fmt.Errorf("metrics: last success not carried over: previous textfile %s: %w", path, err)
	}
	for _, m := range mfs[NameLastSuccess].GetMetric() {
		if sameLabels(m.GetLabel(), labels) && m.GetGauge() != nil {
			v := m.GetGauge().GetValue()
			return &v, nil
		}
	}
	return nil, nil
}

func sameLabels(got []*dto.LabelPair, want prometheus.Labels) bool {
	if len(got) != len(want) {
		return false
	}
	for _, l := range got {
		if v, ok := want[l.GetName()]; !ok || v != l.GetValue() {
			return false
		}
	}
	return true
}
