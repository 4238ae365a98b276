//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package state

import (
	"errors"
	"fmt"
	"importer/internal/flock"
	"os"
	"syscall"
	"time"
)

// lockFile takes the state's lock: flock on dataPath+".lock", exclusive for
// a writer, shared for a reader, waiting up to lockWait. The lock lives in a
// file of its own because a rebuild replaces the data file by a rename: a
// flock on the data file would stay on the old inode, and another process
// could lock the new one in between. The lock file is never removed (a
// process that removed it could race one that is opening it); the kernel
// drops the flock when its process dies, however it dies.
//
// A reader that may not create the lock file (a read-only directory) goes
// without it and relies on bbolt's flock on the data file, which a writer
// also holds outside a rebuild's swap.
func lockFile(path, dataPath string, shared bool) (*os.File, error) {
	lp := dataPath + ".lock"
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil && shared {
		if f, err = os.Open(lp); err != nil {
			return nil, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("lock state database %s: %w", path, err)
	}
	how := syscall.LOCK_EX
	if shared {
		how = syscall.LOCK_SH
	}
	deadline := time.Now().Add(lockWait)
	for {
		err := flock.Apply(f, how|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock state database %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, lockedError(path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// posixFiles reports whether a file this process holds open (and mapped)
// may be renamed over or unlinked: a rebuild then swaps files without
// letting go of the old one first, and a spill file is unlinked as soon as
// it is created.
const posixFiles = true
