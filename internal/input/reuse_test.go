package input

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// reuseRow is the content of data row n of reuseFile: every field names its
// row, so a field overwritten by a later record shows.
func reuseRow(n int) []string {
	return []string{fmt.Sprint(n), fmt.Sprintf("name %d %s", n, strings.Repeat("x", n%40)),
		fmt.Sprintf("user%d@example.com", n), fmt.Sprintf("line one %d\nline two %d", n, n)}
}

// reuseFile is a CSV of rows data rows: a header, then rows whose last field
// is quoted and spans two lines (the quoted path); every 97th row has a
// field too many (a row error), and a header name is long enough to matter.
func reuseFile(format Format, rows int) []byte {
	var b bytes.Buffer
	header := []string{"id", "name_" + strings.Repeat("n", 60), "email", "note"}
	if format == FormatCSV {
		b.WriteString(strings.Join(header, ",") + "\n")
	}
	for n := 1; n <= rows; n++ {
		f := reuseRow(n)
		switch {
		case format == FormatJSONL:
			fmt.Fprintf(&b, `{"id":%q,"name":%q,"email":%q,"note":%q}`+"\n", f[0], f[1], f[2], f[3])
		case n%97 == 0:
			fmt.Fprintf(&b, "%s,%s,%s,\"%s\",extra\n", f[0], f[1], f[2], f[3])
		default:
			fmt.Fprintf(&b, "%s,%s,%s,\"%s\"\n", f[0], f[1], f[2], f[3])
		}
	}
	return b.Bytes()
}

// intact fails the test unless rec still holds want[rec.Row], what its row
// was read with. It allocates nothing unless it fails.
func intact(t *testing.T, want [][]string, rec *Record, what string) {
	t.Helper()
	w, ok := want[rec.Row], true
	if rec.Object != nil {
		for i, k := range []string{"id", "name", "email", "note"} {
			s, _ := rec.Object[k].(string)
			ok = ok && s == w[i]
		}
	} else {
		got := rec.Fields
		if len(got) == 5 && rec.Err != nil && got[4] == "extra" {
			got = got[:4]
		}
		ok = slices.Equal(got, w)
	}
	if !ok {
		t.Fatalf("%s: row %d holds %q %v, want %q", what, rec.Row, rec.Fields, rec.Object, w)
	}
}

// TestReleaseReusesOnlyReleasedRows reads files while holding a window of
// records and releasing the rows behind it, and checks that no record is
// touched before its release, that the header outlives every block, and
// that releasing is what takes the allocation away.
func TestReleaseReusesOnlyReleasedRows(t *testing.T) {
	const rows = 20000
	cases := []struct {
		name   string
		format Format
		lag    int  // records held, unreleased, behind the one just read; -1: never release
		maxB   int  // bytes allocated per row at most (0: no bound)
		minB   int  // bytes allocated per row at least
		concur bool // release from another goroutine
	}{
		{name: "each row released as soon as it is read", format: FormatCSV, lag: 0, maxB: 16},
		{name: "a window of 1500 rows in flight, as in a dry run", format: FormatCSV, lag: 1500, maxB: 60},
		{name: "released from another goroutine", format: FormatCSV, lag: 300, maxB: 60, concur: true},
		{name: "releases far behind reading: blocks go to the collector", format: FormatCSV, lag: 12000, minB: 150},
		{name: "never released: nothing is reused", format: FormatCSV, lag: -1, minB: 150},
		{name: "JSON Lines: records stay intact while their Record slabs are reused", format: FormatJSONL, lag: 500},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := "reuse.csv"
			if tc.format == FormatJSONL {
				name = "reuse.jsonl"
			}
			f, err := NewReader(bytes.NewReader(reuseFile(tc.format, rows)), name, Options{})
			if err != nil {
				t.Fatal(err)
			}
			header := slices.Clone(f.Header())
			want := make([][]string, rows+1)
			for n := 1; n <= rows; n++ {
				want[n] = reuseRow(n)
			}
			release := f.Release
			var done chan struct{}
			var toRelease chan *Record
			if tc.concur {
				toRelease, done = make(chan *Record, 64), make(chan struct{})
				go func() {
					defer close(done)
					for rec := range toRelease {
						intact(t, want, rec, "before release, in the releasing goroutine")
						f.Release(rec.Row)
					}
				}()
				release = nil
			}
			held := make([]*Record, 0, rows) // never grows: the count of allocations is the reader's
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			before := ms.TotalAlloc
			for {
				rec, err := f.Read()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if (rec.Row%97 == 0) != (rec.Err != nil) && tc.format == FormatCSV {
					t.Fatalf("row %d: error %v", rec.Row, rec.Err)
				}
				held = append(held, rec)
				for tc.lag >= 0 && len(held) > tc.lag {
					old := held[0]
					held = held[1:]
					intact(t, want, old, "released after more reads")
					if tc.concur {
						toRelease <- old
					} else {
						release(old.Row)
					}
				}
			}
			if tc.concur {
				close(toRelease)
				<-done
			}
			runtime.ReadMemStats(&ms)
			perRow := int(ms.TotalAlloc-before) / rows
			for _, rec := range held {
				intact(t, want, rec, "never released, at the end")
			}
			if !slices.Equal(f.Header(), header) || tc.format == FormatCSV && header[1] != "name_"+strings.Repeat("n", 60) {
				t.Fatalf("header now %q, read as %q", f.Header(), header)
			}
			if tc.maxB > 0 && perRow > tc.maxB {
				t.Errorf("%d bytes allocated a row, want at most %d", perRow, tc.maxB)
			}
			if perRow < tc.minB {
				t.Errorf("%d bytes allocated a row, want at least %d (nothing released, nothing reused)", perRow, tc.minB)
			}
			t.Logf("%d bytes allocated a row", perRow)
		})
	}
}

