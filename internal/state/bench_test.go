package state

// Benchmarks of the state database on the nightly-import workload. The size
// is STATE_BENCH_KEYS keys (default 20,000, so `go test -bench .` stays
// quick); the figures in docs/STATE-ENGINE.md are for a million:
//
//	STATE_BENCH_KEYS=1000000 go test -run '^$' -bench . -benchtime 1x -count 3 ./internal/state
//
// Keys are e-mail-like (about 25 bytes), in an order unrelated to their
// sort order, as in a CRM export. Custom metrics: ns/key (wall), cpu-ns/key
// (getrusage: all threads, user and system; 0 where not measured), allocs/key,
// disk-B/key (the file's size over the keys), heap-MB (the peak of the Go
// heap in use, sampled every millisecond). The file's pages are read
// through mmap: they are in the page cache, outside the Go heap.

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// benchKeys is the number of keys, from STATE_BENCH_KEYS.
func benchKeys(b *testing.B) int {
	n := 20_000
	if v := os.Getenv("STATE_BENCH_KEYS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			b.Fatalf("STATE_BENCH_KEYS=%q: want a number ≥ 1000", v)
		}
	}
	return n
}

// mix is splitmix64's finaliser: a bijection, so keys are unique and their
// sort order is unrelated to their row.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

var (
	benchNames   = []string{"anna", "boris", "ivan.petrov", "olga", "sergey", "maria.k", "dmitry", "elena"}
	benchDomains = []string{"example.com", "mail.ru", "yandex.ru", "gmail.com", "corp.example.org"}
)

// appendKey appends row i's key.
func appendKey(b []byte, i int) []byte {
	h := mix(uint64(i) + 1)
	b = append(b, benchNames[h%uint64(len(benchNames))]...)
	b = strconv.AppendUint(b, h>>40, 36)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(i), 36)
	b = append(b, '@')
	return append(b, benchDomains[(h>>8)%uint64(len(benchDomains))]...)
}

// keyChunk builds the keys of rows [from, to) as strings over one reused
// buffer, so the harness allocates nothing per key. The strings are valid
// until the next call.
type keyChunk struct {
	buf  []byte
	ends []int
	keys []string
}

func (c *keyChunk) fill(from, to int) []string {
	c.buf, c.ends, c.keys = c.buf[:0], c.ends[:0], c.keys[:0]
	for i := from; i < to; i++ {
		c.buf = appendKey(c.buf, i)
		c.ends = append(c.ends, len(c.buf))
	}
	start := 0
	for _, end := range c.ends {
		c.keys = append(c.keys, unsafe.String(&c.buf[start], end-start))
		start = end
	}
	return c.keys
}

// benchFP is row i's fingerprint in night n.
func benchFP(i, night int) Fingerprint {
	var f Fingerprint
	binary.LittleEndian.PutUint64(f[:8], mix(uint64(i)^uint64(night)<<48))
	binary.LittleEndian.PutUint64(f[8:], mix(uint64(i)+uint64(night)))
	return f
}

// changed reports whether row i changes in night n (1% of rows).
func changed(i, night int) bool { return mix(uint64(i)*31+uint64(night))%100 == 0 }

// heapPeak samples the Go heap in use (objects and unused spans of in-use
// pages: HeapInuse) every millisecond until stop, which returns the peak.
func heapPeak() (stop func() float64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(samples)
			if v := samples[0].Value.Uint64() + samples[1].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() float64 {
		close(done)
		<-finished
		return float64(peak.Load()) / (1 << 20)
	}
}

// firstRun puts rows [0, n) in commits of commitSize, in row order.
func firstRun(b *testing.B, s *Store, n, commitSize int) {
	var batch Batch
	var kc keyChunk
	t := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	for from := 0; from < n; from += commitSize {
		to := min(n, from+commitSize)
		batch.Reset()
		for j, key := range kc.fill(from, to) {
			batch.Put(key, benchFP(from+j, 0), t, int64(from+j+1))
		}
		if err := s.Commit(&batch); err != nil {
			b.Fatal(err)
		}
	}
}

// night looks every row up in chunks and commits the changed ones (1%) in
// commits of commitSize, as a delta run does; it returns the wall time spent
// in lookups and in commits, and the CPU time of the lookups.
func night(b *testing.B, s *Store, n, chunk, commitSize, nightNo int) (lookups, commits, lookupCPU time.Duration) {
	var kc, pc keyChunk
	hits := make([]Hit, chunk)
	var changedRows []int
	t0, c0 := time.Now(), cpuTime()
	found := 0
	for from := 0; from < n; from += chunk {
		to := min(n, from+chunk)
		keys := kc.fill(from, to)
		if err := s.Lookup(keys, hits); err != nil {
			b.Fatal(err)
		}
		for j := range keys {
			if hits[j].Found {
				found++
			}
			if changed(from+j, nightNo) {
				changedRows = append(changedRows, from+j)
			}
		}
	}
	lookups, lookupCPU = time.Since(t0), cpuTime()-c0
	if found != n {
		b.Fatalf("night %d: %d of %d keys found", nightNo, found, n)
	}
	t0 = time.Now()
	var batch Batch
	t := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC).AddDate(0, 0, nightNo)
	for from := 0; from < len(changedRows); from += commitSize {
		batch.Reset()
		for _, row := range changedRows[from:min(len(changedRows), from+commitSize)] {
			batch.Put(pc.fill(row, row+1)[0], benchFP(row, nightNo), t, int64(row+1))
		}
		if err := s.Commit(&batch); err != nil {
			b.Fatal(err)
		}
	}
	return lookups, time.Since(t0), lookupCPU
}

