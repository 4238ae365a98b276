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
// Memory stays flat whatever the file size: one record is decoded at a time.
package input
