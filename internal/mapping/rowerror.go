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

// RowErrors is every problem of one row that cannot be mapped: each bad
// column once, match keys first, then in config order. [Mapper.Map] returns
// it (never empty) for an invalid row. To handle each problem:
//
//	var re mapping.RowErrors
//	if errors.As(err, &re) {
//		for _, fe := range re {
//			// fe.Kind, fe.Column, ...
//		}
//	}
//
// errors.As(err, &fe) with a *FieldError finds the first problem, and
// errors.Is finds any problem's sentinel.
type RowErrors []*FieldError

// Error joins the problems' messages with "; ".
func (e RowErrors) Error() string {
	var b strings.Builder
	for i, fe := range e {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(fe.Error())
	}
	return b.String()
}

// Unwrap returns the problems, for errors.Is and errors.As.
func (e RowErrors) Unwrap() []error {
	out := make([]error, len(e))
	for i, fe := range e {
		out[i] = fe
	}
	return out
}

// add appends fe unless a problem with its column (or, for a constant, its
// field) is there already: a bad cell read by three fields is one problem.
func (e *RowErrors) add(fe *FieldError) {
	for _, have := range *e {
		if have.Column == fe.Column && (fe.Column != "" || have.Field == fe.Field) {
			return
		}
	}
	*e = append(*e, fe)
}
