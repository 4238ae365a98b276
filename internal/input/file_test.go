package input

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func gzipBytes(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// numbered is a CSV of n rows that gzip cannot shrink much, so that a cut in
// the compressed stream lands well inside the data.
func numbered(n int) []byte {
	var b bytes.Buffer
	b.WriteString("id,value\n")
	x := uint32(2463534242)
	for i := range n {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		fmt.Fprintf(&b, "%d,%08x%08x\n", i+1, x, x*2654435761)
	}
	return b.Bytes()
}

func TestFormatDetection(t *testing.T) {
	csvData, jsonlData := "a,b\n1,2\n", "{\"a\":1}\n"
	tests := []struct {
		name, file, data string
		opts             Options
		want             Format
	}{
		{"CSVExt", "x.csv", csvData, Options{}, FormatCSV},
		{"TSVExt", "x.TSV", "a\tb\n1\t2\n", Options{}, FormatCSV},
		{"TXTExt", "x.txt", csvData, Options{}, FormatCSV},
		{"JSONLExt", "x.jsonl", jsonlData, Options{}, FormatJSONL},
		{"NDJSONExt", "x.ndjson", jsonlData, Options{}, FormatJSONL},
		{"JSONExt", "x.json", jsonlData, Options{}, FormatJSONL},
		{"GzExtStripped", "x.jsonl.gz", jsonlData, Options{}, FormatJSONL},
		{"ExtBeatsContent", "x.csv", "{a}\n1\n", Options{}, FormatCSV},
		{"SniffedObject", "stdin", "\n  " + jsonlData, Options{}, FormatJSONL},
		{"SniffedCSV", "export.dat", csvData, Options{}, FormatCSV},
		{"ConfiguredBeatsExt", "x.csv", jsonlData, Options{Format: FormatJSONL}, FormatJSONL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, recs := readAll(t, tt.file, []byte(tt.data), tt.opts)
			if f.Format() != tt.want {
				t.Errorf("Format() = %q, want %q", f.Format(), tt.want)
			}
			if len(recs) == 0 {
				t.Errorf("no records read")
			}
		})
	}
}

func TestGzip(t *testing.T) {
	plain := numbered(20000) // ~380 KB, several head sizes
	tests := []struct {
		name, file string
	}{
		{"ByMagicNotName", "export.dat"},
		{"GzName", "export.csv.gz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, recs := openAll(t, writeTemp(t, tt.file, gzipBytes(t, plain)), Options{})
			if len(recs) != 20000 || recs[19999].Fields[0] != "20000" || recs[19999].Line != 20001 {
				t.Fatalf("read %d records, last %+v", len(recs), recs[len(recs)-1])
			}
			if f.Size() <= 0 || f.BytesRead() != f.Size() {
				t.Errorf("BytesRead() = %d, Size() = %d; want equal at the end", f.BytesRead(), f.Size())
			}
		})
	}
	t.Run("Truncated", func(t *testing.T) {
		gz := gzipBytes(t, plain)
		path := writeTemp(t, "cut.csv.gz", gz[:len(gz)*2/3])
		f, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		recs, err := drain(f)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("Read = %v after %d records, want io.ErrUnexpectedEOF", err, len(recs))
		}
		for _, s := range []string{"cut.csv.gz", "line"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not name %s", err, s)
			}
		}
		for _, r := range recs {
			if r.Err != nil {
				t.Fatalf("a cut stream made a row error instead of a fatal error: %v", r.Err)
			}
		}
		if _, again := f.Read(); again != err {
			t.Errorf("second Read = %v, want the same fatal error", again)
		}
	})
	t.Run("BadChecksum", func(t *testing.T) {
		gz := gzipBytes(t, plain)
		gz[len(gz)-8] ^= 0xff // the CRC-32 in the trailer
		_, err := drain(mustReader(t, "x.csv", gz))
		if !errors.Is(err, gzip.ErrChecksum) {
			t.Errorf("Read = %v, want gzip.ErrChecksum", err)
		}
	})
	t.Run("BadHeader", func(t *testing.T) {
		_, err := NewReader(bytes.NewReader([]byte{0x1f, 0x8b, 0, 0}), "x.csv", Options{})
		if err == nil || !strings.Contains(err.Error(), "gzip") {
			t.Errorf("NewReader = %v, want a gzip error", err)
		}
	})
}

