package input

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxSheetColumns is Excel's widest sheet (XFD).
const maxSheetColumns = 16384

// sheetReader streams the rows of one worksheet part: one row element at a
// time through the XML tokenizer, so memory does not grow with the sheet.
type sheetReader struct {
	bk  *book
	sst *sharedStrings
	dec *xml.Decoder
	max int // Options.MaxFieldSize

	skip int64 // rows up to this sheet row are skipped (Options.SkipLines)

	line  int64 // the sheet row number of the last row read
	cells []string
	width int // the rightmost column holding a value in the last row

	// Set once the header is known.
	names   []string
	ncols   int
	keepMax int

	err *RowError // the first problem of the row being read
}

// sheetRow is one row of the sheet: its number and its values by column,
// "" for cells without one. cells is reused by the next call.
type sheetRow struct {
	line  int64
	cells []string // up to keepMax columns
	width int      // the rightmost column with a value
}

// next reads the next row that has a value in some cell, skipping empty ones
// as blank lines of a CSV file are. It returns io.EOF after the last row;
// any other error is fatal (broken XML, a damaged workbook).
func (r *sheetReader) next() (sheetRow, error) {
	for {
		tok, err := r.dec.RawToken()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return sheetRow{}, io.EOF
			}
			return sheetRow{}, fmt.Errorf("%w: the sheet's XML is broken after row %d: %v", ErrFormat, r.line, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "row" {
				continue
			}
			line := r.line + 1
			if v := attr(t, "r"); v != "" {
				if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
					line = n
				}
			}
			r.line = line
			if err := r.readRow(); err != nil {
				return sheetRow{}, err
			}
			if r.width > 0 {
				return sheetRow{line: line, cells: r.cells, width: r.width}, nil
			}
		case xml.EndElement:
			if t.Name.Local == "sheetData" {
				return sheetRow{}, io.EOF
			}
		}
	}
}

// readRow reads the cells of the row element just opened, up to its end.
func (r *sheetReader) readRow() error {
	clear(r.cells)
	r.cells, r.width, r.err = r.cells[:0], 0, nil
	col := 0
	for {
		tok, err := r.dec.RawToken()
		if err != nil {
			return fmt.Errorf("%w: the sheet's XML is broken in row %d: %v", ErrFormat, r.line, errors.Join(err, io.ErrUnexpectedEOF))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "c" {
				continue
			}
			col++
			if ref := attr(t, "r"); ref != "" {
				if c := columnOf(ref); c > 0 {
					col = c
				}
			}
			v, inline, err := r.cellContent()
			if err != nil {
				return err
			}
			text, err := r.cellText(t, col, v, inline)
			if err != nil {
				return err
			}
			r.put(col, text)
		case xml.EndElement:
			if t.Name.Local == "row" {
				return nil
			}
		}
	}
}

// cellContent reads a c element's children: the stored value (v) and the
// text of an inline string (is), whose phonetic hints are left out.
func (r *sheetReader) cellContent() (v, inline string, err error) {
	var vb, ib strings.Builder
	in := ""
	phonetic := 0
	for {
		tok, err := r.dec.RawToken()
		if err != nil {
			return "", "", fmt.Errorf("%w: the sheet's XML is broken in row %d: %v", ErrFormat, r.line, errors.Join(err, io.ErrUnexpectedEOF))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "v", "t":
				in = t.Name.Local
			case "rPh":
				phonetic++
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "c":
				return vb.String(), ib.String(), nil
			case "rPh":
				phonetic--
			}
			in = ""
		case xml.CharData:
			switch {
			case in == "v":
				vb.Write(t)
			case in == "t" && phonetic == 0:
				ib.Write(t)
			}
		}
	}
}

