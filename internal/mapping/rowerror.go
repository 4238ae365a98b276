package mapping

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinels inside a FieldError, for errors.Is.
var (
	ErrInvalidValue = errors.New("invalid value")   // the value does not convert to the field's type
	ErrMissingValue = errors.New("missing value")   // a required field, or the match key, is empty
	ErrUnmapped     = errors.New("unmapped value")  // not in the field's map, and no map_default
	ErrWrongJSON    = errors.New("wrong JSON type") // a JSON object or array where a scalar is needed
)

// FieldError is a row that cannot be mapped: which column, which value and
// why. It is data for the results file, not a fatal error.
type FieldError struct {
	Row    int64
	Column string // the CSV header name or JSONL path; "" for a constant
	Field  string // the API field, like "phones" or "subscriptions[0].email"
	Value  string // the offending value, shortened to 40 runes
	Kind   string // a short label that groups errors in the summary, like "invalid phone"
	Reason string // what is wrong, written to follow the quoted value
	Err    error  // one of the Err* sentinels
}

// Error reads `column "Телефон": "12345" is not a valid phone number for region RU`.
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Column != "" {
		b.WriteString("column ")
		b.WriteString(strconv.Quote(e.Column))
	} else {
		b.WriteString("field ")
		b.WriteString(strconv.Quote(e.Field))
	}
	b.WriteString(": ")
	if e.Value != "" {
		b.WriteString(strconv.Quote(e.Value))
		b.WriteByte(' ')
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap returns the sentinel.
func (e *FieldError) Unwrap() error { return e.Err }
