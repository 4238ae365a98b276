package bench

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// sampleHWM follows a running child's peak resident set (VmHWM of
// /proc/PID/status, in KiB) until done is closed, and returns the last
// value read, or -1. Not ru_maxrss: Go starts children with vfork, and at
// exec Linux folds the parent's high-water mark into the child's ru_maxrss,
// so a child of a 200 MB driver reports at least 200 MB. VmHWM belongs to
// the child's own address space and only grows, so sampling every few
// milliseconds misses at most the growth of the last few.
func sampleHWM(pid int, done <-chan struct{}) int64 {
	best := int64(-1)
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		best = max(best, readHWM(pid))
		select {
		case <-done:
			return best
		case <-t.C:
		}
	}
}

// userHZ is the unit of the times in /proc/PID/stat: USER_HZ, 100 on every
// Linux architecture Go supports.
const userHZ = 100

// pidCPU is the CPU time (user + system) a running process has used so
// far, from /proc/PID/stat, or -1.
func pidCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// count fields after its closing one. utime and stime are fields 14, 15.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return -1
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(ut+st) * time.Second / userHZ
}

// readHWM is a running process's peak resident set in KiB, or -1.
func readHWM(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return -1
	}
	i := strings.Index(string(b), "VmHWM:")
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+len("VmHWM:"):]))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return -1
	}
	return v
}
