package input

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/text/transform"
)

// ErrFormat reports an input that is neither CSV nor JSON Lines as
// configured or detected: an unknown input.format, an unusable delimiter, or
// a JSON array where JSON Lines were expected. Open fails with it.
var ErrFormat = errors.New("unsupported input format")

// maxFieldCap bounds Options.MaxFieldSize, so that the buffer sizes derived
// from it cannot overflow.
const maxFieldCap = 1 << 30

// File is one input file being read: CSV/TSV or JSON Lines, decompressed and
// decoded to UTF-8 on the fly, one record at a time.
//
// Read is not safe for concurrent use; BytesRead and the accessors are.
// Records returned by Read belong to the caller.
type File struct {
	name    string
	format  Format
	delim   rune
	charset string
	header  []string
	size    int64

	count  *countingReader
	closer []io.Closer // closed in reverse order by Close

	ignored  []int    // 1-based positions of the header's nameless columns
	warnings []string // what the caller should log, once
	preamble []string // the lines Options.SkipLines skipped

	csv   *csvParser
	jsonl *jsonlParser
	xl    *sheetReader // a workbook's sheet (xlsx.go)
	lr    *lineReader
	row   int64
	err   error // sticky: io.EOF or the fatal error

	slab []Record        // the next records, cut from one allocation
	recs block[[]Record] // the allocation slab is cut from
	mem  reuse           // record memory the caller released (reuse.go)
}

// Open opens the file at path ("-" reads stdin) and prepares it for reading:
// gzip is detected by its magic bytes, then the charset, the format and the
// delimiter as opts says, and the CSV header is read and checked.
//
// Open fails, with an error naming the file, on I/O errors, on an encoding it
// cannot determine (ErrEncoding), on a missing, duplicate or empty column name
// or an empty file (ErrHeader), and on unusable options (ErrFormat).
func Open(path string, opts Options) (*File, error) {
	if path == "-" {
		return newFile(os.Stdin, "stdin", opts, fileSize(os.Stdin), nil)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("input: %w", err)
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("input: open %s: is a directory", path)
	}
	in, err := newFile(f, path, opts, fileSize(f), f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return in, nil
}

// NewReader reads a file from r, which it never closes. name stands for the
// file in messages and, by its extension, chooses the format when
// opts.Format is empty. Everything else is as for Open.
func NewReader(r io.Reader, name string, opts Options) (*File, error) {
	size := int64(-1)
	switch v := r.(type) {
	case *os.File:
		size = fileSize(v)
	case interface{ Size() int64 }:
		size = v.Size()
	}
	return newFile(r, name, opts, size, nil)
}

// fileSize is the size of a regular file, else -1.
func fileSize(f *os.File) int64 {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return -1
	}
	return st.Size()
}

func newFile(r io.Reader, name string, opts Options, size int64, closer io.Closer) (*File, error) {
	wb, r, err := workbookInput(r, name, opts, size)
	if wb != nil || err != nil {
		if wb != nil && closer != nil {
			wb.closer = append([]io.Closer{closer}, wb.closer...)
		}
		return wb, err
	}
	f := &File{name: name, size: size, count: &countingReader{r: r}}
	if closer != nil {
		f.closer = append(f.closer, closer)
	}
	if err := f.init(opts); err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return f, nil
}

func (f *File) init(opts Options) error {
	maxField := opts.MaxFieldSize
	if maxField <= 0 {
		maxField = DefaultMaxFieldSize
	}
	maxField = min(maxField, maxFieldCap)
	if opts.SkipLines < 0 {
		return fmt.Errorf("%w: input.skip_lines %d: use 0 or more", ErrFormat, opts.SkipLines)
	}
	br := bufio.NewReaderSize(f.count, headSize)
	magic, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read: %w", err)
	}
	if bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		f.closer = append(f.closer, gz)
		br = bufio.NewReaderSize(gzipErrors{gz}, headSize)
	}
	head, eof, err := readHead(br, f.size < 0, opts.SkipLines)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	cs, err := detectCharset(head, eof, opts.Encoding)
	if err != nil {
		return err
	}
	f.charset = cs.name
	var base int64
	if cs.bom > 0 {
		br.Discard(cs.bom)
		base = 3 // the BOM decodes to U+FEFF, three bytes of UTF-8
	}
	var decoded io.Reader = br
	if cs.decoder != nil {
		decoded = transform.NewReader(br, cs.decoder)
	}
	// The parser gives up on a quoted field once it holds maxField bytes;
	// keeping that much (and a piece) lets it go back to the line after the
	// quote.
	f.lr = newLineReader(decoded, base, maxField+2*chunkSize)

	// The preamble goes first: the format and the delimiter are sniffed
	// after it. JSON Lines known from the config or the name end lines at
	// LF only, as their parser does.
	if known, _ := chooseFormat(opts.Format, f.name, nil); known == FormatJSONL {
		f.lr.lfOnly = true
	}
	skipped, err := f.skipPreamble(opts.SkipLines)
	if err != nil {
		return err
	}
	f.format, err = chooseFormat(opts.Format, f.name, f.lr.peekUntil(headSize, firstLineArrived))
	if err != nil {
		return err
	}
	if f.format == FormatJSONL {
		f.lr.lfOnly = true
		if jsonArray(f.lr.peekUntil(headSize, jsonHeadArrived)) {
			return fmt.Errorf("%w: the file holds a JSON array, not JSON Lines (one object per line; `jq -c '.[]'` converts it)", ErrFormat)
		}
		f.jsonl = &jsonlParser{lr: f.lr, max: maxField, validate: cs.decoder == nil, line: 1 + skipped}
		return f.readErr()
	}
	return f.initCSV(opts, maxField, cs.decoder == nil, skipped)
}

