package results

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"

	"importer/internal/jsonenc"
)

// RejectsErrorColumn is the column (CSV) or member (JSONL) that carries the
// reason a row was rejected.
const RejectsErrorColumn = "_error"

// utf8BOM starts every CSV rejects file: the input reader lets a BOM decide
// the encoding, so the same config re-reads the file even when it says
// encoding: windows-1251.
const utf8BOM = "\xEF\xBB\xBF"

// Rejects is the file of rows that ended invalid, failed or unknown, in a form
// the same config can import again: CSV with the input's header plus _error,
// or JSONL objects with an "_error" member.
//
// A Rejects is not safe for concurrent use. Writes are buffered; Close
// flushes, and reports the first write error.
type Rejects struct {
	path string
	f    *os.File
	bw   *bufio.Writer
	err  error

	// CSV only
	cw         *csv.Writer
	width      int // cells before _error (the input header's length)
	errIdx     int // index of an _error column already in the header, or -1
	neutralise bool
	rec        []string

	buf []byte // JSONL scratch line

	closed   bool
	closeErr error
}

// NewRejects creates (or truncates) a CSV rejects file at path: UTF-8 with a
// BOM, the input's header plus _error, the input's delimiter (0 means ','),
// every cell quoted as CSV requires.
//
// If the header already has an _error column (the rejects file of an earlier
// run being imported again), that column is reused rather than doubled.
// neutralise=true prefixes a ' to data cells starting with = + - @ TAB or CR,
// so a spreadsheet shows them as text instead of running them as formulas; it
// changes the data, so it is off by default. The header is never changed: the
// config must still find its columns.
//
// preamble, when given, is the lines the input had before its header
// (input.skip_lines): they are written first, as read, so the same config
// skips them again when the rejects file is imported.
func NewRejects(path string, header []string, delim rune, neutralise bool, preamble ...string) (*Rejects, error) {
	if delim == 0 {
		delim = ','
	}
	if !validDelim(delim) {
		return nil, fmt.Errorf("open rejects %s: delimiter %q cannot be used in CSV", path, delim)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return nil, fmt.Errorf("open rejects %s: %w", path, err)
	}
	r := &Rejects{path: path, f: f, bw: bufio.NewWriterSize(f, 64<<10), errIdx: -1, neutralise: neutralise, width: len(header)}
	r.cw = csv.NewWriter(r.bw)
	r.cw.Comma = delim
	out := make([]string, 0, len(header)+1)
	for i, h := range header {
		if h == RejectsErrorColumn && r.errIdx < 0 {
			r.errIdx = i
		}
		out = append(out, h)
	}
	if r.errIdx < 0 {
		out = append(out, RejectsErrorColumn)
	}
	r.bw.WriteString(utf8BOM)
	for _, line := range preamble {
		r.bw.WriteString(strings.TrimRight(line, "\r\n"))
		r.bw.WriteByte('\n')
	}
	if err := r.cw.Write(out); err != nil {
		f.Close()
		return nil, fmt.Errorf("write rejects %s: header: %w", path, err)
	}
	return r, nil
}

// validDelim mirrors encoding/csv's rule for a usable delimiter.
func validDelim(r rune) bool {
	return r != 0 && r != '"' && r != '\r' && r != '\n' && utf8.ValidRune(r) && r != utf8.RuneError
}

// NewJSONLRejects creates (or truncates) a JSONL rejects file at path.
func NewJSONLRejects(path string) (*Rejects, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return nil, fmt.Errorf("open rejects %s: %w", path, err)
	}
	return &Rejects{path: path, f: f, bw: bufio.NewWriterSize(f, 64<<10), errIdx: -1}, nil
}

