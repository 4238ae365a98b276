package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The hand-written yardsticks read the generated export with handCSV and
// build what the importer builds for it by code written for one config:
// no config, no plan, no checks beyond what the generated rows need. A row
// they cannot take exactly as the importer would (an invalid or unusual
// value) stops them with an error rather than write other bytes; on the
// generated files they write byte for byte what the importer writes
// (TestHandValidateMatchesImporter, TestBareBatchSenderMatchesImporter).

// handCSV reads the generated export one record at a time: RFC 4180 with
// a comma, quoted fields kept byte for byte (a CRLF inside quotes stays
// CRLF, as the importer keeps it), every buffer reused.
type handCSV struct {
	r      *bufio.Reader
	line   int64    // line of the next record (1-based)
	rec    []byte   // a record spanning lines, gathered
	fields [][]byte // the current record's fields
	unq    []byte   // unquoted copies of quoted fields
}

func newHandCSV(r io.Reader) *handCSV {
	return &handCSV{r: bufio.NewReaderSize(r, 64<<10), line: 1}
}

// next reads the next record into h.fields and returns the line it starts
// on; io.EOF at the end.
func (h *handCSV) next() (int64, error) {
	start := h.line
	b, err := h.r.ReadSlice('\n')
	if len(b) == 0 && err != nil {
		if err == io.EOF {
			return 0, io.EOF
		}
		return 0, fmt.Errorf("hand csv: %w", err)
	}
	if err == nil {
		h.line++
		if bytes.IndexByte(b, '"') < 0 {
			if !utf8.Valid(b) {
				return start, fmt.Errorf("hand csv: line %d: invalid UTF-8", start)
			}
			h.split(trimEOL(b)) // the common record: one line, no quotes
			return start, nil
		}
	}
	// Quotes, or a line longer than the buffer: gather the record until
	// its quotes balance.
	h.rec = append(h.rec[:0], b...)
	for bytes.Count(h.rec, []byte{'"'})%2 != 0 || errors.Is(err, bufio.ErrBufferFull) {
		if b, err = h.r.ReadSlice('\n'); len(b) == 0 && err != nil {
			return 0, fmt.Errorf("hand csv: record of line %d never ends", start)
		}
		if err == nil {
			h.line++
		}
		h.rec = append(h.rec, b...)
	}
	if !utf8.Valid(h.rec) {
		return start, fmt.Errorf("hand csv: line %d: invalid UTF-8", start)
	}
	h.splitQuoted(trimEOL(h.rec))
	return start, nil
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n > 1 && b[n-2] == '\r' {
			b = b[:n-2]
		}
	}
	return b
}

// split cuts a record without quotes at every comma.
func (h *handCSV) split(b []byte) {
	h.fields = h.fields[:0]
	for {
		i := bytes.IndexByte(b, ',')
		if i < 0 {
			h.fields = append(h.fields, b)
			return
		}
		h.fields = append(h.fields, b[:i])
		b = b[i+1:]
	}
}

// splitQuoted cuts a record with quoted fields, unquoting them into h.unq.
func (h *handCSV) splitQuoted(b []byte) {
	h.fields, h.unq = h.fields[:0], h.unq[:0]
	if cap(h.unq) < len(b) {
		h.unq = make([]byte, 0, 2*len(b)) // never regrown below: fields point into it
	}
	for {
		if len(b) == 0 || b[0] != '"' {
			i := bytes.IndexByte(b, ',')
			if i < 0 {
				h.fields = append(h.fields, b)
				return
			}
			h.fields = append(h.fields, b[:i])
			b = b[i+1:]
			continue
		}
		start := len(h.unq)
		b = b[1:]
		for {
			i := bytes.IndexByte(b, '"')
			if i < 0 { // unbalanced: take the rest
				h.unq, b = append(h.unq, b...), nil
				break
			}
			h.unq = append(h.unq, b[:i]...)
			if i+1 < len(b) && b[i+1] == '"' {
				h.unq, b = append(h.unq, '"'), b[i+2:]
				continue
			}
			b = b[i+1:]
			break
		}
		h.fields = append(h.fields, h.unq[start:len(h.unq):len(h.unq)])
		if len(b) == 0 {
			return
		}
		b = b[1:] // the comma after the closing quote
	}
}

// header reads the header and checks it is the generator's.
func (h *handCSV) header() error {
	if _, err := h.next(); err != nil {
		return fmt.Errorf("hand csv: header: %w", err)
	}
	if len(h.fields) != len(Columns) {
		return fmt.Errorf("hand csv: header has %d columns, want the generator's %d", len(h.fields), len(Columns))
	}
	for i, c := range Columns {
		if string(h.fields[i]) != c {
			return fmt.Errorf("hand csv: header column %d is %q, want %q", i+1, h.fields[i], c)
		}
	}
	return nil
}

