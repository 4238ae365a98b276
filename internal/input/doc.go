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
// [Open] (or [NewReader]) decides, in this order, from the first 64 KiB:
//
//   - compression: gzip by its magic bytes, whatever the file is called;
//   - charset: a byte order mark (UTF-8, UTF-16LE/BE) wins; then
//     Options.Encoding (names as in HTML: cp1251, koi8-r, cp866, latin1...);
//     then UTF-16 without a BOM (NULs in every other byte); then UTF-8 if the
//     head is valid UTF-8; otherwise Open fails with [ErrEncoding] naming
//     input.encoding and the likeliest charset;
//   - format: Options.Format, the file name (.csv .tsv .txt, .jsonl .ndjson
//     .json, after .gz), else '{' as the first non-blank byte means JSONL;
//   - delimiter: Options.Delimiter, else the most frequent of , ; TAB | outside
//     quotes on the header line;
//   - header: the first non-blank record, trimmed; empty or duplicate names
//     and an empty file are [ErrHeader].
//
// CSV is read as RFC 4180, strictly: a quote inside an unquoted field, text
// after a closing quote, a wrong field count, invalid UTF-8 (in a UTF-8
// file), a NUL byte or a field over Options.MaxFieldSize make the record a
// row error, and reading goes on with the next line. Line ends may be CRLF,
// LF or a lone CR; blank lines are skipped; a quoted field keeps its bytes
// verbatim (a CRLF inside quotes stays CRLF). An unclosed quote is reported
// at the line where it opened and reading restarts at the line after it, so
// a stray quote costs one row, not the rest of the file. JSONL is one object
// per line, numbers kept exact as json.Number.
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
// to that size, to restart after it). Records are never reused: the caller
// owns them and may hand them to other goroutines.
package input
