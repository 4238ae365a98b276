package results

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrLocked is wrapped by Lock's error when another importer run holds the
// journal's lock.
var ErrLocked = errors.New("results journal is locked by another run")

// FileLock is a held lock on a results journal: the file journalPath+".lock"
// holding the owner's pid. Unlock releases it. A FileLock is not safe for
// concurrent use.
type FileLock struct {
	path string // the lock file
	f    *os.File
}

// lockPath is the lock file beside a journal.
func lockPath(journalPath string) string { return journalPath + ".lock" }

// canonical is the one path of a journal however it is spelled: absolute,
// cleaned, symlinks resolved (the journal's own when it is one, even one
// pointing at a file not created yet, and its directory's, since the file
// may not exist yet). On any error it falls back to the cleaned absolute
// path, or the path as given.
func canonical(journalPath string) string {
	abs, err := filepath.Abs(journalPath)
	if err != nil {
		return journalPath
	}
	// A symlink to a journal not written yet: EvalSymlinks fails on it, so
	// follow the links by hand to the file the run will create.
	for range 40 {
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			return real
		}
		target, err := os.Readlink(abs)
		if err != nil {
			break
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(abs), target)
		}
		abs = filepath.Clean(target)
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return abs
	}
	return filepath.Join(dir, filepath.Base(abs))
}

// lockedError is Lock's refusal: its text tells the user what to do, and it
// unwraps to ErrLocked.
type lockedError struct {
	journal, lock string
	pid           int // 0 when the lock file does not say
}

func (e *lockedError) Error() string {
	who := "pid unknown"
	if e.pid > 0 {
		who = "pid " + strconv.Itoa(e.pid)
	}
	return fmt.Sprintf("results file %q is in use by another importer run (%s); wait for it or remove %s if that process is gone",
		e.journal, who, e.lock)
}

func (e *lockedError) Unwrap() error { return ErrLocked }

// readPid reads the owner's pid from a lock file, 0 if it holds none.
func readPid(f *os.File) int {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// writePid replaces the lock file's content with our pid.
func writePid(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}
