package importer

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestRaiseMemoryLimit: the importer's own soft limit grows by the index's
// bytes for the run and comes back after; a limit the user set, or none at
// all, is left alone.
func TestRaiseMemoryLimit(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name       string
		limit      int64
		env        string // GOMEMLIMIT
		extra      int64
		wantDuring int64
	}{
		{"ImportersOwnLimit", 48 * mib, "", 20 * mib, 68 * mib},
		{"UserSetLimit", 96 * mib, "96MiB", 20 * mib, 96 * mib},
		{"NoLimit", math.MaxInt64, "", 20 * mib, math.MaxInt64},
		{"EmptyIndex", 48 * mib, "", 0, 48 * mib},
	}
	orig := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(orig) })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			debug.SetMemoryLimit(tt.limit)
			restore := raiseMemoryLimit(tt.extra, func(k string) string {
				if k == "GOMEMLIMIT" {
					return tt.env
				}
				return ""
			})
			if got := debug.SetMemoryLimit(-1); got != tt.wantDuring {
				t.Errorf("limit during the run = %d, want %d", got, tt.wantDuring)
			}
			if err := restore(); err != nil {
				t.Fatal(err)
			}
			if got := debug.SetMemoryLimit(-1); got != tt.limit {
				t.Errorf("limit after the run = %d, want it back at %d", got, tt.limit)
			}
		})
	}
}
