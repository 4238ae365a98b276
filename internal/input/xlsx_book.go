package input

import (
	"archive/zip"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
)

// book is the parts of an xlsx package the reader needs: where each sheet's
// XML is, the shared strings, the cell styles and the date system. Only
// these small parts are parsed at open; the chosen sheet is streamed later.
type book struct {
	zr       *zip.Reader
	parts    map[string]*zip.File // by lower-case name, as Excel matches them
	sheets   []sheetRef
	date1904 bool
	sstPart  string // "" when the workbook has no shared strings
	styles   []cellStyle
}

// sheetRef is one sheet of the workbook, in tab order.
type sheetRef struct {
	name string
	part string // the part's name in the zip
	kind string // worksheet, chartsheet, dialogsheet, ...
}

// maxPartXML bounds the small parts parsed whole (workbook, relationships,
// styles): real ones are well under a megabyte.
const maxPartXML = 64 << 20

// openBook reads the workbook's structure from the zip.
func openBook(zr *zip.Reader) (*book, error) {
	b := &book{zr: zr, parts: make(map[string]*zip.File, len(zr.File))}
	for _, zf := range zr.File {
		b.parts[strings.ToLower(strings.TrimPrefix(strings.ReplaceAll(zf.Name, `\`, "/"), "/"))] = zf
	}
	wbPart := "xl/workbook.xml"
	if rels, err := b.rels("_rels/.rels", ""); err == nil {
		for _, r := range rels {
			if relKind(r.Type) == "officeDocument" {
				wbPart = r.Target
			}
		}
	}
	if b.parts[strings.ToLower(wbPart)] == nil {
		return nil, fmt.Errorf("%w: a zip archive but not an Excel workbook (it has no %s)", ErrFormat, wbPart)
	}
	var wb struct {
		Pr struct {
			Date1904 string `xml:"date1904,attr"`
		} `xml:"workbookPr"`
		Sheets []struct {
			Name  string     `xml:"name,attr"`
			Attrs []xml.Attr `xml:",any,attr"`
		} `xml:"sheets>sheet"`
	}
	if err := b.decode(wbPart, &wb); err != nil {
		return nil, err
	}
	b.date1904 = wb.Pr.Date1904 == "1" || strings.EqualFold(wb.Pr.Date1904, "true")
	relsPart := path.Join(path.Dir(wbPart), "_rels", path.Base(wbPart)+".rels")
	rels, err := b.rels(relsPart, path.Dir(wbPart))
	if err != nil {
		return nil, err
	}
	byID := make(map[string]rel, len(rels))
	stylesPart := ""
	for _, r := range rels {
		byID[r.ID] = r
		switch relKind(r.Type) {
		case "sharedStrings":
			b.sstPart = r.Target
		case "styles":
			stylesPart = r.Target
		}
	}
	for _, s := range wb.Sheets {
		ref := sheetRef{name: s.Name}
		for _, a := range s.Attrs {
			if a.Name.Local == "id" && a.Name.Space != "" {
				r := byID[a.Value]
				ref.part, ref.kind = r.Target, relKind(r.Type)
			}
		}
		b.sheets = append(b.sheets, ref)
	}
	if len(b.sheets) == 0 {
		return nil, fmt.Errorf("%w: the workbook has no sheets", ErrFormat)
	}
	if stylesPart != "" {
		if err := b.readStyles(stylesPart); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// rel is one relationship of a .rels part, its target resolved to a part
// name.
type rel struct {
	ID     string `xml:"Id,attr"`
	Type   string `xml:"Type,attr"`
	Target string `xml:"Target,attr"`
	Mode   string `xml:"TargetMode,attr"`
}

// relKind is the last segment of a relationship type URI: the transitional
// and the strict schemas differ only before it.
func relKind(typ string) string { return typ[strings.LastIndexByte(typ, '/')+1:] }

// rels reads a relationships part; targets are resolved against dir.
func (b *book) rels(part, dir string) ([]rel, error) {
	var doc struct {
		Rels []rel `xml:"Relationship"`
	}
	if err := b.decode(part, &doc); err != nil {
		return nil, err
	}
	out := doc.Rels[:0]
	for _, r := range doc.Rels {
		if strings.EqualFold(r.Mode, "External") {
			continue
		}
		if strings.HasPrefix(r.Target, "/") {
			r.Target = strings.TrimPrefix(r.Target, "/")
		} else {
			r.Target = path.Join(dir, r.Target)
		}
		out = append(out, r)
	}
	return out, nil
}

// readStyles classifies every cell format (cellXfs) by its number format.
func (b *book) readStyles(part string) error {
	var doc struct {
		NumFmts []struct {
			ID   int    `xml:"numFmtId,attr"`
			Code string `xml:"formatCode,attr"`
		} `xml:"numFmts>numFmt"`
		Xfs []struct {
			NumFmtID int `xml:"numFmtId,attr"`
		} `xml:"cellXfs>xf"`
	}
	if err := b.decode(part, &doc); err != nil {
		return err
	}
	custom := make(map[int]cellStyle, len(doc.NumFmts))
	for _, nf := range doc.NumFmts {
		custom[nf.ID] = customStyle(nf.Code)
	}
	b.styles = make([]cellStyle, len(doc.Xfs))
	for i, xf := range doc.Xfs {
		if st, ok := custom[xf.NumFmtID]; ok {
			b.styles[i] = st
		} else {
			b.styles[i] = builtinStyle(xf.NumFmtID)
		}
	}
	return nil
}

// style is the cell format of a cell's s attribute; unknown indexes are
// plain numbers, as Excel treats them.
func (b *book) style(s string) cellStyle {
	if s == "" || s == "0" {
		if len(b.styles) > 0 {
			return b.styles[0]
		}
		return cellStyle{}
	}
	i, err := strconv.Atoi(s)
	if err != nil || i < 0 || i >= len(b.styles) {
		return cellStyle{}
	}
	return b.styles[i]
}

// open opens a part for streaming.
func (b *book) open(part string) (io.ReadCloser, error) {
	zf := b.parts[strings.ToLower(part)]
	if zf == nil {
		return nil, fmt.Errorf("%w: the workbook is damaged: part %s is missing", ErrFormat, part)
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: the workbook is damaged: %s: %v", ErrFormat, part, err)
	}
	return rc, nil
}

// decode parses a small part whole into v.
func (b *book) decode(part string, v any) error {
	rc, err := b.open(part)
	if err != nil {
		return err
	}
	defer rc.Close()
	dec := xml.NewDecoder(io.LimitReader(rc, maxPartXML))
	dec.Strict = false
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: the workbook is damaged: %s: %v", ErrFormat, part, err)
	}
	return nil
}

// pick chooses the sheet input.sheet names: a name (exact, else ignoring
// case, as Excel does), else a 1-based position; "" is the first sheet.
func (b *book) pick(want string) (sheetRef, error) {
	var ref sheetRef
	found := false
	switch {
	case want == "":
		ref, found = b.sheets[0], true
	default:
		for _, s := range b.sheets {
			if s.name == want {
				ref, found = s, true
				break
			}
		}
		for _, s := range b.sheets {
			if !found && strings.EqualFold(s.name, want) {
				ref, found = s, true
			}
		}
		if n, err := strconv.Atoi(want); !found && err == nil && n >= 1 && n <= len(b.sheets) {
			ref, found = b.sheets[n-1], true
		}
	}
	if !found {
		names := make([]string, len(b.sheets))
		for i, s := range b.sheets {
			names[i] = strconv.Quote(s.name)
		}
		return ref, fmt.Errorf("%w: input.sheet %q: the workbook has no such sheet; its sheets are %s (give a name or a 1-based number)", ErrSheet, want, strings.Join(names, ", "))
	}
	if ref.kind != "worksheet" || ref.part == "" {
		return ref, fmt.Errorf("%w: sheet %q is a %s, not a worksheet with cells: choose another with input.sheet", ErrSheet, ref.name, orWord(ref.kind, "sheet of unknown kind"))
	}
	return ref, nil
}

func orWord(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
