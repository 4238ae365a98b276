package cputime

import (
	"runtime"
	"testing"
)

// TestSelfCounts: CPU spent between two readings shows in the second.
func TestSelfCounts(t *testing.T) {
	before := Self()
	if before < 0 {
		t.Skip("no CPU time on", runtime.GOOS)
	}
	x := 0
	for i := range 50_000_000 {
		x += i & 3
	}
	if after := Self(); after <= before {
		t.Fatalf("Self went from %v to %v across a busy loop (%d)", before, after, x)
	}
}
