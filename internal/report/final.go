package report

import "time"

// Limits of what the report lists; the counts are always whole.
const (
	MaxErrorGroups = 100   // error groups listed; the rest are summed in one line
	MaxGroupRows   = 10    // row numbers listed per error group
	MaxConfigBytes = 64000 // config text shown
	MaxTimeline    = 100   // rate changes listed under the charts
)

// Final is what the run knows at its end, handed to [Recorder.Write].
type Final struct {
	Title    string // headline, e.g. the config's name; "" = "Import run"
	Input    string // the input as given (file name or URL; a URL's query is masked)
	Started  time.Time
	Finished time.Time
	ExitCode int
	// Outcome explains the exit code in words; "" = the importer's
	// meaning of ExitCode (0 every row ok, 2 rows rejected, …).
	Outcome string

	Statuses []StatusCount // rows by status, in the order to show
	Errors   []ErrorGroup  // most rows first

	Requests, Retries, Throttled int64

	Config  string   // the mapping config's YAML text as given (it never holds the token)
	Command []string // the command line; token-like values are masked in the report
}

// StatusCount is the number of rows that ended with one status.
type StatusCount struct {
	Status string // ok, failed, invalid, unknown, unchanged, missing, skipped, not sent…
	Rows   int64
}

// ErrorGroup is one kind of error: how many rows hit it and the first ones.
type ErrorGroup struct {
	Kind   string  // "invalid phone", "API error 404 Profile not found"
	Column string  // the column at fault; "" when the error is the row's
	Count  int64   // rows
	Rows   []int64 // the first row numbers, ascending
}

// outcome is Final.Outcome or the exit code's meaning.
func (f Final) outcome() string {
	if f.Outcome != "" {
		return f.Outcome
	}
	switch f.ExitCode {
	case 0:
		return "every row ok"
	case 1:
		return "stopped by a fatal error"
	case 2:
		return "finished, some rows rejected"
	case 3:
		return "stopped early: too many errors"
	case 130:
		return "interrupted"
	}
	return "exit code " + itoa(int64(f.ExitCode))
}

func (f Final) title() string {
	if f.Title == "" {
		return "Import run"
	}
	return f.Title
}
