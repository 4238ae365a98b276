//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package results

import (
	"errors"
	"fmt"
	"os"
)

// Lock takes the lock of a results journal: it creates journalPath+".lock"
// exclusively and writes our pid into it. This platform has no flock, so a
// lock file left by a crashed run cannot be told from a live one: the error
// wraps ErrLocked, names the pid in the file, and says to remove the file if
// that process is gone.
func Lock(journalPath string) (*FileLock, error) {
	path := lockPath(canonical(journalPath))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
	if errors.Is(err, os.ErrExist) {
		pid := 0
		if g, err := os.Open(path); err == nil {
			pid = readPid(g)
			g.Close()
		}
		return nil, &lockedError{journal: journalPath, lock: path, pid: pid}
	}
	if err != nil {
		return nil, fmt.Errorf("lock results %s: %w", journalPath, err)
	}
	if err := writePid(f); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("lock results %s: write pid: %w", journalPath, err)
	}
	return &FileLock{path: path, f: f}, nil
}

// Unlock closes and removes the lock file. It is idempotent.
func (l *FileLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	if rerr := os.Remove(l.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
		err = rerr
	}
	l.f = nil
	if err != nil {
		return fmt.Errorf("unlock %s: %w", l.path, err)
	}
	return nil
}
