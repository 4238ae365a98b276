package input

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/richardlehane/mscfb"
)

// A workbook is read by streaming its sheet's XML (encoding/xml tokens)
// rather than through excelize's row iterator, for two measured reasons:
// the iterator hands back strings with each cell's style gone, so a date
// cannot be told from a number, and it keeps ~40 bytes per shared string in
// memory: a 500k-row Excel export with 4 distinct strings per row held a
// 79 MB live heap, over the run's 64 MB budget. Here the shared strings are
// one text blob with 4-byte offsets (spilled to a deleted temporary file
// past 4 MiB): BenchmarkXLSXSharedStrings200k (400k strings) peaks at a
// 10 MB live heap. excelize still converts date serials, and its number
// format tokenizer (nfp) classifies custom formats; the tests write every
// workbook with excelize.

// ErrSheet reports an input.sheet that names no worksheet of the workbook.
// Open fails with it; the message lists the workbook's sheets.
var ErrSheet = errors.New("no such sheet")

// xlsxEncoding is what Encoding reports for a workbook: its text is UTF-8
// XML, and the name tells a log reader the input was no CSV.
const xlsxEncoding = "xlsx"

var (
	zipMagic = []byte("PK\x03\x04")
	oleMagic = []byte{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1}
	gzMagic  = []byte{0x1f, 0x8b}
)

// isWorkbook decides from the options, the name and the first bytes whether
// the input is read as a workbook. An OLE compound file (an .xls of Excel
// 97-2003, or an encrypted .xlsx) always is, so that it gets its own clear
// error instead of a charset guess.
func isWorkbook(configured Format, name string, head []byte) bool {
	switch {
	case bytes.HasPrefix(head, oleMagic):
		return true
	case configured == FormatXLSX:
		return true
	case configured != "":
		return false
	}
	switch strings.ToLower(baseExt(name)) {
	case ".xlsx", ".xlsm", ".xltx", ".xltm":
		return true
	}
	return bytes.HasPrefix(head, zipMagic)
}

// workbookInput is newFile's hook for workbooks. When r holds a workbook it
// opens it (spooling r to a temporary file first unless r is a seekable file
// or reader at its start) and returns the File; otherwise it returns the
// reader to go on with, which replays the bytes it peeked at.
func workbookInput(r io.Reader, name string, opts Options, size int64) (*File, io.Reader, error) {
	if ra, ok := atStart(r); ok && size >= 0 {
		head := make([]byte, len(oleMagic))
		n, _ := ra.ReadAt(head, 0)
		if !isWorkbook(opts.Format, name, head[:n]) {
			return nil, r, nil
		}
		f, err := openXLSX(ra, size, name, opts)
		return f, nil, err
	}
	// As large as the CSV reader's head: a pipe's first read takes all it
	// has ready, so the CSV head sniffing that follows sees the same reads
	// it would see on the pipe itself.
	br := bufio.NewReaderSize(r, headSize)
	head, _ := br.Peek(len(oleMagic))
	var src io.Reader = br
	if bytes.HasPrefix(head, gzMagic) && (opts.Format == FormatXLSX || isWorkbook(opts.Format, name, nil)) {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		defer gz.Close()
		src = gzipErrors{gz}
	} else if !isWorkbook(opts.Format, name, head) {
		return nil, br, nil
	}
	tmp, n, err := spool(src)
	if err != nil {
		return nil, nil, err
	}
	f, err := openXLSX(tmp, n, name, opts)
	if err != nil {
		tmp.Close()
		return nil, nil, err
	}
	f.closer = append([]io.Closer{tmp}, f.closer...)
	return f, nil, nil
}

// atStart returns r as an io.ReaderAt when it is one and has not been read
// from yet (a regular file, a bytes.Reader), so a workbook needs no copy.
func atStart(r io.Reader) (io.ReaderAt, bool) {
	ra, ok := r.(io.ReaderAt)
	if !ok {
		return nil, false
	}
	s, ok := r.(io.Seeker)
	if !ok {
		return nil, false
	}
	if f, isFile := r.(*os.File); isFile {
		if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
			return nil, false
		}
	}
	pos, err := s.Seek(0, io.SeekCurrent)
	return ra, err == nil && pos == 0
}

// spool copies r to a temporary file, for the random access a zip needs.
// The file is unlinked at once on systems that allow it, so nothing is left
// behind even if the process dies; closing it frees the space.
func spool(r io.Reader) (spooled, int64, error) {
	tmp, err := os.CreateTemp("", "importer-input-*.xlsx")
	if err != nil {
		return nil, 0, fmt.Errorf("copy the workbook to a temporary file: %w", err)
	}
	removed := os.Remove(tmp.Name()) == nil
	n, err := io.Copy(tmp, r)
	if err != nil {
		tmp.Close()
		if !removed {
			os.Remove(tmp.Name())
		}
		return nil, 0, fmt.Errorf("copy the workbook to a temporary file: %w", err)
	}
	if removed {
		return tmp, n, nil
	}
	return &removeOnClose{tmp}, n, nil
}

// spooled is a temporary copy of an input.
type spooled interface {
	io.ReaderAt
	io.Closer
}

// removeOnClose deletes a temporary file when it is closed, where it could
// not be unlinked while open.
type removeOnClose struct{ *os.File }

func (r *removeOnClose) Close() error {
	return errors.Join(r.File.Close(), os.Remove(r.Name()))
}