func mustReader(t testing.TB, name string, data []byte) *File {
	t.Helper()
	f, err := NewReader(bytes.NewReader(data), name, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// failingReader returns its data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestReadErrorIsFatal(t *testing.T) {
	boom := errors.New("disk on fire")
	data := numbered(10000)
	f, err := NewReader(&failingReader{data: data[:len(data)/2], err: boom}, "crm.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := drain(f)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "crm.csv line ") {
		t.Fatalf("Read = %v, want the I/O error naming the file and line", err)
	}
	for _, r := range recs {
		if r.Err != nil {
			t.Fatalf("the half line before the error became a row: %v", r.Err)
		}
	}
	if f.Size() != -1 {
		t.Errorf("Size() = %d for a plain reader, want -1", f.Size())
	}
	if _, err := NewReader(&failingReader{err: boom}, "crm.csv", Options{}); !errors.Is(err, boom) {
		t.Errorf("NewReader over a failing reader = %v, want %v", err, boom)
	}
}

// TestOpenNamesItsInput: Open refuses a missing file and a directory
// naming them, reports size and bytes read, and reads stdin for "-".
func TestOpenNamesItsInput(t *testing.T) {
	t.Run("Missing", func(t *testing.T) {
		_, err := Open("testdata/no-such-file.csv", Options{})
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open = %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("Directory", func(t *testing.T) {
		_, err := Open(t.TempDir(), Options{})
		if err == nil || !strings.Contains(err.Error(), "directory") {
			t.Errorf("Open(dir) = %v, want an error", err)
		}
	})
	t.Run("SizeAndBytesRead", func(t *testing.T) {
		data := numbered(5000)
		f, err := Open(writeTemp(t, "x.csv", data), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if f.Size() != int64(len(data)) {
			t.Errorf("Size() = %d, want %d", f.Size(), len(data))
		}
		if _, err := drain(f); err != nil {
			t.Fatal(err)
		}
		if f.BytesRead() != int64(len(data)) {
			t.Errorf("BytesRead() = %d at the end, want %d", f.BytesRead(), len(data))
		}
		if err := f.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
		if err := f.Close(); err != nil {
			t.Errorf("second Close() = %v", err)
		}
		if _, err := f.Read(); err == nil {
			t.Errorf("Read after Close = nil error")
		}
	})
	t.Run("Stdin", func(t *testing.T) {
		path := writeTemp(t, "in", []byte("{\"a\":1}\n"))
		in, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		saved := os.Stdin
		os.Stdin = in
		defer func() { os.Stdin = saved }()
		f, err := Open("-", Options{})
		if err != nil {
			t.Fatal(err)
		}
		recs, err := drain(f)
		if err != nil || len(recs) != 1 || f.Format() != FormatJSONL {
			t.Fatalf("read %d records, %v, format %q", len(recs), err, f.Format())
		}
		f.Close()
		if _, err := in.Stat(); err != nil {
			t.Errorf("Close closed stdin: %v", err)
		}
	})
	t.Run("NewReaderDoesNotClose", func(t *testing.T) {
		r := &closeSpy{Reader: strings.NewReader("a\n1\n")}
		f, err := NewReader(r, "x.csv", Options{})
		if err != nil {
			t.Fatal(err)
		}
		if f.Size() != 4 {
			t.Errorf("Size() = %d over a strings.Reader, want 4", f.Size())
		}
		f.Close()
		if r.closed {
			t.Errorf("Close closed the reader given to NewReader")
		}
	})
}

type closeSpy struct {
	*strings.Reader
	closed bool
}

func (c *closeSpy) Close() error { c.closed = true; return nil }

// TestBytesReadConcurrently polls BytesRead from another goroutine while
// reading, as the progress bar does (go test -race checks the claim).
func TestBytesReadConcurrently(t *testing.T) {
	data := numbered(20000)
	f := mustReader(t, "x.csv", data)
	var wg sync.WaitGroup
	done := make(chan struct{})
	var seen []int64
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
				seen = append(seen, f.BytesRead())
			}
		}
	})
	if _, err := drain(f); err != nil {
		t.Fatal(err)
	}
	close(done)
	wg.Wait()
	if !slices.IsSorted(seen) {
		t.Errorf("BytesRead went backwards")
	}
	if f.BytesRead() != int64(len(data)) {
		t.Errorf("BytesRead() = %d, want %d", f.BytesRead(), len(data))
	}
}

// TestRecordsAreOwned: records stay intact after later reads, so another
// goroutine may hold and map them while reading goes on.
func TestRecordsAreOwned(t *testing.T) {
	data := []byte("a,b\n" + strings.Repeat("1,\"x\ny\"\n2,3\n4,\"5\"\"\"\n", 3000))
	for _, tc := range []struct {
		name string
		data []byte
	}{{"CSV", data}, {"JSONL", []byte(strings.Repeat("{\"a\":1}\n{\"b\":[2]}\n", 5000))}} {
		t.Run(tc.name, func(t *testing.T) {
			f := mustReader(t, "x."+strings.ToLower(tc.name), tc.data)
			var recs []*Record
			var snapshot []view
			for {
				r, err := f.Read()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				recs = append(recs, r)
				v := viewOf(r)
				v.Fields = slices.Clone(v.Fields)
				v.Raw = strings.Clone(v.Raw)
				snapshot = append(snapshot, v)
			}
			var after []view
			for _, r := range recs {
				after = append(after, viewOf(r))
			}
			if diff := cmp.Diff(snapshot, after); diff != "" {
				t.Errorf("records changed after later reads (-then +now):\n%s", diff)
			}
		})
	}
}
