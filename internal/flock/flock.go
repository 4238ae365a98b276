//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package flock

import (
	"os"
	"syscall"
)

// Apply applies how (syscall.LOCK_EX, LOCK_SH or LOCK_UN, optionally with
// LOCK_NB) to f, retrying when a signal interrupts the call: a run that
// gets SIGINT while it waits for a lock must not take EINTR for "held".
func Apply(f *os.File, how int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			ferr = syscall.Flock(int(fd), how)
			if ferr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	return ferr
}
