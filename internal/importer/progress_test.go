package importer

import (
	"testing"
	"time"
)

// TestEstimateRows: progress counts rows finished against the rows the run
// will finish, estimated from the bytes read until the reader reaches the
// end, exact after.
func TestEstimateRows(t *testing.T) {
	tests := []struct {
		name                                string
		done, read, passed, bytesRead, size int64
		eof                                 bool
		want                                estimate
	}{
		{"Start", 0, 0, 0, 0, 1000, false, estimate{0, -1, false}},
		{"ReaderAheadOfTheAPI", 10, 500, 0, 500, 1000, false, estimate{10, 1000, false}},
		{"ReaderDoneAPIBehind", 133, 1500, 0, 1000, 1000, true, estimate{133, 1500, true}},
		{"SkippedRowsAreNotToDo", 5, 100, 40, 1000, 1000, true, estimate{5, 60, true}},
		{"PipeOfUnknownSize", 7, 20, 0, 300, -1, false, estimate{7, -1, false}},
		{"NeverBelowDone", 90, 100, 0, 500, 500, false, estimate{90, 100, false}},
		{"EstimateBelowDoneIsRaised", 90, 50, 0, 900, 1000, false, estimate{90, 90, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := estimateRows(tt.done, tt.read, tt.passed, tt.bytesRead, tt.size, tt.eof); got != tt.want {
				t.Errorf("estimateRows = %+v, want %+v", got, tt.want)
			}
		})
	}
	e := estimate{done: 100, total: 400, exact: true}
	if got := e.eta(10 * time.Second); got != 30*time.Second {
		t.Errorf("eta = %v, want 30s (300 rows left at 10 rows/s)", got)
	}
	if got := (estimate{total: -1}).eta(time.Second); got != 0 {
		t.Errorf("eta without a total = %v, want 0", got)
	}
}
