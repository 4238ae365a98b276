package results

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// Summary limits.
const (
	// SummaryGroupRows is how many row numbers each error group keeps: the
	// lowest ones, so the examples are the first rows of the file that hit it.
	SummaryGroupRows = 10
	// SummaryMaxGroups bounds the distinct error groups. When the kinds come
	// from per-row texts a 10M-row file could otherwise make 10M groups;
	// later kinds are counted together under SummaryOtherGroup.
	SummaryMaxGroups = 1000
	// SummaryOtherGroup is the group that absorbs kinds past SummaryMaxGroups.
	SummaryOtherGroup = "other errors"
)

// Summary counts a run's rows by status and groups its errors. The caller
// sets Skipped, NotSent, Requests, Retries, Duration and Validate directly.
//
// A Summary is not safe for concurrent use: the writer goroutine owns it.
type Summary struct {
	// Rows counts every row added; the others count them by status.
	Rows, OK, Failed, Invalid, Unknown, Valid int64
	// Unchanged counts rows not sent because a state database showed the
	// same request already applied; Missing, keys the state knows that a
	// complete export lacked (not rows of the input: not in Rows).
	Unchanged, Missing int64

	Skipped int64 // rows already ok in the journal (resume)
	// SkippedUnknown counts rows an earlier run left unknown (or in flight
	// when it died): their request may have been applied, so a resumed run
	// does not send them again unless told to (--retry-unknown).
	SkippedUnknown int64
	NotSent        int64         // rows read but not finished because the run stopped (interrupt, fatal, max-errors)
	Requests       int64         // HTTP requests made, retries included
	Retries        int64         // requests that were retries
	Duration       time.Duration // wall time of the run
	// Validate marks a dry run: the text counts "valid" rows instead of "ok"
	// (failed and unknown appear only when not zero). A summary holding only
	// valid and invalid rows and no requests reads as a dry run even unset.
	Validate bool

	// What the run was, for the JSON summary (the text leaves them out):
	// the input and config as given, the exit code, whether a signal
	// stopped it, when it started and finished.
	// Final is how every row of the journal ended, this run's and earlier
	// runs' together (the last line of each row wins): set after a resumed
	// run, whose own counts hold only the rows it finished.
	Final *Counts

	Input, Config         string
	ExitCode              int
	Interrupted           bool
	StartedAt, FinishedAt time.Time

	groups map[groupKey]*Group
}

type groupKey struct{ kind, column string }

// Group is one kind of error: how many rows hit it and the first of them.
type Group struct {
	Error  string  `json:"error"`
	Column string  `json:"column"`
	Count  int64   `json:"count"`
	Rows   []int64 `json:"rows"` // the lowest SummaryGroupRows row numbers, ascending
}

// NewSummary returns an empty Summary.
func NewSummary() *Summary {
	return &Summary{groups: make(map[groupKey]*Group)}
}

// Add counts r by its status. Failed, invalid and unknown rows are also
// grouped by (kind, column). kind is a short label chosen by the caller
// ("invalid phone", "API error 404 Profile not found"); when it is "", the
// row's error code and text are used. A nil r is ignored.
func (s *Summary) Add(r *Row, kind, column string) {
	if r == nil {
		return
	}
	s.Rows++
	switch r.Status {
	case StatusOK:
		s.OK++
		return
	case StatusValid:
		s.Valid++
		return
	case StatusUnchanged:
		s.Unchanged++
		return
	case StatusFailed:
		s.Failed++
	case StatusInvalid:
		s.Invalid++
	case StatusUnknown:
		s.Unknown++
	default:
		// A status the pipeline should never produce still counts as a
		// problem, under its own name, rather than vanishing.
	}
	if kind == "" {
		kind = strings.TrimSpace(r.ErrorCode + " " + r.Error)
	}
	if kind == "" {
		kind = string(r.Status)
	}
	s.Group(r.Row, kind, column)
}

// Group counts row in one more error group, without counting the row
// again: a row that failed on several columns is in each one's group.
func (s *Summary) Group(row int64, kind, column string) {
	if s.groups == nil {
		s.groups = make(map[groupKey]*Group)
	}
	k := groupKey{kind, column}
	g := s.groups[k]
	if g == nil {
		if len(s.groups) >= SummaryMaxGroups {
			k = groupKey{SummaryOtherGroup, ""}
			g = s.groups[k]
		}
		if g == nil {
			g = &Group{Error: k.kind, Column: k.column, Rows: make([]int64, 0, 1)}
			s.groups[k] = g
		}
	}
	g.Count++
	g.Rows = addLowest(g.Rows, row)
}

