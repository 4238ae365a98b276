//go:build unix

package mapping

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time the process has used, all threads (the
// collector's included), user and system: steadier than wall time on a
// shared machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
