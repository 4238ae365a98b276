package importer

import (
	"context"
	"errors"
)

// Exit codes: the contract with cron jobs and scripts (README, "Exit codes").
const (
	ExitOK          = 0   // every row ok (valid for validate)
	ExitFatal       = 1   // usage, config, I/O, token rejected, API unreachable
	ExitRowErrors   = 2   // finished; some rows failed, invalid or unknown
	ExitMaxErrors   = 3   // stopped early by --max-errors
	ExitInterrupted = 130 // SIGINT/SIGTERM; --resume continues
)

// Errors Run returns when the run finished but not cleanly. Anything else it
// returns is fatal.
var (
	ErrRowErrors   = errors.New("some rows failed, were invalid or have an unknown outcome")
	ErrMaxErrors   = errors.New("stopped early: --max-errors reached")
	ErrInterrupted = errors.New("interrupted")
)

// ExitCode maps an error returned by Run or Check to the process exit code.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrInterrupted), errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.Is(err, ErrMaxErrors):
		return ExitMaxErrors
	case errors.Is(err, ErrRowErrors):
		return ExitRowErrors
	}
	return ExitFatal
}