// Write adds one rejected row with its reason msg.
//
// CSV files use fields (the row's original cells; raw is ignored): short rows
// are padded with empty cells to the header's length, longer rows keep their
// extra cells, then comes _error. JSONL files use raw (the original line;
// fields are ignored): the object gets an "_error" member (replacing one it
// already has); a line that is not a JSON object is kept as a string,
// {"_raw":"…","_error":"…"}.
func (r *Rejects) Write(fields []string, raw []byte, msg string) error {
	if r.err != nil {
		return r.err
	}
	if r.closed {
		return fmt.Errorf("write rejects %s: %w", r.path, os.ErrClosed)
	}
	if r.cw == nil {
		r.buf = appendRejectJSON(r.buf[:0], raw, msg)
		r.buf = append(r.buf, '\n')
		if _, err := r.bw.Write(r.buf); err != nil {
			r.err = fmt.Errorf("write rejects %s: %w", r.path, err)
		}
		return r.err
	}
	rec := r.rec[:0]
	for _, c := range fields {
		rec = append(rec, r.cell(c))
	}
	for len(rec) < r.width {
		rec = append(rec, "")
	}
	if r.errIdx >= 0 {
		rec[r.errIdx] = r.cell(msg)
	} else {
		rec = append(rec, r.cell(msg))
	}
	r.rec = rec
	if err := r.cw.Write(rec); err != nil {
		r.err = fmt.Errorf("write rejects %s: %w", r.path, err)
	}
	clear(rec) // do not pin the row's strings until the next call
	return r.err
}

// cell applies formula neutralisation when asked for.
func (r *Rejects) cell(s string) string {
	if r.neutralise && s != "" {
		switch s[0] {
		case '=', '+', '-', '@', '\t', '\r':
			return "'" + s
		}
	}
	return s
}

// appendRejectJSON appends raw with an "_error" member, or a {"_raw",
// "_error"} object when raw is not a JSON object.
func appendRejectJSON(b, raw []byte, msg string) []byte {
	// JSON's own whitespace only: bytes.TrimSpace would also strip \v and
	// U+0085, which make the line not JSON, and the line must then be
	// kept verbatim under _raw.
	obj := bytes.Trim(raw, " \t\r\n")
	if len(obj) < 2 || obj[0] != '{' || !json.Valid(obj) {
		raw = bytes.TrimRight(raw, "\r\n")
		b = append(b, `{"_raw":`...)
		b = jsonenc.AppendString(b, string(raw))
		b = append(b, `,"_error":`...)
		b = jsonenc.AppendString(b, msg)
		return append(b, '}')
	}
	obj = oneLine(obj)
	// Only an object that mentions _error (possibly \u-escaped) can have the
	// member; the decoder walk is skipped for all others.
	if bytes.Contains(obj, []byte(RejectsErrorColumn)) || bytes.Contains(obj, []byte(`\u`)) {
		if start, end, ok := findMember(obj, RejectsErrorColumn); ok {
			b = append(b, obj[:start]...)
			b = jsonenc.AppendString(b, msg)
			return append(b, obj[end:]...)
		}
	}
	body := obj[:len(obj)-1] // without the closing brace
	b = append(b, body...)
	if len(bytes.TrimSpace(body[1:])) > 0 {
		b = append(b, ',')
	}
	b = append(b, `"_error":`...)
	b = jsonenc.AppendString(b, msg)
	return append(b, '}')
}

// Flush writes buffered rows to the file.
func (r *Rejects) Flush() error {
	if r.err != nil || r.closed {
		return r.err
	}
	if r.cw != nil {
		r.cw.Flush()
		if err := r.cw.Error(); err != nil {
			r.err = fmt.Errorf("write rejects %s: %w", r.path, err)
			return r.err
		}
	}
	if err := r.bw.Flush(); err != nil {
		r.err = fmt.Errorf("write rejects %s: %w", r.path, err)
	}
	return r.err
}

// Close flushes, syncs and closes the file, and reports the first write
// error. It is idempotent.
func (r *Rejects) Close() error {
	if r.closed {
		return r.closeErr
	}
	err := r.Flush()
	r.closed = true
	r.closeErr = closeFile(r.f, "rejects", r.path, err)
	return r.closeErr
}

// closeFile syncs (regular files only) and closes f, keeping the first error.
func closeFile(f *os.File, what, path string, err error) error {
	if err == nil {
		if fi, serr := f.Stat(); serr == nil && fi.Mode().IsRegular() {
			if serr := f.Sync(); serr != nil {
				err = fmt.Errorf("sync %s %s: %w", what, path, serr)
			}
		}
	}
	if cerr := f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close %s %s: %w", what, path, cerr)
	}
	return err
}
