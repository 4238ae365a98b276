package results

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Previous is what an earlier run's journal says about each row: which rows
// ended ok, failed, invalid or unknown (or were in flight when that run
// died). It holds six bitsets, about 6 bits per row, so a 10M-row journal
// costs under 10 MiB.
//
// A Previous is read-only after ReadJournal returns and safe for concurrent use.
type Previous struct {
	seen, ok, unknown bitset
	failed, invalid   bitset
	unchanged         bitset
	flight            bitset // rows whose last line is an in-flight record
}

// OK reports whether the row's last recorded status is ok (or unchanged:
// settled as well, with nothing to send).
func (p *Previous) OK(row int64) bool {
	if p == nil {
		return false
	}
	return p.ok.get(row)
}

// Unknown reports whether the row's last recorded status is unknown: its
// request may have been applied (or was in flight when the run died), so
// --resume does not send it again unless told to.
func (p *Previous) Unknown(row int64) bool {
	if p == nil {
		return false
	}
	return p.unknown.get(row)
}

// Counts says how the rows of a journal ended: by the last line of each.
type Counts struct {
	OK        int64 `json:"ok"`
	Failed    int64 `json:"failed"`
	Invalid   int64 `json:"invalid"`
	Unknown   int64 `json:"unknown"`   // InFlight of them in flight when the run died
	InFlight  int64 `json:"in_flight"` // (included in Unknown)
	Unchanged int64 `json:"unchanged"`
	Other     int64 `json:"-"` // anything but ok and unknown: sent again by --resume
}

// Count returns how many rows ended in each way.
func (p *Previous) Count() Counts {
	if p == nil {
		return Counts{}
	}
	c := Counts{OK: p.ok.count(), Failed: p.failed.count(), Invalid: p.invalid.count(),
		Unknown: p.unknown.count(), InFlight: p.flight.count(), Unchanged: p.unchanged.count()}
	c.OK -= c.Unchanged
	c.Other = p.seen.count() - c.OK - c.Unchanged - c.Unknown
	return c
}

func (p *Previous) add(r *Row) {
	p.seen.set(r.Row, true)
	p.ok.set(r.Row, r.Status == StatusOK || r.Status == StatusUnchanged)
	p.unchanged.set(r.Row, r.Status == StatusUnchanged)
	p.unknown.set(r.Row, r.Status == StatusUnknown)
	p.failed.set(r.Row, r.Status == StatusFailed)
	p.invalid.set(r.Row, r.Status == StatusInvalid)
	p.flight.set(r.Row, r.Status == StatusUnknown && r.ErrorCode == InFlightCode)
}

// bitset is a sparse set of positive row numbers: pages of 64 Ki bits made on
// first use, so a stray huge row number costs one 8 KiB page, not gigabytes.
type bitset struct {
	pages    map[int64]*bitPage
	lastIdx  int64
	lastPage *bitPage // the page of the previous set: journals are mostly in row order
}

type bitPage [1024]uint64

const pageBits = 1024 * 64

func (b *bitset) set(row int64, v bool) {
	if row < 0 {
		return
	}
	idx := row / pageBits
	p := b.lastPage
	if p == nil || b.lastIdx != idx {
		p = b.pages[idx]
		if p == nil {
			if !v {
				return
			}
			if b.pages == nil {
				b.pages = make(map[int64]*bitPage)
			}
			p = new(bitPage)
			b.pages[idx] = p
		}
		b.lastIdx, b.lastPage = idx, p
	}
	bit := row % pageBits
	if v {
		p[bit/64] |= 1 << (bit % 64)
	} else {
		p[bit/64] &^= 1 << (bit % 64)
	}
}

func (b *bitset) get(row int64) bool {
	if row < 0 {
		return false
	}
	p := b.pages[row/pageBits]
	if p == nil {
		return false
	}
	bit := row % pageBits
	return p[bit/64]&(1<<(bit%64)) != 0
}

