package results

import (
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gocarina/gocsv"

	"importer/internal/jsonenc"
)

// Status is the final outcome of one row as the journal records it.
type Status string

// The statuses a journal line can carry.
const (
	StatusOK      Status = "ok"      // the API accepted the row
	StatusFailed  Status = "failed"  // the API rejected the row, or retries ran out
	StatusInvalid Status = "invalid" // the row never left: mapping or validation failed
	StatusUnknown Status = "unknown" // sent, the outcome could not be learned, unsafe to resend
	StatusValid   Status = "valid"   // validate only: the row would be sent
	// StatusUnchanged (with a state database): the row would send exactly
	// what was sent for its key at its last ok, so it was not sent.
	StatusUnchanged Status = "unchanged"
)

// statuses lists every Status a journal line may carry.
var statuses = []Status{StatusOK, StatusFailed, StatusInvalid, StatusUnknown, StatusValid, StatusUnchanged}

// statusList is statuses for messages: "ok, failed, …".
var statusList = func() string {
	names := make([]string, len(statuses))
	for i, s := range statuses {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}()

// Known reports whether s is one of the Status constants.
func (s Status) Known() bool { return slices.Contains(statuses, s) }

// Row is one line of the results journal (CSV header, in this order:
// row,line,key,status,profile_id,error_code,error,attempts).
type Row struct {
	Row       int64  `csv:"row" json:"row"`               // 1-based data record number
	Line      int64  `csv:"line" json:"line"`             // file line where the record starts
	Key       string `csv:"key" json:"key"`               // the matching key value
	Status    Status `csv:"status" json:"status"`         // final outcome
	ProfileID string `csv:"profile_id" json:"profile_id"` // the API's profile id for ok rows
	ErrorCode string `csv:"error_code" json:"error_code"` // the API's error code or the HTTP status
	Error     string `csv:"error" json:"error"`           // human message; names the column for invalid rows
	Attempts  int    `csv:"attempts" json:"attempts"`     // requests made for the row, first try included
}

// journalColumns is the CSV header: the csv tags of Row's fields, in order.
// Row is the one definition of the journal's schema; the header gocsv
// writes, the lines appendCSVRow writes and the columns the reader looks
// for all come from it.
var journalColumns = func() []string {
	t := reflect.TypeFor[Row]()
	cols := make([]string, t.NumField())
	for i := range cols {
		cols[i] = t.Field(i).Tag.Get("csv")
	}
	return cols
}()

// Journal flushing thresholds: pending complete lines are written when this
// many bytes are waiting or this much time has passed since the last write.
const (
	JournalFlushBytes = 64 << 10
	JournalFlushEvery = time.Second
)

// Journal is the per-row results journal: CSV or, when the path ends in
// ".jsonl", one JSON object per line with the same keys.
//
// The CSV schema is Row's struct tags: gocsv writes the header from them,
// and ReadJournal finds the columns by them (in any order). Each line is appended
// by appendCSVRow, byte for byte what gocsv writes (a fuzz test holds them
// equal): gocsv marshals by reflection at ~800 ns and 14 allocations a row,
// which made the single writer goroutine the bottleneck of validate.
//
// It keeps complete lines in memory and hands them to the file in a single
// write, so the file only ever receives whole lines. A kill -9 between writes
// leaves a line-consistent file; one landing inside the write syscall itself
// can, on Linux, cut a large write at a page boundary, and the torn tail that
// leaves is what ReadJournal ignores and OpenJournal(path, true) trims.
//
// One goroutine owns a Journal and calls Write, Flush, Sync and Close;
// WriteInFlight may come from any goroutine meanwhile (a mutex orders them).
// The first write error is sticky: every later call returns it, and Close
// reports it. A journal file deleted, replaced or truncated under the run is
// such an error (ErrJournalLost), found at the next flush or at Close.
type Journal struct {
	mu      sync.Mutex // WriteInFlight comes from the sender's goroutines
	path    string
	f       *os.File
	jsonl   bool
	regular bool // fsync only makes sense on a regular file (not a pipe or /dev/stdout)

	pend lineBuffer           // complete lines not yet written
	cw   *gocsv.SafeCSVWriter // CSV only: writes the header into pend
	now  func() time.Time     // a test's clock; nil = the real one
	last time.Time            // when lines last went to the file
	// clockRead and skips spare the clock on most rows of a fast run: see due.
	clockRead time.Time
	skips     int

	err      error // first write error
	closed   bool
	closeErr error

	size    int64     // bytes the file should hold: what was there plus what we wrote
	checked time.Time // when the file was last checked against its path (see checkLoss)
}

// ErrJournalLost is wrapped by the error of a journal whose file was
// deleted, replaced or truncated by someone else during the run: the rows
// it should hold are gone, so a later --resume could not trust it.
var ErrJournalLost = errors.New("results journal lost")

// lossCheckEvery bounds how often a flush compares the open file with its
// path: two stat calls, cheap, but not for every few lines.
const lossCheckEvery = 200 * time.Millisecond

// lineBuffer collects encoded lines; gocsv's csv.Writer flushes into it.
type lineBuffer struct{ b []byte }

func (l *lineBuffer) Write(p []byte) (int, error) {
	l.b = append(l.b, p...)
	return len(p), nil
}

// isJSONL reports whether path names a JSONL file (".jsonl", any case).
func isJSONL(path string) bool {
	return strings.EqualFold(filepath.Ext(path), ".jsonl")
}

// OpenJournal opens the results journal at path: CSV, or JSONL when the path
// ends in ".jsonl".
//
// With appendTo false it creates or truncates the file and writes the CSV
// header. With appendTo true (resume) it keeps the content, drops a torn last
// line (bytes after the last complete record, or a last record that does not
// parse: exactly what ReadJournal ignores), and writes the header only if the
// file is empty. It refuses to append to a CSV file whose first line is not
// the journal header, or whose content has an unparsable line before the
// last, because appending would bury the damage.
func OpenJournal(path string, appendTo bool) (*Journal, error) {
	// O_APPEND in both modes: if someone truncates the file during the
	// run, later lines land at its new end instead of past a hole of NULs,
	// and checkLoss notices the truncation.
	flag := os.O_WRONLY | os.O_CREATE | os.O_TRUNC | os.O_APPEND
	if appendTo {
		flag = os.O_RDWR | os.O_CREATE | os.O_APPEND
	}
	f, err := os.OpenFile(path, flag, 0o666)
	if err != nil {
		return nil, fmt.Errorf("open results %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open results %s: %w", path, err)
	}
	j := &Journal{
		path:    path,
		f:       f,
		jsonl:   isJSONL(path),
		regular: fi.Mode().IsRegular(),
	}
	if !j.jsonl {
		j.cw = gocsv.NewSafeCSVWriter(csv.NewWriter(&j.pend))
	}
	size := int64(0)
	if appendTo && j.regular {
		end, err := validEnd(f, fi.Size(), j.jsonl)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("resume results %s: %w", path, err)
		}
		if end < fi.Size() {
			// The tail is a torn or damaged last record: drop it so that new
			// lines start on a line of their own.
			if err := f.Truncate(end); err != nil {
				f.Close()
				return nil, fmt.Errorf("resume results %s: trim torn last line: %w", path, err)
			}
		}
		size = end
	}
	j.size = size
	if !j.jsonl && size == 0 {
		// gocsv writes just the header for an empty slice.
		if err := gocsv.MarshalCSV(&[]Row{}, j.cw); err != nil {
			f.Close()
			return nil, fmt.Errorf("write results %s: header: %w", path, err)
		}
	}
	j.last = j.clock()
	if err := j.Flush(); err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

// Write adds one row to the journal. The line is buffered; pending lines go
// to the file in one write when JournalFlushBytes are waiting or
// JournalFlushEvery has passed since the last write (checked on each call,
// or every 64th while rows come faster than one a millisecond: see due).
// It returns the first write error, which is sticky.
func (j *Journal) Write(r *Row) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.writable(); err != nil {
		return err
	}
	if r == nil {
		return fmt.Errorf("write results %s: nil row", j.path)
	}
	if j.jsonl {
		j.pend.b = appendJSONLRow(j.pend.b, r)
	} else {
		j.pend.b = appendCSVRow(j.pend.b, r)
	}
	if len(j.pend.b) >= JournalFlushBytes || j.due() {
		return j.flushLocked()
	}
	return nil
}

