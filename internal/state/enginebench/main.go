// Command enginebench compares embedded key-value engines on the state
// database's workload: a first run of N puts, delta runs of N batched lookups
// plus 1% puts, and a scan of every key. One engine per process, so heap and
// RSS peaks belong to that engine alone.
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"hash/maphash"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// engine is the little the state database needs from a key-value store.
type engine interface {
	// put writes keys[i]→vals[i] in one durable transaction.
	put(keys, vals [][]byte) error
	// lookup calls fn for every key with its value (nil if absent), in one
	// read transaction; v is valid only during fn.
	lookup(keys [][]byte, fn func(i int, v []byte)) error
	// scan calls fn for every stored key in order.
	scan(fn func(k, v []byte)) error
	close() error
}

type opener func(dir string) (engine, error)

var engines = map[string]opener{}

func main() {
	name := flag.String("engine", "bbolt", "bbolt | pebble | sqlite")
	n := flag.Int("n", 1_000_000, "keys")
	batch := flag.Int("batch", 1000, "puts per transaction")
	chunk := flag.Int("chunk", 64, "keys per lookup")
	deltas := flag.Int("deltas", 10, "delta runs")
	dir := flag.String("dir", "", "directory (default: a new temp dir)")
	only := flag.String("only", "", "first: stop after the first run")
	flag.IntVar(&pebbleCacheMB, "cache", 8, "pebble block cache, MB (on the Go heap without cgo)")
	flag.Float64Var(&fill, "fill", 0.5, "bbolt bucket FillPercent")
	flag.StringVar(&sqliteSync, "sync", "FULL", "sqlite synchronous pragma")
	flag.IntVar(&boltPage, "page", 4096, "bbolt page size (new files)")
	flag.BoolVar(&pebbleNewest, "newest", false, "pebble: newest format (columnar blocks)")
	flag.BoolVar(&pebbleNoCompress, "nocompress", false, "pebble: no block compression")
	flag.IntVar(&pebbleBlock, "block", 0, "pebble data block size")
	flag.IntVar(&pebbleIndexBlock, "iblock", 0, "pebble index block size")
	flag.BoolVar(&sortedKeys, "sorted", false, "keys in sort order (a bulk load) instead of random order")
	compactTo := flag.Bool("compact", false, "bbolt: after the delta runs, copy the file in key order (bbolt.Compact) and report its size")
	prof := flag.String("cpuprofile", "", "write a CPU profile of the delta runs")
	flag.Parse()
	open := engines[*name]
	if open == nil {
		fmt.Fprintln(os.Stderr, "unknown engine", *name)
		os.Exit(2)
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "enginebench-"+*name+"-")
		check(err)
		*dir = d
		defer os.RemoveAll(d)
	}
	stop := startHeapSampler()
	res := map[string]any{"engine": *name, "n": *n, "batch": *batch, "chunk": *chunk}
	e, err := open(*dir)
	check(err)
	if *prof != "" && *only == "first" {
		f, err := os.Create(*prof)
		check(err)
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}

	// First run: every key is new, put in file order in transactions of batch.
	m := measure(func() { firstRun(e, *n, *batch) })
	res["first_ns_key"] = m.wall / float64(*n)
	res["first_cpu_ns_key"] = m.cpu / float64(*n)
	res["first_allocs_key"] = m.allocs / float64(*n)
	res["first_bytes_key"] = m.bytes / float64(*n)
	check(e.close())
	res["size_first_B_key"] = float64(dirSize(*dir)) / float64(*n)
	res["heap_peak_first_MB"] = float64(stop(false)) / (1 << 20)
	if *only == "first" {
		emit(res)
		return
	}

	e, err = open(*dir)
	check(err)
	var lk, dl measured
	if *prof != "" && *only == "" {
		f, err := os.Create(*prof)
		check(err)
		pprof.StartCPUProfile(f)
	}
	for run := 1; run <= *deltas; run++ {
		l, d := deltaRun(e, *n, *chunk, *batch, run)
		lk.add(l)
		dl.add(d)
	}
	if *prof != "" && *only == "" {
		pprof.StopCPUProfile()
	}
	res["delta_lookup_ns_key"] = lk.wall / float64(*n**deltas)
	res["delta_lookup_cpu_ns_key"] = lk.cpu / float64(*n**deltas)
	res["delta_lookup_allocs_key"] = lk.allocs / float64(*n**deltas)
	puts := float64(*deltas) * float64(*n) / 100
	res["delta_put_ns_key"] = dl.wall / puts
	res["delta_put_cpu_ns_key"] = dl.cpu / puts

	// Missing: every key but 0.1% seen; scan and count the unseen.
	seen := make([]uint64, 0, *n)
	kb := make([]byte, 0, 64)
	for i := range *n {
		if i%1000 != 7 {
			seen = append(seen, hashKey(genKey(kb[:0], i)))
		}
	}
	slices.Sort(seen)
	missing := 0
	m = measure(func() {
		check(e.scan(func(k, v []byte) {
			if _, ok := slices.BinarySearch(seen, hashKey(k)); !ok {
				missing++
			}
		}))
	})
	if missing != *n/1000 {
		fmt.Fprintf(os.Stderr, "missing %d, want %d\n", missing, *n/1000)
		os.Exit(1)
	}
	seen = nil
	res["scan_ns_key"] = m.wall / float64(*n)
	res["scan_cpu_ns_key"] = m.cpu / float64(*n)
	check(e.close())
	res["size_delta10_B_key"] = float64(dirSize(*dir)) / float64(*n)
	if *compactTo {
		res["size_compacted_B_key"] = float64(boltCompactSize(*dir)) / float64(*n)
	}
	res["heap_peak_all_MB"] = float64(stop(true)) / (1 << 20)
	res["rss_peak_MB"] = float64(vmHWM()) / (1 << 20)
	emit(res)
}