func (b *bitset) count() int64 {
	var n int
	for _, p := range b.pages {
		for _, w := range p {
			n += bits.OnesCount64(w)
		}
	}
	return int64(n)
}

// ReadJournal reads a journal written by Journal (CSV through gocsv, or JSONL
// when the path ends in ".jsonl") for --resume.
//
// The last line for a row wins. A torn last line (no trailing newline, or a
// last record that does not parse) is ignored: it is what a crash leaves. An
// unparsable line before the last is an error naming the file line, the
// column, the value and the reason. A missing file is an error wrapping
// fs.ErrNotExist. An empty file, or one holding only a header, is an empty
// journal.
func ReadJournal(path string) (*Previous, error) {
	p := &Previous{}
	if err := readJournal(path, p.add); err != nil {
		return nil, err
	}
	return p, nil
}

// readJournal calls fn for every accepted row of the journal at path, in file
// order.
func readJournal(path string, fn func(*Row)) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read results %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("read results %s: %w", path, err)
	}
	var r io.Reader = f
	if fi.Mode().IsRegular() {
		limit, err := lastNewline(f, fi.Size())
		if err != nil {
			return fmt.Errorf("read results %s: %w", path, err)
		}
		r = io.NewSectionReader(f, 0, limit)
	}
	br := bufio.NewReaderSize(r, 256<<10)
	var end int64
	if isJSONL(path) {
		end, err = scanJSONL(br, fn)
	} else {
		end, err = scanCSV(br, false, fn)
	}
	if err == nil && fi.Mode().IsRegular() {
		err = checkZeroed(f, end, fi.Size())
	}
	if err != nil {
		return fmt.Errorf("read results %s: %w", path, err)
	}
	return nil
}

// checkZeroed refuses a journal whose bytes after its last good record,
// [end, size), hold a NUL. A crash of the importer leaves at most a line
// cut short, which is forgiven; a NUL is never written, but it is what a
// file system shows for data it lost in a power failure or a disk fault.
// Lines were lost there (in-flight records among them), so the rows they
// recorded would be sent again: only --force may go on.
func checkZeroed(f io.ReaderAt, end, size int64) error {
	buf := make([]byte, 64<<10)
	for off := end; off < size; {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if i := bytes.IndexByte(buf[:n], 0); i >= 0 {
			line, lerr := lineAt(f, off+int64(i))
			if lerr != nil {
				return lerr
			}
			return fmt.Errorf("line %d: NUL bytes where lines should be (byte %d): the file lost data, "+
				"as in a power failure; the rows recorded there cannot be known", line, off+int64(i))
		}
		if err != nil && n == 0 {
			return err
		}
		off += int64(n)
	}
	return nil
}

// lineAt returns the 1-based line of byte off.
func lineAt(f io.ReaderAt, off int64) (int64, error) {
	line := int64(1)
	buf := make([]byte, 64<<10)
	for pos := int64(0); pos < off; {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), off-pos)], pos)
		line += int64(bytes.Count(buf[:n], []byte{'\n'}))
		if err != nil && n == 0 {
			return 0, err
		}
		pos += int64(n)
	}
	return line, nil
}

// validEnd returns the length of the prefix of a journal that holds only
// complete, parsable records, judged exactly as ReadJournal judges them: the
// point OpenJournal(path, true) trims to.
func validEnd(f io.ReaderAt, size int64, jsonl bool) (int64, error) {
	limit, err := lastNewline(f, size)
	if err != nil {
		return 0, err
	}
	br := bufio.NewReaderSize(io.NewSectionReader(f, 0, limit), 256<<10)
	var end int64
	if jsonl {
		end, err = scanJSONL(br, nil)
	} else {
		end, err = scanCSV(br, true, nil)
	}
	if err == nil {
		err = checkZeroed(f, end, size)
	}
	return end, err
}

