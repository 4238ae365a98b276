package results

import (
	"bytes"
	"encoding/csv"
	"os"
	"testing"

	"github.com/gocarina/gocsv"
)

// mustReadFile reads path or fails the test.
func mustReadFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// mustWriteFile writes path or fails the test.
func mustWriteFile(tb testing.TB, path string, data []byte) {
	tb.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// mustAppendFile appends data to path or fails the test.
func mustAppendFile(tb testing.TB, path string, data []byte) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// writeJournal writes rows to a fresh journal at path.
func writeJournal(tb testing.TB, path string, appendTo bool, rows []Row) {
	tb.Helper()
	j, err := OpenJournal(path, appendTo)
	if err != nil {
		tb.Fatal(err)
	}
	for i := range rows {
		if err := j.Write(&rows[i]); err != nil {
			tb.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		tb.Fatal(err)
	}
}

// readRows returns every accepted journal line in file order.
func readRows(tb testing.TB, path string) []Row {
	tb.Helper()
	var rows []Row
	if err := readJournal(path, func(r *Row) { rows = append(rows, *r) }); err != nil {
		tb.Fatal(err)
	}
	return rows
}

// encodeLine is one journal line for r, produced by a fresh encoder, for
// comparing against files byte by byte.
func encodeLine(tb testing.TB, jsonl bool, r Row) []byte {
	tb.Helper()
	if jsonl {
		return appendJSONLRow(nil, &r)
	}
	var buf bytes.Buffer
	if err := gocsv.MarshalCSVWithoutHeaders(&[]Row{r}, gocsv.NewSafeCSVWriter(csv.NewWriter(&buf))); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

const csvHeaderLine = "row,line,key,status,profile_id,error_code,error,attempts\n"

// sampleRows exercise the encoders: delimiters, quotes, newlines, Cyrillic,
// formula-like text, control characters and U+2028 in the texts.
func sampleRows() []Row {
	return []Row{
		{Row: 1, Line: 2, Key: "ivan@example.com", Status: StatusOK, ProfileID: "64a1f0c2e4b0", Attempts: 1},
		{Row: 2, Line: 3, Key: "petr@example.com", Status: StatusFailed, ErrorCode: "404", Error: `Profile not found, "petr" (matching: email)`, Attempts: 1},
		{Row: 3, Line: 4, Status: StatusInvalid, Error: "column \"Phone\": value \"8 (916) 12\" is not a phone number\nsecond line, with a comma"},
		{Row: 4, Line: 7, Key: "мария@пример.рф", Status: StatusUnknown, ErrorCode: "timeout", Error: "тайм-аут; ответ не получен, повтор небезопасен", Attempts: 5},
		{Row: 5, Line: 8, Key: " leading space", Status: StatusOK, ProfileID: "a,b", Attempts: 2},
		{Row: 6, Line: 9, Key: "x", Status: StatusFailed, ErrorCode: "500", Error: "=HYPERLINK(\"http://x\")\ttab\x01ctl\u2028sep", Attempts: 3},
		{Row: 7, Line: 10, Key: `"quoted"`, Status: StatusValid},
	}
}

// okOther is Count as "ok" and "anything else".
func okOther(p *Previous) (ok, other int64) {
	c := p.Count()
	return c.OK, c.Unknown + c.Other
}
