package input

import (
	"errors"
	"fmt"
)

// Format is the layout of an input file.
type Format string

// The formats the reader understands.
const (
	FormatCSV   Format = "csv"   // CSV or TSV: delimiter sniffed or configured
	FormatJSONL Format = "jsonl" // one JSON object per line
	FormatXLSX  Format = "xlsx"  // an Excel workbook (.xlsx, .xlsm): one sheet's rows
)

// DefaultMaxFieldSize is the largest field (CSV) or line (JSONL) accepted
// before the record becomes a row error: 1 MiB.
const DefaultMaxFieldSize = 1 << 20

// Options says how to read a file. The zero value detects everything.
type Options struct {
	// Format: "" = from the file name (.csv .tsv .txt → csv, .jsonl .ndjson
	// .json → jsonl, after stripping .gz), else sniffed from the first bytes.
	Format Format
	// Delimiter: 0 = sniffed from the header line among , ; TAB |.
	Delimiter rune
	// Encoding: "" = a BOM decides (UTF-8, UTF-16LE/BE); otherwise UTF-8 if
	// the head of the file is valid UTF-8; otherwise Open fails with an error
	// naming the config option input.encoding and a likely value. Names are
	// resolved through htmlindex (cp1251, windows-1251, koi8-r, cp866,
	// utf-16le, latin1, ...). A BOM in the file always wins over this value.
	Encoding string
	// NoHeader: the first record is data; column names come from Columns.
	NoHeader bool
	// Columns names the columns when NoHeader is set.
	Columns []string
	// MaxFieldSize: 0 = DefaultMaxFieldSize.
	MaxFieldSize int
	// StrictQuotes reads CSV as strict RFC 4180: a quote inside an unquoted
	// field, or text after the closing quote of a quoted field, makes the
	// record a row error (ErrBareQuote). By default such quotes are literal
	// characters, as Excel, Python's csv module and encoding/csv with
	// LazyQuotes read them (see the package documentation).
	StrictQuotes bool
	// SkipLines is how many physical lines (a title, an export date) come
	// before the header, or before the first record when NoHeader is set.
	// They are skipped unread, whatever they hold, before the format and the
	// delimiter are sniffed; line numbers stay those of the file. 0 skips
	// nothing; a negative value is ErrFormat.
	SkipLines int
	// Sheet chooses a workbook's sheet: its name (exact, else ignoring
	// case), else a 1-based position such as "2"; "" = the first sheet.
	// Other formats ignore it. For a workbook SkipLines counts sheet rows.
	Sheet string
}

// Record is one data record of the input. Records returned by Read are owned
// by the caller: the reader reuses their memory only once the caller has
// released their rows (File.Release).
type Record struct {
	Row    int64 // 1-based data record number (the first record after the header is 1)
	Line   int64 // 1-based file line where the record starts; for a workbook, the sheet's row number
	Offset int64 // byte offset, in the decoded UTF-8 stream, where the record starts; 0 for a workbook

	// Fields holds a CSV record's values in header order, one per name of
	// [File.Header]: the cells of columns without a name in the header are
	// not in it (see [File.Ignored]). When Err reports a wrong field count it
	// holds what was read (shorter or longer).
	Fields []string
	// Object holds a JSONL record's decoded object; numbers are json.Number.
	Object map[string]any
	// Raw holds a JSONL record's original line (UTF-8, no newline). Nil for CSV.
	Raw []byte

	// Err is non-nil when the record is malformed; such a record must end
	// invalid, and reading goes on after it.
	Err *RowError
}

// RowError is a malformed record: where it is and what is wrong. It wraps one
// of the row-level Err* sentinels.
type RowError struct {
	Row    int64
	Line   int64  // the line of the problem (for an unclosed quote: where it opened)
	Column int    // 1-based column number in the file, nameless columns counted; 0 when unknown or not applicable
	Name   string // the column's header name, "" when unknown or nameless
	Err    error
}

// Error reads like `line 12, column 3 "Phone": bare " in non-quoted field`.
func (e *RowError) Error() string {
	switch {
	case e.Column > 0 && e.Name != "":
		return fmt.Sprintf("line %d, column %d %q: %v", e.Line, e.Column, e.Name, e.Err)
	case e.Column > 0:
		return fmt.Sprintf("line %d, column %d: %v", e.Line, e.Column, e.Err)
	default:
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
}

// Unwrap returns the sentinel.
func (e *RowError) Unwrap() error { return e.Err }

// Row-level errors: the record is reported and reading continues.
var (
	ErrFieldCount    = errors.New("wrong number of fields")
	ErrBareQuote     = errors.New(`bare " in non-quoted field`)
	ErrUnclosedQuote = errors.New(`quoted field is never closed`)
	ErrInvalidUTF8   = errors.New("invalid UTF-8")
	ErrFieldTooLong  = errors.New("field exceeds the size limit")
	ErrNUL           = errors.New("NUL byte")
	ErrNotObject     = errors.New("line is not a JSON object")
	// ErrNamelessValue is a value in a column whose header cell is empty:
	// such columns are ignored, so the value would be lost.
	ErrNamelessValue = errors.New("value in a column with no name")
)

// Fatal errors: Open (or Read) fails and the run stops with a message saying
// what to fix.
var (
	ErrEncoding = errors.New("unknown or undetectable encoding")
	ErrHeader   = errors.New("bad header")
)
