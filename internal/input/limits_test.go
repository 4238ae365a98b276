package input

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// allocated runs fn and returns the bytes it allocated on the heap.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHugeFields: fields and lines far over the limit become row errors
// without the reader ever holding them; reading goes on after them.
func TestHugeFields(t *testing.T) {
	const huge = 8 << 20
	x := strings.Repeat("x", huge)
	multiLine := strings.Repeat(strings.Repeat("y", 99)+"\n", huge/100)
	tests := []struct {
		name   string
		file   string
		data   string
		opts   Options
		want   []view
		budget uint64 // bytes the whole read may allocate
	}{
		{"QuotedField8MB", "x.csv", "a,b\n1,\"" + x + "\"\n2,3\n", Options{},
			[]view{bad(1, 2, ErrFieldTooLong, 2, 2, "b", "1", ""), ok(2, 3, "2", "3")}, 7 << 20},
		{"PlainField8MB", "x.csv", "a,b\n1," + x + "\n2,3\n", Options{},
			[]view{bad(1, 2, ErrFieldTooLong, 2, 2, "b", "1", ""), ok(2, 3, "2", "3")}, 7 << 20},
		{"PlainField8MBNoNewline", "x.csv", "a,b\n1," + x, Options{},
			[]view{bad(1, 2, ErrFieldTooLong, 2, 2, "b", "1", "")}, 7 << 20},
		{"QuotedField8MBThenLineBreak", "x.csv", "a,b\n1,\"" + x + "\nz\"\n2,3\n", Options{},
			[]view{bad(1, 2, ErrFieldTooLong, 2, 2, "b", "1", ""), ok(2, 4, "2", "3")}, 7 << 20},
		{"JSONLLine8MB", "x.jsonl", "{\"a\":\"" + x + "\"}\n{\"a\":\"ok\"}\n", Options{},
			[]view{badLine(1, 1, ErrFieldTooLong), obj(2, 2, map[string]any{"a": "ok"})}, 7 << 20},
		{"JSONLLine8MBNoNewline", "x.jsonl", "{\"a\":1}\n{\"a\":\"" + x + "\"}", Options{},
			[]view{obj(1, 1, map[string]any{"a": "1"}), badLine(2, 2, ErrFieldTooLong)}, 7 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []view
			var f *File
			data := []byte(tt.data)
			used := allocated(func() {
				var recs []*Record
				f, recs = readAll(t, tt.file, data, tt.opts)
				got = views(recs)
			})
			// What stays held: the line buffer (the limit and two pieces, for
			// going back after an unclosed quote) and the record buffer.
			if n := cap(f.lr.buf); n > DefaultMaxFieldSize+4*chunkSize {
				t.Errorf("line buffer holds %d bytes", n)
			}
			if f.csv != nil && cap(f.csv.buf) > DefaultMaxFieldSize*5/4 {
				t.Errorf("record buffer holds %d bytes", cap(f.csv.buf))
			}
			if len(got) != len(tt.want) {
				t.Fatalf("read %d records, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i].Err != tt.want[i].Err || got[i].Line != tt.want[i].Line ||
					strings.Join(got[i].Fields, ",") != strings.Join(tt.want[i].Fields, ",") ||
					fmt.Sprint(got[i].Object) != fmt.Sprint(tt.want[i].Object) {
					t.Errorf("record %d = %+v, want %+v", i+1, clipView(got[i]), tt.want[i])
				}
			}
			if used > tt.budget {
				t.Errorf("reading allocated %d bytes, want at most %d (a %d-byte field must not be held)", used, tt.budget, huge)
			}
		})
	}
	t.Run("MultiLineQuoteOverLimitResyncs", func(t *testing.T) {
		data := "a,b\n1,\"open\n" + multiLine[:20*100] + "2,3\n"
		_, recs := readAll(t, "x.csv", []byte(data), Options{MaxFieldSize: 1000})
		if len(recs) != 22 {
			t.Fatalf("read %d records, want 22", len(recs))
		}
		if recs[0].Err == nil || recs[0].Err.Kind() != ErrUnclosedQuote {
			t.Errorf("record 1: Err = %v, want ErrUnclosedQuote", recs[0].Err)
		}
		if last := recs[21]; last.Err != nil || last.Line != 23 || last.Fields[1] != "3" {
			t.Errorf("last record = %+v, want 2,3 on line 23", last)
		}
	})
}

