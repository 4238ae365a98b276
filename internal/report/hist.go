package report

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// The latency histogram is log-linear over microseconds: values below 16 µs
// have a bucket each, and every power of two above is split into 8 equal
// buckets, so a bucket's midpoint is within 6.25% of any value in it (12.5%
// at most from the bucket's edge). 288 buckets reach 2^38 µs (76 hours);
// longer values share the last one.
const (
	subBits    = 3
	subBuckets = 1 << subBits // linear buckets per power of two
	exactBelow = 2 * subBuckets
	numBuckets = exactBelow + (37-4)*subBuckets + subBuckets
)

// bucketOf maps a latency to its bucket. It is the whole cost of an
// observation besides one atomic add: no loop, no allocation.
func bucketOf(d time.Duration) int {
	if d < 0 {
		d = 0
	}
	v := uint64(d / time.Microsecond)
	if v < exactBelow {
		return int(v)
	}
	e := bits.Len64(v) - 1 // v in [2^e, 2^(e+1)), e ≥ 4
	sub := int(v>>(e-subBits)) & (subBuckets - 1)
	i := exactBelow + (e-4)*subBuckets + sub
	if i >= numBuckets {
		return numBuckets - 1
	}
	return i
}

// bucketMid is the midpoint of bucket i in microseconds: the value the
// report shows for latencies that fell in it.
func bucketMid(i int) float64 {
	if i < exactBelow {
		return float64(i) + 0.5
	}
	e := 4 + (i-exactBelow)/subBuckets
	sub := (i - exactBelow) % subBuckets
	width := uint64(1) << (e - subBits)
	low := uint64(subBuckets+sub) * width
	return float64(low) + float64(width)/2
}

// liveHist counts latencies as they come, from any goroutine.
type liveHist [numBuckets]atomic.Uint64

// drain returns the counts since the last drain as a sparse histogram and
// zeroes them. An observation racing with drain lands in this interval or
// the next one, never nowhere.
func (h *liveHist) drain() sparseHist {
	var out sparseHist
	for i := range h {
		if h[i].Load() == 0 {
			continue
		}
		if c := h[i].Swap(0); c != 0 {
			out = append(out, bucketCount{uint16(i), c})
		}
	}
	return out
}

// bucketCount is one non-empty bucket.
type bucketCount struct {
	bucket uint16
	count  uint64
}

// sparseHist holds the non-empty buckets of an interval, in bucket order:
// a handful of entries where the full array has 288.
type sparseHist []bucketCount

// merge adds two histograms.
func (a sparseHist) merge(b sparseHist) sparseHist {
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 {
		return a
	}
	out := make(sparseHist, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i].bucket < b[j].bucket:
			out = append(out, a[i])
			i++
		case a[i].bucket > b[j].bucket:
			out = append(out, b[j])
			j++
		default:
			out = append(out, bucketCount{a[i].bucket, a[i].count + b[j].count})
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

func (a sparseHist) total() uint64 {
	var n uint64
	for _, b := range a {
		n += b.count
	}
	return n
}

// quantiles returns the latencies in milliseconds at each of qs (ascending,
// in (0, 1]); ok is false for an empty histogram.
func (a sparseHist) quantiles(qs ...float64) (ms []float64, ok bool) {
	total := a.total()
	if total == 0 {
		return nil, false
	}
	ms = make([]float64, len(qs))
	var seen uint64
	k := 0
	for _, b := range a {
		seen += b.count
		for k < len(qs) && float64(seen) >= qs[k]*float64(total) {
			ms[k] = bucketMid(int(b.bucket)) / 1000
			k++
		}
	}
	for ; k < len(qs); k++ { // rounding: the top bucket
		ms[k] = bucketMid(int(a[len(a)-1].bucket)) / 1000
	}
	return ms, true
}