// cellText is the text of a cell as the reader gives it: strings as
// written, booleans true/false, errors as Excel shows them (#N/A), numbers
// plain, dates and times in ISO form as the cell's number format says.
func (r *sheetReader) cellText(c xml.StartElement, col int, v, inline string) (string, error) {
	var text string
	switch attr(c, "t") {
	case "s":
		i, err := strconv.Atoi(strings.TrimSpace(v))
		s, ok, gerr := r.sst.get(i)
		if gerr != nil {
			return "", gerr
		}
		if err != nil || !ok {
			return "", fmt.Errorf("%w: the workbook is damaged: cell %s refers to shared string %q, which does not exist", ErrFormat, cellRef(col, r.line), v)
		}
		text = s
	case "inlineStr":
		text = decodeXString(inline)
	case "str":
		text = decodeXString(v)
	case "b":
		switch strings.TrimSpace(v) {
		case "1":
			text = "true"
		case "0":
			text = "false"
		default:
			text = v
		}
	case "e":
		text = v
	case "d":
		text = isoDate(v, r.bk.style(attr(c, "s")))
	default:
		text = numericText(v, r.bk.style(attr(c, "s")), r.bk.date1904)
	}
	switch {
	case len(text) > r.max:
		r.fail(col, fmt.Errorf("%w: %d bytes in cell %s, the limit is %d", ErrFieldTooLong, len(text), cellRef(col, r.line), r.max))
		text = ""
	case strings.IndexByte(text, 0) >= 0:
		r.fail(col, fmt.Errorf("%w in %s", ErrNUL, clip([]byte(text))))
	}
	return text, nil
}

// put stores a cell's text; columns beyond what is kept are only counted.
func (r *sheetReader) put(col int, text string) {
	if text == "" {
		return
	}
	r.width = max(r.width, col)
	limit := maxSheetColumns
	if r.keepMax > 0 {
		limit = r.keepMax
	}
	if col > limit {
		return
	}
	for len(r.cells) < col {
		r.cells = append(r.cells, "")
	}
	r.cells[col-1] = text
}

func (r *sheetReader) fail(col int, err error) {
	if r.err == nil {
		r.err = &RowError{Line: r.line, Column: col, Err: err}
	}
}

// record turns a data row into a Record: one field per header column ("" for
// empty cells, which Excel does not store), and a wrong field count when a
// cell right of the last named column holds a value, as for a CSV row with
// too many fields.
func (r *sheetReader) record(row sheetRow, rec *Record) {
	n := max(r.ncols, min(row.width, r.keepMax))
	fields := make([]string, n)
	copy(fields, row.cells)
	rec.Line, rec.Fields = row.line, fields
	if r.err == nil && row.width > r.ncols {
		first := r.ncols + 1
		for first <= len(row.cells) && row.cells[first-1] == "" {
			first++
		}
		r.fail(first, fmt.Errorf("%w: want %d, got %d: cell %s holds %s, right of the last named column", ErrFieldCount, r.ncols, row.width, cellRef(first, row.line), clip([]byte(fieldAt(row.cells, first)))))
	}
	rec.Err = r.err
	if rec.Err != nil && rec.Err.Column > 0 && rec.Err.Column <= len(r.names) {
		rec.Err.Name = r.names[rec.Err.Column-1]
	}
}

func fieldAt(cells []string, col int) string {
	if col-1 < len(cells) {
		return cells[col-1]
	}
	return ""
}

// attr returns the value of the attribute called name (any prefix).
func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// columnOf is the 1-based column of a cell reference such as "AB12"; 0 when
// the reference is malformed or beyond Excel's last column.
func columnOf(ref string) int {
	col := 0
	for i := 0; i < len(ref); i++ {
		c := ref[i] | 0x20
		if c < 'a' || c > 'z' {
			break
		}
		col = col*26 + int(c-'a') + 1
		if col > maxSheetColumns {
			return 0
		}
	}
	return col
}

// cellName is the column letters of a 1-based column (1 → A, 28 → AB).
func cellName(col int) string {
	var b [8]byte
	i := len(b)
	for col > 0 && i > 0 {
		col--
		i--
		b[i] = byte('A' + col%26)
		col /= 26
	}
	return string(b[i:])
}

// cellRef is a cell's name as Excel shows it: B7.
func cellRef(col int, line int64) string { return cellName(col) + strconv.FormatInt(line, 10) }
