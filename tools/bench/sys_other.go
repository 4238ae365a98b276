//go:build !linux

package bench

import (
	"time"
)

// sampleHWM is -1 (unknown) off Linux, which alone has /proc/PID/status;
// the reference machine is Linux.
func sampleHWM(_ int, done <-chan struct{}) int64 {
	<-done
	return -1
}

// pidCPU is -1 (unknown) off Linux, which has no /proc/PID/stat.
func pidCPU(int) time.Duration { return -1 }

// readHWM is -1 (unknown) off Linux.
func readHWM(int) int64 { return -1 }