// jsonArray reports a head that is one JSON array rather than JSON Lines:
// its first line opens an array that does not end on that line, or is the
// only line. A first line that is a whole array followed by more lines is
// just a bad line of a JSON Lines file.
func jsonArray(head []byte) bool {
	body := trimJSONSpace(head)
	if len(body) == 0 || body[0] != '[' {
		return false
	}
	first, rest, _ := bytes.Cut(body, []byte{'\n'})
	return !json.Valid(first) || len(trimJSONSpace(rest)) == 0
}

// readErr is a stream error met while peeking.
func (f *File) readErr() error {
	if err := f.lr.readErr(); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	return nil
}

func (f *File) initCSV(opts Options, maxField int, validate bool, skipped int64) error {
	delim := opts.Delimiter
	head := f.lr.peekUntil(headSize, csvHeadArrived(delim))
	if delim == 0 {
		delim = sniffDelimiter(head, strings.EqualFold(baseExt(f.name), ".tsv"))
	}
	if delim <= 0 || delim >= 0x80 || delim == '"' || delim == '\r' || delim == '\n' {
		return fmt.Errorf("%w: input.delimiter %q: use one ASCII character other than a quote or a line end", ErrFormat, delim)
	}
	if err := f.readErr(); err != nil {
		return err
	}
	f.delim = delim
	p := &csvParser{
		lr: f.lr, delim: byte(delim), max: maxField, recMax: max(8*maxField, 2*chunkSize),
		keepMax: maxHeaderColumns + 1, validate: validate, lazy: !opts.StrictQuotes, line: 1 + skipped,
		mem: &f.mem,
	}
	f.csv = p
	if opts.NoHeader {
		if len(opts.Columns) == 0 {
			return fmt.Errorf("%w: input.header is false, so input.columns must name the columns", ErrHeader)
		}
		names := slices.Clone(opts.Columns)
		for i := range names {
			names[i] = strings.TrimSpace(names[i])
		}
		if err := checkNames(names, "input.columns", false); err != nil {
			return err
		}
		f.header = names
		p.names = names
		p.minCols = len(names)
	} else {
		var rec Record
		err := p.next(&rec)
		switch {
		case errors.Is(err, io.EOF) && opts.SkipLines > 0:
			return fmt.Errorf("%w: there is no header line after the %d lines input.skip_lines skips (the file has %d)", ErrHeader, opts.SkipLines, skipped)
		case errors.Is(err, io.EOF):
			return fmt.Errorf("%w: the file is empty, there is no header line (set input.header: false and input.columns if the file has none)", ErrHeader)
		case err != nil:
			return fmt.Errorf("read header: %w", err)
		case p.nfields > maxHeaderColumns:
			return fmt.Errorf("%w: more than %d columns on line %d: is %q the right delimiter?", ErrHeader, maxHeaderColumns, rec.Line, delim)
		case rec.Err != nil:
			return fmt.Errorf("%w: %v", ErrHeader, rec.Err)
		}
		names := rec.Fields
		for i := range names {
			names[i] = strings.TrimSpace(names[i])
		}
		names[0] = strings.TrimPrefix(names[0], "\ufeff")
		where := fmt.Sprintf("the header (line %d)", rec.Line)
		if err := checkNames(names, where, true); err != nil {
			return err
		}
		if err := f.setHeader(names, where); err != nil {
			return err
		}
	}
	p.ncols = len(p.names)
	p.keepMax = p.ncols + extraFieldsKept
	return nil
}

