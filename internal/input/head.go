package input

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Open decides the charset, the format and the delimiter from the head of
// the file. A regular file's head is its first headSize bytes, read at once.
// A pipe (any source of unknown size) may deliver a few rows and then wait
// for minutes: waiting for headSize bytes there would hold back every record
// until 64 KiB or the end arrive. So from a pipe the head is whatever has
// arrived once it holds the first line after the skipped ones and the last
// read came back short of the buffer (nothing more was ready).

// readHead returns the head of the (decompressed, undecoded) stream that the
// charset is decided from, without consuming it; eof says it is the whole
// stream. prompt is set for sources of unknown size (pipes); skip is
// Options.SkipLines.
func readHead(br *bufio.Reader, prompt bool, skip int) (head []byte, eof bool, err error) {
	if !prompt {
		head, err = br.Peek(headSize)
		eof = errors.Is(err, io.EOF)
		if err != nil && !eof {
			return nil, false, err
		}
		return head, eof, nil
	}
	checked := 0
	for {
		head, _ = br.Peek(br.Buffered())
		if len(head) >= headSize {
			return head, false, nil
		}
		if bytes.ContainsAny(head[checked:], "\r\n") && lineArrived(head, skip) {
			return head, false, nil
		}
		checked = len(head)
		// Peek one byte more than is buffered: bufio reads the source once,
		// asking for the rest of its buffer, and whatever comes back short of
		// filling it is all the source had ready.
		if _, err := br.Peek(len(head) + 1); err != nil {
			head, _ = br.Peek(br.Buffered())
			if errors.Is(err, io.EOF) {
				return head, true, nil
			}
			return nil, false, err
		}
	}
}

// lineArrived reports whether b holds, after skip line ends, a whole line
// with something other than spaces and tabs on it. It looks at raw bytes, so
// it is only a sign that the header has arrived (quotes are not followed);
// the exact header is found later in the decoded stream.
func lineArrived(b []byte, skip int) bool {
	for {
		i := bytes.IndexAny(b, "\r\n")
		if i < 0 {
			return false
		}
		if skip == 0 && len(bytes.Trim(b[:i], " \t")) > 0 {
			return true
		}
		if skip > 0 {
			skip--
		}
		if b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n' {
			i++
		}
		b = b[i+1:]
	}
}

// peekUntil returns the unread bytes, without consuming them, once done
// says they are enough, the stream ends, or limit bytes are buffered (then
// exactly limit bytes). done is asked again only when a line end arrives:
// every use needs a whole line.
func (lr *lineReader) peekUntil(limit int, done func([]byte) bool) []byte {
	from := 0
	for {
		b := lr.buf[lr.r:lr.w]
		if len(b) >= limit {
			return b[:limit]
		}
		if bytes.ContainsAny(b[from:], "\r\n") && done(b) {
			return b
		}
		from = len(b)
		if !lr.fill() {
			return lr.buf[lr.r:lr.w]
		}
	}
}

// sniffDelims are the delimiters sniffDelimiter chooses from, in the order
// that breaks ties.
const sniffDelims = ",;\t|"

// headLine returns the first line of head that holds more than spaces, tabs
// and delimiters (one of delims), without its line end; complete says its
// end is in head. Quotes are read as the parser reads them: a quote opens a
// quoted field only at the start of a field, and inside one a doubled quote
// is a quote, so a line end between quotes does not end the line. counts,
// when not nil, receives how often each of delims occurs outside quotes on
// the returned line.
func headLine(head []byte, delims string, counts []int) (line []byte, complete bool) {
	for len(head) > 0 {
		clear(counts)
		end, next := lineEnd(head, delims, counts)
		line := head[:max(end, 0)]
		if end < 0 {
			line = head
		}
		if !blankBytes(line, delims) {
			return line, end >= 0
		}
		head = head[next:]
	}
	return nil, false
}

