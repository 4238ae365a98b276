package input

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// viewsFull maps viewOf over recs, messages and offsets included.
func viewsFull(recs []*Record) []view {
	out := make([]view, len(recs))
	for i, r := range recs {
		out[i] = viewOf(r)
	}
	return out
}

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
// byte after the header belongs to one record or to a blank record (the
// records' byte ranges tile the rest of the file), that the skipped lines
// are the file's first lines, and that every record it calls valid parses
// the same with encoding/csv: with LazyQuotes by default, without it in
// strict mode, nameless columns left out.
func FuzzCSV(f *testing.F) {
	seeds := fuzzSeeds(f, "testdata/csv-spectrum/csvs/*.csv")
	for _, s := range append(seeds, fuzzSeeds(f, "testdata/*.csv", "a,b\n1,\"x\n2,3\n", "a,b\n\"1\"x,2\n", "a;b\r\n1;2\r\r\n",
		"\xef\xbb\xbfa,b\n1,2", "a\n\"\"\"\"\n", "a,b\n1,\"2\n\n3\",4\n")...) {
		f.Add(s, uint8(0), false, uint16(0), false, uint8(0))
	}
	f.Add([]byte("a,b\n1,22222\n3,4\n"), uint8(1), false, uint16(3), false, uint8(0))
	f.Add([]byte("1,2\n3\n"), uint8(0), true, uint16(0), false, uint8(0))
	for _, s := range []string{
		"a;b\nООО \"Ромашка\";37°36'37.8\"N\n\"x\"y\";z\n",
		"a,b\n1,\"x\"y,3\n4,5\n\"p\nq \"r\" s\",t\n",
		"a;b;\n1;2;\n3;4\n5;6;x\n;;\n  \n\"\";\" \"\n",
		"a;;b;\n1;;2;\n1;x;2;\n",
	} {
		f.Add([]byte(s), uint8(0), false, uint16(0), false, uint8(0))
		f.Add([]byte(s), uint8(0), false, uint16(0), true, uint8(0))
	}
	f.Add([]byte("Report \"May\n1,2;3\r\na;b\n1;2\n"), uint8(0), false, uint16(0), false, uint8(2))
	for _, sf := range strayQuoteFiles {
		f.Add([]byte(sf.header+strings.Repeat(sf.line, 5)+"2,\"ok\",x\n"+sf.line), uint8(0), false, uint16(0), false, uint8(0))
	}
	f.Add([]byte("\xef\xbb\xbfTitle\r\n\r\nx|y\r\n1|2\r\n"), uint8(0), false, uint16(0), true, uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, delimSel uint8, noHeader bool, maxField uint16, strict bool, skip uint8) {
		opts := Options{Format: FormatCSV, Encoding: "utf-8", Delimiter: fuzzDelims[int(delimSel)%len(fuzzDelims)],
			MaxFieldSize: int(maxField), StrictQuotes: strict, SkipLines: int(skip % 4)}
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
		// The lines known never to close a quoted field only spare work:
		// without them every record and message is the same.
		slow, err := NewReader(bytes.NewReader(data), "fuzz.csv", opts)
		if err != nil {
			t.Fatalf("NewReader again: %v", err)
		}
		slow.csv.noDead = true
		slowRecs, err := drain(slow)
		if err != nil {
			t.Fatalf("Read without the dead lines: %v", err)
		}
		if diff := cmp.Diff(viewsFull(recs), viewsFull(slowRecs)); diff != "" {
			t.Fatalf("the dead lines changed what was read (-with +without):\n%s", diff)
		}
		names := file.csv.names // the file's columns, nameless ones included
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
				if r.Err.Column > 0 && r.Err.Column <= len(names) && r.Err.Name != names[r.Err.Column-1] {
					t.Fatalf("record %d: RowError names column %d %q", i+1, r.Err.Column, r.Err.Name)
				}
				continue
			}
			if len(r.Fields) != len(file.Header()) {
				t.Fatalf("valid record %d has %d fields, header %d", i+1, len(r.Fields), len(file.Header()))
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
		checkPreamble(t, data, file.Preamble(), opts.SkipLines)
		end := int64(len(data))
		next := end
		if len(recs) > 0 {
			next = recs[0].Offset
		}
		if err := blankRecords(data[headerEnd:next], file.Delimiter(), !strict); err != nil {
			t.Fatalf("bytes %d..%d after the header belong to no record: %v", headerEnd, next, err)
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
			cr.Comma, cr.FieldsPerRecord, cr.LazyQuotes = file.Delimiter(), -1, !strict
			want, err := cr.Read()
			if err != nil {
				t.Fatalf("record %d is valid here but encoding/csv says %v on %q", i+1, err, seg)
			}
			if drop := file.csv.drop; drop != nil {
				want = slices.Clone(want)
				for j := len(want) - 1; j >= 0; j-- {
					if j < len(drop) && drop[j] {
						want = slices.Delete(want, j, j+1)
					}
				}
			}
			if diff := cmp.Diff(want, r.Fields); diff != "" {
				t.Fatalf("record %d differs from encoding/csv on %q (-csv +got):\n%s", i+1, seg, diff)
			}
			if err := blankRecords(seg[cr.InputOffset():], file.Delimiter(), !strict); err != nil {
				t.Fatalf("record %d's bytes %q hold more than one record: %v", i+1, seg, err)
			}
		}
	})
}

// blankRecords checks that b holds only records the reader skips as blank:
// every field, as encoding/csv reads it, empty or spaces and tabs. Line
// ends become LF first (encoding/csv knows no lone CR line ends; a quoted
// CR is not blank either way).
func blankRecords(b []byte, delim rune, lazy bool) error {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	b = bytes.ReplaceAll(b, []byte("\r"), []byte("\n"))
	cr := csv.NewReader(bytes.NewReader(b))
	cr.Comma, cr.FieldsPerRecord, cr.LazyQuotes = delim, -1, lazy
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%q: %w", b, err)
		}
		for _, f := range rec {
			if strings.Trim(f, " \t") != "" {
				return fmt.Errorf("%q holds the record %q", b, rec)
			}
		}
	}
}

// checkPreamble checks that the skipped lines are the first lines of data
// (after a UTF-8 BOM), as many as asked for or as the file has.
func checkPreamble(t *testing.T, data []byte, pre []string, skip int) {
	t.Helper()
	rest := bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	for i, line := range pre {
		if len(line) >= maxPreambleLine || !bytes.HasPrefix(rest, []byte(line)) {
			return // cut to the limit, or a cut rune dropped: no byte-exact check
		}
		rest = rest[len(line):]
		switch {
		case bytes.HasPrefix(rest, []byte("\r\n")):
			rest = rest[2:]
		case len(rest) > 0 && (rest[0] == '\n' || rest[0] == '\r'):
			rest = rest[1:]
		case len(rest) > 0:
			t.Fatalf("skipped line %d %q is not a whole line of the file: %q follows", i+1, line, clip(rest))
		}
	}
	if len(pre) != skip && len(rest) > 0 {
		t.Fatalf("%d lines skipped, %d asked for, and the file goes on: %q", len(pre), skip, clip(rest))
	}
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
