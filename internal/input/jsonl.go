package input

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// jsonlParser reads one JSON object per line. Only \n ends a line; a \r
// before it is dropped. Lines of white space are skipped.
type jsonlParser struct {
	lr       *lineReader
	max      int   // longest line in bytes
	validate bool  // check UTF-8 (the stream was not decoded from a charset)
	line     int64 // line number of the next unread line
	long     []byte
}

// next reads the next non-blank line into rec. It returns io.EOF at the end
// of the stream and the stream's error if it breaks.
func (p *jsonlParser) next(rec *Record) error {
	for {
		start := p.lr.offset()
		cur, complete := p.lr.line()
		if len(cur) == 0 {
			if err := p.lr.readErr(); err != nil {
				return err
			}
			return io.EOF
		}
		line := p.line
		text, tooLong, err := p.gather(cur, complete)
		if err != nil {
			return err
		}
		if n := len(text); n > 0 && text[n-1] == '\n' {
			text = text[:n-1]
			p.line++
		}
		if n := len(text); n > 0 && text[n-1] == '\r' {
			text = text[:n-1]
		}
		if !tooLong && len(trimJSONSpace(text)) == 0 {
			continue
		}
		rec.Line, rec.Offset = line, start
		if tooLong {
			rec.Err = &RowError{Line: line, Err: fmt.Errorf("%w: the line is longer than %d bytes", ErrFieldTooLong, p.max)}
			return nil
		}
		rec.Raw = bytes.Clone(text)
		rec.Object, rec.Err = p.decode(rec.Raw, line)
		return nil
	}
}

// gather returns the whole line that starts with cur. A line longer than max
// is read to its end but not kept: tooLong is then true and text holds at
// most its terminator. A line of white space is never too long.
func (p *jsonlParser) gather(cur []byte, complete bool) (text []byte, tooLong bool, err error) {
	if complete {
		return cur, len(cur)-lfLen(cur) > p.max && len(trimJSONSpace(cur)) > 0, nil
	}
	p.long = append(p.long[:0], cur...)
	blank := len(trimJSONSpace(cur)) == 0
	for !complete {
		cur, complete = p.lr.line()
		if len(cur) == 0 {
			if err := p.lr.readErr(); err != nil {
				return nil, false, err
			}
		}
		blank = blank && len(trimJSONSpace(cur)) == 0
		if !tooLong && len(p.long)+len(cur)-lfLen(cur) > p.max {
			tooLong = true
		}
		if tooLong {
			// Read on to the end of the line, keeping only its end.
			cur = cur[len(cur)-lfLen(cur):]
			p.long = p.long[:0]
		}
		p.long = appendGrow(p.long, cur, p.max+1)
	}
	text = p.long
	if cap(p.long) > 4*chunkSize {
		p.long = nil // keep no megabyte buffer alive for the rest of the file
	}
	return text, tooLong && !blank, nil
}

// decode parses one line as a JSON object, numbers as json.Number.
func (p *jsonlParser) decode(raw []byte, line int64) (map[string]any, *RowError) {
	if i := bytes.IndexByte(raw, 0); i >= 0 {
		return nil, &RowError{Line: line, Err: fmt.Errorf("%w at byte %d", ErrNUL, i+1)}
	}
	if p.validate {
		if i := firstInvalidUTF8(raw); i >= 0 {
			return nil, &RowError{Line: line, Err: fmt.Errorf("%w: byte 0x%02x at byte %d of the line (if the file is not UTF-8, set input.encoding)", ErrInvalidUTF8, raw[i], i+1)}
		}
	}
	body := trimJSONSpace(raw)
	if body[0] != '{' {
		// Name what the line is only when it is valid JSON of another kind;
		// "not json" starting with n is not a null.
		if json.Valid(body) {
			return nil, &RowError{Line: line, Err: fmt.Errorf("%w: it is %s", ErrNotObject, jsonKind(body[0]))}
		}
		var v any
		jerr := json.Unmarshal(body, &v)
		return nil, &RowError{Line: line, Err: fmt.Errorf("%w: it is not valid JSON (%v); it starts with %s", ErrNotObject, jerr, clip(body[:min(len(body), 20)]))}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		var syn *json.SyntaxError
		switch {
		case errors.As(err, &syn):
			return nil, &RowError{Line: line, Err: fmt.Errorf("%w: %v at byte %d", ErrNotObject, syn, syn.Offset)}
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, &RowError{Line: line, Err: fmt.Errorf("%w: the line ends before the object is closed", ErrNotObject)}
		}
		return nil, &RowError{Line: line, Err: fmt.Errorf("%w: %v", ErrNotObject, err)}
	}
	if rest := trimJSONSpace(raw[dec.InputOffset():]); len(rest) > 0 {
		return nil, &RowError{Line: line, Err: fmt.Errorf("%w: text after the object at byte %d: %s", ErrNotObject, len(raw)-len(rest)+1, clip(rest))}
	}
	return obj, nil
}

// lfLen is 1 when line ends with its \n terminator.
func lfLen(line []byte) int {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		return 1
	}
	return 0
}

// jsonKind names the JSON value a byte starts.
func jsonKind(c byte) string {
	switch {
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c < utf8.RuneSelf:
		return "not JSON"
	}
	return "not JSON (is the file JSON Lines?)"
}

// trimJSONSpace drops JSON white space from both ends.
func trimJSONSpace(b []byte) []byte {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}
