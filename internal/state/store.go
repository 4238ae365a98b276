package state

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// FormatVersion is the version of the file layout this package writes. Open
// reads files of this version and older ones (a version 1 file, which had no
// staging bucket, is upgraded when opened for writing) and refuses newer ones.
// Version 2 added the staging bucket: an importer that knew only version 1
// would ignore staged puts and write past them, so it must refuse the file.
const FormatVersion = 2

// magic marks a bbolt file as an importer state database.
const magic = "importer-state"

var (
	bucketKeys   = []byte("keys")
	bucketRuns   = []byte("runs")
	bucketMeta   = []byte("meta")
	bucketStaged = []byte("staged")
	metaMagic    = []byte("magic")
	metaFormat   = []byte("format")
)

// lockWait is how long Open waits for another process's lock to go before it
// reports ErrLocked. Short: a cron job should fail fast and say why. (A
// variable for the tests.)
var lockWait = 100 * time.Millisecond

// allocSize is how much the file grows at a time: 1 MiB, not bbolt's
// 16 MiB, so the file stays within a MiB of what the tree needs.
const allocSize = 1 << 20

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
	path     string // as the caller gave it, for messages
	dataPath string // absolute, symlinks resolved: the file that is locked and rebuilt
	readOnly bool
	lock     *os.File // the flock on dataPath+".lock"; nil where there is none

	// writeMu serialises the operations that write: Commit, Fold, Forget.
	// A fold holds it from start to end, so no commit lands between the
	// moment a rebuild reads the file and the moment it replaces it.
	writeMu sync.Mutex
	// mu guards db: every transaction holds it shared; a rebuild's swap of
	// the file and Close hold it exclusively.
	mu sync.RWMutex
	db *bolt.DB // nil once closed
}

// Open opens the state database at path, creating it unless opts.ReadOnly.
// It takes the state's lock (exclusive, or shared when read-only; the lock
// is the file path+".lock", which stays beside the database): a second
// process gets an error wrapping ErrLocked that names the file. A file that
// is not a state database is refused (ErrNotState), and so is one of a
// newer format (ErrVersion); neither is changed.
//
// Opened for writing, a store whose last run was interrupted before its
// Fold is folded now (see Store.Fold), and the temporary files a rebuild
// that was killed left beside the database are removed. A read-only store
// folds nothing: its lookups see the last fold, and Missing, Export and
// Stats merge the staged puts into what they read.
func Open(path string, opts Options) (*Store, error) {
	if opts.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("open state database: %w", err)
		}
	}
	dataPath, err := resolvePath(path)
	if err != nil {
		return nil, fmt.Errorf("open state database %s: %w", path, err)
	}
	lock, err := lockFile(path, dataPath, opts.ReadOnly)
	if err != nil {
		return nil, err
	}
	s := &Store{path: path, dataPath: dataPath, readOnly: opts.ReadOnly, lock: lock}
	if s.db, err = openBolt(dataPath, opts.ReadOnly); err != nil {
		s.unlock()
		return nil, openFailed(path, err)
	}
	if err := s.checkFormat(); err != nil {
		s.Close()
		return nil, err
	}
	if opts.ReadOnly {
		return s, nil
	}
	if err := removeLeftovers(dataPath); err != nil {
		s.Close()
		return nil, fmt.Errorf("open state database %s: %w", path, err)
	}
	if err := s.Fold(context.Background()); err != nil {
		s.Close()
		return nil, fmt.Errorf("open state database %s: folding the puts an interrupted run left: %w", path, err)
	}
	return s, nil
}

// openBolt opens the bbolt file at path as the state uses it.
func openBolt(path string, readOnly bool) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:  lockWait,
		ReadOnly: readOnly,
		// The free-page list is rebuilt from the tree at open instead of being
		// written at every commit: one page write less per commit, a few
		// milliseconds more per open.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		return nil, err
	}
	db.AllocSize = allocSize
	return db, nil
}

// resolvePath makes path absolute and resolves its symlinks (the file's,
// even one whose target does not exist yet, and its directory's), so that
// two spellings of one database take one lock, and a rebuild replaces the
// file itself, not a symlink to it.
func resolvePath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	for range 40 { // as many links as a system follows
		fi, err := os.Lstat(abs)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			break
		}
		target, err := os.Readlink(abs)
		if err != nil {
			break
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(abs), target)
		}
		abs = target
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		abs = filepath.Join(dir, filepath.Base(abs))
	}
	return abs, nil // a missing directory is reported by the open that follows
}

