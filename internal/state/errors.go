package state

import (
	"errors"
	"fmt"
)

// ErrLocked is wrapped by Open's error when another process has the state
// database open.
var ErrLocked = errors.New("state database is in use by another process")

// ErrNotState is wrapped by Open's error when the file exists but is not an
// importer state database.
var ErrNotState = errors.New("not an importer state database")

// ErrVersion is wrapped by Open's error when the file was written in a
// format this importer does not read (a newer one).
var ErrVersion = errors.New("state database format not supported")

// ErrCorrupt is wrapped by every error about stored bytes that do not decode.
var ErrCorrupt = errors.New("state database holds a corrupt record")

// openError explains why Open refused a file; it names the file and says
// what to do.
type openError struct {
	path, why string
	kind      error
}

func (e *openError) Error() string { return fmt.Sprintf("state database %s: %s", e.path, e.why) }
func (e *openError) Unwrap() error { return e.kind }
