package report

import (
	"io"
	"testing"
	"time"
)

// BenchmarkObserveLatency is the cost the sender pays per attempt, from
// one goroutine and from many at once (they share the buckets' cache
// lines, as concurrent workers do).
func BenchmarkObserveLatency(b *testing.B) {
	lat := []time.Duration{3 * time.Millisecond, 41 * time.Millisecond, 180 * time.Millisecond, 2 * time.Second}
	b.Run("serial", func(b *testing.B) {
		rec := NewRecorder()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			rec.ObserveLatency(lat[i&3])
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		rec := NewRecorder()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				rec.ObserveLatency(lat[i&3])
				i++
			}
		})
	})
	b.Run("nil", func(b *testing.B) {
		var rec *Recorder
		b.ReportAllocs()
		for b.Loop() {
			rec.ObserveLatency(lat[0])
		}
	})
}

// BenchmarkSample is the once-a-second cost: draining the histogram and
// keeping the point (downsampling included, amortised).
func BenchmarkSample(b *testing.B) {
	rec := NewRecorder()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		for j := range 50 {
			rec.ObserveLatency(time.Duration(20+j) * time.Millisecond)
		}
		i++
		rec.Sample(Sample{Elapsed: time.Duration(i) * time.Second, Rows: int64(i) * 100, RateLimit: 100})
	}
}

// BenchmarkWriteLongRun renders the report of a 3-hour run.
func BenchmarkWriteLongRun(b *testing.B) {
	rec := NewRecorder()
	s := simRun{seconds: 10_800, ceiling: 1300, latPerSec: 10, throttleAt: []int{600, 4000, 9000}, seed: 7}.run(rec)
	f := simFinal(s, 1000)
	b.ReportAllocs()
	for b.Loop() {
		if err := rec.Write(io.Discard, f); err != nil {
			b.Fatal(err)
		}
	}
}
