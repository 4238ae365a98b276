package input

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// fuzzSeeds are the fixtures of testdata (minus the big generated ones) and a
// few inputs that reach the error paths.
func fuzzSeeds(f *testing.F, glob string, extra ...string) [][]byte {
	f.Helper()
	paths, err := filepath.Glob(glob)
	if err != nil {
		f.Fatal(err)
	}
	var seeds [][]byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, data)
	}
	for _, s := range extra {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

// lineBreaks counts line ends as the reader does: CRLF, LF, a lone CR.
func lineBreaks(b []byte) int64 {
	var n int64
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '\n':
			n++
		case '\r':
			if i+1 >= len(b) || b[i+1] != '\n' {
				n++
			}
		}
	}
	return n
}

var fuzzDelims = []rune{0, ',', ';', '\t', '|'}

// FuzzCSV checks, for any input, that the reader does not panic, that it
// numbers rows 1..n, that Line and Offset agree with the bytes, that every
// byte after the header belongs to one record (the records' byte ranges tile
// the rest of the file, blank lines aside), and that every record it calls
// valid parses the same with encoding/csv.
func FuzzCSV(f *testing.F) {
	for _, s := range fuzzSeeds(f, "testdata/*/*.csv", "a,b\n1,\"x\n2,3\n", "a,b\n\"1\"x,2\n", "a;b\r\n1;2\r\r\n",
		"\xef\xbb\xbfa,b\n1,2", "a\n\"\"\"\"\n", "a,b\n1,\"2\n\n3\",4\n") {
		f.Add(s, uint8(0), false, uint16(0))
	}
	f.Add([]byte("a,b\n1,22222\n3,4\n"), uint8(1), false, uint16(3))
	f.Add([]byte("1,2\n3\n"), uint8(0), true, uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, delimSel uint8, noHeader bool, maxField uint16) {
		opts := Options{Format: FormatCSV, Encoding: "utf-8", Delimiter: fuzzDelims[int(delimSel)%len(fuzzDelims)], MaxFieldSize: int(maxField)}
		if noHeader {
			opts.NoHeader, opts.Columns = true, []string{"a", "b", "c"}
		}
		file, err := NewReader(bytes.NewReader(data), "fuzz.csv", opts)
		if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
			// gzip: broken streams fail; only panics would be bugs here.
			if err == nil {
				drain(file)
			}
			return
		}
		if err != nil {
			if !errors.Is(err, ErrHeader) && !errors.Is(err, ErrEncoding) && !errors.Is(err, ErrFormat) {
				t.Fatalf("NewReader: unexpected error %v", err)
			}
			return
		}
		headerEnd := file.lr.offset()
		recs, err := drain(file)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		ncols := len(file.Header())
		max := opts.MaxFieldSize
		if max == 0 {
			max = DefaultMaxFieldSize
		}
		for i, r := range recs {
			if r.Row != int64(i+1) {
				t.Fatalf("record %d has Row %d", i+1, r.Row)
			}
			if i > 0 && (r.Line <= recs[i-1].Line || r.Offset <= recs[i-1].Offset) {
				t.Fatalf("record %d starts at line %d offset %d, not after record %d (line %d offset %d)",
					i+1, r.Line, r.Offset, i, recs[i-1].Line, recs[i-1].Offset)
			}
			if r.Err != nil {
				if r.Err.Row != r.Row || r.Err.Line < r.Line || r.Err.Column < 0 {
					t.Fatalf("record %d: bad RowError %+v", i+1, r.Err)
				}
				if r.Err.Column > 0 && r.Err.Column <= ncols && r.Err.Name != file.Header()[r.Err.Column-1] {
					t.Fatalf("record %d: RowError names column %d %q", i+1, r.Err.Column, r.Err.Name)
				}
				continue
			}
			if len(r.Fields) != ncols {
				t.Fatalf("valid record %d has %d fields, header %d", i+1, len(r.Fields), ncols)
			}
			for _, fl := range r.Fields {
				if !utf8.ValidString(fl) || strings.IndexByte(fl, 0) >= 0 || len(fl) > max {
					t.Fatalf("valid record %d has field %q", i+1, fl)
				}
			}
		}
		if bytes.HasPrefix(data, []byte("\xff\xfe")) || bytes.HasPrefix(data, []byte("\xfe\xff")) {
			return // UTF-16: positions are in the decoded stream, not in data
		}
		// The decoded stream is data itself (a UTF-8 BOM counts as 3 bytes).
		end := int64(len(data))
		next := end
		if len(recs) > 0 {
			next = recs[0].Offset
		}
		if gap := data[headerEnd:next]; len(bytes.Trim(gap, "\r\n")) != 0 {
			t.Fatalf("bytes %d..%d after the header belong to no record: %q", headerEnd, next, gap)
		}
		for i, r := range recs {
			if want := 1 + lineBreaks(data[:r.Offset]); r.Line != want {
				t.Fatalf("record %d: Line %d, but offset %d is on line %d", i+1, r.Line, r.Offset, want)
			}
			segEnd := end
			if i+1 < len(recs) {
				segEnd = recs[i+1].Offset
			}
			seg := data[r.Offset:segEnd]
			if len(seg) == 0 || seg[0] == '\r' || seg[0] == '\n' {
				t.Fatalf("record %d starts on a blank line: %q", i+1, seg)
			}
			if r.Err != nil || bytes.IndexByte(seg, '\r') >= 0 {
				continue // encoding/csv rewrites CRs and knows no lone CR line ends
			}
			cr := csv.NewReader(bytes.NewReader(seg))
			cr.Comma, cr.FieldsPerRecord = file.Delimiter(), -1
			want, err := cr.Read()
			if err != nil {
				t.Fatalf("record %d is valid here but encoding/csv says %v on %q", i+1, err, seg)
			}
			if diff := cmp.Diff(want, r.Fields); diff != "" {
				t.Fatalf("record %d differs from encoding/csv on %q (-csv +got):\n%s", i+1, seg, diff)
			}
			if _, err := cr.Read(); err != io.EOF {
				t.Fatalf("record %d's bytes %q hold more than one record for encoding/csv (%v)", i+1, seg, err)
			}
		}
	})
}