// openFailed turns bbolt's open errors into ones that say what to do.
func openFailed(path string, err error) error {
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return lockedError(path)
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

// lockedError is Open's answer when another process holds the state.
func lockedError(path string) error {
	return &openError{path: path, kind: ErrLocked,
		why: "in use by another importer process (it holds the file's lock); wait for it to finish, or use another --state file"}
}

// checkFormat checks the meta bucket, writes it into a new, empty file, or
// upgrades a version 1 file opened for writing.
func (s *Store) checkFormat() error {
	var fresh bool
	var version uint64
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
		var err error
		version, err = s.readFormat(meta)
		return err
	})
	switch {
	case err != nil:
		return err
	case fresh && s.readOnly:
		return &openError{path: s.path, kind: ErrNotState, why: "empty: no importer has written it yet"}
	case fresh:
		return s.db.Update(func(tx *bolt.Tx) error { return initBuckets(tx) })
	case version < FormatVersion && !s.readOnly:
		return s.db.Update(upgrade)
	}
	return nil
}

// readFormat checks the magic string and returns the format version.
func (s *Store) readFormat(meta *bolt.Bucket) (uint64, error) {
	if string(meta.Get(metaMagic)) != magic {
		return 0, &openError{path: s.path, kind: ErrNotState,
			why: "a bbolt database of another program, not an importer state database; point --state at a new file"}
	}
	v, n := binary.Uvarint(meta.Get(metaFormat))
	if n <= 0 {
		return 0, &openError{path: s.path, kind: ErrNotState, why: "its format version is unreadable"}
	}
	if v > FormatVersion {
		return 0, &openError{path: s.path, kind: ErrVersion,
			why: fmt.Sprintf("written in format version %d by a newer importer; this importer reads up to version %d: upgrade the importer", v, FormatVersion)}
	}
	if v == 0 {
		return 0, &openError{path: s.path, kind: ErrNotState, why: "its format version is 0"}
	}
	return v, nil
}

// initBuckets writes the meta bucket and creates the others in a new file.
func initBuckets(tx *bolt.Tx) error {
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
	for _, name := range [][]byte{bucketKeys, bucketRuns, bucketStaged} {
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	return nil
}

// upgrade turns a version 1 file into version 2: it adds the staging bucket.
func upgrade(tx *bolt.Tx) error {
	if _, err := tx.CreateBucketIfNotExists(bucketStaged); err != nil {
		return err
	}
	return tx.Bucket(bucketMeta).Put(metaFormat, binary.AppendUvarint(nil, FormatVersion))
}

// Path is the file the store was opened from.
func (s *Store) Path() string { return s.path }

// Close releases the file and its lock. A commit or fold in progress
// finishes first (cancel a fold's context to stop it sooner). Puts
// committed since the last Fold stay staged in the file; the next Open
// folds them.
func (s *Store) Close() error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	db := s.db
	s.db = nil
	s.mu.Unlock()
	var err error
	if db != nil {
		err = db.Close()
	}
	s.unlock()
	if err != nil {
		return fmt.Errorf("close state database %s: %w", s.path, err)
	}
	return nil
}

// unlock releases the lock file's flock (closing it does).
func (s *Store) unlock() {
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
}

// view runs fn in a read transaction.
func (s *Store) view(fn func(tx *bolt.Tx) error) error { return s.txn(false, fn) }

// update runs fn in a write transaction (one durable commit).
func (s *Store) update(fn func(tx *bolt.Tx) error) error { return s.txn(true, fn) }

func (s *Store) txn(write bool, fn func(tx *bolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	switch {
	case s.db == nil:
		return s.closedError()
	case write:
		return s.db.Update(fn)
	}
	return s.db.View(fn)
}

func (s *Store) closedError() error {
	return fmt.Errorf("state database %s is closed", s.path)
}

// keys returns the keys bucket of tx, or a corruption error if it is gone.
func (s *Store) keys(tx *bolt.Tx) (*bolt.Bucket, error) {
	b := tx.Bucket(bucketKeys)
	if b == nil {
		return nil, fmt.Errorf("state database %s: the keys bucket is missing: %w", s.path, ErrCorrupt)
	}
	return b, nil
}

// staged returns the staging bucket of tx, or a corruption error if it is
// gone (a version 1 file opened read-only has none: see hasStaged).
func (s *Store) staged(tx *bolt.Tx) (*bolt.Bucket, error) {
	b := tx.Bucket(bucketStaged)
	if b == nil {
		return nil, fmt.Errorf("state database %s: the staging bucket is missing: %w", s.path, ErrCorrupt)
	}
	return b, nil
}