// flushCheckSkips is how many rows may go by without a look at the clock
// once rows come faster than one a millisecond.
const flushCheckSkips = 63

// due reports whether JournalFlushEvery has passed since lines last went to
// the file (see tick for how often it reads the clock).
func (j *Journal) due() bool { return j.tick().Sub(j.last) >= JournalFlushEvery }

// tick is the time now, read from the clock only on every 64th call while
// calls come less than a millisecond apart (otherwise the last reading):
// reading the clock for every row was a fifth of the cost of a dry run's
// journal line (BenchmarkJournalWrite/CSV-valid: 236 ns, of which 43 ns the
// clock). So a flush comes at most 63 rows late, well under a millisecond
// at that pace, and a time from Now is as stale at most. j.mu is held.
func (j *Journal) tick() time.Time {
	if j.skips > 0 {
		j.skips--
		return j.clockRead
	}
	now := j.clock()
	if now.Sub(j.clockRead) < time.Millisecond {
		j.skips = flushCheckSkips
	}
	j.clockRead = now
	return now
}

// clock is the time now.
func (j *Journal) clock() time.Time {
	if j.now != nil {
		return j.now()
	}
	return time.Now()
}

// Now is the time as the journal's writes see it: at most 63 calls old
// while rows come faster than one a millisecond, else read now. A caller
// that stamps every row (the state's puts) spares the clock that way.
func (j *Journal) Now() time.Time {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.tick()
}