// FuzzRelease reads an input twice, once releasing each row lag rows
// after reading it, and checks that every record the caller still holds
// is the record read without releasing: reuse never touches a row before
// its release, whatever the quotes, errors and blank lines. The input is
// repeated to about 80 KiB, so that the reader goes through several
// arenas and slabs of records.
func FuzzRelease(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n",
		"a,b\n1,\"x\ny\"\n\"q\"\"\",3\n",
		"a;b\nООО \"Ромашка\";x\n\"x\"y;z\n",
		"a,b\n1,2,3\n\n4\n,\n",
		"a,b,\n1,2,\n3,4,x\n",
	} {
		f.Add([]byte(s), uint8(len(s)*37), uint8(len(s)))
	}
	f.Fuzz(func(t *testing.T, data []byte, lag, delimSel uint8) {
		if len(data) == 0 || len(data) > 4096 {
			return
		}
		body := bytes.Repeat(data, max(1, (80<<10)/len(data)))
		opts := Options{Format: FormatCSV, Encoding: "utf-8", Delimiter: fuzzDelims[int(delimSel)%len(fuzzDelims)]}
		read := func(release bool) (header []string, views []view, end string) {
			file, err := NewReader(bytes.NewReader(body), "fuzz.csv", opts)
			if err != nil {
				return nil, nil, err.Error()
			}
			var held []*Record
			let := func(rec *Record) {
				views = append(views, deepView(rec))
				if release {
					file.Release(rec.Row)
				}
			}
			for {
				rec, err := file.Read()
				if err != nil {
					end = err.Error()
					break
				}
				held = append(held, rec)
				if len(held) > int(lag) {
					let(held[0])
					held = held[1:]
				}
			}
			for _, rec := range held {
				let(rec)
			}
			return slices.Clone(file.Header()), views, end
		}
		wantHeader, want, wantEnd := read(false)
		header, got, end := read(true)
		if len(got) != len(want) || end != wantEnd || !slices.Equal(header, wantHeader) {
			t.Fatalf("releasing %d rows behind: %d records, end %q, header %q; without: %d, %q, %q",
				lag, len(got), end, header, len(want), wantEnd, wantHeader)
		}
		for i := range want {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("releasing %d rows behind changed record %d (-without +with):\n%s", lag, i+1, cmp.Diff(want[i], got[i]))
			}
		}
	})
}

// deepView is viewOf with its own copy of every string: what the record
// held when it was taken, whatever happens to the reader's memory later.
func deepView(rec *Record) view {
	v := viewOf(rec)
	v.Fields = make([]string, len(rec.Fields))
	for i, s := range rec.Fields {
		v.Fields[i] = strings.Clone(s)
	}
	v.Name, v.Msg = strings.Clone(v.Name), strings.Clone(v.Msg)
	return v
}
