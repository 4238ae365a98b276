package input

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// maxHeaderColumns bounds the header: a "header" wider than this is a file
// read with the wrong delimiter or no CSV at all.
const maxHeaderColumns = 10000

// extraFieldsKept is how many fields beyond the header a too-long row keeps
// in Record.Fields; more are counted but not stored, so that a line of a
// million commas cannot allocate a million strings.
const extraFieldsKept = 16

// slabRecords is how many records share one allocation of Record structs
// and of Fields slices. A record kept alive keeps its slab neighbours alive
// too: at most that many records. A slab is reused only once the caller
// released all of its records (File.Release).
const slabRecords = 32

// csvParser reads RFC 4180 records from a lineReader. Its quotes are those
// of encoding/csv: with LazyQuotes by default (lazy), strict otherwise; but
// a malformed record becomes a row error and parsing resumes at the next
// line that can start a record, and a record of blank fields is skipped.
//
// Quoted fields keep their bytes verbatim: a CRLF inside quotes stays CRLF
// (encoding/csv would turn it into LF). Line ends outside quotes may be CRLF,
// LF or a lone CR.
type csvParser struct {
	lr       *lineReader
	delim    byte
	max      int  // longest field in bytes
	recMax   int  // longest record (the sum of its fields) in bytes
	ncols    int  // the file's columns, nameless ones included; 0 = any (the header)
	minCols  int  // fields a record must have at least: up to the last named column
	keepMax  int  // fields stored per record; more are only counted
	validate bool // check UTF-8 (the stream was not decoded from a charset)
	lazy     bool // a quote that does not open a field is a character
	names    []string
	drop     []bool // the columns without a name, left out of Fields; nil = none
	line     int64  // line number of the next unread line

	// The record being read: field values separated by the delimiter, so
	// that the whole record is one string and one UTF-8 check.
	buf     []byte
	bounds  []int // start, end of each stored field in buf
	nfields int   // fields seen, stored or not
	dstart  int   // start of the current field's delimiter in buf
	fstart  int   // start of the current field in buf
	skip    bool  // the current field's bytes are dropped
	over    bool  // the current field went over max
	full    bool  // the record went over recMax: store nothing more
	err     *RowError

	// dead is where a quoted field that is still open at the start of a
	// line is known never to close (see quotedField); noDead turns it off
	// for the tests that hold the answers equal without it.
	dead   deadLines
	noDead bool

	slab   []string // Fields of the next records, cut from one allocation
	arena  []byte   // bytes of the next records' strings
	slabs  block[[]string]
	arenas block[[]byte]
	mem    *reuse // the File's: where released slabs and arenas come back
}

// next reads the next record, skipping blank ones: empty lines, and records
// whose every field is empty or spaces and tabs (Excel writes ;;;; for an
// empty row). It returns io.EOF at the end of the stream and the stream's
// error if it breaks.
func (p *csvParser) next(rec *Record) error {
	for {
		cur, complete, err := p.begin(rec)
		if err != nil {
			return err
		}
		if tl := termLen(cur); complete && len(cur) <= p.recMax && bytes.IndexByte(cur, '"') < 0 {
			// The common row: a whole line without quotes. Its fields are cut
			// straight from the line, with no copy into buf.
			content := cur[:len(cur)-tl]
			blank := p.blankLine(content)
			if !blank {
				p.split(content, 0)
			}
			if tl > 0 {
				p.line++
			}
			if blank {
				continue
			}
			p.finish(rec, content)
			return nil
		}
		if err := p.quoted(cur, complete); err != nil {
			return err
		}
		if p.blankRecord() {
			continue
		}
		p.finish(rec, p.buf)
		return nil
	}
}