// lineEnd finds the end of the line b starts with: end is the index of its
// terminator (-1 when b holds no whole line), next the start of the next
// line. It counts the delimiters outside quotes into counts (see headLine).
func lineEnd(b []byte, delims string, counts []int) (end, next int) {
	inQuotes, fieldStart := false, true
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inQuotes:
			if c == '"' {
				if i+1 < len(b) && b[i+1] == '"' {
					i++
				} else {
					inQuotes = false
				}
			}
			continue
		case c == '"' && fieldStart:
			inQuotes = true
			continue
		case c == '\n':
			return i, i + 1
		case c == '\r':
			if i+1 < len(b) && b[i+1] == '\n' {
				return i, i + 2
			}
			return i, i + 1
		}
		k := strings.IndexByte(delims, c)
		fieldStart = k >= 0
		if k >= 0 && counts != nil {
			counts[k]++
		}
	}
	return -1, len(b)
}

// blankBytes reports whether b holds nothing but spaces, tabs and bytes of
// delims: a record of empty fields.
func blankBytes(b []byte, delims string) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && strings.IndexByte(delims, c) < 0 {
			return false
		}
	}
	return true
}

// firstLineArrived is the head check before the format is known: the first
// line holding more than JSON white space is whole.
func firstLineArrived(b []byte) bool {
	return bytes.ContainsAny(trimJSONSpaceLeft(b), "\r\n")
}

// jsonHeadArrived is the head check of JSON Lines: enough to tell one JSON
// array from JSON Lines (see jsonArray). A first line that is a whole array
// needs the next line too: it is an array file only if nothing follows.
func jsonHeadArrived(b []byte) bool {
	first, rest, ok := bytes.Cut(trimJSONSpaceLeft(b), []byte{'\n'})
	if !ok {
		return false
	}
	if first[0] != '[' || !json.Valid(first) {
		return true
	}
	return len(trimJSONSpace(rest)) > 0
}

// trimJSONSpaceLeft drops the JSON white space b starts with.
func trimJSONSpaceLeft(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	return b
}

// csvHeadArrived returns the head check of CSV: the first record that is
// not blank is whole (read with the delimiter when it is known).
func csvHeadArrived(delim rune) func([]byte) bool {
	delims := sniffDelims
	if delim > 0 && delim < 0x80 {
		delims = string(byte(delim))
	}
	return func(b []byte) bool {
		_, complete := headLine(b, delims, nil)
		return complete
	}
}

// maxPreambleLine and maxPreamble bound what Preamble keeps of the skipped
// lines: a title or a date is short, and skip_lines may be set by mistake
// on a file of long lines.
const (
	maxPreambleLine = 4 << 10
	maxPreamble     = 64 << 10
)

// skipPreamble consumes the first n lines (Options.SkipLines), whatever
// they hold, and keeps their text for Preamble. It returns how many line
// ends it consumed, the line number of what follows minus one.
func (f *File) skipPreamble(n int) (int64, error) {
	var ends int64
	var text []byte
	kept, cut := 0, false
	for len(f.preamble) < n {
		piece, complete := f.lr.line()
		if len(piece) == 0 {
			if err := f.lr.readErr(); err != nil {
				return ends, fmt.Errorf("read: %w", err)
			}
			return ends, nil
		}
		tl := termLen(piece)
		if f.lr.lfOnly {
			tl = lfLen(piece)
			if tl == 1 && len(piece) > 1 && piece[len(piece)-2] == '\r' {
				tl = 2
			}
		}
		if !complete {
			tl = 0
		}
		room := max(min(maxPreambleLine-len(text), maxPreamble-kept), 0)
		if len(piece)-tl > room {
			cut = true
		}
		text = append(text, piece[:min(len(piece)-tl, room)]...)
		if !complete {
			continue
		}
		if cut {
			text = cutRune(text)
		}
		line := string(text)
		kept += len(line)
		f.preamble = append(f.preamble, line)
		text, cut = text[:0], false
		if tl > 0 {
			ends++
		}
	}
	return ends, nil
}

// cutRune drops a UTF-8 sequence cut short at the end of b.
func cutRune(b []byte) []byte {
	for i := 1; i < utf8.UTFMax && i <= len(b); i++ {
		if c := b[len(b)-i]; utf8.RuneStart(c) {
			if c >= utf8.RuneSelf && !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			return b
		}
	}
	return b
}
