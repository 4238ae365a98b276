package input

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// streamBook writes an n-row workbook with excelize's StreamWriter: an ID
// as text with leading zeros, an e-mail, a name, a number, a date.
func streamBook(b *testing.B, n int) string {
	b.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	must(b, err)
	day, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	must(b, err)
	must(b, sw.SetRow("A1", []any{"ID", "Email", "Name", "Points", "Born"}))
	for i := range n {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		row := []any{fmt.Sprintf("%08d", i), fmt.Sprintf("user%d@example.com", i), "Иван Петров", i * 7,
			excelize.Cell{StyleID: day, Value: 30000 + i%20000}}
		must(b, sw.SetRow(cell, row))
	}
	must(b, sw.Flush())
	path := filepath.Join(b.TempDir(), "big.xlsx")
	must(b, f.SaveAs(path))
	return path
}

// heapPeak samples the heap while a benchmark runs: the largest heap
// (live objects and garbage not yet collected) and the largest live heap
// a collection found, both above what was live when it started.
type heapPeak struct {
	stop       chan struct{}
	done       chan struct{}
	heap, live atomic.Uint64
	// base is the live heap before the benchmark: what the test binary
	// keeps from earlier benchmarks and fixtures, not this reader's.
	base uint64
}

func watchHeap() *heapPeak {
	// Twice: the first moves what sync.Pools hold (an earlier benchmark's
	// buffers) to their victim caches, the second frees it.
	runtime.GC()
	runtime.GC()
	p := &heapPeak{stop: make(chan struct{}), done: make(chan struct{})}
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(samples)
	p.base = samples[1].Value.Uint64()
	go func() {
		defer close(p.done)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(samples)
			p.heap.Store(max(p.heap.Load(), samples[0].Value.Uint64()))
			p.live.Store(max(p.live.Load(), samples[1].Value.Uint64()))
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

// report adds the peaks to the benchmark's figures and fails it when the
// live heap went over limitMB.
func (p *heapPeak) report(b *testing.B, limitMB float64) {
	close(p.stop)
	<-p.done
	grown := float64(p.live.Load()-min(p.base, p.live.Load())) / (1 << 20)
	if grown > limitMB {
		b.Errorf("live heap grew by %.1f MB, over the %.0f MB bound", grown, limitMB)
	}
	b.ReportMetric(float64(p.heap.Load()-min(p.base, p.heap.Load()))/(1<<20), "peak-heap-MB")
	b.ReportMetric(grown, "peak-live-MB")
}

// benchWorkbook reads the n-row workbook at path b.N times and reports
// rows/s, allocations and the heap's peaks, failing over 32 MB of live heap.
func benchWorkbook(b *testing.B, path string, n int) {
	b.ReportAllocs()
	peak := watchHeap()
	b.ResetTimer()
	for b.Loop() {
		in, err := Open(path, Options{})
		must(b, err)
		got := 0
		for {
			rec, err := in.Read()
			if err != nil {
				break
			}
			if rec.Err != nil {
				b.Fatal(rec.Err)
			}
			got++
		}
		in.Close()
		if got != n {
			b.Fatalf("%d records, want %d", got, n)
		}
	}
	b.StopTimer()
	peak.report(b, 32)
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*b.N), "ns/row")
}

// BenchmarkXLSXStream100k reads a 100 000-row workbook written by
// excelize's StreamWriter (inline strings) from a file.
func BenchmarkXLSXStream100k(b *testing.B) {
	const n = 100_000
	benchWorkbook(b, streamBook(b, n), n)
}

// BenchmarkXLSXSharedStrings200k reads a workbook laid out as Excel saves
// one: 200 000 rows, two unique shared strings each (400 000 strings, 15
// MB of text): the table goes to a temporary file, 4 bytes a string stay in
// memory.
func BenchmarkXLSXSharedStrings200k(b *testing.B) {
	const n = 200_000
	path := filepath.Join(b.TempDir(), "strings.xlsx")
	must(b, os.WriteFile(path, bigStrings(b, n), 0o644))
	benchWorkbook(b, path, n)
}