// begin reads the first line (or piece) of the next record, past empty
// lines, and sets the record's position.
func (p *csvParser) begin(rec *Record) (cur []byte, complete bool, err error) {
	for {
		start := p.lr.offset()
		cur, complete = p.lr.line()
		if len(cur) == 0 {
			if err := p.lr.readErr(); err != nil {
				return nil, false, err
			}
			return nil, false, io.EOF
		}
		if complete && termLen(cur) == len(cur) {
			p.line++
			continue
		}
		rec.Offset, rec.Line = start, p.line
		p.buf, p.bounds, p.nfields, p.full, p.err = p.buf[:0], p.bounds[:0], 0, false, nil
		return cur, complete, nil
	}
}

// blankLine reports whether a line without quotes is a blank record: only
// spaces, tabs and delimiters. A data line usually fails on its first byte.
func (p *csvParser) blankLine(content []byte) bool {
	for _, c := range content {
		if c != ' ' && c != '\t' && c != p.delim {
			return false
		}
	}
	return true
}

// blankRecord reports whether the record in buf is blank: sound, every field
// stored, and each one empty or spaces and tabs (a quoted "" too).
func (p *csvParser) blankRecord() bool {
	if p.err != nil || p.full || 2*p.nfields != len(p.bounds) {
		return false
	}
	for i := 0; i < len(p.bounds); i += 2 {
		for _, c := range p.buf[p.bounds[i]:p.bounds[i+1]] {
			if c != ' ' && c != '\t' {
				return false
			}
		}
	}
	return true
}

// plainRun adds the fields of content, a stretch of a line that holds no
// quote, split at every delimiter: the common row is one copy and one
// delimiter search per field.
func (p *csvParser) plainRun(content []byte) {
	if p.full || len(p.buf)+len(content)+1 > p.recMax {
		p.addEach(content) // near the record limit: field by field, so it holds
		return
	}
	if p.nfields > 0 {
		p.buf = append(p.buf, p.delim)
	}
	start := len(p.buf)
	p.buf = append(p.buf, content...)
	p.split(p.buf, start)
}

// split adds the fields of b[start:], which holds no quote, cut at every
// delimiter, to bounds.
func (p *csvParser) split(b []byte, start int) {
	for {
		end := len(b)
		i := bytes.IndexByte(b[start:], p.delim)
		if i >= 0 {
			end = start + i
		}
		p.nfields++
		if p.nfields <= p.keepMax {
			if end-start > p.max {
				p.fail(p.nfields, p.tooLong(), p.line)
				end = start
			}
			p.bounds = append(p.bounds, start, end)
		}
		if i < 0 {
			return
		}
		start = i + start + 1
	}
}

// quoted reads a record the slow way, field by field across line pieces:
// quoted fields, embedded line ends, lines longer than a piece. Stretches of
// a whole line without quotes still go through plainRun.
func (p *csvParser) quoted(cur []byte, complete bool) error {
	for {
		if len(cur) == 0 && !complete {
			cur, complete = p.lr.line()
			if len(cur) == 0 {
				if err := p.lr.readErr(); err != nil {
					return err
				}
			}
		}
		if complete && (len(cur) == 0 || cur[0] != '"') {
			tl := termLen(cur)
			content := cur[:len(cur)-tl]
			q := bytes.IndexByte(content, '"')
			if q < 0 {
				p.plainRun(content)
				if tl > 0 {
					p.line++
				}
				return nil
			}
			if j := bytes.LastIndexByte(content[:q], p.delim); j >= 0 {
				p.plainRun(content[:j])
				cur = cur[j+1:]
				continue
			}
		}
		p.beginField()
		var done bool
		var err error
		if len(cur) > 0 && cur[0] == '"' {
			cur, complete, done, err = p.quotedField(cur, complete)
		} else {
			cur, complete, done, err = p.plainField(cur, complete)
		}
		if err != nil || done {
			return err
		}
	}
}