func emit(res map[string]any) {
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// ---- workload ----

var seed = maphash.MakeSeed()

func hashKey(k []byte) uint64 { return maphash.Bytes(seed, k) }

var words = []string{"anna", "boris", "ivan.petrov", "olga", "sergey", "maria.k", "dmitry", "elena", "nikolai", "tatiana", "alex", "yulia"}
var domains = []string{"example.com", "mail.ru", "yandex.ru", "gmail.com", "corp.example.org"}

// mix is a bijective 64-bit mixer (splitmix64's finaliser), so key i is
// unique and keys sort in an order unrelated to the file order.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// sortedKeys makes row order the keys' sort order (-sorted): the cost of
// a bulk load in key order, against the random order of an export.
var sortedKeys bool

// genKey appends row i's e-mail-like key (~25 bytes) to b.
func genKey(b []byte, i int) []byte {
	if sortedKeys {
		b = append(b, "user"...)
		b = append(b, fmt.Sprintf("%09d", i)...)
		return append(b, "@example.com"...)
	}
	h := mix(uint64(i) + 1)
	b = append(b, words[h%uint64(len(words))]...)
	b = strconv.AppendUint(b, h>>40, 36) // unique part: 24 bits of h ... plus i below
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(i), 36)
	b = append(b, '@')
	b = append(b, domains[(h>>8)%uint64(len(domains))]...)
	return b
}

// genVal appends the stored value: 16-byte fingerprint, varint time, varint row.
func genVal(b []byte, i, run int) []byte {
	var fp [16]byte
	binary.LittleEndian.PutUint64(fp[:8], mix(uint64(i)^uint64(run)<<48))
	binary.LittleEndian.PutUint64(fp[8:], mix(uint64(i)+uint64(run)))
	b = append(b, fp[:]...)
	b = binary.AppendVarint(b, 1_790_000_000+int64(run)*86400)
	b = binary.AppendUvarint(b, uint64(i)+1)
	return b
}

// changed reports whether row i changes in delta run number run (~1%).
func changed(i, run int) bool { return mix(uint64(i)*31+uint64(run))%100 == 0 }