// writable is the error a write returns before it starts: the first
// write error (sticky), or that the journal is closed. j.mu is held.
func (j *Journal) writable() error {
	if j.err != nil {
		return j.err
	}
	if j.closed {
		return fmt.Errorf("write results %s: %w", j.path, os.ErrClosed)
	}
	return nil
}

// WriteInFlight records rows that are about to be sent in a request that
// may apply them even if no reply ever comes (rows using incr, add or
// delete): one line per row with status unknown, handed to the file before
// it returns, together with every line still pending. The row's final line
// follows later and wins; if the run dies first, this line is what --resume
// reads, and the row is not sent again. Safe to call from any goroutine.
func (j *Journal) WriteInFlight(rows []Row) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.writable(); err != nil {
		return err
	}
	for i := range rows {
		r := rows[i]
		r.Status, r.ErrorCode, r.Error = StatusUnknown, InFlightCode, InFlightText
		if j.jsonl {
			j.pend.b = appendJSONLRow(j.pend.b, &r)
		} else {
			j.pend.b = appendCSVRow(j.pend.b, &r)
		}
	}
	return j.flushLocked()
}

// The error_code and error of an in-flight line (see WriteInFlight).
const (
	InFlightCode = "in_flight"
	InFlightText = "in flight when the importer stopped: the request may have been applied; " +
		"check this profile in Altcraft before sending the row again (--resume skips it, --retry-unknown sends it)"
)

// appendJSONLRow appends r as one JSON object and a newline.
func appendJSONLRow(b []byte, r *Row) []byte {
	b = append(b, `{"row":`...)
	b = strconv.AppendInt(b, r.Row, 10)
	b = append(b, `,"line":`...)
	b = strconv.AppendInt(b, r.Line, 10)
	b = append(b, `,"key":`...)
	b = jsonenc.AppendString(b, r.Key)
	b = append(b, `,"status":`...)
	b = jsonenc.AppendString(b, string(r.Status))
	b = append(b, `,"profile_id":`...)
	b = jsonenc.AppendString(b, r.ProfileID)
	b = append(b, `,"error_code":`...)
	b = jsonenc.AppendString(b, r.ErrorCode)
	b = append(b, `,"error":`...)
	b = jsonenc.AppendString(b, r.Error)
	b = append(b, `,"attempts":`...)
	b = strconv.AppendInt(b, int64(r.Attempts), 10)
	return append(b, "}\n"...)
}

// Flush writes the pending lines now, in one write. The pipeline calls it
// when idle and every second so a quiet run still reaches the disk.
func (j *Journal) Flush() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.flushLocked()
}

func (j *Journal) flushLocked() error {
	if j.err != nil {
		return j.err
	}
	if len(j.pend.b) == 0 {
		return nil
	}
	if j.f == nil {
		return fmt.Errorf("write results %s: %w", j.path, os.ErrClosed)
	}
	n, err := j.f.Write(j.pend.b)
	j.size += int64(n)
	j.pend.b = j.pend.b[:0]
	j.last = j.clock()
	if err != nil {
		j.err = fmt.Errorf("write results %s: %w", j.path, err)
		return j.err
	}
	if j.last.Sub(j.checked) >= lossCheckEvery {
		return j.checkLoss()
	}
	return nil
}

