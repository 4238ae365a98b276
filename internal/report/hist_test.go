package report

import (
	"math"
	"testing"
	"time"
)

// TestBucketAccuracy: every latency from 0 to 10 minutes falls in a bucket
// whose midpoint is within 6.25% of it (exact to the microsecond below
// 16 µs), and buckets grow with the value.
func TestBucketAccuracy(t *testing.T) {
	prev := -1
	for us := int64(0); us < 600_000_000; us = us + 1 + us/97 {
		d := time.Duration(us) * time.Microsecond
		i := bucketOf(d)
		if i < prev {
			t.Fatalf("bucketOf(%v) = %d after %d: not monotonic", d, i, prev)
		}
		prev = i
		mid := bucketMid(i)
		if us < exactBelow {
			if mid != float64(us)+0.5 {
				t.Fatalf("bucketMid(bucketOf(%dµs)) = %v", us, mid)
			}
			continue
		}
		if rel := math.Abs(mid-float64(us)) / float64(us); rel > 0.0625 {
			t.Fatalf("%dµs shown as %.0fµs: %.1f%% off", us, mid, rel*100)
		}
	}
}

func TestBucketEdges(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want int
	}{
		{-time.Second, 0},
		{0, 0},
		{999 * time.Nanosecond, 0},
		{15 * time.Microsecond, 15},
		{16 * time.Microsecond, 16},
		{17 * time.Microsecond, 16}, // 16-17 µs share the first bucket of width 2
		{18 * time.Microsecond, 17},
		{76 * time.Hour, numBuckets - 1},
		{100 * time.Hour, numBuckets - 1},
		{time.Duration(math.MaxInt64), numBuckets - 1},
	}
	for _, tt := range tests {
		if got := bucketOf(tt.d); got != tt.want {
			t.Errorf("bucketOf(%v) = %d, want %d", tt.d, got, tt.want)
		}
	}
}

// TestQuantiles: percentiles of known distributions, within the buckets'
// accuracy.
func TestQuantiles(t *testing.T) {
	tests := []struct {
		name string
		ms   func(i int) float64 // latency of the i-th of 1000 observations
		want [3]float64          // p50, p90, p99 in ms
	}{
		{"constant 40 ms", func(int) float64 { return 40 }, [3]float64{40, 40, 40}},
		{"uniform 1..1000 ms", func(i int) float64 { return float64(i + 1) }, [3]float64{500, 900, 990}},
		{"2% slow outliers", func(i int) float64 {
			if i%50 == 49 {
				return 3000
			}
			return 20
		}, [3]float64{20, 20, 3000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h liveHist
			for i := range 1000 {
				h[bucketOf(time.Duration(tt.ms(i)*float64(time.Millisecond)))].Add(1)
			}
			got, ok := h.drain().quantiles(0.5, 0.9, 0.99)
			if !ok {
				t.Fatal("no quantiles from 1000 observations")
			}
			for i, w := range tt.want {
				if math.Abs(got[i]-w)/w > 0.0625 {
					t.Errorf("quantile %d = %.1f ms, want %.1f ms ± 6.25%%", i, got[i], w)
				}
			}
		})
	}
}

func TestQuantilesEmpty(t *testing.T) {
	if _, ok := sparseHist(nil).quantiles(0.5); ok {
		t.Error("an empty histogram gave quantiles")
	}
}

// TestMergeHist: merging sums counts bucket by bucket, in order.
func TestMergeHist(t *testing.T) {
	a := sparseHist{{1, 2}, {5, 1}, {9, 4}}
	b := sparseHist{{0, 1}, {5, 3}, {12, 7}}
	got := a.merge(b)
	want := sparseHist{{0, 1}, {1, 2}, {5, 4}, {9, 4}, {12, 7}}
	if len(got) != len(want) {
		t.Fatalf("merge = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("merge = %v, want %v", got, want)
		}
	}
	if got.total() != a.total()+b.total() {
		t.Errorf("total %d, want %d", got.total(), a.total()+b.total())
	}
}