// lastNewline returns the offset just past the last '\n' in the first size
// bytes of f (0 when there is none): everything after it is a torn line.
func lastNewline(f io.ReaderAt, size int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for end := size; end > 0; {
		start := max(0, end-int64(len(buf)))
		chunk := buf[:end-start]
		if n, err := f.ReadAt(chunk, start); n < len(chunk) {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// csvRecord is a journal CSV record as text, one cell per journalColumns
// entry, in that order; row converts it, so that a bad value gets a message
// naming its column and value.
type csvRecord []string

// The position of each column in journalColumns (and in a csvRecord).
var (
	colRow       = columnIndex("row")
	colLine      = columnIndex("line")
	colKey       = columnIndex("key")
	colStatus    = columnIndex("status")
	colProfileID = columnIndex("profile_id")
	colErrorCode = columnIndex("error_code")
	colError     = columnIndex("error")
	colAttempts  = columnIndex("attempts")
)

func columnIndex(name string) int {
	i := slices.Index(journalColumns, name)
	if i < 0 {
		panic("results: Row has no csv column " + name)
	}
	return i
}

func (c csvRecord) row() (Row, error) {
	for i, f := range c {
		if strings.IndexByte(f, 0) >= 0 {
			// Never written by a journal: what a file system shows for
			// data it lost (see checkZeroed).
			return Row{}, fmt.Errorf("column %q: NUL bytes: the file lost data here, as in a power failure", journalColumns[i])
		}
	}
	r := Row{Key: c[colKey], Status: Status(c[colStatus]), ProfileID: c[colProfileID],
		ErrorCode: c[colErrorCode], Error: c[colError]}
	var err error
	if r.Row, err = parseWhole("row", c[colRow], false); err != nil {
		return r, err
	}
	if r.Line, err = parseWhole("line", c[colLine], true); err != nil {
		return r, err
	}
	n, err := parseWhole("attempts", c[colAttempts], true)
	if err != nil {
		return r, err
	}
	if n > int64(^uint32(0)>>1) {
		return r, fmt.Errorf(`column "attempts": value %s is too large`, quoteValue(c[colAttempts]))
	}
	r.Attempts = int(n)
	return r, checkRow(&r, "column")
}

// parseWhole parses a non-negative decimal; empty is 0 when allowEmpty.
func parseWhole(col, s string, allowEmpty bool) (int64, error) {
	if s == "" && allowEmpty {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("column %q: value %s is not a whole number", col, quoteValue(s))
	}
	return n, nil
}

// checkRow rejects values our writer never produces. noun is "column" (CSV)
// or "field" (JSONL).
func checkRow(r *Row, noun string) error {
	switch {
	case r.Row < 1:
		return fmt.Errorf("%s %q: value %d is not a row number (they start at 1)", noun, "row", r.Row)
	case r.Line < 0:
		return fmt.Errorf("%s %q: value %d is negative", noun, "line", r.Line)
	case r.Attempts < 0:
		return fmt.Errorf("%s %q: value %d is negative", noun, "attempts", r.Attempts)
	case !r.Status.Known():
		return fmt.Errorf("%s %q: value %s is not one of %s", noun, "status", quoteValue(string(r.Status)), statusList)
	}
	return nil
}

// quoteValue quotes s for an error message, shortened so a huge cell cannot
// flood the terminal.
func quoteValue(s string) string {
	const maxLen = 60
	if len(s) <= maxLen {
		return strconv.Quote(s)
	}
	cut := maxLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}

// scanCSV reads CSV journal records from r and calls fn (if not nil) for
// each accepted row. It returns the offset just past the last accepted
// record. A record that fails to parse is forgiven only when nothing but the
// end of the input follows it.
//
// exact=false takes the columns in any order and ignores extra ones: the
// resume reader. exact=true demands the header Journal writes, since new
// lines will be appended in that order: the trim-before-append scan.
func scanCSV(r io.Reader, exact bool, fn func(*Row)) (int64, error) {
	return scanCSVPrefix(r, exact, fn, false)
}

// scanCSVPrefix is scanCSV; with prefix set a bad record anywhere ends the
// scan without an error: the offset returned is then the end of the
// longest prefix of good records (Salvage keeps it).
func scanCSVPrefix(r io.Reader, exact bool, fn func(*Row), prefix bool) (int64, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return 0, nil
	}
	if err != nil {
		if prefix {
			return 0, nil
		}
		return 0, fmt.Errorf("line 1: %w: %w", errNotJournal, err)
	}
	perm, err := headerOrder(header, exact)
	if err != nil {
		if prefix {
			return 0, nil
		}
		return 0, fmt.Errorf("line 1: %w: %w", errNotJournal, err)
	}
	rec := make(csvRecord, len(journalColumns))
	next := func() (csvRecord, error) {
		f, err := cr.Read()
		if err != nil {
			return nil, err
		}
		for i, at := range perm {
			rec[i] = ""
			if at < len(f) {
				rec[i] = f[at]
			}
		}
		return rec, nil
	}
	end := cr.InputOffset()
	var pending error // a bad record: fatal unless it turns out to be the last
	for {
		rec, err := next()
		if err == io.EOF {
			return end, nil
		}
		if pending != nil {
			return 0, pending
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return 0, err
			}
			if prefix {
				return end, nil
			}
			pending = fmt.Errorf("line %d: %w", pe.StartLine, pe.Err)
			continue
		}
		row, err := rec.row()
		if err != nil && prefix {
			return end, nil
		}
		if err != nil {
			line, _ := cr.FieldPos(0)
			pending = fmt.Errorf("line %d: %w", line, err)
			continue
		}
		if fn != nil {
			fn(&row)
		}
		end = cr.InputOffset()
	}
}

// headerOrder maps each of journalColumns to its position in a journal's
// header: in order when exact, else by name (extra columns ignored).
func headerOrder(header []string, exact bool) ([]int, error) {
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	if exact && !slices.Equal(header, journalColumns) {
		return nil, fmt.Errorf("header is %s, want %s",
			quoteValue(strings.Join(header, ",")), strings.Join(journalColumns, ","))
	}
	perm := make([]int, len(journalColumns))
	var missing []string
	for i, name := range journalColumns {
		perm[i] = slices.Index(header, name)
		if perm[i] < 0 {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the header lacks the columns %s", strings.Join(missing, ", "))
	}
	return perm, nil
}

// scanJSONL is scanCSV for JSONL journals: blank lines are skipped, and an
// unparsable line is forgiven only when it is the last non-blank one.
func scanJSONL(br *bufio.Reader, fn func(*Row)) (int64, error) {
	return scanJSONLPrefix(br, fn, false)
}

// scanJSONLPrefix is scanCSVPrefix for JSONL journals.
func scanJSONLPrefix(br *bufio.Reader, fn func(*Row), prefix bool) (int64, error) {
	var (
		off, end, line int64
		pending        error
		long           []byte
	)
	for {
		b, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long[:0], b...)
			for err == bufio.ErrBufferFull {
				b, err = br.ReadSlice('\n')
				long = append(long, b...)
			}
			b = long
		}
		if err == io.EOF {
			// Whatever follows the last newline is a torn line.
			return end, nil
		}
		if err != nil {
			return 0, err
		}
		line++
		off += int64(len(b))
		t := bytes.TrimSpace(b)
		if len(t) == 0 {
			continue
		}
		if pending != nil {
			return 0, pending
		}
		var r Row
		err = json.Unmarshal(t, &r)
		if err == nil {
			err = checkRow(&r, "field")
		} else {
			err = jsonError(err)
		}
		if err != nil && prefix {
			return end, nil
		}
		if err != nil {
			pending = fmt.Errorf("line %d: %w", line, err)
			continue
		}
		if fn != nil {
			fn(&r)
		}
		end = off
	}
}

// jsonError rewords encoding/json's type errors to name the journal field.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Errorf("field %q: a JSON %s is not a valid %s", te.Field, te.Value, te.Type)
	}
	return fmt.Errorf("not a JSON journal object: %w", err)
}
