package input

import (
	"archive/zip"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// saveBook builds a workbook with excelize (fill gets it with one sheet,
// "Sheet1") and saves it under name in a fresh directory.
func saveBook(t testing.TB, name string, fill func(f *excelize.File)) string {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	fill(f)
	path := filepath.Join(t.TempDir(), name)
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// bookBytes is saveBook's workbook as bytes.
func bookBytes(t testing.TB, fill func(f *excelize.File)) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	fill(f)
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// must fails the test on err: the excelize calls that build a fixture.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// setRows writes rows from A1 down on sheet, one SetSheetRow each; a nil
// row leaves that sheet row empty.
func setRows(t testing.TB, f *excelize.File, sheet string, rows ...[]any) {
	t.Helper()
	for i, row := range rows {
		if row == nil {
			continue
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		must(t, f.SetSheetRow(sheet, cell, &row))
	}
}

// style registers a cell style with a built-in (id > 0) or custom number
// format.
func style(t testing.TB, f *excelize.File, id int, custom string) int {
	t.Helper()
	s := &excelize.Style{NumFmt: id}
	if custom != "" {
		s.CustomNumFmt = &custom
	}
	n, err := f.NewStyle(s)
	must(t, err)
	return n
}

// rawBook is a workbook written part by part, for what excelize does not
// write itself: shared strings with rich text and phonetic runs, formulas
// with cached values, error and ISO-date cells, the 1904 date system,
// cells without references. sheetXML is the sheetData's content.
type rawBook struct {
	sheetXML string   // rows of the first (only) sheet
	sst      []string // <si> contents, verbatim XML
	numFmts  string   // <numFmt .../> elements
	xfs      []int    // numFmtId of each cellXfs entry (index 0 first)
	date1904 bool
}

func (b rawBook) bytes(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	b.write(t, z, func(w io.Writer) {
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`+
			`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>%s</sheetData></worksheet>`, b.sheetXML)
	}, func(w io.Writer) {
		for _, si := range b.sst {
			fmt.Fprintf(w, "<si>%s</si>", si)
		}
	})
	must(t, z.Close())
	return buf.Bytes()
}

// write writes the package; sheet and strings write the worksheet and the
// shared strings' si elements, so a benchmark can stream big ones.
func (b rawBook) write(t testing.TB, z *zip.Writer, sheet, strings func(w io.Writer)) {
	t.Helper()
	part := func(name, body string) {
		w, err := z.Create(name)
		must(t, err)
		_, err = io.WriteString(w, body)
		must(t, err)
	}
	const ns = `xmlns="http://schemas.openxmlformats.org/package/2006/relationships"`
	part("[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">`+
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>`+
		`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>`)
	part("_rels/.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships `+ns+`>`+
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`)
	pr := ""
	if b.date1904 {
		pr = `<workbookPr date1904="1"/>`
	}
	part("xl/workbook.xml", `<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" `+
		`xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">`+pr+`<sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>`)
	part("xl/_rels/workbook.xml.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships `+ns+`>`+
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>`+
		`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="/xl/sharedStrings.xml"/>`+
		`<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>`)
	xfs := ""
	for _, id := range append([]int{0}, b.xfs...) {
		xfs += fmt.Sprintf(`<xf numFmtId="%d" fontId="0" fillId="0" borderId="0" xfId="0"/>`, id)
	}
	part("xl/styles.xml", `<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`+
		`<numFmts>`+b.numFmts+`</numFmts><cellXfs>`+xfs+`</cellXfs></styleSheet>`)
	w, err := z.Create("xl/sharedStrings.xml")
	must(t, err)
	bw := bufio.NewWriter(w)
	fmt.Fprint(bw, `<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`)
	strings(bw)
	fmt.Fprint(bw, `</sst>`)
	must(t, bw.Flush())
	w, err = z.Create("xl/worksheets/sheet1.xml")
	must(t, err)
	bw = bufio.NewWriter(w)
	sheet(bw)
	must(t, bw.Flush())
}

// fieldsOf reads every record of in and returns their Fields, failing the
// test on a row error.
func fieldsOf(t testing.TB, in *File) [][]string {
	t.Helper()
	recs, err := drain(in)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, r := range recs {
		if r.Err != nil {
			t.Fatalf("row %d: %v", r.Row, r.Err)
		}
		out = append(out, r.Fields)
	}
	return out
}

// zipOf is a zip archive of the given files.
func zipOf(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := z.Create(name)
		must(t, err)
		io.WriteString(w, body)
	}
	must(t, z.Close())
	return buf.Bytes()
}

// bigStrings is a workbook as Excel writes one: every text cell a shared
// string. Its n data rows hold two unique strings each (an e-mail and a
// 47-byte name) and a number.
func bigStrings(t testing.TB, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	rawBook{}.write(t, z, func(w io.Writer) {
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
		fmt.Fprint(w, `<row r="1"><c r="A1" t="inlineStr"><is><t>Email</t></is></c><c r="B1" t="inlineStr"><is><t>Name</t></is></c><c r="C1" t="inlineStr"><is><t>Points</t></is></c></row>`)
		for i := range n {
			fmt.Fprintf(w, `<row r="%[1]d"><c r="A%[1]d" t="s"><v>%[2]d</v></c><c r="B%[1]d" t="s"><v>%[3]d</v></c><c r="C%[1]d"><v>%[4]d</v></c></row>`, i+2, 2*i, 2*i+1, i)
		}
		fmt.Fprint(w, `</sheetData></worksheet>`)
	}, func(w io.Writer) {
		pad := strings.Repeat("x", 40)
		for i := range n {
			fmt.Fprintf(w, "<si><t>user%d@example.com</t></si><si><t>first%d-%s</t></si>", i, i, pad)
		}
	})
	must(t, z.Close())
	return buf.Bytes()
}
