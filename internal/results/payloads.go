package results

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
)

// maskedToken is what a payload dump shows instead of the API token.
const maskedToken = `"***"`

// Payloads is the --payloads dump: one JSONL line per row,
// {"row":N,"request":{…}}, holding the single-profile request body.
//
// The caller passes bodies with the token already shown as "***"; as a second
// line of defence Write replaces any top-level "token" member's value with
// "***" itself, so a dump can never carry the token.
//
// A Payloads is not safe for concurrent use. Writes are buffered; Close
// flushes, and reports the first write error.
type Payloads struct {
	path string
	f    *os.File
	bw   *bufio.Writer
	buf  []byte
	err  error

	closed   bool
	closeErr error
}

// NewPayloads creates (or truncates) the payload dump at path.
func NewPayloads(path string) (*Payloads, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return nil, fmt.Errorf("open payloads %s: %w", path, err)
	}
	return &Payloads{path: path, f: f, bw: bufio.NewWriterSize(f, 64<<10)}, nil
}

// Write adds `{"row":N,"request":<body>}` and a newline. body must be one JSON
// value; a body that is not valid JSON is refused (the row is not written and
// the error names it) rather than breaking the file. That error is not
// sticky; a failed write to the file is.
func (p *Payloads) Write(row int64, body []byte) error {
	if p.err != nil {
		return p.err
	}
	if p.closed {
		return fmt.Errorf("write payloads %s: %w", p.path, os.ErrClosed)
	}
	body = bytes.TrimSpace(body)
	if !json.Valid(body) {
		return fmt.Errorf("write payloads %s: row %d: the request body is not valid JSON", p.path, row)
	}
	body = oneLine(body)
	b := append(p.buf[:0], `{"row":`...)
	b = strconv.AppendInt(b, row, 10)
	b = append(b, `,"request":`...)
	if body[0] == '{' && (bytes.Contains(body, []byte("token")) || bytes.Contains(body, []byte(`\u`))) {
		if start, end, ok := findMember(body, "token"); ok {
			b = append(b, body[:start]...)
			b = append(b, maskedToken...)
			body = body[end:]
		}
	}
	b = append(b, body...)
	b = append(b, "}\n"...)
	p.buf = b
	if _, err := p.bw.Write(b); err != nil {
		p.err = fmt.Errorf("write payloads %s: %w", p.path, err)
	}
	return p.err
}

// Flush writes buffered lines to the file.
func (p *Payloads) Flush() error {
	if p.err != nil || p.closed {
		return p.err
	}
	if err := p.bw.Flush(); err != nil {
		p.err = fmt.Errorf("write payloads %s: %w", p.path, err)
	}
	return p.err
}

// Close flushes, syncs and closes the file, and reports the first write
// error. It is idempotent.
func (p *Payloads) Close() error {
	if p.closed {
		return p.closeErr
	}
	err := p.Flush()
	p.closed = true
	p.closeErr = closeFile(p.f, "payloads", p.path, err)
	return p.closeErr
}