// FuzzJSONL checks, for any input, that the reader does not panic and that
// every non-blank line becomes exactly one record, in order, valid records
// holding the object the line decodes to.
func FuzzJSONL(f *testing.F) {
	for _, s := range fuzzSeeds(f, "testdata/*.jsonl", "{\"a\":1}\n\n[1]\n", "{\"id\":12345678901234567}\r\n{", "  \n\t\n", "{\"a\":\"\xff\"}\n") {
		f.Add(s, uint16(0))
	}
	f.Add([]byte("{\"a\":\"0123456789\"}\n{}\n"), uint16(8))
	f.Fuzz(func(t *testing.T, data []byte, maxField uint16) {
		opts := Options{Format: FormatJSONL, Encoding: "utf-8", MaxFieldSize: int(maxField)}
		file, err := NewReader(bytes.NewReader(data), "fuzz.jsonl", opts)
		if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
			// gzip: broken streams fail; only panics would be bugs here.
			if err == nil {
				drain(file)
			}
			return
		}
		if err != nil {
			if !errors.Is(err, ErrEncoding) && !errors.Is(err, ErrFormat) {
				t.Fatalf("NewReader: unexpected error %v", err)
			}
			return
		}
		recs, err := drain(file)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if bytes.HasPrefix(data, []byte("\xff\xfe")) || bytes.HasPrefix(data, []byte("\xfe\xff")) {
			for i, r := range recs {
				if r.Row != int64(i+1) || (i > 0 && r.Line <= recs[i-1].Line) {
					t.Fatalf("record %d: Row %d Line %d", i+1, r.Row, r.Line)
				}
			}
			return
		}
		// Non-blank lines of data, by line number.
		var lines []int64
		texts := map[int64][]byte{}
		for n, l := range bytes.Split(data, []byte{'\n'}) {
			if n == 0 {
				l = bytes.TrimPrefix(l, []byte("\xef\xbb\xbf"))
			}
			if len(trimJSONSpace(l)) > 0 {
				lines = append(lines, int64(n+1))
				texts[int64(n+1)] = bytes.TrimSuffix(l, []byte{'\r'})
			}
		}
		got := make([]int64, len(recs))
		for i, r := range recs {
			got[i] = r.Line
			if r.Row != int64(i+1) {
				t.Fatalf("record %d has Row %d", i+1, r.Row)
			}
			if want := 1 + int64(bytes.Count(data[:r.Offset], []byte{'\n'})); r.Line != want {
				t.Fatalf("record %d: Line %d, but offset %d is on line %d", i+1, r.Line, r.Offset, want)
			}
			if r.Err != nil {
				if r.Err.Line != r.Line || r.Object != nil {
					t.Fatalf("record %d: Err %+v with Object %v", i+1, r.Err, r.Object)
				}
				continue
			}
			if !bytes.Equal(r.Raw, texts[r.Line]) || r.Object == nil || !json.Valid(r.Raw) {
				t.Fatalf("record %d: Raw %q, line %q, Object %v", i+1, r.Raw, texts[r.Line], r.Object)
			}
			dec := json.NewDecoder(bytes.NewReader(r.Raw))
			dec.UseNumber()
			var want map[string]any
			if err := dec.Decode(&want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, r.Object); diff != "" {
				t.Fatalf("record %d object (-want +got):\n%s", i+1, diff)
			}
		}
		if !slices.Equal(got, lines) {
			t.Fatalf("records are on lines %v, the non-blank lines are %v", got, lines)
		}
	})
}
