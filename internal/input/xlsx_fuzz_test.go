package input

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// checkWorkbook opens data as a workbook and reads it to the end: whatever
// the bytes, nothing panics, an open failure is one of the fatal sentinels
// or an I/O error, and records are numbered 1..n with a header-wide Fields.
func checkWorkbook(t *testing.T, data []byte, opts Options) {
	in, err := NewReader(bytes.NewReader(data), "fuzz.xlsx", opts)
	if err != nil {
		return
	}
	defer in.Close()
	for n := int64(1); ; n++ {
		rec, err := in.Read()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			if !errors.Is(err, ErrFormat) && !strings.Contains(err.Error(), "shared strings") {
				t.Fatalf("Read: unexpected fatal error %v", err)
			}
			return
		}
		if rec.Row != n || len(rec.Fields) < len(in.Header()) {
			t.Fatalf("record %d: Row %d, %d fields for %d columns", n, rec.Row, len(rec.Fields), len(in.Header()))
		}
		if rec.Err != nil && rec.Err.Row != rec.Row {
			t.Fatalf("record %d: error row %d", n, rec.Err.Row)
		}
	}
}

// FuzzXLSX reads arbitrary bytes as a workbook file: the zip layer, the
// package parts, the sheet.
func FuzzXLSX(f *testing.F) {
	f.Add(bookBytes(f, func(x *excelize.File) {
		setRows(f, x, "Sheet1", []any{"ID", "Name", "When"}, []any{"007", "Ann", 45352.5}, nil, []any{1.5, true, "x", "extra"})
		s := style(f, x, 0, "dd.mm.yyyy hh:mm")
		must(f, x.SetCellStyle("Sheet1", "C2", "C2", s))
	}))
	f.Add(bookBytes(f, func(x *excelize.File) {
		x.NewSheet("Second")
		setRows(f, x, "Second", []any{"A"}, []any{1})
	}))
	f.Add(rawBook{sst: []string{"<t>H</t>", "<r><t>v</t></r>"}, xfs: []int{14},
		sheetXML: `<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c><c r="B2" s="1"><v>1</v></c></row>`}.bytes(f))
	f.Add(zipOf(f, map[string]string{"xl/workbook.xml": "<workbook/>"}))
	f.Add(append(bytes.Clone(oleMagic), make([]byte, 600)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkWorkbook(t, data, Options{})
	})
}

// FuzzXLSXSheet puts arbitrary XML in a well-formed package: the sheet's
// rows, the shared strings' items and a custom number format code, which
// is where the reader's own parsing lives.
func FuzzXLSXSheet(f *testing.F) {
	f.Add(`<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>B</t></is></c></row><row r="2"><c r="A2" s="1"><v>45352.25</v></c><c r="B2" t="b"><v>1</v></c></row>`,
		`<t>Head</t>`, "yyyy-mm-dd hh:mm")
	f.Add(`<row><c><v>1E+300</v></c><c t="e"><v>#N/A</v></c><c t="d"><v>2024-02-30</v></c></row><row r="9"><c r="ZZZZ9"><v>1</v></c></row>`,
		`<r><t>a</t></r><rPh><t>b</t></rPh>`, "00000")
	f.Add(`<row r="1"><c r="A1" t="s"><v>7</v></c></row>`, `<t>_x0000_</t>`, `[h]:mm;@`)
	f.Add(`<row r="2"><c r="A2" t="str"><v>x_x00</v></c></row><row r="1"><c r="A1" s="99"><v>-0.0</v></c></row>`, ``, `[$-F800]dddd`)
	f.Fuzz(func(t *testing.T, sheet, si, code string) {
		var esc bytes.Buffer
		xml.EscapeText(&esc, []byte(code))
		b := rawBook{sheetXML: sheet, sst: []string{si}, xfs: []int{164, 14},
			numFmts: `<numFmt numFmtId="164" formatCode="` + strings.ReplaceAll(esc.String(), `"`, "&quot;") + `"/>`}
		checkWorkbook(t, b.bytes(t), Options{MaxFieldSize: 64})
	})
}
