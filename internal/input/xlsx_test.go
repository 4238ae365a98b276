package input

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"
)

// TestXLSXCells: each kind of cell reads as the spec says, one column each.
func TestXLSXCells(t *testing.T) {
	type cell struct {
		value  any
		numFmt int    // built-in number format, 0 = none
		custom string // custom number format code
	}
	cases := []struct {
		name string
		cell cell
		want string
	}{
		{"text keeps leading zeros", cell{value: "00123"}, "00123"},
		{"text that looks like a number", cell{value: "1.23E+10"}, "1.23E+10"},
		{"unicode text", cell{value: "Привет, 世界 🌍"}, "Привет, 世界 🌍"},
		{"text with spaces kept", cell{value: "  padded  "}, "  padded  "},
		{"integer", cell{value: 42}, "42"},
		{"eleven-digit number, no exponent", cell{value: 12345678901}, "12345678901"},
		{"nineteen-digit integer kept exactly", cell{value: int64(1234567890123456789)}, "1234567890123456789"},
		{"negative", cell{value: -17}, "-17"},
		{"tenth", cell{value: 0.1}, "0.1"},
		{"float noise rounded to 15 digits", cell{value: 0.1 + 0.2}, "0.3"},
		{"tiny float, no exponent", cell{value: 1.5e-7}, "0.00000015"},
		{"huge float, no exponent", cell{value: 1e20}, "100000000000000000000"},
		{"thousands format shows the plain number", cell{value: 1234.5, numFmt: 4}, "1234.5"},
		{"percent format shows the stored fraction", cell{value: 0.25, numFmt: 9}, "0.25"},
		{"zero-padded format pads", cell{value: 123, custom: "00000"}, "00123"},
		{"zero-padded format, wider number", cell{value: 1234567, custom: "00000"}, "1234567"},
		{"boolean true", cell{value: true}, "true"},
		{"boolean false", cell{value: false}, "false"},
		{"built-in date 14", cell{value: 45352, numFmt: 14}, "2024-03-01"},
		{"built-in date 15 (d-mmm-yy)", cell{value: 45352, numFmt: 15}, "2024-03-01"},
		{"built-in datetime 22", cell{value: 45352.5, numFmt: 22}, "2024-03-01T12:00:00"},
		{"built-in datetime 22 at midnight keeps the time", cell{value: 45352, numFmt: 22}, "2024-03-01T00:00:00"},
		{"built-in time 21", cell{value: 0.75, numFmt: 21}, "18:00:00"},
		{"custom date dd.mm.yyyy", cell{value: 45352, custom: "dd.mm.yyyy"}, "2024-03-01"},
		{"custom date with locale and text section", cell{value: 45352, custom: `[$-419]d mmmm yyyy;@`}, "2024-03-01"},
		{"custom date upper case", cell{value: 45352, custom: "DD/MM/YYYY"}, "2024-03-01"},
		{"custom month-year", cell{value: 45352, custom: "mmm yy"}, "2024-03-01"},
		{"custom datetime", cell{value: 45352.75, custom: "yyyy-mm-dd hh:mm:ss"}, "2024-03-01T18:00:00"},
		{"custom datetime, seconds rounded", cell{value: 45352.541666666664, custom: "dd.mm.yyyy h:mm"}, "2024-03-01T13:00:00"},
		{"date format hides a time part", cell{value: 45352.75, custom: "dd.mm.yyyy"}, "2024-03-01"},
		{"custom time mm:ss", cell{value: 0.5, custom: "mm:ss"}, "12:00:00"},
		{"elapsed hours stay a number", cell{value: 1.5, custom: "[h]:mm"}, "1.5"},
		{"date format on a negative number", cell{value: -3, numFmt: 14}, "-3"},
		{"date format on text", cell{value: "soon", numFmt: 14}, "soon"},
		{"time.Time written by excelize", cell{value: time.Date(1990, 5, 17, 8, 30, 0, 0, time.UTC)}, "1990-05-17T08:30:00"},
		{"quoted literal in a number format", cell{value: 7, custom: `0" pcs"`}, "7"},
	}
	path := saveBook(t, "cells.xlsx", func(f *excelize.File) {
		for i, c := range cases {
			col, _ := excelize.ColumnNumberToName(i + 1)
			must(t, f.SetCellValue("Sheet1", col+"1", c.name))
			must(t, f.SetCellValue("Sheet1", col+"2", c.cell.value))
			if c.cell.numFmt != 0 || c.cell.custom != "" {
				s := style(t, f, c.cell.numFmt, c.cell.custom)
				must(t, f.SetCellStyle("Sheet1", col+"2", col+"2", s))
			}
		}
	})
	in, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	rows := fieldsOf(t, in)
	if len(rows) != 1 {
		t.Fatalf("got %d records, want 1", len(rows))
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if in.Header()[i] != c.name {
				t.Fatalf("header %d = %q, want %q", i, in.Header()[i], c.name)
			}
			if got := rows[0][i]; got != c.want {
				t.Errorf("cell = %q, want %q", got, c.want)
			}
		})
	}
}