// plainField reads a field that does not start with a quote. A quote inside
// it is a character of the field; in strict mode it also makes the record a
// row error.
func (p *csvParser) plainField(cur []byte, complete bool) (rest []byte, restComplete, done bool, err error) {
	for {
		content := cur
		tl := 0
		if complete {
			tl = termLen(cur)
			content = cur[:len(cur)-tl]
		}
		i := bytes.IndexByte(content, p.delim)
		field := content
		if i >= 0 {
			field = content[:i]
		}
		if !p.lazy && bytes.IndexByte(field, '"') >= 0 {
			p.fail(p.nfields, fmt.Errorf("%w: %s (quote the whole field and double the quote)", ErrBareQuote, clip(field)), p.line)
		}
		p.add(field)
		if i >= 0 {
			p.endField()
			return cur[i+1:], complete, false, nil
		}
		if complete {
			p.endField()
			if tl > 0 {
				p.line++
			}
			return nil, true, true, nil
		}
		cur, complete = p.lr.line()
		if len(cur) == 0 {
			if err := p.lr.readErr(); err != nil {
				return nil, true, true, err
			}
		}
	}
}

// quotedField reads a field that starts with a quote, across as many lines
// as it takes. A quote followed by text (neither a quote, the delimiter nor
// a line end) is a row error in strict mode; in lazy mode it is a character
// of the field, which goes on, as with encoding/csv's LazyQuotes, until a
// quote followed by the delimiter or a line end. When the quote turns out to
// be unclosed (the stream ends, a quote on a later line is followed by text,
// or the field outgrows the limit after a line end) the record ends as a row
// error and parsing resumes at the line after the one where the quote
// opened, so one stray quote costs one row, not the rest of the file.
func (p *csvParser) quotedField(cur []byte, complete bool) (rest []byte, restComplete, done bool, err error) {
	q := quote{off: p.lr.offset() - int64(len(cur)), line: p.line, resume: -1, last: -1}
	p.lr.setKeep(q.off)
	defer p.lr.clearKeep()
	cur = cur[1:]
	for {
		i := bytes.IndexByte(cur, '"')
		if i < 0 {
			p.add(cur)
			if complete && termLen(cur) > 0 {
				p.line++
				q.last = p.lr.offset()
				if q.resume < 0 {
					q.resume, q.resumeLine = q.last, p.line
				}
				if p.dead.holds(q.last) && !p.noDead {
					return p.unclosed(q, p.dead.why, nil, true)
				}
			}
			if p.over && q.resume >= 0 && p.lr.kept(q.off) {
				return p.unclosed(q, fmt.Sprintf("no closing quote within %d bytes", p.max), nil, true)
			}
			if p.over {
				// Nothing to go back to, and keeping the bytes would hold
				// the oversized field in memory: read on to its end.
				p.lr.clearKeep()
			}
			cur, complete = p.lr.line()
			if len(cur) == 0 {
				if err := p.lr.readErr(); err != nil {
					return nil, true, true, err
				}
				return p.unclosed(p.remember(q, "the file ends inside it"), "the file ends inside it", nil, true)
			}
			continue
		}
		p.add(cur[:i])
		cur = cur[i+1:]
		if len(cur) == 0 && !complete {
			cur, complete = p.lr.line()
			if len(cur) == 0 {
				if err := p.lr.readErr(); err != nil {
					return nil, true, true, err
				}
			}
		}
		switch {
		case len(cur) > 0 && cur[0] == '"':
			p.add(cur[:1])
			cur = cur[1:]
		case len(cur) > 0 && cur[0] == p.delim:
			p.endField()
			return cur[1:], complete, false, nil
		case len(cur) == 0 || cur[0] == '\n' || cur[0] == '\r':
			p.endField()
			if len(cur) > 0 {
				p.line++
			}
			return nil, true, true, nil
		case q.resume >= 0:
			why := fmt.Sprintf("the next quote, on line %d, is followed by text", p.line)
			return p.unclosed(p.remember(q, why), why, cur, complete)
		case p.lazy:
			q.lazy = true
			p.add(quoteChar)
		default:
			p.fail(p.nfields, textAfterQuote(p.lr.lineFrom(q.off), ""), p.line)
			err := p.skipLine(cur, complete)
			p.recover(q.off)
			return nil, true, true, err
		}
	}
}