// TestLongLines: lines longer than the reader's pieces, but with fields
// within the limit, read fine.
func TestLongLines(t *testing.T) {
	field := strings.Repeat("ж", 250_000) // 500,000 bytes
	t.Run("CSV4MBNoNewline", func(t *testing.T) {
		header := "a,b,c,d,e,f,g,h\n"
		row := strings.TrimSuffix(strings.Repeat(field+",", 8), ",")
		_, recs := readAll(t, "x.csv", []byte(header+row), Options{})
		if len(recs) != 1 || recs[0].Err != nil || len(recs[0].Fields) != 8 {
			t.Fatalf("read %d records, want 1 valid one with 8 fields", len(recs))
		}
		for i, f := range recs[0].Fields {
			if f != field {
				t.Errorf("field %d has %d bytes, want %d", i+1, len(f), len(field))
			}
		}
	})
	t.Run("CSV4MBQuotedNoNewline", func(t *testing.T) {
		row := strings.TrimSuffix(strings.Repeat("\""+field+"\"\"\n\",", 8), ",")
		_, recs := readAll(t, "x.csv", []byte("a,b,c,d,e,f,g,h\n"+row), Options{})
		if len(recs) != 1 || recs[0].Err != nil || recs[0].Fields[7] != field+"\"\n" {
			t.Fatalf("read %d records, want 1 valid one ending in a quote and a line break", len(recs))
		}
	})
	t.Run("JSONL4MBNoNewline", func(t *testing.T) {
		line := []byte("{\"a\":\"" + strings.Repeat("ж", 2_000_000) + "\"}")
		_, recs := readAll(t, "x.jsonl", line, Options{MaxFieldSize: 8 << 20})
		if len(recs) != 1 || recs[0].Err != nil || !bytes.Equal(recs[0].Raw, line) {
			t.Fatalf("read %d records, want the one 4 MB line as a valid record", len(recs))
		}
	})
	t.Run("RecordLimit", func(t *testing.T) {
		// 16 fields of 600 KB: each within the 1 MiB limit, the record over 8 MiB.
		big := strings.Repeat("z", 600_000)
		names := make([]string, 16)
		for i := range names {
			names[i] = string(rune('a' + i))
		}
		row := strings.TrimSuffix(strings.Repeat(big+",", 16), ",")
		_, recs := readAll(t, "x.csv", []byte(strings.Join(names, ",")+"\n"+row+"\n1"+strings.Repeat(",1", 15)+"\n"), Options{})
		if len(recs) != 2 || recs[0].Err == nil || recs[0].Err.Kind() != ErrFieldTooLong || recs[1].Err != nil {
			t.Fatalf("read %d records, want a too-long one and a valid one", len(recs))
		}
		if !strings.Contains(recs[0].Err.Error(), "record is longer than") {
			t.Errorf("Err = %v, want the record limit", recs[0].Err)
		}
	})
	t.Run("ManyFieldsNotAllKept", func(t *testing.T) {
		_, recs := readAll(t, "x.csv", []byte("a,b\n"+strings.Repeat("1,", 100000)+"1\n"), Options{})
		if len(recs) != 1 || recs[0].Err == nil || recs[0].Err.Kind() != ErrFieldCount || len(recs[0].Fields) != 2+extraFieldsKept {
			t.Fatalf("read %d records, want one field-count error keeping %d fields", len(recs), 2+extraFieldsKept)
		}
		if !strings.Contains(recs[0].Err.Error(), "want 2, got 100001") {
			t.Errorf("Err = %v, want the real count", recs[0].Err)
		}
	})
}

// clipView shortens a view's fields for a failure message.
func clipView(v view) view {
	v.Fields = slicesClip(v.Fields)
	return v
}

func slicesClip(fields []string) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		if len(f) > 20 {
			f = f[:20] + "…"
		}
		out[i] = f
	}
	return out
}
