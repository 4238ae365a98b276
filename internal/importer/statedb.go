package importer

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
	"runtime/debug"
	"time"

	"importer/internal/mapping"
	"importer/internal/state"
)

// statePath is the state database of a run: one per shard, since a shard's
// keys never move to another (keys hash to shards), so shards share nothing.
func statePath(path, shard string) string {
	if shard == "" {
		return path
	}
	k, n, _ := parseShard(shard)
	return fmt.Sprintf("%s.shard-%d-of-%d", path, k, n)
}

// openState opens the state database (--state) and, for a run, refuses an
// input the ledger says was already imported, whatever its name: the
// nightly job that picks up yesterday's file again applies nothing twice.
func (s *session) openState(m *mapping.Mapper) (err error) {
	o, store, path := s.o, s.store, s.store.Path()
	// The index of the state's keys is read while the input is hashed: each
	// keeps a core busy. A refused input waits for the reading to end.
	index := startIndex(store)
	defer func() {
		if err != nil {
			index()
		}
	}()
	if o.Input != "-" && s.remote == nil {
		var err error
		if s.content, err = hashFile(o.Input); err != nil {
			return err
		}
		s.hasContent = true
	}
	// --resume skips the ledger's check only to continue an existing
	// journal: without one it would import a finished export once more.
	resuming := o.Resume && s.p.prev != nil
	if s.remote != nil && o.Mode == ModeRun && !resuming && !o.Again && s.imported(s.remote.Meta()) {
		return fmt.Errorf("%w: the ledger of state %s has %s (%d bytes) imported already; --again sends it again",
			ErrAlreadyImported, path, s.remote.Meta().Location, s.remote.Meta().Size)
	}
	if s.hasContent && o.Mode == ModeRun && !resuming && !o.Again {
		run, found, err := store.FindRun(s.content)
		if err != nil {
			return err
		}
		if found {
			c := run.Counts
			return fmt.Errorf("%w: the ledger of state %s has this content (as %s) imported on %s: %d ok, %d unchanged, %d failed, %d invalid, %d unknown; "+
				"--again sends it again, --resume continues its journal", ErrAlreadyImported, path, run.Input,
				run.Finished.UTC().Format(time.RFC3339), c.OK, c.Unchanged, c.Failed, c.Invalid, c.Unknown)
		}
	}
	idx, err := index()
	if err != nil {
		return err
	}
	s.closers = append(s.closers, raiseMemoryLimit(idx.Bytes(), o.getenv))
	empty := idx.Len() == 0
	if empty {
		// A read-only store (validate) does not fold what a killed run
		// left staged: its lookups do not see those puts, but its
		// missing-key scan does, so only a state with neither is empty.
		pending, err := store.Pending()
		if err != nil {
			return err
		}
		empty = pending == 0
	}
	s.p.delta = newDelta(store, idx, empty, s.cfg.API.Endpoint, m.AppendEnvelope(nil, false))
	s.log.Info("state", "path", path, "mode", map[bool]string{true: "read only (validate)", false: "read and write"}[o.Mode == ModeValidate])
	return nil
}

// openStore opens the state database (--state) before the input, whose
// choice (--pick) may depend on the ledger.
func (s *session) openStore() error {
	o := s.o
	store, err := state.Open(statePath(o.State, o.Shard), state.Options{ReadOnly: o.Mode == ModeValidate})
	if err != nil {
		return err
	}
	s.store = store
	s.closers = append(s.closers, store.Close)
	if s.ledger, err = store.Runs(1000); err != nil {
		return err
	}
	return nil
}

// hashFile is the SHA-256 of a file's bytes: the ledger's name for an
// input's content (a pass over the file before the run; a regular file is
// read at several hundred MB/s).
func hashFile(path string) (state.Hash, error) {
	var h state.Hash
	f, err := os.Open(path)
	if err != nil {
		return h, fmt.Errorf("input: %w", err)
	}
	defer f.Close()
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		return h, fmt.Errorf("input %s: %w", path, err)
	}
	copy(h[:], sum.Sum(nil))
	return h, nil
}

// hashingReader hashes what is read through it: the content of a stream
// (stdin) that cannot be read twice.
type hashingReader struct {
	r io.Reader
	h hash.Hash
}

func (r *hashingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.h.Write(p[:n])
	return n, err
}

// finishState commits the last rows and, when the run read its whole input,
// records it in the ledger and reports the keys the export no longer holds.
// It runs before the journal closes: the state follows the journal.
func (s *session) finishState(runErr error) error {
	d, o, p := s.p.delta, s.o, s.p
	if d == nil {
		return nil
	}
	complete := runErr == nil && !p.limited.Load()
	if o.Mode == ModeValidate {
		if complete && o.Missing != "" {
			n, err := d.writeMissing(o.Missing)
			p.sum.Missing = int64(n)
			return err
		}
		return nil
	}
	var run *state.Run
	if complete {
		switch {
		case s.hasContent:
		case s.remote != nil:
			copy(s.content[:], s.remote.Sum())
		case s.stdinHash != nil:
			copy(s.content[:], s.stdinHash.h.Sum(nil))
		}
		sum := p.sum
		run = &state.Run{Content: s.content, Size: s.in.Size(), Input: inputName(o.Input),
			Config: sha256.Sum256(s.cfg.Source), Started: s.start, Finished: time.Now(),
			Counts: state.Counts{OK: sum.OK, Failed: sum.Failed, Invalid: sum.Invalid, Unknown: sum.Unknown, Unchanged: sum.Unchanged}}
	}
	missingPath := ""
	if complete {
		missingPath = o.Missing
	}
	n, err := d.finish(s.out.journal, run, missingPath)
	p.sum.Missing = n
	if err != nil {
		return err // each names what failed: the state, the journal, the missing-key file
	}
	// The run's puts were staged; folding them makes them what the next
	// run's lookups see. An interrupted run leaves them staged: stopping
	// soon matters more, and the next Open folds them.
	if runErr == nil {
		if err := d.store.Fold(context.Background()); err != nil {
			return err // "state fold in PATH: ..."
		}
	}
	if !complete && o.Missing != "" {
		s.log.Warn("--missing: no missing-key report, since the run did not read its whole input")
	}
	return nil
}

// ErrAlreadyImported refuses an input whose content the state's ledger
// holds as imported, under whatever name: its rows were applied already.
var ErrAlreadyImported = errors.New("this input was already imported")

// errNoState reports a state-only flag without --state.
var errNoState = errors.New("--missing needs --state: missing keys are the state's keys the export lacks")

// raiseMemoryLimit raises the process's soft memory limit by extra bytes,
// held for the whole run (the state's index), and returns what restores it.
// The importer's own limit bounds a run's working memory, which collects
// often once a large fixed part lives under it: a night with a 20 MB index
// under the 48 MiB limit collected 62-73 times instead of 42-48. A limit
// the user set (GOMEMLIMIT) is theirs and stays; so does no limit at all.
func raiseMemoryLimit(extra int64, getenv func(string) string) (restore func() error) {
	nothing := func() error { return nil }
	prev := debug.SetMemoryLimit(-1)
	if extra <= 0 || getenv("GOMEMLIMIT") != "" || prev >= math.MaxInt64/2 {
		return nothing
	}
	debug.SetMemoryLimit(prev + extra)
	return func() error {
		debug.SetMemoryLimit(prev)
		return nil
	}
}