// quote is where a quoted field opened, and where parsing resumes if it
// never closes: the start of the next line, once the field has crossed it.
type quote struct {
	off, line          int64
	resume, resumeLine int64 // -1 while the field is on its first line
	last               int64 // the start of the last line the field crossed into
	lazy               bool  // a quote followed by text was taken as a character
}

// deadLines is a run of line starts from which a quoted field, open at the
// start of the line, goes on to the same end without closing: the end of
// the file, or a quote followed by text. Inside a quoted field at the start
// of a line the parser's state is the same whatever opened the field, so
// the rest of such a field is decided by the bytes from there on.
//
// Without it, a file whose every line holds a quote followed by text and
// then doubled quotes (1,""ООО Ромашка"",x) read each line's field on to
// the end of the file, went back to the next line and did it again: a row
// cost 65 µs at 2,500 lines and 120 µs at 5,000, against 1.3–1.4 µs with
// it at any size (BenchmarkReadStrayQuotes).
type deadLines struct {
	lo, hi int64 // line starts, stream offsets; none while why is ""
	why    string
}

func (d *deadLines) holds(off int64) bool { return d.why != "" && off >= d.lo && off <= d.hi }

// remember notes the lines q's field crossed as dead when its end is
// decided by the bytes alone: it crossed a line, never went over the size
// limit (a later field, opened later, holds fewer bytes at any point), and
// parsing goes back to the line after its quote.
func (p *csvParser) remember(q quote, why string) quote {
	if q.resume >= 0 && !p.over && p.lr.kept(q.off) && p.lr.kept(q.resume) {
		p.dead = deadLines{lo: q.resume, hi: q.last, why: why}
	}
	return q
}

// quoteChar is the quote that lazy mode adds to a field.
var quoteChar = []byte{'"'}

// textAfterQuote is the row error of a quoted field whose closing quote is
// followed by text, line being the field's line from its opening quote.
func textAfterQuote(line []byte, more string) error {
	return &kindError{ErrBareQuote, fmt.Sprintf(
		`extraneous " in quoted field: text after the closing quote in %s%s (a " inside quotes must be doubled)`,
		clip(line), more)}
}

// unclosed ends the record at an unclosed quote. It goes back to the line
// after the quote's line when those bytes are still buffered; otherwise the
// record swallows everything up to the end of the current line. cur and
// complete are what is left of the current line.
func (p *csvParser) unclosed(q quote, why string, cur []byte, complete bool) ([]byte, bool, bool, error) {
	if p.err != nil && p.err.Column == p.nfields && errors.Is(p.err.Err, ErrFieldTooLong) {
		p.err = nil // the size was a symptom: the quote is the cause
	}
	if q.lazy {
		// The field would have closed at its first quote in strict mode:
		// that quote, not the end of the file, is what to fix.
		p.fail(p.nfields, textAfterQuote(p.lr.lineFrom(q.off), ", and no later quote ends the field"), q.line)
	} else {
		p.fail(p.nfields, fmt.Errorf("%w: %s: %s", ErrUnclosedQuote, why, clip(p.lr.lineFrom(q.off))), q.line)
	}
	if q.resume >= 0 && p.lr.kept(q.off) && p.lr.kept(q.resume) {
		p.lr.seek(q.resume)
		p.line = q.resumeLine
		p.recover(q.off)
		return nil, true, true, nil
	}
	err := p.skipLine(cur, complete)
	p.recover(q.off)
	return nil, true, true, err
}

// skipLine consumes the rest of the current physical line: cur and, unless
// complete, the pieces after it.
func (p *csvParser) skipLine(cur []byte, complete bool) error {
	for {
		if complete {
			if termLen(cur) > 0 {
				p.line++
			}
			return nil
		}
		cur, complete = p.lr.line()
		if len(cur) == 0 {
			return p.lr.readErr()
		}
	}
}

// recover replaces the field that opened a bad quote with the rest of the
// quote's line split at every delimiter, quotes taken literally: a best
// guess of the row's values for the rejects file.
func (p *csvParser) recover(qOff int64) {
	if !p.lr.kept(qOff) {
		p.buf = p.buf[:p.fstart]
		p.endField()
		return
	}
	p.buf = p.buf[:p.dstart]
	p.nfields--
	p.addEach(p.lr.lineFrom(qOff))
}