// checkLoss makes sure the file we write is still the journal at its path,
// whole: not deleted, not replaced by another file, not truncated. Any of
// these would lose finished rows (and rows recorded in flight), and a later
// --resume would send them again, so it is a fatal error.
func (j *Journal) checkLoss() error {
	j.checked = j.last
	if !j.regular {
		return nil
	}
	held, err := j.f.Stat()
	if err != nil {
		j.err = fmt.Errorf("check results %s: %w", j.path, err)
		return j.err
	}
	named, err := os.Stat(j.path)
	switch {
	case err != nil && errors.Is(err, os.ErrNotExist):
		j.err = fmt.Errorf("%w: %s was deleted during the run", ErrJournalLost, j.path)
	case err != nil:
		j.err = fmt.Errorf("check results %s: %w", j.path, err)
	case !os.SameFile(held, named):
		j.err = fmt.Errorf("%w: %s was replaced by another file during the run", ErrJournalLost, j.path)
	case held.Size() < j.size:
		j.err = fmt.Errorf("%w: %s was truncated during the run (%d bytes, %d written)", ErrJournalLost, j.path, held.Size(), j.size)
	}
	return j.err
}

// Sync flushes the pending lines and asks the OS to put them on disk.
func (j *Journal) Sync() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.syncLocked()
}

func (j *Journal) syncLocked() error {
	if err := j.flushLocked(); err != nil {
		return err
	}
	if j.f == nil || !j.regular {
		return nil
	}
	if err := j.f.Sync(); err != nil {
		j.err = fmt.Errorf("sync results %s: %w", j.path, err)
		return j.err
	}
	return nil
}

// Close flushes, syncs and closes the file. It reports the first write error
// of the journal's life. It is idempotent: later calls return the same result.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return j.closeErr
	}
	j.closed = true
	err := j.syncLocked()
	if err == nil && j.f != nil {
		err = j.checkLoss()
	}
	if cerr := j.f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close results %s: %w", j.path, cerr)
	}
	j.f = nil
	if err == nil && j.err != nil {
		err = j.err
	}
	j.closeErr = err
	return err
}

// errNotJournal marks a file whose header is not the journal's.
var errNotJournal = errors.New("not a results journal")

// appendCSVRow appends r as one CSV record, exactly as gocsv (over
// encoding/csv with a comma and LF) writes it.
func appendCSVRow(b []byte, r *Row) []byte {
	b = strconv.AppendInt(b, r.Row, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, r.Line, 10)
	b = append(b, ',')
	b = appendCSVField(b, r.Key)
	b = append(b, ',')
	b = appendCSVField(b, string(r.Status))
	b = append(b, ',')
	b = appendCSVField(b, r.ProfileID)
	b = append(b, ',')
	b = appendCSVField(b, r.ErrorCode)
	b = append(b, ',')
	b = appendCSVField(b, r.Error)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(r.Attempts), 10)
	return append(b, '\n')
}

// appendCSVField appends one field the way encoding/csv's Writer does with
// Comma ',' and UseCRLF false: quoted when it holds a comma, a quote, CR or
// LF, begins with a space, or is `\.`; quotes doubled inside.
func appendCSVField(b []byte, f string) []byte {
	if !csvNeedsQuotes(f) {
		return append(b, f...)
	}
	b = append(b, '"')
	for {
		i := strings.IndexByte(f, '"')
		if i < 0 {
			break
		}
		b = append(b, f[:i+1]...)
		b = append(b, '"')
		f = f[i+1:]
	}
	b = append(b, f...)
	return append(b, '"')
}

func csvNeedsQuotes(f string) bool {
	if f == "" {
		return false
	}
	if f == `\.` {
		return true
	}
	for i := 0; i < len(f); i++ {
		if csvSpecial[f[i]] {
			return true
		}
	}
	if c := f[0]; c < utf8.RuneSelf {
		return c == ' ' || '\t' <= c && c <= '\r' // unicode.IsSpace for ASCII
	}
	r, _ := utf8.DecodeRuneInString(f)
	return unicode.IsSpace(r)
}

// csvSpecial marks the bytes that make encoding/csv quote a field: one
// load per byte where a four-way switch cost a quarter of a journal line.
var csvSpecial = [256]bool{',': true, '"': true, '\r': true, '\n': true}
