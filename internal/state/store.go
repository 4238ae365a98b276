package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// FormatVersion is the version of the file layout this package writes. Open
// reads files of this version and refuses newer ones.
const FormatVersion = 1

// magic marks a bbolt file as an importer state database.
const magic = "importer-state"

var (
	bucketKeys = []byte("keys")
	bucketRuns = []byte("runs")
	bucketMeta = []byte("meta")
	metaMagic  = []byte("magic")
	metaFormat = []byte("format")
)

// lockWait is how long Open waits for another process's lock to go before it
// reports ErrLocked. Short: a cron job should fail fast and say why.
const lockWait = 100 * time.Millisecond

// Options tune Open.
type Options struct {
	// ReadOnly opens an existing file for reading only (the stats and export
	// commands): it shares the lock with other readers and never creates or
	// changes the file.
	ReadOnly bool
}

// Store is an open state database. It is safe for concurrent use; see the
// package documentation for what runs in parallel.
type Store struct {
	db   *bolt.DB
	path string
}

// Open opens the state database at path, creating it unless opts.ReadOnly.
// It takes the file's lock (exclusive, or shared when read-only): a second
// process gets an error wrapping ErrLocked. A file that is not a state
// database is refused (ErrNotState), and so is one of a newer format
// (ErrVersion); neither is changed.
func Open(path string, opts Options) (*Store, error) {
	if opts.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("open state database: %w", err)
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:  lockWait,
		ReadOnly: opts.ReadOnly,
		// The free-page list is rebuilt from the tree at open instead of being
		// written at every commit: one page write less per commit, a few
		// milliseconds more per open.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		return nil, openFailed(path, err)
	}
	// Grow the file 1 MiB at a time, not bbolt's 16 MiB: the file stays
	// within a MiB of what the tree needs.
	db.AllocSize = 1 << 20
	s := &Store{db: db, path: path}
	if err := s.checkFormat(opts.ReadOnly); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// openFailed turns bbolt's open errors into ones that say what to do.
func openFailed(path string, err error) error {
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return &openError{path: path, kind: ErrLocked,
			why: "in use by another importer process (it holds the file's lock); wait for it to finish, or use another --state file"}
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum):
		return &openError{path: path, kind: ErrNotState,
			why: "not an importer state database (" + err.Error() + "); point --state at a new file or at one an importer wrote"}
	case errors.Is(err, bolterrors.ErrVersionMismatch):
		return &openError{path: path, kind: ErrVersion,
			why: "written by an incompatible storage engine version (" + err.Error() + ")"}
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("open state database: %w", err)
	}
	// bbolt reports a file too short to hold its meta pages in its own words.
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		return &openError{path: path, kind: ErrNotState, why: "not an importer state database (" + err.Error() + ")"}
	}
	return fmt.Errorf("open state database %s: %w", path, err)
}

// checkFormat checks the meta bucket, or writes it into a new, empty file.
func (s *Store) checkFormat(readOnly bool) error {
	var fresh bool
	err := s.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			empty := true
			tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
			if !empty {
				return &openError{path: s.path, kind: ErrNotState,
					why: "a bbolt database of another program, not an importer state database; point --state at a new file"}
			}
			fresh = true
			return nil
		}
		if string(meta.Get(metaMagic)) != magic {
			return &openError{path: s.path, kind: ErrNotState,
				why: "a bbolt database of another program, not an importer state database; point --state at a new file"}
		}
		v, n := binary.Uvarint(meta.Get(metaFormat))
		if n <= 0 {
			return &openError{path: s.path, kind: ErrNotState, why: "its format version is unreadable"}
		}
		if v > FormatVersion {
			return &openError{path: s.path, kind: ErrVersion,
				why: fmt.Sprintf("written in format version %d by a newer importer; this importer reads up to version %d: upgrade the importer", v, FormatVersion)}
		}
		if v == 0 {
			return &openError{path: s.path, kind: ErrNotState, why: "its format version is 0"}
		}
		return nil
	})
	if err != nil || !fresh {
		return err
	}
	if readOnly {
		return &openError{path: s.path, kind: ErrNotState, why: "empty: no importer has written it yet"}
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		if err := meta.Put(metaMagic, []byte(magic)); err != nil {
			return err
		}
		if err := meta.Put(metaFormat, binary.AppendUvarint(nil, FormatVersion)); err != nil {
			return err
		}
		for _, name := range [][]byte{bucketKeys, bucketRuns} {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		return nil
	})
}

// Path is the file the store was opened from.
func (s *Store) Path() string { return s.path }

// Close releases the file and its lock. Transactions in progress finish
// first.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close state database %s: %w", s.path, err)
	}
	return nil
}

// keys returns the keys bucket of tx, or a corruption error if it is gone.
func (s *Store) keys(tx *bolt.Tx) (*bolt.Bucket, error) {
	b := tx.Bucket(bucketKeys)
	if b == nil {
		return nil, fmt.Errorf("state database %s: the keys bucket is missing: %w", s.path, ErrCorrupt)
	}
	return b, nil
}