// addEach adds the fields of b, cut at every delimiter, one by one through
// add, so that the size limits hold.
func (p *csvParser) addEach(b []byte) {
	for {
		i := bytes.IndexByte(b, p.delim)
		p.beginField()
		if i < 0 {
			p.add(b)
			p.endField()
			return
		}
		p.add(b[:i])
		p.endField()
		b = b[i+1:]
	}
}

// beginField starts a new field in buf.
func (p *csvParser) beginField() {
	p.nfields++
	p.skip = p.full || p.nfields > p.keepMax
	p.over = false
	p.dstart = len(p.buf)
	if !p.skip && p.nfields > 1 {
		p.buf = append(p.buf, p.delim)
	}
	p.fstart = len(p.buf)
}

// add appends bytes of the current field, within the limits.
func (p *csvParser) add(b []byte) {
	if p.skip || len(b) == 0 {
		return
	}
	switch {
	case len(p.buf)-p.fstart+len(b) > p.max:
		p.fail(p.nfields, p.tooLong(), p.line)
		p.over = true
	case len(p.buf)+len(b) > p.recMax:
		p.fail(p.nfields, fmt.Errorf("%w: the record is longer than %d bytes", ErrFieldTooLong, p.recMax), p.line)
		p.full = true
	default:
		p.buf = appendGrow(p.buf, b, p.fstart+p.max)
		return
	}
	p.buf = p.buf[:p.fstart]
	p.skip = true
}

// endField records the current field's bounds.
func (p *csvParser) endField() {
	if p.nfields <= p.keepMax {
		p.bounds = append(p.bounds, p.fstart, len(p.buf))
	}
}

func (p *csvParser) tooLong() error {
	return fmt.Errorf("%w: more than %d bytes", ErrFieldTooLong, p.max)
}

// fail records the record's first error.
func (p *csvParser) fail(col int, err error, line int64) {
	if p.err != nil {
		return
	}
	p.err = &RowError{Line: line, Column: col, Err: err}
}

// finish turns src (buf, or the line itself) and bounds into the record's
// fields, and runs the checks that need the whole record.
func (p *csvParser) finish(rec *Record, src []byte) {
	n := len(p.bounds) / 2
	s := p.intern(src)
	keep := n
	if p.drop != nil {
		keep -= p.dropped(n)
	}
	if len(p.slab) < keep {
		p.newSlab(keep)
	}
	fields := p.slab[:keep:keep]
	p.slab = p.slab[keep:]
	p.slabs.last = p.mem.row
	if p.drop == nil {
		for i := range fields {
			fields[i] = s[p.bounds[2*i]:p.bounds[2*i+1]]
		}
	} else {
		j := 0
		for i := range n {
			if i >= len(p.drop) || !p.drop[i] {
				fields[j] = s[p.bounds[2*i]:p.bounds[2*i+1]]
				j++
			}
		}
	}
	rec.Fields = fields
	// Fields are joined by the (ASCII) delimiter in src, so src is clean
	// exactly when every field is.
	if p.err == nil && ((p.validate && !cleanUTF8(src)) || (!p.validate && bytes.IndexByte(src, 0) >= 0)) {
		for i := range n {
			f := s[p.bounds[2*i]:p.bounds[2*i+1]]
			if p.validate && !utf8.ValidString(f) {
				p.fail(i+1, fmt.Errorf("%w: %s (if the file is not UTF-8, set input.encoding)", ErrInvalidUTF8, clip([]byte(f))), rec.Line)
				break
			}
			if strings.IndexByte(f, 0) >= 0 {
				p.fail(i+1, fmt.Errorf("%w in %s", ErrNUL, clip([]byte(f))), rec.Line)
				break
			}
		}
	}
	if p.err == nil && p.ncols > 0 && (p.nfields > p.ncols || p.nfields < p.minCols) {
		col := p.ncols + 1
		if p.nfields < p.ncols {
			col = p.nfields + 1
		}
		p.fail(col, fmt.Errorf("%w: want %d, got %d", ErrFieldCount, p.ncols, p.nfields), rec.Line)
	}
	if p.err == nil && p.drop != nil {
		p.checkNameless(s, n, rec.Line)
	}
	rec.Err = p.err
	if rec.Err != nil && rec.Err.Column > 0 && rec.Err.Column <= len(p.names) {
		rec.Err.Name = p.names[rec.Err.Column-1]
	}
}