// openXLSX opens the workbook in ra and reads the chosen sheet's header.
// It never closes ra: the caller owns it.
func openXLSX(ra io.ReaderAt, size int64, name string, opts Options) (*File, error) {
	f := &File{name: name, size: size, format: FormatXLSX, delim: ',', charset: xlsxEncoding, count: &countingReader{}}
	if err := f.initXLSX(countingReaderAt{ra, f.count}, size, opts); err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return f, nil
}

func (f *File) initXLSX(ra io.ReaderAt, size int64, opts Options) error {
	head := make([]byte, len(oleMagic))
	n, _ := ra.ReadAt(head, 0)
	if bytes.HasPrefix(head[:n], oleMagic) {
		return oleError(ra)
	}
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return fmt.Errorf("%w: not an xlsx workbook (%v): save it from Excel as .xlsx or as CSV UTF-8", ErrFormat, err)
	}
	bk, err := openBook(zr)
	if err != nil {
		return err
	}
	ref, err := bk.pick(opts.Sheet)
	if err != nil {
		return err
	}
	maxField := opts.MaxFieldSize
	if maxField <= 0 {
		maxField = DefaultMaxFieldSize
	}
	r := &sheetReader{bk: bk, max: min(maxField, maxFieldCap)}
	f.xl = r
	if bk.sstPart != "" {
		rc, err := bk.open(bk.sstPart)
		if err != nil {
			return err
		}
		r.sst, err = readSST(rc)
		rc.Close()
		if err != nil {
			return err
		}
		f.closer = append(f.closer, closerFunc(r.sst.close))
	}
	rc, err := bk.open(ref.part)
	if err != nil {
		return err
	}
	f.closer = append(f.closer, rc)
	r.dec = xml.NewDecoder(rc)
	return f.xlsxHeader(r, ref.name, opts)
}

// xlsxHeader skips Options.SkipLines sheet rows and takes the column names
// from the first row with a value after them (or from Options.Columns),
// with the checks of a CSV header.
func (f *File) xlsxHeader(r *sheetReader, sheet string, opts Options) error {
	skip := int64(max(opts.SkipLines, 0))
	r.skip = skip
	if opts.NoHeader {
		if len(opts.Columns) == 0 {
			return fmt.Errorf("%w: input.header is false, so input.columns must name the columns", ErrHeader)
		}
		names := make([]string, len(opts.Columns))
		for i, c := range opts.Columns {
			names[i] = strings.TrimSpace(c)
		}
		if err := checkNames(names, "input.columns", false); err != nil {
			return err
		}
		f.setXLSXHeader(r, names)
		return nil
	}
	f.preamble = make([]string, skip) // empty sheet rows stay empty lines
	for {
		row, err := r.next()
		switch {
		case errors.Is(err, io.EOF):
			return fmt.Errorf("%w: sheet %q has no header row: it is empty (set input.header: false and input.columns if it has no header)", ErrHeader, sheet)
		case err != nil:
			return fmt.Errorf("read header: %w", err)
		case row.line <= skip:
			// Kept as a line of text for a rejects file written as CSV,
			// so the same input.skip_lines skips it there too.
			f.preamble[row.line-1] = strings.NewReplacer("\r", " ", "\n", " ").Replace(strings.Join(row.cells, ","))
			continue
		case r.err != nil:
			return fmt.Errorf("%w: sheet %q: %v", ErrHeader, sheet, r.err)
		case row.width > maxHeaderColumns:
			return fmt.Errorf("%w: more than %d columns in row %d of sheet %q", ErrHeader, maxHeaderColumns, row.line, sheet)
		}
		names := make([]string, row.width)
		for i := range names {
			names[i] = strings.TrimSpace(fieldAt(row.cells, i+1))
		}
		for len(names) > 0 && names[len(names)-1] == "" {
			names = names[:len(names)-1] // a blank-looking cell right of the table is no column
		}
		if err := checkNames(names, fmt.Sprintf("the header (sheet %q, row %d)", sheet, row.line), false); err != nil {
			return err
		}
		f.setXLSXHeader(r, names)
		return nil
	}
}

func (f *File) setXLSXHeader(r *sheetReader, names []string) {
	f.header = names
	r.names, r.ncols, r.keepMax = names, len(names), len(names)+extraFieldsKept
}

// nextRecord reads the next data row into rec.
func (r *sheetReader) nextRecord(rec *Record) error {
	for {
		row, err := r.next()
		if err != nil {
			return err
		}
		if row.line <= r.skip {
			continue
		}
		r.record(row, rec)
		return nil
	}
}

// oleError explains an OLE compound file: an encrypted workbook holds an
// EncryptedPackage stream, anything else is taken for an Excel 97-2003 file.
func oleError(ra io.ReaderAt) (err error) {
	const xls = "%w: this is an Excel 97-2003 workbook (.xls), which the importer does not read: open it in Excel and save it as .xlsx (Excel Workbook) or as CSV UTF-8"
	defer func() {
		if recover() != nil { // a damaged compound file: say what it most likely is
			err = fmt.Errorf(xls, ErrFormat)
		}
	}()
	doc, derr := mscfb.New(ra)
	if derr == nil {
		for _, e := range doc.File {
			if e.Name == "EncryptedPackage" {
				return fmt.Errorf("%w: the workbook is password-protected (encrypted): open it in Excel, remove the password (File > Info > Protect Workbook) and save it as .xlsx, or save it as CSV UTF-8", ErrFormat)
			}
		}
	}
	return fmt.Errorf(xls, ErrFormat)
}

// countingReaderAt counts the bytes read from a workbook, for BytesRead.
type countingReaderAt struct {
	r io.ReaderAt
	c *countingReader
}

func (c countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.c.n.Add(int64(n))
	return n, err
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }
