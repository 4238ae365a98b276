package input

import (
	"bytes"
	"errors"
	"io"
)

// chunkSize is the longest slice lineReader hands out without a line
// terminator: longer lines come in pieces, so a 4 MB line never needs a 4 MB
// buffer.
const chunkSize = 64 << 10

// lineReader splits the decoded UTF-8 stream into lines (or pieces of lines)
// over one buffer it owns. Unlike bufio.Reader it can keep bytes it has
// already handed out (keep) and go back to them (seek), which the CSV parser
// needs to restart after an unclosed quote at the line that follows it.
//
// Slices it returns stay valid until the next call that reads.
type lineReader struct {
	src    io.Reader
	buf    []byte
	r, w   int   // unread data is buf[r:w]
	base   int64 // stream offset of buf[0]
	err    error // sticky error of src, io.EOF at the end
	lfOnly bool  // JSONL: only \n ends a line (a lone \r is JSON white space)

	keep    int64 // stream offset of the first byte to keep buffered, or -1
	keepMax int   // how many bytes keep may hold before it is given up
}

func newLineReader(src io.Reader, base int64, keepMax int) *lineReader {
	return &lineReader{src: src, buf: make([]byte, 2*chunkSize), base: base, keep: -1, keepMax: keepMax}
}

// offset is the stream offset of the next unread byte.
func (lr *lineReader) offset() int64 { return lr.base + int64(lr.r) }

// setKeep asks lr to keep every byte from stream offset off, which must
// still be buffered, until clearKeep; once that would take more than keepMax
// bytes lr gives them up, which kept reports.
func (lr *lineReader) setKeep(off int64) { lr.keep = off }

// clearKeep lets lr drop the bytes it was keeping.
func (lr *lineReader) clearKeep() { lr.keep = -1 }

// kept reports whether the bytes from off on are still buffered.
func (lr *lineReader) kept(off int64) bool {
	return lr.keep >= 0 && off >= lr.keep && off <= lr.base+int64(lr.w)
}

// seek moves the read position back to a kept stream offset.
func (lr *lineReader) seek(off int64) {
	lr.r = int(off - lr.base)
}

// fill reads more data at the end of the buffer, compacting or growing it
// first when it is full. It returns false when nothing more will come.
func (lr *lineReader) fill() bool {
	if lr.err != nil {
		return false
	}
	start := lr.r
	if lr.keep >= 0 {
		if k := int(lr.keep - lr.base); k < start {
			start = k
		}
	}
	if start > 0 && len(lr.buf)-lr.w < chunkSize {
		n := copy(lr.buf, lr.buf[start:lr.w])
		lr.base += int64(start)
		lr.r -= start
		lr.w = n
	}
	if lr.w == len(lr.buf) {
		if lr.keep >= 0 && lr.w-int(lr.keep-lr.base) >= lr.keepMax {
			// Keeping more would let one broken quote pin the whole file in
			// memory: give the bytes up and let the parser live without them.
			lr.keep = -1
			return lr.fill()
		}
		nb := make([]byte, max(len(lr.buf)+chunkSize, min(2*len(lr.buf), lr.keepMax+2*chunkSize)))
		copy(nb, lr.buf[:lr.w])
		lr.buf = nb
	}
	for range 100 {
		n, err := lr.src.Read(lr.buf[lr.w:])
		lr.w += n
		if err != nil {
			lr.err = err
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	lr.err = io.ErrNoProgress
	return false
}

// readErr is the source's error other than the clean end of the stream.
func (lr *lineReader) readErr() error {
	if lr.err == nil || errors.Is(lr.err, io.EOF) {
		return nil
	}
	return lr.err
}

// line returns the next line with its terminator (\n, \r\n or a lone \r; only
// \n when lfOnly), the last line of the stream without one, or a piece of at
// most chunkSize bytes of a longer line; complete is false for such a piece.
// At the end of the stream it returns no bytes; check readErr then.
func (lr *lineReader) line() (line []byte, complete bool) {
	for {
		data := lr.buf[lr.r:lr.w]
		end, ok := lr.terminator(data)
		if ok {
			lr.r += end
			return data[:end], true
		}
		if len(data) >= chunkSize && end < 0 {
			// A \r at the very end of a piece would leave its \n for the
			// next piece and count as a line of its own: cut before it.
			n := chunkSize
			if !lr.lfOnly && data[n-1] == '\r' {
				n--
			}
			lr.r += n
			return data[:n], false
		}
		if !lr.fill() {
			if lr.readErr() != nil {
				// A broken stream: its last piece is no line of the file.
				return nil, true
			}
			data = lr.buf[lr.r:lr.w]
			lr.r = lr.w
			return data, true
		}
	}
}

// terminator finds the end of the first line in data. ok is false when data
// holds no whole line yet; end is then -2 if it ends in a \r whose next byte
// is not read yet, else -1.
func (lr *lineReader) terminator(data []byte) (end int, ok bool) {
	i := bytes.IndexByte(data, '\n')
	if lr.lfOnly {
		if i < 0 {
			return -1, false
		}
		return i + 1, true
	}
	head := data
	if i >= 0 {
		head = data[:i]
	}
	if j := bytes.IndexByte(head, '\r'); j >= 0 {
		switch {
		case j+1 < len(data) && data[j+1] == '\n':
			return j + 2, true
		case j+1 < len(data):
			return j + 1, true
		case lr.err != nil:
			return j + 1, true
		}
		return -2, false
	}
	if i >= 0 {
		return i + 1, true
	}
	return -1, false
}

// peek returns up to n bytes ahead of the read position without consuming
// them (fewer at the end of the stream).
func (lr *lineReader) peek(n int) []byte {
	for lr.w-lr.r < n && lr.fill() {
	}
	if lr.w-lr.r < n {
		n = lr.w - lr.r
	}
	return lr.buf[lr.r : lr.r+n]
}

// peekLine is peek for a stream: it stops reading once the bytes ahead hold
// a line end, rather than wait for n bytes that may be long in coming.
func (lr *lineReader) peekLine(n int) []byte {
	for lr.w-lr.r < n && !bytes.ContainsAny(lr.buf[lr.r:lr.w], "\r\n") && lr.fill() {
	}
	return lr.buf[lr.r : lr.r+min(n, lr.w-lr.r)]
}

// termLen is the length of the line terminator at the end of line.
func termLen(line []byte) int {
	n := len(line)
	switch {
	case n >= 2 && line[n-2] == '\r' && line[n-1] == '\n':
		return 2
	case n >= 1 && (line[n-1] == '\n' || line[n-1] == '\r'):
		return 1
	}
	return 0
}

// lineFrom returns the buffered bytes from stream offset off to the end of
// its line (terminator excluded), or nil if they are no longer kept.
func (lr *lineReader) lineFrom(off int64) []byte {
	if !lr.kept(off) {
		return nil
	}
	b := lr.buf[off-lr.base : lr.w]
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	return b
}