// addLowest inserts row into the ascending list rows, keeping at most
// SummaryGroupRows of the lowest.
func addLowest(rows []int64, row int64) []int64 {
	i, found := slices.BinarySearch(rows, row)
	if found || i >= SummaryGroupRows {
		return rows
	}
	if len(rows) == SummaryGroupRows {
		rows = rows[:SummaryGroupRows-1]
	}
	return slices.Insert(rows, i, row)
}

// Groups returns the error groups, most rows first, then by first row.
// The result is a copy.
func (s *Summary) Groups() []Group {
	out := make([]Group, 0, len(s.groups))
	for _, g := range s.groups {
		c := *g
		c.Rows = slices.Clone(g.Rows)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Group) int {
		if a.Count != b.Count {
			if a.Count > b.Count {
				return -1
			}
			return 1
		}
		if c := cmpFirst(a.Rows, b.Rows); c != 0 {
			return c
		}
		if c := strings.Compare(a.Error, b.Error); c != 0 {
			return c
		}
		return strings.Compare(a.Column, b.Column)
	})
	return out
}

func cmpFirst(a, b []int64) int {
	switch {
	case len(a) == 0 || len(b) == 0:
		return len(b) - len(a)
	case a[0] < b[0]:
		return -1
	case a[0] > b[0]:
		return 1
	}
	return 0
}

// validate reports whether the summary is a dry run's: Validate is set, or
// only valid and invalid rows were counted and no request was made.
func (s *Summary) validate() bool {
	return s.Validate || (s.Valid > 0 && s.OK == 0 && s.Failed == 0 && s.Unknown == 0 && s.Requests == 0)
}

// rate is rows per second over Duration, 0 when no time was measured.
func (s *Summary) rate() float64 {
	if s.Duration <= 0 {
		return 0
	}
	return float64(s.Rows) / s.Duration.Seconds()
}