// trim drops the spaces around a cell; a generated cell has none, so the
// ASCII test at each end is all it usually costs.
func trim(b []byte) []byte {
	if n := len(b); n > 0 && (b[0] <= ' ' || b[n-1] <= ' ') {
		return bytes.TrimSpace(b)
	}
	return b
}

// appendJSONStr appends s as a JSON string the way the importer writes one
// (quote, backslash and control characters escaped, U+2028 and U+2029 as
// \u escapes, other UTF-8 as is); s is valid UTF-8.
func appendJSONStr(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c != 0xE2 {
			continue
		}
		if c == 0xE2 {
			if i+2 >= len(s) || s[i+1] != 0x80 || (s[i+2] != 0xA8 && s[i+2] != 0xA9) {
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', "89"[s[i+2]-0xA8])
			i += 2
			start = i + 1
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigit[c>>4], hexDigit[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendCSVCell appends a journal cell as encoding/csv writes it.
func appendCSVCell(dst, s []byte) []byte {
	if len(s) == 0 || (bytes.IndexAny(s, ",\"\r\n") < 0 && s[0] != ' ' && s[0] != '\t') {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for _, c := range s {
		if c == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, c)
	}
	return append(dst, '"')
}

// journalHeader is the first line of a results journal.
const journalHeader = "row,line,key,status,profile_id,error_code,error,attempts\n"

// handStats is what a hand loop did.
type handStats struct {
	Rows         int64
	PayloadBytes int64 // request bodies built, in bytes
}

// handValidate is the yardstick of validate's CPU: it reads a generated CSV
// export and writes what `importer validate -c mapped.yaml` writes for it,
// by a loop written for that one mapping (testdata/mapped.yaml): for every
// row the single-profile request body (into payloads, as --payloads writes
// it, when payloads is not nil; built and dropped otherwise) and the
// journal line (into journal). It runs on one goroutine.
func handValidate(in string, journal, payloads io.Writer) (handStats, error) {
	f, err := os.Open(in)
	if err != nil {
		return handStats{}, fmt.Errorf("hand validate: %w", err)
	}
	defer f.Close()
	var st handStats
	csv := newHandCSV(f)
	if err := csv.header(); err != nil {
		return st, err
	}
	jw := bufio.NewWriterSize(journal, 64<<10)
	jw.WriteString(journalHeader)
	var pw *bufio.Writer
	if payloads != nil {
		pw = bufio.NewWriterSize(payloads, 64<<10)
	}
	var body, line, email []byte
	for {
		at, err := csv.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, err
		}
		st.Rows++
		body, email, err = handMapped(body[:0], email[:0], csv.fields)
		if err != nil {
			return st, fmt.Errorf("hand validate: row %d (line %d): %w", st.Rows, at, err)
		}
		st.PayloadBytes += int64(len(body))
		line = strconv.AppendInt(line[:0], st.Rows, 10)
		line = append(line, ',')
		line = strconv.AppendInt(line, at, 10)
		line = append(line, ',')
		line = appendCSVCell(line, email)
		line = append(line, ",valid,,,,0\n"...)
		jw.Write(line)
		if pw != nil {
			line = append(line[:0], `{"row":`...)
			line = strconv.AppendInt(line, st.Rows, 10)
			line = append(line, `,"request":`...)
			pw.Write(line)
			pw.Write(body)
			pw.WriteString("}\n")
		}
	}
	if pw != nil {
		if err := pw.Flush(); err != nil {
			return st, fmt.Errorf("hand validate: %w", err)
		}
	}
	if err := jw.Flush(); err != nil {
		return st, fmt.Errorf("hand validate: %w", err)
	}
	return st, nil
}

// handMapped builds the request body of one row for testdata/mapped.yaml,
// and the lower-cased e-mail (the key), from the ten generated columns.
func handMapped(body, email []byte, f [][]byte) ([]byte, []byte, error) {
	if len(f) != len(Columns) {
		return body, email, fmt.Errorf("%d fields, want %d", len(f), len(Columns))
	}
	email = lowerASCII(email, trim(f[3]))
	if !plainEmail(email) {
		return body, email, fmt.Errorf("e-mail %q is not a plain lower-case address", f[3])
	}
	body = append(body, `{"token":"***","db_id":1,"matching":"email","skip_triggers":true,"email":`...)
	at := len(body)
	body = appendJSONStr(body, email)
	jsEmail := body[at:]
	body = append(body, `,"data":{`...)
	open := len(body)
	member := func(name string) {
		if len(body) > open {
			body = append(body, ',')
		}
		body = append(body, name...)
	}
	if v := trim(f[0]); len(v) > 0 {
		member(`"crm_id":`)
		body = appendJSONStr(body, v)
	}
	if v := trim(f[1]); len(v) > 0 {
		member(`"_fname":`)
		body = appendJSONStr(body, v)
	}
	if v := trim(f[2]); len(v) > 0 {
		member(`"_lname":`)
		body = appendJSONStr(body, v)
	}
	member(`"email":`)
	body = append(body, jsEmail...)
	if v := trim(f[4]); len(v) > 0 {
		member(`"phone_raw":`)
		body = appendJSONStr(body, v)
	}
	if v := trim(f[5]); len(v) > 0 {
		member(`"_bdate":`)
		var err error
		if body, err = appendDMY(body, v); err != nil {
			return body, email, err
		}
	}
	if v := trim(f[6]); len(v) > 0 {
		member(`"_sex":`)
		switch string(v) {
		case "М", "M":
			body = append(body, `"male"`...)
		case "Ж", "F":
			body = append(body, `"female"`...)
		default:
			return body, email, fmt.Errorf("gender %q", v)
		}
	}
	if v := trim(f[7]); len(v) > 0 {
		body = appendSplit(body, open, v)
	}
	if v := trim(f[9]); len(v) > 0 {
		member(`"comment":`)
		body = appendJSONStr(body, v)
	}
	member(`"subscriptions":[{"resource_id":1,"channel":"email","email":`)
	body = append(body, jsEmail...)
	if v := trim(f[8]); len(v) > 0 {
		switch string(v) {
		case "да", "yes":
			body = append(body, `,"status":"subscribed"`...)
		case "нет", "no":
			body = append(body, `,"status":"unsubscribed"`...)
		default:
			return body, email, fmt.Errorf("subscribed %q", v)
		}
	}
	body = append(body, "}]}}"...)
	return body, email, nil
}

// appendSplit appends `"city":[...]`, the cell cut at commas, each part
// trimmed, empty parts dropped; nothing when no part is left.
func appendSplit(body []byte, open int, v []byte) []byte {
	start := len(body)
	if len(body) > open {
		body = append(body, ',')
	}
	body = append(body, `"city":[`...)
	n := 0
	for len(v) > 0 {
		part := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			part, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if part = trim(part); len(part) > 0 {
			if n > 0 {
				body = append(body, ',')
			}
			body = appendJSONStr(body, part)
			n++
		}
	}
	if n == 0 {
		return body[:start]
	}
	return append(body, ']')
}

// appendDMY appends a dd.mm.yyyy date as "yyyy-mm-dd".
func appendDMY(body, v []byte) ([]byte, error) {
	if len(v) != 10 || v[2] != '.' || v[5] != '.' {
		return body, fmt.Errorf("date %q", v)
	}
	var n [8]int
	for i, p := range [8]int{0, 1, 3, 4, 6, 7, 8, 9} {
		c := v[p]
		if c < '0' || c > '9' {
			return body, fmt.Errorf("date %q", v)
		}
		n[i] = int(c - '0')
	}
	d, m, y := n[0]*10+n[1], n[2]*10+n[3], n[4]*1000+n[5]*100+n[6]*10+n[7]
	if m < 1 || m > 12 || d < 1 || d > [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m] ||
		(m == 2 && d == 29 && (y%4 != 0 || y%100 == 0 && y%400 != 0)) {
		return body, fmt.Errorf("date %q", v)
	}
	return append(body, '"', v[6], v[7], v[8], v[9], '-', v[3], v[4], '-', v[0], v[1], '"'), nil
}

// lowerASCII appends s lower-cased; non-ASCII letters through strings.ToLower.
func lowerASCII(dst, s []byte) []byte {
	for _, c := range s {
		if c >= utf8.RuneSelf {
			return append(dst, strings.ToLower(string(s))...)
		}
	}
	for _, c := range s {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// plainEmail reports whether s is local@domain, both dot-atoms of ASCII
// letters, digits and . _ - +, with a dot inside the domain: the addresses
// the generator writes, which the importer's e-mail check accepts.
func plainEmail(s []byte) bool {
	at := bytes.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || len(s) > 254 {
		return false
	}
	dot := bytes.IndexByte(s[at+1:], '.')
	if dot <= 0 || s[len(s)-1] == '.' {
		return false
	}
	prev := byte('.')
	for i, c := range s {
		switch {
		case c == '@' && i == at:
			if prev == '.' {
				return false
			}
			prev = '.'
			continue
		case c == '.':
			if prev == '.' {
				return false
			}
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '_', c == '-', c == '+':
		default:
			return false
		}
		prev = c
	}
	return true
}
