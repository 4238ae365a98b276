package report

import (
	"testing"

	"importer/internal/golden"
)

// TestSmallRunPageIsStable pins the whole page of a small run: layout, charts, tables,
// escaping, masking. `go test ./internal/report -update` rewrites it after
// an intended change; look at the diff (and the screenshot) before
// committing.
func TestSmallRunPageIsStable(t *testing.T) {
	rec, f := smallRun()
	golden.Check(t, "testdata/small.golden.html", render(t, rec, f))
}

// TestGoldenEmpty: a run that ended before its first sample still gets a
// readable page, with "no data" charts.
func TestGoldenEmpty(t *testing.T) {
	golden.Check(t, "testdata/empty.golden.html", render(t, NewRecorder(), Final{ExitCode: 1, Outcome: "config error"}))
}