// WriteText writes the human summary, for stderr:
//
//	1000 rows in 12.3s (81 rows/s): 950 ok, 20 failed, 30 invalid, 0 unknown
//	errors:
//	  412 rows: invalid phone in column "Phone" — rows 17, 93, 105 …
//	requests 1000, retries 12
//
// Lines that would only say zero are left out.
func (s *Summary) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s in %s", plural(s.Rows, "row"), formatDuration(s.Duration))
	if r := s.rate(); r > 0 {
		fmt.Fprintf(bw, " (%s rows/s)", formatRate(r))
	}
	bw.WriteString(": ")
	var counts []string
	if s.validate() {
		counts = append(counts, fmt.Sprintf("%d valid", s.Valid), fmt.Sprintf("%d invalid", s.Invalid))
		if s.OK > 0 {
			counts = append(counts, fmt.Sprintf("%d ok", s.OK))
		}
		if s.Failed > 0 {
			counts = append(counts, fmt.Sprintf("%d failed", s.Failed))
		}
		if s.Unknown > 0 {
			counts = append(counts, fmt.Sprintf("%d unknown", s.Unknown))
		}
	} else {
		counts = append(counts, fmt.Sprintf("%d ok", s.OK), fmt.Sprintf("%d failed", s.Failed),
			fmt.Sprintf("%d invalid", s.Invalid), fmt.Sprintf("%d unknown", s.Unknown))
		if s.Valid > 0 {
			counts = append(counts, fmt.Sprintf("%d valid", s.Valid))
		}
	}
	if s.Unchanged > 0 {
		counts = append(counts, fmt.Sprintf("%d unchanged", s.Unchanged))
	}
	bw.WriteString(strings.Join(counts, ", "))
	bw.WriteByte('\n')
	if s.Missing > 0 {
		fmt.Fprintf(bw, "missing: %s known from earlier runs are not in this export\n", plural(s.Missing, "key"))
	}
	if s.Skipped > 0 {
		fmt.Fprintf(bw, "skipped %s already ok in the results journal\n", plural(s.Skipped, "row"))
	}
	if s.SkippedUnknown > 0 {
		fmt.Fprintf(bw, "skipped %s left unknown by an earlier run (their request may have been applied: check them in Altcraft; --retry-unknown sends them)\n",
			plural(s.SkippedUnknown, "row"))
	}
	if s.NotSent > 0 {
		if s.validate() {
			fmt.Fprintf(bw, "not checked: %s read but not finished because the run stopped\n", plural(s.NotSent, "row"))
		} else {
			fmt.Fprintf(bw, "not sent: %s read but not finished because the run stopped; --resume continues with them\n",
				plural(s.NotSent, "row"))
		}
	}
	if groups := s.Groups(); len(groups) > 0 {
		bw.WriteString("errors:\n")
		for _, g := range groups {
			fmt.Fprintf(bw, "  %s: %s", plural(g.Count, "row"), oneLineText(g.Error))
			if g.Column != "" {
				fmt.Fprintf(bw, " in column %q", g.Column)
			}
			if len(g.Rows) > 0 {
				word := "rows"
				if g.Count == 1 {
					word = "row"
				}
				fmt.Fprintf(bw, " — %s ", word)
				for i, r := range g.Rows {
					if i > 0 {
						bw.WriteString(", ")
					}
					fmt.Fprintf(bw, "%d", r)
				}
				if g.Count > int64(len(g.Rows)) {
					bw.WriteString(" …")
				}
			}
			bw.WriteByte('\n')
		}
	}
	if s.Requests > 0 || s.Retries > 0 {
		fmt.Fprintf(bw, "requests %d, retries %d\n", s.Requests, s.Retries)
	}
	if f := s.Final; f != nil {
		fmt.Fprintf(bw, "the journal now, with earlier runs: %d ok, %d failed, %d invalid, %d unknown\n",
			f.OK, f.Failed, f.Invalid, f.Unknown)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

// plural formats "1 row" / "2 rows".
func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// oneLineText keeps an error text on its line of the summary.
func oneLineText(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// formatDuration prints "12.3s" under a minute and "1h2m3s" above.
func formatDuration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// formatRate prints whole rows/s, with one decimal below 10.
func formatRate(r float64) string {
	if r < 10 {
		return fmt.Sprintf("%.1f", r)
	}
	return fmt.Sprintf("%.0f", r)
}

// summaryJSON is the --summary file's layout.
type summaryJSON struct {
	Input           string  `json:"input"`
	Config          string  `json:"config"`
	ExitCode        int     `json:"exit_code"`
	Interrupted     bool    `json:"interrupted"`
	StartedAt       string  `json:"started_at,omitempty"`
	FinishedAt      string  `json:"finished_at,omitempty"`
	Rows            int64   `json:"rows"`
	OK              int64   `json:"ok"`
	Failed          int64   `json:"failed"`
	Invalid         int64   `json:"invalid"`
	Unknown         int64   `json:"unknown"`
	Unchanged       int64   `json:"unchanged"`
	Missing         int64   `json:"missing"`
	Valid           int64   `json:"valid"`
	Skipped         int64   `json:"skipped"`
	SkippedUnknown  int64   `json:"skipped_unknown"`
	NotSent         int64   `json:"not_sent"`
	Requests        int64   `json:"requests"`
	Retries         int64   `json:"retries"`
	DurationSeconds float64 `json:"duration_seconds"`
	RowsPerSecond   float64 `json:"rows_per_second"`
	ErrorGroups     []Group `json:"error_groups"`
	Final           *Counts `json:"final,omitempty"`
}

// rfc3339 formats t for the JSON summary; "" for the zero time.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// WriteJSON writes the machine-readable summary (--summary): input, config,
// exit_code, interrupted, started_at, finished_at (RFC 3339), rows, ok,
// failed, invalid, unknown, valid, skipped, skipped_unknown, not_sent, requests, retries,
// duration_seconds, rows_per_second and error_groups [{error, column, count,
// rows}] (an empty list, never null).
func (s *Summary) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s.document()); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

// MarshalJSON is the document WriteJSON writes, on one line: a log
// record's summary field reads like the --summary file.
func (s *Summary) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s.document()); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

func (s *Summary) document() summaryJSON {
	return summaryJSON{
		Input: s.Input, Config: s.Config, ExitCode: s.ExitCode, Interrupted: s.Interrupted,
		StartedAt: rfc3339(s.StartedAt), FinishedAt: rfc3339(s.FinishedAt),
		Rows: s.Rows, OK: s.OK, Failed: s.Failed, Invalid: s.Invalid, Unknown: s.Unknown, Unchanged: s.Unchanged, Missing: s.Missing, Valid: s.Valid,
		Skipped: s.Skipped, SkippedUnknown: s.SkippedUnknown, NotSent: s.NotSent, Requests: s.Requests, Retries: s.Retries,
		DurationSeconds: math.Round(s.Duration.Seconds()*1000) / 1000,
		RowsPerSecond:   math.Round(s.rate()*100) / 100,
		ErrorGroups:     s.Groups(),
		Final:           s.Final,
	}
}
