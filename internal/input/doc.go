// Package input streams records out of customer files: CSV and TSV exports
// of legacy CRMs (any delimiter among , ; TAB |, Windows-1251 or UTF-16 with
// a BOM, quoted newlines, CRLF) and JSONL feeds, gzip-compressed or not.
//
// It owns everything about bytes-to-records: format and delimiter sniffing,
// charset decoding, BOM handling, positions (row, line, byte offset) and the
// row-level errors of malformed records. It knows nothing about the mapping
// config or the API: a [Record] is the raw values of one row, and a malformed
// row is a [Record] with Err set, so that reading always goes on and every
// byte of the input is accounted for by a record or a row error.
//
// [Open] (or [NewReader]) decides, in this order, from the head of the file:
//
//   - compression: gzip by its magic bytes, whatever the file is called;
//   - charset: a byte order mark (UTF-8, UTF-16LE/BE) wins; then
//     Options.Encoding (names as in HTML: cp1251, koi8-r, cp866, latin1...);
//     then UTF-16 without a BOM (NULs in every other byte); then UTF-8 if the
//     head is valid UTF-8; otherwise Open fails with [ErrEncoding] naming
//     input.encoding and the likeliest charset;
//   - preamble: Options.SkipLines lines (a title, an export date) are
//     skipped, whatever they hold; what follows is sniffed and read as if the
//     file started there, but lines keep the file's numbers ([File.Preamble]
//     returns the skipped lines);
//   - format: Options.Format, the file name (.csv .tsv .txt, .jsonl .ndjson
//     .json, after .gz), else '{' as the first non-blank byte means JSONL;
//   - delimiter: Options.Delimiter, else the most frequent of , ; TAB | outside
//     quotes on the header line;
//   - header: the first record that is not blank, trimmed. A column whose
//     name is empty (Excel ends every line with a delimiter when a column
//     past the data was ever touched) is ignored: it is left out of
//     [File.Header] and of every record's Fields, [File.Ignored] and
//     [File.Warnings] report it, and a row holding a value in it is a row
//     error ([ErrNamelessValue]) naming the column's position and the value.
//     Duplicate names, a header without any name, and an empty file are
//     [ErrHeader].
//
// The head of a regular file is its first 64 KiB. A pipe (any source of
// unknown size, stdin included) sends what it has, and waiting for 64 KiB
// there would hold back the first records until that much or the end
// arrived; so from a pipe the head is what has arrived once it holds the
// first line after the skipped ones and a read comes back short (nothing
// more is ready). After that, every record comes out as soon as its last
// line is complete (with lone-CR line ends, when the next byte arrives,
// which tells CR from CRLF). A short head decides the charset the same way:
// Cyrillic in Windows-1251 is not valid UTF-8, so a header or first row
// holding any still fails with [ErrEncoding] at once; a head of plain ASCII
// is taken for UTF-8, and a later row in another charset is then a row
// error ([ErrInvalidUTF8]) whose message names input.encoding.
//
// CSV is read as RFC 4180 with the quotes of encoding/csv's LazyQuotes,
// which are also what Excel, Python's csv module and pandas accept: a quote
// opens a quoted field only as the first character of the field, so a quote
// anywhere else (ООО "Ромашка", 37°36'37.8"N) is a character of the field.
// Inside a quoted field a doubled quote is a quote, and a quote followed by
// the delimiter or a line end closes the field; a quote followed by anything
// else is a character and the field goes on, as with LazyQuotes ("x"y",z
// reads x"y and z). Where LazyQuotes would let such a field run on, over
// line ends, to the end of the file, this reader stops: a quoted field that
// never closes, or that meets a quote followed by text on a later line, is a
// row error ([ErrBareQuote] when it holds a quote taken as a character,
// [ErrUnclosedQuote] otherwise), and reading resumes at the line after the
// one where the field opened. Options.StrictQuotes restores strict RFC 4180:
// a quote inside an unquoted field, or text after a closing quote, makes the
// record a row error. Either way Fields hold the cells as read, quotes
// included, so a rejects file keeps them.
//
// A wrong field count, invalid UTF-8 (in a UTF-8 file), a NUL byte or a
// field over Options.MaxFieldSize make the record a row error, and reading
// goes on with the next line; a row may leave out nameless columns at the
// end of the header, though. Line ends may be CRLF, LF or a lone CR. Blank records are skipped like empty
// lines: lines of spaces and tabs, and records whose every field is empty or
// spaces and tabs (Excel writes ;;;; for an empty row), quoted ones included;
// they hold no data, so nothing is lost, and line numbers are not shifted. A
// quoted field keeps its bytes verbatim (a CRLF inside quotes stays CRLF).
// An unclosed quote is reported at the line where it opened and reading
// restarts at the line after it, so a stray quote costs one row, not the
// rest of the file. JSONL is one object per line, numbers kept exact as
// json.Number.
//
// Excel workbooks (.xlsx, .xlsm) are read too (xlsx.go): one sheet, chosen
// by Options.Sheet, streamed row by row out of the zip. A workbook is
// recognised by Options.Format, its extension or its bytes (a zip holding
// xl/workbook.xml); an Excel 97-2003 .xls or an encrypted workbook is a
// clear error. A stream (stdin) is first copied to a temporary file, for
// the zip's random access. Cells read as the user sees them, with no
// spreadsheet artefacts: text as written (leading zeros kept), numbers
// plain (12345678901, 0.1, never 1.2E+10; 15 significant digits as Excel
// shows them; a 00000-style format pads), booleans true/false, error
// values as shown (#N/A), formulas by their cached result, and cells whose
// number format is a date or time as ISO text: 2006-01-02 for a date
// format, 2006-01-02T15:04:05 for one that shows a time, 15:04:05 for a
// time alone. Empty rows are skipped; Record.Line is the sheet's row
// number; a merged range has its value in its first cell only. The header
// follows the CSV rules; Options.SkipLines counts sheet rows.
//
// Memory stays flat whatever the file size: one record is decoded at a time,
// lines longer than 64 KiB are read in pieces, and the buffers are bounded by
// about twice Options.MaxFieldSize (the bytes after an open quote are kept up
// to that size, to restart after it). Records belong to the caller, who may
// hand them to other goroutines; their memory is reused only for rows the
// caller released (File.Release), which is how a dry run keeps the collector
// nearly idle.
package input