// dropped counts the nameless columns among the first n fields.
func (p *csvParser) dropped(n int) int {
	k := 0
	for _, d := range p.drop[:min(n, len(p.drop))] {
		if d {
			k++
		}
	}
	return k
}

// checkNameless fails the record when one of its first n fields (cut from
// s) is a nameless column holding more than spaces and tabs: the value
// would be lost without a word.
func (p *csvParser) checkNameless(s string, n int, line int64) {
	for i, d := range p.drop[:min(n, len(p.drop))] {
		if !d {
			continue
		}
		if v := s[p.bounds[2*i]:p.bounds[2*i+1]]; strings.Trim(v, " \t") != "" {
			p.fail(i+1, &kindError{ErrNamelessValue, fmt.Sprintf(
				"no name in the header, but it holds %s (name the column in the header, or empty the cell)", clip([]byte(v)))}, line)
			return
		}
	}
}

// newSlab starts a slab for the Fields of records of keep fields: a
// released one, or a new one.
func (p *csvParser) newSlab(keep int) {
	retire(p.mem, &p.mem.fields, p.slabs)
	b, ok := take(p.mem, &p.mem.fields)
	if !ok || len(b.buf) < keep {
		b.buf = make([]string, max(slabRecords*keep, 64))
	}
	p.slabs, p.slab = b, b.buf
}

// newArena starts an arena: a released one, or a new one.
func (p *csvParser) newArena() {
	retire(p.mem, &p.mem.arenas, p.arenas)
	b, ok := take(p.mem, &p.mem.arenas)
	if !ok {
		b.buf = make([]byte, 0, arenaSize)
	}
	p.arenas, p.arena = b, b.buf[:0]
}

// arenaSize is the allocation the record strings are cut from.
const arenaSize = 32 << 10

// intern returns src as a string cut from the arena: one allocation per
// arenaSize bytes of records instead of one per record, which moved
// BenchmarkReadCSV from 67% to 74% of bare encoding/csv in one run. It is
// sound because arena bytes are written once, before the string that covers
// them exists, and not again while that string may be read: the append
// below never moves the arena (its capacity is checked first), and a full
// arena is written again only once the caller released every record cut
// from it (File.Release; reuse.go).
func (p *csvParser) intern(src []byte) string {
	if len(src) > arenaSize/4 {
		return string(src)
	}
	if len(p.arena)+len(src) > cap(p.arena) {
		p.newArena()
	}
	start := len(p.arena)
	p.arena = append(p.arena, src...)
	p.arenas.last = p.mem.row
	if len(src) == 0 {
		return ""
	}
	return unsafe.String(&p.arena[start], len(src))
}

// appendGrow appends b to dst, doubling dst's capacity (up to limit) when it
// must grow: append grows big slices by a quarter, which for a field near
// the limit would allocate it five times over.
func appendGrow(dst, b []byte, limit int) []byte {
	if need := len(dst) + len(b); need > cap(dst) {
		target := max(need, min(2*cap(dst), limit))
		dst = slices.Grow(dst, target-len(dst))
	}
	return append(dst, b...)
}

// clip quotes a value for an error message, cut to a readable length.
func clip(b []byte) string {
	const n = 40
	if len(b) <= n {
		return fmt.Sprintf("%q", b)
	}
	cut := n
	for cut > n-utf8.UTFMax && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return fmt.Sprintf("%q…", b[:cut])
}