// TestXLSXRaw covers what only a hand-written package holds: rich text,
// phonetic runs, escapes, formulas, error and ISO-date cells, cells and rows
// without references, the 1904 date system.
func TestXLSXRaw(t *testing.T) {
	cases := []struct {
		name string
		book rawBook
		want [][]string
	}{{
		name: "shared strings: plain, rich text runs, phonetic hint left out, _x000D_ escape",
		book: rawBook{
			sst: []string{`<t>Name</t>`, `<r><t>Ан</t></r><r><rPr><b/></rPr><t xml:space="preserve">на </t></r>`, `<t>東京</t><rPh sb="0" eb="2"><t>トウキョウ</t></rPh>`, `<t>a_x000D_b _x005F_x0041_</t>`},
			sheetXML: `<row r="1"><c r="A1" t="s"><v>0</v></c></row>` +
				`<row r="2"><c r="A2" t="s"><v>1</v></c></row><row r="3"><c r="A3" t="s"><v>2</v></c></row><row r="4"><c r="A4" t="s"><v>3</v></c></row>`,
		},
		want: [][]string{{"Анна "}, {"東京"}, {"a\rb _x0041_"}},
	}, {
		name: "inline strings, formula results, errors, ISO dates",
		book: rawBook{
			xfs: []int{14},
			sheetXML: `<row r="1"><c r="A1" t="inlineStr"><is><t>Sum</t></is></c><c r="B1" t="inlineStr"><is><t>Text</t></is></c><c r="C1" t="inlineStr"><is><t>Err</t></is></c><c r="D1" t="inlineStr"><is><t>When</t></is></c><c r="E1" t="inlineStr"><is><t>Day</t></is></c></row>` +
				`<row r="2"><c r="A2"><f>1+2</f><v>3</v></c><c r="B2" t="str"><f>"a"&amp;"b"</f><v>ab</v></c><c r="C2" t="e"><f>1/0</f><v>#DIV/0!</v></c><c r="D2" t="d"><v>2024-03-01T10:20:30Z</v></c><c r="E2" t="d" s="1"><v>2024-03-01T10:20:30</v></c></row>` +
				`<row r="3"><c r="A3"><f>A2*2</f></c><c r="B3" t="str"><f>B2</f><v></v></c></row>`,
		},
		want: [][]string{{"3", "ab", "#DIV/0!", "2024-03-01T10:20:30", "2024-03-01"}},
	}, {
		name: "cells and rows without references follow their neighbours",
		book: rawBook{
			sheetXML: `<row><c t="inlineStr"><is><t>a</t></is></c><c t="inlineStr"><is><t>b</t></is></c><c r="D1" t="inlineStr"><is><t>d</t></is></c></row>` +
				`<row><c><v>1</v></c><c><v>2</v></c><c/><c><v>4</v></c></row>`,
		},
		want: nil, // header has an empty third column: see TestXLSXHeader
	}, {
		name: "1904 date system",
		book: rawBook{
			date1904: true, xfs: []int{14},
			sheetXML: `<row r="1"><c r="A1" t="inlineStr"><is><t>Day</t></is></c></row><row r="2"><c r="A2" s="1"><v>0</v></c></row><row r="3"><c r="A3" s="1"><v>43890</v></c></row>`,
		},
		want: [][]string{{"1904-01-01"}, {"2024-03-01"}},
	}, {
		name: "prefixed element names",
		book: rawBook{
			sheetXML: `<x:row xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>H</x:t></x:is></x:c></x:row>` +
				`<x:row xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" r="2"><x:c r="A2"><x:v>5</x:v></x:c></x:row>`,
		},
		want: [][]string{{"5"}},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in, err := NewReader(bytes.NewReader(c.book.bytes(t)), "raw.xlsx", Options{})
			if c.want == nil {
				if !errors.Is(err, ErrHeader) {
					t.Fatalf("NewReader = %v, want ErrHeader", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, fieldsOf(t, in)); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
		})
	}
}

// TestXLSXRows: row and line numbers, empty rows, merged cells, short and
// long rows.
func TestXLSXRows(t *testing.T) {
	path := saveBook(t, "rows.xlsx", func(f *excelize.File) {
		setRows(t, f, "Sheet1",
			nil,                            // 1: empty, before the header
			[]any{"ID", "Name", "City"},    // 2: header
			[]any{1, "Ann", "Moscow"},      // 3
			nil,                            // 4: empty row, skipped
			[]any{2, "Bob"},                // 5: short row, padded
			[]any{3, "Merged", nil},        // 6: B6:C6 merged
			[]any{4, "Eve", "Omsk", "x"},   // 7: a value right of the header
			[]any{5, nil, nil, nil, "far"}, // 8: far right
		)
		must(t, f.MergeCell("Sheet1", "B6", "C6"))
		// A styled but empty cell right of the table is no value.
		s := style(t, f, 14, "")
		must(t, f.SetCellStyle("Sheet1", "D3", "F3", s))
	})
	in, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	recs, err := drain(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []view{
		ok(1, 3, "1", "Ann", "Moscow"),
		ok(2, 5, "2", "Bob", ""),
		ok(3, 6, "3", "Merged", ""), // a merged range's value is in its first cell only
		bad(4, 7, ErrFieldCount, 7, 4, "", "4", "Eve", "Omsk", "x"),
		bad(5, 8, ErrFieldCount, 8, 5, "", "5", "", "", "", "far"),
	}
	if diff := cmp.Diff(want, views(recs)); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if msg := recs[3].Err.Error(); !strings.Contains(msg, "cell D7") || !strings.Contains(msg, "want 3, got 4") {
		t.Errorf("message %q should name cell D7 and the counts", msg)
	}
	if in.Format() != FormatXLSX || in.Delimiter() != ',' || in.Encoding() != "xlsx" {
		t.Errorf("Format, Delimiter, Encoding = %q, %q, %q", in.Format(), in.Delimiter(), in.Encoding())
	}
	st, _ := os.Stat(path)
	if in.Size() != st.Size() || in.BytesRead() <= 0 || in.BytesRead() > 2*st.Size() {
		t.Errorf("Size %d, BytesRead %d, file %d", in.Size(), in.BytesRead(), st.Size())
	}
}

// TestXLSXSheets: input.sheet by name, case, position; unknown names list
// the sheets.
func TestXLSXSheets(t *testing.T) {
	data := bookBytes(t, func(f *excelize.File) {
		must(t, f.SetSheetName("Sheet1", "Clients"))
		setRows(t, f, "Clients", []any{"Sheet"}, []any{"clients"})
		for _, name := range []string{"Orders", "2"} {
			_, err := f.NewSheet(name)
			must(t, err)
			setRows(t, f, name, []any{"Sheet"}, []any{strings.ToLower(name)})
		}
	})
	cases := []struct {
		sheet, want string
	}{
		{"", "clients"},
		{"Orders", "orders"},
		{"orders", "orders"},
		{"1", "clients"},
		{"3", "2"}, // no sheet is called "3": the third
		{"2", "2"}, // a sheet called "2" wins over the second sheet
	}
	for _, c := range cases {
		t.Run("sheet "+c.sheet, func(t *testing.T) {
			in, err := NewReader(bytes.NewReader(data), "book.xlsx", Options{Sheet: c.sheet})
			if err != nil {
				t.Fatal(err)
			}
			if got := fieldsOf(t, in); len(got) != 1 || got[0][0] != c.want {
				t.Errorf("records %q, want [[%s]]", got, c.want)
			}
		})
	}
	for _, sheet := range []string{"Invoices", "4", "0"} {
		_, err := NewReader(bytes.NewReader(data), "book.xlsx", Options{Sheet: sheet})
		if !errors.Is(err, ErrSheet) || !strings.Contains(err.Error(), `"Clients", "Orders", "2"`) {
			t.Errorf("sheet %q: err = %v, want ErrSheet listing the sheets", sheet, err)
		}
	}
}

// TestXLSXHeader: the header rules are the CSV ones; skip_lines counts
// sheet rows; no header takes input.columns.
func TestXLSXHeader(t *testing.T) {
	cases := []struct {
		name    string
		rows    [][]any
		opts    Options
		header  []string
		records [][]string
		err     error
		msg     string
	}{
		{name: "names trimmed, trailing blanks dropped", rows: [][]any{{" ID ", "Name", " "}, {1, "a"}},
			header: []string{"ID", "Name"}, records: [][]string{{"1", "a"}}},
		{name: "duplicate names", rows: [][]any{{"ID", "ID"}, {1, 2}}, err: ErrHeader, msg: `columns 1 and 2 are both named "ID"`},
		{name: "empty name inside", rows: [][]any{{"ID", nil, "Name"}, {1, 2, 3}}, err: ErrHeader, msg: "column 2 has no name"},
		{name: "empty sheet", rows: nil, err: ErrHeader, msg: "is empty"},
		{name: "skip_lines skips sheet rows before the header", rows: [][]any{{"Export of 2024-03-01"}, nil, {"ID", "Name"}, {1, "a"}},
			opts: Options{SkipLines: 2}, header: []string{"ID", "Name"}, records: [][]string{{"1", "a"}}},
		{name: "no header: columns name them", rows: [][]any{{1, "a"}, {2, "b"}},
			opts: Options{NoHeader: true, Columns: []string{"ID", " Name "}}, header: []string{"ID", "Name"}, records: [][]string{{"1", "a"}, {"2", "b"}}},
		{name: "no header with skip_lines", rows: [][]any{{"title"}, {1, "a"}},
			opts: Options{NoHeader: true, SkipLines: 1, Columns: []string{"ID", "Name"}}, header: []string{"ID", "Name"}, records: [][]string{{"1", "a"}}},
		{name: "no header without columns", rows: [][]any{{1}}, opts: Options{NoHeader: true}, err: ErrHeader, msg: "input.columns"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := bookBytes(t, func(f *excelize.File) { setRows(t, f, "Sheet1", c.rows...) })
			in, err := NewReader(bytes.NewReader(data), "h.xlsx", c.opts)
			if c.err != nil {
				if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.msg) {
					t.Fatalf("err = %v, want %v containing %q", err, c.err, c.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.header, in.Header()); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(c.records, fieldsOf(t, in)); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
		})
	}
}

// TestXLSXDetect: a workbook is recognised by name or by its bytes, from a
// file or a stream; old and encrypted workbooks and other zips get a clear
// error.
func TestXLSXDetect(t *testing.T) {
	book := bookBytes(t, func(f *excelize.File) { setRows(t, f, "Sheet1", []any{"ID"}, []any{"00042"}) })
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(book)
	zw.Close()
	encrypted := encryptedBook(t)
	notBook := zipOf(t, map[string]string{"data.csv": "ID\n1\n"})
	ole := append(bytes.Clone(oleMagic), make([]byte, 1024)...)

	cases := []struct {
		name   string
		data   []byte
		file   string
		opts   Options
		stream bool // read through a pipe: no random access
		err    error
		msg    string
	}{
		{name: "by extension", data: book, file: "a.xlsx"},
		{name: "macro workbook extension", data: book, file: "a.XLSM"},
		{name: "by magic bytes whatever the name", data: book, file: "export.dat"},
		{name: "by magic bytes from a stream", data: book, file: "stdin", stream: true},
		{name: "configured format, odd name", data: book, file: "a.csv", opts: Options{Format: FormatXLSX}},
		{name: "gzip-compressed workbook from a stream", data: gz.Bytes(), file: "a.xlsx.gz", stream: true},
		{name: "old binary .xls", data: ole, file: "a.xls", err: ErrFormat, msg: "Excel 97-2003"},
		{name: "old binary under another name, streamed", data: ole, file: "stdin", stream: true, err: ErrFormat, msg: "save it as .xlsx"},
		{name: "encrypted workbook", data: encrypted, file: "secret.xlsx", err: ErrFormat, msg: "password-protected"},
		{name: "a zip that is no workbook", data: notBook, file: "a.zip", err: ErrFormat, msg: "not an Excel workbook"},
		{name: "xlsx name on a CSV file", data: []byte("ID\n1\n"), file: "a.xlsx", err: ErrFormat, msg: "not an xlsx workbook"},
		{name: "truncated workbook", data: book[:len(book)/2], file: "a.xlsx", err: ErrFormat, msg: "not an xlsx workbook"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var in *File
			var err error
			if c.stream {
				pr, pw := io.Pipe()
				go func() { pw.Write(c.data); pw.Close() }()
				in, err = NewReader(pr, c.file, c.opts)
			} else {
				in, err = Open(writeTemp(t, c.file, c.data), c.opts)
			}
			if c.err != nil {
				if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.msg) {
					t.Fatalf("err = %v, want %v containing %q", err, c.err, c.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			if got := fieldsOf(t, in); in.Format() != FormatXLSX || len(got) != 1 || got[0][0] != "00042" {
				t.Errorf("format %q, records %q", in.Format(), got)
			}
		})
	}
}

// TestXLSXSpoolRemoved: a streamed workbook is copied to a temporary file
// that is gone once the File is closed (here: at once, being unlinked while
// open), and so is a big shared string table's file.
func TestXLSXSpoolRemoved(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	defer func(n int64) { sstMemory = n }(sstMemory)
	sstMemory = 4 << 10
	const n = 2000
	book := bigStrings(t, n) // about 140 KB of shared strings: in a file
	in, err := NewReader(io.MultiReader(bytes.NewReader(book)), "stdin", Options{})
	if err != nil {
		t.Fatal(err)
	}
	rows := fieldsOf(t, in)
	if len(rows) != n || rows[0][1] != "first0-"+strings.Repeat("x", 40) || rows[n-1][0] != "user1999@example.com" {
		t.Errorf("got %d rows; first %q, last %q", len(rows), rows[0], rows[len(rows)-1])
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(tmp, "*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %q", left)
	}
}

// encryptedBook is a workbook saved by excelize with a password.
func encryptedBook(t testing.TB) []byte {
	f := excelize.NewFile()
	defer f.Close()
	setRows(t, f, "Sheet1", []any{"ID"}, []any{1})
	path := filepath.Join(t.TempDir(), "enc.xlsx")
	must(t, f.SaveAs(path, excelize.Options{Password: "secret"}))
	data, err := os.ReadFile(path)
	must(t, err)
	return data
}
