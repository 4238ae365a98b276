//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package results

import (
	"errors"
	"fmt"
	"importer/internal/flock"
	"os"
	"syscall"
)

// Lock takes the lock of a results journal: flock(LOCK_EX|LOCK_NB) on
// journalPath+".lock", which then holds our pid. When another process holds
// it, the error wraps ErrLocked and names that process's pid. A lock file
// left by a dead process holds no flock and is simply taken over: the kernel
// drops a process's flocks when it dies, however it dies.
//
// The lock follows the file, not the spelling of its path: the journal's
// path is made absolute and its symlinks resolved (the file's, when it
// exists and is one, and the directories'), so two runs reaching one
// journal through a symlink or `..` take the same lock.
func Lock(journalPath string) (*FileLock, error) {
	path := lockPath(canonical(journalPath))
	// A run that is finishing removes the file while it still holds the flock;
	// if we opened the old file just before that, we lock an orphan inode.
	// Check that the path still names what we locked, and retry if not.
	for range 10 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
		if err != nil {
			return nil, fmt.Errorf("lock results %s: %w", journalPath, err)
		}
		if err := flock.Apply(f, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			var pid int
			if errors.Is(err, syscall.EWOULDBLOCK) {
				pid = readPid(f)
			}
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, &lockedError{journal: journalPath, lock: path, pid: pid}
			}
			return nil, fmt.Errorf("lock results %s: %w", journalPath, err)
		}
		held, err1 := f.Stat()
		named, err2 := os.Stat(path)
		if err1 != nil || err2 != nil || !os.SameFile(held, named) {
			f.Close()
			continue
		}
		if err := writePid(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock results %s: write pid: %w", journalPath, err)
		}
		return &FileLock{path: path, f: f}, nil
	}
	return nil, fmt.Errorf("lock results %s: %s keeps being replaced by other runs", journalPath, path)
}

// Unlock removes the lock file and releases the lock. The file goes first,
// while we still hold the flock, so a waiting run never takes over a file
// that is about to vanish. Unlock is idempotent.
func (l *FileLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := os.Remove(l.path)
	if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	if err != nil {
		return fmt.Errorf("unlock %s: %w", l.path, err)
	}
	return nil
}