// checkNames refuses duplicate column names, which a mapping could not tell
// apart, and empty ones unless nameless is set (a header line's nameless
// columns are ignored, see setHeader).
func checkNames(names []string, where string, nameless bool) error {
	var problems []string
	seen := make(map[string]int, len(names))
	for i, n := range names {
		if n == "" {
			if !nameless {
				problems = append(problems, fmt.Sprintf("column %d has no name", i+1))
			}
			continue
		}
		if j, dup := seen[n]; dup {
			problems = append(problems, fmt.Sprintf("columns %d and %d are both named %q", j, i+1, n))
			continue
		}
		seen[n] = i + 1
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: in %s %s", ErrHeader, where, strings.Join(problems, "; "))
}

// setHeader takes the names of a header line: columns with an empty name
// are ignored (Excel writes one when every line ends with a delimiter), so
// Header, and every record's Fields, hold only the named ones.
func (f *File) setHeader(names []string, where string) error {
	p := f.csv
	p.names = names
	for i, n := range names {
		if n == "" {
			f.ignored = append(f.ignored, i+1)
			continue
		}
		f.header = append(f.header, n)
		p.minCols = i + 1
	}
	if len(f.header) == 0 {
		return fmt.Errorf("%w: %s has no column names", ErrHeader, where)
	}
	if len(f.ignored) == 0 {
		return nil
	}
	p.drop = make([]bool, len(names))
	cols := make([]string, len(f.ignored))
	for i, c := range f.ignored {
		p.drop[c-1] = true
		cols[i] = strconv.Itoa(c)
	}
	noun, verb := "column", "has"
	if len(cols) > 1 {
		noun, verb = "columns", "have"
	}
	f.warnings = append(f.warnings, fmt.Sprintf("%s %s of %s %s no name: ignored (a row with a value there is an error)",
		noun, strings.Join(cols, ", "), where, verb))
	return nil
}

// chooseFormat applies Options.Format, then the file name's extension (after
// .gz), then the first non-blank byte: '{' is JSON Lines, anything else CSV.
func chooseFormat(configured Format, name string, head []byte) (Format, error) {
	switch configured {
	case FormatCSV, FormatJSONL:
		return configured, nil
	case "":
	default:
		return "", fmt.Errorf("%w: input.format %q (want %q or %q)", ErrFormat, configured, FormatCSV, FormatJSONL)
	}
	switch strings.ToLower(baseExt(name)) {
	case ".csv", ".tsv", ".txt":
		return FormatCSV, nil
	case ".jsonl", ".ndjson", ".json":
		return FormatJSONL, nil
	}
	if body := trimJSONSpace(head); len(body) > 0 && body[0] == '{' {
		return FormatJSONL, nil
	}
	return FormatCSV, nil
}

// baseExt is the extension of name once a .gz suffix is gone.
func baseExt(name string) string {
	ext := filepath.Ext(name)
	if strings.EqualFold(ext, ".gz") {
		ext = filepath.Ext(strings.TrimSuffix(name, ext))
	}
	return ext
}

// sniffDelimiter picks, among , ; TAB and |, the one found most often
// outside quotes on the first line of head that holds more than blanks and
// those delimiters (see headLine), else on the first line that holds any of
// them (Excel's ;;;; for empty rows). Ties go to the earlier in that list;
// none found means a one-column file: TAB for .tsv, else comma.
func sniffDelimiter(head []byte, tsv bool) rune {
	var counts [len(sniffDelims)]int
	if line, _ := headLine(head, sniffDelims, counts[:]); line == nil {
		for line := range bytes.Lines(head) {
			for i := range sniffDelims {
				counts[i] = bytes.Count(line, []byte{sniffDelims[i]})
			}
			if slices.ContainsFunc(counts[:], func(n int) bool { return n > 0 }) {
				break
			}
		}
	}
	best := -1
	for i, n := range counts {
		if n > 0 && (best < 0 || n > counts[best]) {
			best = i
		}
	}
	switch {
	case best >= 0:
		return rune(sniffDelims[best])
	case tsv:
		return '\t'
	}
	return ','
}

// Read returns the next record. At the end of the file it returns io.EOF.
// A malformed record is not an error: it comes back with Record.Err set and
// reading goes on after it. Its Fields hold the best guess of the row's
// values, for a rejects file: what was read for a wrong field count, a bare
// quote kept as a literal, the line after a bad quote split at every
// delimiter, an empty string for a field over the size limit. Any other
// error is fatal (the file cannot be read on, e.g. a broken gzip stream),
// names the file and the line, and is returned again by every later call.
//
// The record is the caller's: nothing in it is changed until the caller
// releases its row (Release). Its memory is cut from blocks shared by
// neighbouring records (32 records, 32 KiB of field text), so a record kept
// for long keeps such a block alive.
func (f *File) Read() (*Record, error) {
	if f.err != nil {
		return nil, f.err
	}
	f.mem.row = f.row + 1
	if len(f.slab) == 0 {
		f.newSlab()
	}
	rec := &f.slab[0]
	f.slab = f.slab[1:]
	f.recs.last = f.mem.row
	var err error
	var line int64
	switch {
	case f.csv != nil:
		err, line = f.csv.next(rec), f.csv.line
	case f.xl != nil:
		err, line = f.xl.nextRecord(rec), f.xl.line
	default:
		err, line = f.jsonl.next(rec), f.jsonl.line
	}
	switch {
	case errors.Is(err, io.EOF):
		f.err = io.EOF
		return nil, io.EOF
	case err != nil:
		f.err = fmt.Errorf("read %s line %d: %w", f.name, line, err)
		return nil, f.err
	}
	f.row++
	rec.Row = f.row
	if rec.Err != nil {
		rec.Err.Row = f.row
	}
	return rec, nil
}

// newSlab starts a slab of Records: a released one, cleared, or a new one.
func (f *File) newSlab() {
	retire(&f.mem, &f.mem.records, f.recs)
	b, ok := take(&f.mem, &f.mem.records)
	if ok {
		clear(b.buf)
	} else {
		b.buf = make([]Record, slabRecords)
	}
	f.recs, f.slab = b, b.buf
}

// Header returns the column names of a CSV file (from its header line,
// trimmed, or from Options.Columns); nil for JSON Lines.
func (f *File) Header() []string { return f.header }

// Ignored returns the 1-based positions of the header's columns that have
// no name (a header line ending with a delimiter has one at the end). Their
// cells are left out of Header and of every record's Fields; a row holding a
// value in one is a row error (ErrNamelessValue). Nil when there are none.
func (f *File) Ignored() []int { return f.ignored }

// Warnings returns what the caller should tell the user once, before the
// rows: for now, the header's nameless columns that are ignored.
func (f *File) Warnings() []string { return f.warnings }

// Preamble returns the lines Options.SkipLines skipped, decoded, without
// their line ends, so that a file written for the same config (a rejects
// file) can start with them. A long line keeps its first 4 KiB; past 64 KiB
// in all the lines are empty strings, which still count as lines.
func (f *File) Preamble() []string { return f.preamble }

// Format returns the format in use.
func (f *File) Format() Format { return f.format }

// Delimiter returns the CSV delimiter in use; 0 for JSON Lines.
func (f *File) Delimiter() rune { return f.delim }

// Encoding names the decoding in use: "utf-8", "utf-8 (BOM)",
// "utf-16le (BOM)", "utf-16le (no BOM)", or a configured charset by its
// WHATWG name such as "windows-1251".
func (f *File) Encoding() string { return f.charset }

// BytesRead returns how many bytes of the file (compressed, undecoded) have
// been consumed so far, read-ahead included. It is safe to call from any
// goroutine while another reads.
func (f *File) BytesRead() int64 { return f.count.n.Load() }

// Size returns the file's size in bytes when it is a regular file (or a
// reader that knows its size), else -1. With BytesRead it gives progress.
func (f *File) Size() int64 { return f.size }

// Close releases the file. It closes what Open opened (never stdin, never
// the reader given to NewReader) and may be called more than once.
func (f *File) Close() error {
	var errs []error
	for i := len(f.closer) - 1; i >= 0; i-- {
		errs = append(errs, f.closer[i].Close())
	}
	f.closer = nil
	if f.err == nil {
		f.err = errors.New("read: file closed")
	}
	return errors.Join(errs...)
}

// countingReader counts the bytes read through it, for BytesRead.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// gzipErrors says "gzip" in the errors of a compressed stream: the
// decompressor's own texts ("unexpected EOF", "flate: corrupt input") do not
// tell the user that the file, not the disk, is broken.
type gzipErrors struct{ r io.Reader }

func (g gzipErrors) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	switch {
	case err == nil, err == io.EOF:
	case errors.Is(err, io.ErrUnexpectedEOF):
		err = fmt.Errorf("gzip: the compressed file is truncated: %w", err)
	case !strings.HasPrefix(err.Error(), "gzip:"):
		err = fmt.Errorf("gzip: the compressed data is corrupt: %w", err)
	}
	return n, err
}