func fileSize(b *testing.B, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}

func mallocs() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs
}

// BenchmarkFirstRun: every key new, put in commits of 1,000 and of 64.
func BenchmarkFirstRun(b *testing.B) {
	n := benchKeys(b)
	for _, commitSize := range []int{1000, 64} {
		b.Run(fmt.Sprintf("keys=%d/commit=%d", n, commitSize), func(b *testing.B) {
			var size int64
			var heap float64
			var allocs uint64
			var cpu time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				path := filepath.Join(b.TempDir(), "state.db")
				s := openStore(b, path)
				stop := heapPeak()
				m0, c0 := mallocs(), cpuTime()
				b.StartTimer()
				firstRun(b, s, n, commitSize)
				b.StopTimer()
				cpu += cpuTime() - c0
				allocs += mallocs() - m0
				heap = max(heap, stop())
				size = fileSize(b, path)
				s.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/key")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*n), "cpu-ns/key")
			b.ReportMetric(float64(allocs)/float64(b.N*n), "allocs/key")
			b.ReportMetric(float64(size)/float64(n), "disk-B/key")
			b.ReportMetric(heap, "heap-MB")
		})
	}
}

// BenchmarkNights: a first run in commits of 1,000, then ten delta runs
// (all keys looked up in chunks, 1% put in commits of 1,000), then the
// missing-key scan with all keys but 0.1% seen. Reported: the lookups'
// ns/key and allocs/key, the delta puts' ns/key, the scan's ns/key, the file
// per key after the ten nights, and the heap peak over the nights and the
// scan (the Seen set included).
func BenchmarkNights(b *testing.B) {
	n := benchKeys(b)
	const nights = 10
	for _, chunk := range []int{64, 1000} {
		b.Run(fmt.Sprintf("keys=%d/chunk=%d", n, chunk), func(b *testing.B) {
			var lookups, puts, scan, lookupCPU time.Duration
			var allocs uint64
			var size int64
			var heap float64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				path := filepath.Join(b.TempDir(), "state.db")
				s := openStore(b, path)
				firstRun(b, s, n, 1000)
				runtime.GC()
				stop := heapPeak()
				b.StartTimer()
				for nightNo := 1; nightNo <= nights; nightNo++ {
					m0 := mallocs()
					l, p, c := night(b, s, n, chunk, 1000, nightNo)
					allocs += mallocs() - m0
					lookups += l
					puts += p
					lookupCPU += c
				}
				seen := NewSeen(n)
				var kc keyChunk
				for from := 0; from < n; from += 1000 {
					for j, key := range kc.fill(from, min(n, from+1000)) {
						if (from+j)%1000 != 7 {
							seen.Add(key)
						}
					}
				}
				t0 := time.Now()
				missing, err := s.Missing(seen, func(string, Entry) error { return nil })
				if err != nil {
					b.Fatal(err)
				}
				scan += time.Since(t0)
				if missing != n/1000 {
					b.Fatalf("%d keys missing, want %d", missing, n/1000)
				}
				b.StopTimer()
				heap = max(heap, stop())
				size = fileSize(b, path)
				s.Close()
			}
			keys := float64(b.N * n * nights)
			b.ReportMetric(float64(lookups.Nanoseconds())/keys, "lookup-ns/key")
			b.ReportMetric(float64(lookupCPU.Nanoseconds())/keys, "lookup-cpu-ns/key")
			b.ReportMetric(float64(allocs)/keys, "lookup-allocs/key")
			b.ReportMetric(float64(puts.Nanoseconds())/(keys/100), "put-ns/key")
			b.ReportMetric(float64(scan.Nanoseconds())/float64(b.N*n), "scan-ns/key")
			b.ReportMetric(float64(size)/float64(n), "disk-B/key")
			b.ReportMetric(heap, "heap-MB")
		})
	}
}

// BenchmarkCommitOne: the fixed cost of a commit (its two fsyncs and the
// meta page), with one put into a small file. One op is one commit.
func BenchmarkCommitOne(b *testing.B) {
	s := newStore(b)
	var batch Batch
	t := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		batch.Reset()
		batch.Put("user"+strconv.Itoa(i%1000)+"@example.com", benchFP(i, 0), t, int64(i))
		if err := s.Commit(&batch); err != nil {
			b.Fatal(err)
		}
	}
}
