package input

import "errors"

// kindError is a row error whose text is all its own but which still
// matches one of the row-level sentinels with errors.Is.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// rowKinds are the row-level sentinels, in the order Kind tries them.
var rowKinds = []error{
	ErrFieldCount, ErrBareQuote, ErrUnclosedQuote, ErrInvalidUTF8,
	ErrFieldTooLong, ErrNUL, ErrNotObject, ErrNamelessValue,
}

// Kind returns the row-level sentinel (ErrFieldCount, ErrBareQuote, ...)
// that e wraps, without the row's details: the label to group row errors
// by, where Err.Error() names the row's value too. It returns e.Err itself
// when that matches no sentinel.
func (e *RowError) Kind() error {
	for _, k := range rowKinds {
		if errors.Is(e.Err, k) {
			return k
		}
	}
	return e.Err
}