// arena holds a batch's keys and values without a heap object per key.
type arena struct {
	buf        []byte
	keys, vals [][]byte
	ko, vo     [][2]int
}

func (a *arena) reset() { a.buf, a.ko, a.vo = a.buf[:0], a.ko[:0], a.vo[:0] }
func (a *arena) add(i, run int, withVal bool) {
	s := len(a.buf)
	a.buf = genKey(a.buf, i)
	a.ko = append(a.ko, [2]int{s, len(a.buf)})
	if withVal {
		s = len(a.buf)
		a.buf = genVal(a.buf, i, run)
		a.vo = append(a.vo, [2]int{s, len(a.buf)})
	}
}
func (a *arena) slices() {
	a.keys, a.vals = a.keys[:0], a.vals[:0]
	for _, o := range a.ko {
		a.keys = append(a.keys, a.buf[o[0]:o[1]:o[1]])
	}
	for _, o := range a.vo {
		a.vals = append(a.vals, a.buf[o[0]:o[1]:o[1]])
	}
}

func firstRun(e engine, n, batch int) {
	var a arena
	for i := 0; i < n; i += batch {
		a.reset()
		for j := i; j < min(n, i+batch); j++ {
			a.add(j, 0, true)
		}
		a.slices()
		check(e.put(a.keys, a.vals))
	}
}

// deltaRun looks every key up in chunks and puts the changed ones (1%) in
// transactions of batch, as the importer's writer would after they end ok.
func deltaRun(e engine, n, chunk, batch, run int) (look, put measured) {
	var a, p arena
	var changedRows []int
	found := 0
	look = measure(func() {
		for i := 0; i < n; i += chunk {
			a.reset()
			for j := i; j < min(n, i+chunk); j++ {
				a.add(j, 0, false)
			}
			a.slices()
			check(e.lookup(a.keys, func(k int, v []byte) {
				if v != nil && len(v) > 16 {
					found++
				}
			}))
			for j := i; j < min(n, i+chunk); j++ {
				if changed(j, run) {
					changedRows = append(changedRows, j)
				}
			}
		}
	})
	if found != n {
		fmt.Fprintf(os.Stderr, "run %d: found %d of %d\n", run, found, n)
		os.Exit(1)
	}
	put = measure(func() {
		for i := 0; i < len(changedRows); i += batch {
			p.reset()
			for _, r := range changedRows[i:min(len(changedRows), i+batch)] {
				p.add(r, run, true)
			}
			p.slices()
			check(e.put(p.keys, p.vals))
		}
	})
	return look, put
}

// ---- measurement ----

type measured struct{ wall, cpu, allocs, bytes float64 }

func (m *measured) add(o measured) {
	m.wall += o.wall
	m.cpu += o.cpu
	m.allocs += o.allocs
	m.bytes += o.bytes
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func measure(f func()) measured {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	c0, t0 := cpuNow(), time.Now()
	f()
	wall, cpu := time.Since(t0), cpuNow()-c0
	runtime.ReadMemStats(&b)
	return measured{wall: float64(wall.Nanoseconds()), cpu: float64(cpu.Nanoseconds()),
		allocs: float64(b.Mallocs - a.Mallocs), bytes: float64(b.TotalAlloc - a.TotalAlloc)}
}

// startHeapSampler samples the Go heap (objects plus unused spans, i.e.
// HeapInuse) every 2 ms; stop returns the peak so far (and ends sampling
// when final).
func startHeapSampler() func(final bool) uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	go func() {
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			metrics.Read(samples)
			v := samples[0].Value.Uint64() + samples[1].Value.Uint64()
			if v > peak.Load() {
				peak.Store(v)
			}
		}
	}()
	return func(final bool) uint64 {
		if final {
			close(done)
		}
		return peak.Load()
	}
}

func vmHWM() uint64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// dirSize is the apparent size of the files under dir (what ls shows; a
// sparse file counts whole).
func dirSize(dir string) int64 {
	var total int64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				total += fi.Size()
			}
		}
		return nil
	})
	return total
}
