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
	"context"
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

	bolt "go.etcd.io/bbolt"

	"importer/internal/cputime"
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

// firstRun puts rows [0, n) in commits of commitSize, in row order. It
// does not fold.
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

// nightCost is what one delta run spent in the state.
type nightCost struct {
	lookupWall, lookupCPU time.Duration // looking every key up
	lookupAllocs          uint64
	commitCPU, foldCPU    time.Duration // committing the changed rows; the fold
	puts                  int
}

func (c *nightCost) add(d nightCost) {
	c.lookupWall += d.lookupWall
	c.lookupCPU += d.lookupCPU
	c.lookupAllocs += d.lookupAllocs
	c.commitCPU += d.commitCPU
	c.foldCPU += d.foldCPU
	c.puts += d.puts
}

// night looks every row up in chunks, commits the changed ones (1%) in
// commits of commitSize and folds, as a delta run does.
func night(b *testing.B, s *Store, n, chunk, commitSize, nightNo int) nightCost {
	var kc, pc keyChunk
	hits := make([]Hit, chunk)
	var changedRows []int
	var c nightCost
	m0, t0, c0 := mallocs(), time.Now(), cputime.Self()
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
	c.lookupWall, c.lookupCPU, c.lookupAllocs = time.Since(t0), cputime.Self()-c0, mallocs()-m0
	if found != n {
		b.Fatalf("night %d: %d of %d keys found", nightNo, found, n)
	}
	c0 = cputime.Self()
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
	c1 := cputime.Self()
	if err := s.Fold(context.Background()); err != nil {
		b.Fatal(err)
	}
	c.commitCPU, c.foldCPU, c.puts = c1-c0, cputime.Self()-c1, len(changedRows)
	return c
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

// perKey is d in nanoseconds per key.
func perKey(d time.Duration, keys int) float64 { return float64(d.Nanoseconds()) / float64(keys) }

// BenchmarkFirstRun: every key new, put in commits of 1,000 and of 64, then
// the fold that ends the run (a rebuild). Reported: the whole run's
// cpu-ns/key and ns/key (wall), and the commits' and the fold's CPU apart.
func BenchmarkFirstRun(b *testing.B) {
	n := benchKeys(b)
	for _, commitSize := range []int{1000, 64} {
		b.Run(fmt.Sprintf("keys=%d/commit=%d", n, commitSize), func(b *testing.B) {
			var size int64
			var heap float64
			var allocs uint64
			var commitCPU, foldCPU time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				path := filepath.Join(b.TempDir(), "state.db")
				s := openStore(b, path)
				runtime.GC()
				stop := heapPeak()
				m0, c0 := mallocs(), cputime.Self()
				b.StartTimer()
				firstRun(b, s, n, commitSize)
				c1 := cputime.Self()
				if err := s.Fold(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				c2 := cputime.Self()
				commitCPU += c1 - c0
				foldCPU += c2 - c1
				allocs += mallocs() - m0
				heap = max(heap, stop())
				size = fileSize(b, path)
				s.Close()
			}
			keys := b.N * n
			b.ReportMetric(perKey(b.Elapsed(), keys), "ns/key")
			b.ReportMetric(perKey(commitCPU+foldCPU, keys), "cpu-ns/key")
			b.ReportMetric(perKey(commitCPU, keys), "commit-cpu-ns/key")
			b.ReportMetric(perKey(foldCPU, keys), "fold-cpu-ns/key")
			b.ReportMetric(float64(allocs)/float64(keys), "allocs/key")
			b.ReportMetric(float64(size)/float64(n), "disk-B/key")
			b.ReportMetric(heap, "heap-MB")
		})
	}
}

// BenchmarkNights: a first run in commits of 1,000 and its fold, then ten
// delta runs, each looking all keys up in chunks, committing the 1% that
// changed in commits of 1,000 and folding; then the missing-key scan with
// all keys but 0.1% seen. Reported per night: the lookups' ns/key,
// cpu-ns/key and allocs/key; the commits' and the fold's CPU per changed
// key; the state's whole CPU per key of the export (lookups, commits,
// fold); the scan's ns/key; the file per key after the ten nights and the
// largest it was after any night; the heap peak over the nights and the
// scan (the Seen set included).
func BenchmarkNights(b *testing.B) {
	n := benchKeys(b)
	const nights = 10
	for _, chunk := range []int{64, 1000} {
		b.Run(fmt.Sprintf("keys=%d/chunk=%d", n, chunk), func(b *testing.B) {
			var cost nightCost
			var scan time.Duration
			var size, maxSize int64
			var heap float64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				path := filepath.Join(b.TempDir(), "state.db")
				s := openStore(b, path)
				firstRun(b, s, n, 1000)
				if err := s.Fold(context.Background()); err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				stop := heapPeak()
				b.StartTimer()
				for nightNo := 1; nightNo <= nights; nightNo++ {
					cost.add(night(b, s, n, chunk, 1000, nightNo))
					maxSize = max(maxSize, fileSize(b, path))
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
				missing, err := s.Missing(seen.HasBytes, func(string, Entry) error { return nil })
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
			keys := b.N * n * nights
			b.ReportMetric(perKey(cost.lookupWall, keys), "lookup-ns/key")
			b.ReportMetric(perKey(cost.lookupCPU, keys), "lookup-cpu-ns/key")
			b.ReportMetric(float64(cost.lookupAllocs)/float64(keys), "lookup-allocs/key")
			b.ReportMetric(perKey(cost.commitCPU, cost.puts), "put-cpu-ns/put")
			b.ReportMetric(perKey(cost.foldCPU, cost.puts), "fold-cpu-ns/put")
			b.ReportMetric(perKey(cost.lookupCPU+cost.commitCPU+cost.foldCPU, keys), "night-cpu-ns/key")
			b.ReportMetric(perKey(scan, b.N*n), "scan-ns/key")
			b.ReportMetric(float64(size)/float64(n), "disk-B/key")
			b.ReportMetric(float64(maxSize)/float64(n), "max-disk-B/key")
			b.ReportMetric(heap, "heap-MB")
		})
	}
}

// BenchmarkFold: the two ways to fold, forced, for a share of the keys
// staged (changed keys of a folded state of STATE_BENCH_KEYS keys, in
// commits of 1,000): 0.1% to 12%. The figures choose the share at which
// Fold switches from folding in place to a rebuild (rebuildShare).
// Reported: the fold's cpu-ns and ns per staged put, its cpu-ns per key of
// the state, its heap peak.
func BenchmarkFold(b *testing.B) {
	n := benchKeys(b)
	for _, perMille := range []int{1, 5, 10, 30, 120} {
		for _, how := range []foldHow{foldInPlace, foldRebuild} {
			b.Run(fmt.Sprintf("keys=%d/staged=%.1f%%/%s", n, float64(perMille)/10, how), func(b *testing.B) {
				var cpu, wall time.Duration
				var heap float64
				staged := 0
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					s := openStore(b, filepath.Join(b.TempDir(), "state.db"))
					firstRun(b, s, n, 1000)
					if err := s.Fold(context.Background()); err != nil {
						b.Fatal(err)
					}
					var batch Batch
					var kc keyChunk
					for row := 0; row < n; row++ {
						if mix(uint64(row)*7+1)%1000 < uint64(perMille) {
							batch.Put(kc.fill(row, row+1)[0], benchFP(row, 1), time.Unix(1<<31, 0), int64(row+1))
							staged++
						}
						if batch.Len() == 1000 || row == n-1 {
							if err := s.Commit(&batch); err != nil {
								b.Fatal(err)
							}
							batch.Reset()
						}
					}
					runtime.GC()
					stop := heapPeak()
					t0, c0 := time.Now(), cputime.Self()
					b.StartTimer()
					s.writeMu.Lock()
					err := s.fold(context.Background(), how)
					s.writeMu.Unlock()
					b.StopTimer()
					if err != nil {
						b.Fatal(err)
					}
					cpu += cputime.Self() - c0
					wall += time.Since(t0)
					heap = max(heap, stop())
					s.Close()
				}
				b.ReportMetric(perKey(cpu, staged), "cpu-ns/put")
				b.ReportMetric(perKey(wall, staged), "ns/put")
				b.ReportMetric(perKey(cpu, b.N*n), "cpu-ns/key")
				b.ReportMetric(heap, "heap-MB")
			})
		}
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

// BenchmarkLoad: writing keys that arrive in order into a new file, the
// way a rebuild does (its page writer), against putting them through
// bbolt's API in transactions of 64Ki with full pages, the fastest way
// bbolt offers (bbolt.Compact does the same). Both end with an fsync.
// Reported: cpu-ns/key, ns/key, disk-B/key.
func BenchmarkLoad(b *testing.B) {
	n := benchKeys(b)
	key := func(buf []byte, i int) []byte {
		buf = append(buf[:0], "customer"...)
		buf = strconv.AppendInt(buf, int64(1e12+i), 10)
		return append(buf, "@example.com"...)
	}
	e := Entry{Fingerprint: benchFP(1, 1), Time: time.Unix(1_800_000_000, 0), Row: 123456}
	val := appendEntry(nil, &e)
	loads := map[string]func(b *testing.B, path string){
		"pages": func(b *testing.B, path string) {
			bf, err := newBulkFile(path, os.Getpagesize())
			if err != nil {
				b.Fatal(err)
			}
			var kb []byte
			i := 0
			keys, err := writeBucketTree(bf, 0, func() ([]byte, []byte, bool, error) {
				kb = key(kb, i)
				i++
				return kb, val, i <= n, nil
			})
			if err != nil {
				b.Fatal(err)
			}
			root := newTreeBuilder(bf)
			if err := root.add(bucketKeys, keys, leafFlagBucket); err != nil {
				b.Fatal(err)
			}
			hdr, err := root.finish(0, false)
			if err == nil {
				err = bf.finish(ne.Uint64(hdr))
			}
			if err != nil {
				b.Fatal(err)
			}
		},
		"bbolt-put": func(b *testing.B, path string) {
			db, err := openBolt(path, false)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.NoSync = true
			var kb []byte
			for from := 0; from < n; from += 1 << 16 {
				err := db.Update(func(tx *bolt.Tx) error {
					bk, err := tx.CreateBucketIfNotExists(bucketKeys)
					if err != nil {
						return err
					}
					bk.FillPercent = 1.0
					for i := from; i < min(n, from+1<<16); i++ {
						kb = key(kb, i)
						if err := bk.Put(kb, val); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			if err := db.Sync(); err != nil {
				b.Fatal(err)
			}
		},
	}
	for _, name := range []string{"pages", "bbolt-put"} {
		b.Run(fmt.Sprintf("keys=%d/%s", n, name), func(b *testing.B) {
			var cpu time.Duration
			var size int64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				path := filepath.Join(b.TempDir(), "load.db")
				c0 := cputime.Self()
				b.StartTimer()
				loads[name](b, path)
				b.StopTimer()
				cpu += cputime.Self() - c0
				size = fileSize(b, path)
				db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
				if err != nil {
					b.Fatal(err)
				}
				if err := db.View(func(tx *bolt.Tx) error {
					if got := tx.Bucket(bucketKeys).Stats().KeyN; got != n {
						return fmt.Errorf("%d keys loaded, want %d", got, n)
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
				db.Close()
			}
			b.ReportMetric(perKey(cpu, b.N*n), "cpu-ns/key")
			b.ReportMetric(perKey(b.Elapsed(), b.N*n), "ns/key")
			b.ReportMetric(float64(size)/float64(n), "disk-B/key")
		})
	}
}

// allKeys is the keys of rows [0, n) as strings over one buffer.
func allKeys(n int) []string {
	var kc keyChunk
	return kc.fill(0, n)
}

// BenchmarkIndex: the in-memory Index of a folded state of
// STATE_BENCH_KEYS keys (put by a first run), against the file it
// replaces for a run's lookups. One op is one pass over every key; the
// figures are per key. Keys are made before the timer starts.
//
//   - build: Store.Index, one pass over the keys in file order: ns/key,
//     cpu-ns/key, allocs/key, heap-B/key (the Go heap the Index holds);
//   - lookup/index and lookup/store: every key with its fingerprint, in row
//     order (random to the table and to the file): Index.Lookup against
//     Store.Lookup in chunks of 64, as the importer's mapping workers ran it;
//   - mark/inputkeys and mark/seen: the dispatcher's "did the key come
//     earlier?" for every row: InputKeys.AddSlot against Seen.Add;
//   - missing/held, missing/hasbytes and missing/seen: the end-of-run scan,
//     Store.Missing with all keys but 0.1% held, asking InputKeys.Held (its
//     making included), InputKeys.HasBytes or Seen.HasBytes.
func BenchmarkIndex(b *testing.B) {
	n := benchKeys(b)
	s := openStore(b, filepath.Join(b.TempDir(), "state.db"))
	firstRun(b, s, n, 1000)
	if err := s.Fold(context.Background()); err != nil {
		b.Fatal(err)
	}
	keys := allKeys(n)
	x, err := s.Index()
	if err != nil {
		b.Fatal(err)
	}
	perKeyOp := func(b *testing.B) { b.ReportMetric(perKey(b.Elapsed(), b.N*n), "ns/key") }
	b.Run(fmt.Sprintf("keys=%d/build", n), func(b *testing.B) {
		var cpu time.Duration
		var allocs uint64
		var heap float64
		for b.Loop() {
			b.StopTimer()
			runtime.GC()
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			c0 := cputime.Self()
			b.StartTimer()
			x, err := s.Index()
			b.StopTimer()
			cpu += cputime.Self() - c0
			if err != nil {
				b.Fatal(err)
			}
			runtime.ReadMemStats(&m1)
			b.StartTimer()
			allocs += m1.Mallocs - m0.Mallocs
			heap = float64(m1.HeapAlloc) - float64(m0.HeapAlloc)
			runtime.KeepAlive(x)
		}
		perKeyOp(b)
		b.ReportMetric(perKey(cpu, b.N*n), "cpu-ns/key")
		b.ReportMetric(float64(allocs)/float64(b.N*n), "allocs/key")
		b.ReportMetric(heap/float64(n), "heap-B/key")
	})
	b.Run(fmt.Sprintf("keys=%d/lookup/index", n), func(b *testing.B) {
		m0 := mallocs()
		for b.Loop() {
			for i, key := range keys {
				if x.Lookup(key, benchFP(i, 0)) < 0 {
					b.Fatalf("key %d not found", i)
				}
			}
		}
		perKeyOp(b)
		b.ReportMetric(float64(mallocs()-m0)/float64(b.N*n), "allocs/key")
	})
	b.Run(fmt.Sprintf("keys=%d/lookup/store", n), func(b *testing.B) {
		hits := make([]Hit, 64)
		m0 := mallocs()
		for b.Loop() {
			for from := 0; from < n; from += 64 {
				chunk := keys[from:min(n, from+64)]
				if err := s.Lookup(chunk, hits); err != nil {
					b.Fatal(err)
				}
				for j := range chunk {
					if !hits[j].Found || hits[j].Entry.Fingerprint != benchFP(from+j, 0) {
						b.Fatalf("key %d not found", from+j)
					}
				}
			}
		}
		perKeyOp(b)
		b.ReportMetric(float64(mallocs()-m0)/float64(b.N*n), "allocs/key")
	})
	slots := make([]int, n)
	for i, key := range keys {
		slots[i] = x.Lookup(key, benchFP(i, 0))
	}
	b.Run(fmt.Sprintf("keys=%d/mark/inputkeys", n), func(b *testing.B) {
		for b.Loop() {
			k := NewInputKeys(x)
			for i := range slots {
				if !k.AddSlot(slots[i]) {
					b.Fatalf("key %d repeated", i)
				}
			}
		}
		perKeyOp(b)
	})
	b.Run(fmt.Sprintf("keys=%d/mark/seen", n), func(b *testing.B) {
		for b.Loop() {
			seen := NewSeen(n)
			for i, key := range keys {
				if !seen.Add(key) {
					b.Fatalf("key %d repeated", i)
				}
			}
		}
		perKeyOp(b)
	})
	k, seen := NewInputKeys(x), NewSeen(n)
	for i, key := range keys {
		if i%1000 != 7 {
			k.AddSlot(slots[i])
			seen.Add(key)
		}
	}
	helds := map[string]func() func([]byte) bool{
		"held":     k.Held,
		"hasbytes": func() func([]byte) bool { return k.HasBytes },
		"seen":     func() func([]byte) bool { return seen.HasBytes },
	}
	for _, name := range []string{"held", "hasbytes", "seen"} {
		b.Run(fmt.Sprintf("keys=%d/missing/%s", n, name), func(b *testing.B) {
			for b.Loop() {
				missing, err := s.Missing(helds[name](), func(string, Entry) error { return nil })
				if err != nil {
					b.Fatal(err)
				}
				if missing != (n+992)/1000 {
					b.Fatalf("%d keys missing, want %d", missing, (n+992)/1000)
				}
			}
			perKeyOp(b)
		})
	}
}
