//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package flock

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestApply: flock locks are per open file: a second open of the same file
// cannot take an exclusive lock while the first holds one, shared locks
// coexist, and unlocking lets the next one in.
func TestApply(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	open := func() *os.File {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	a, b := open(), open()
	steps := []struct {
		name string
		f    *os.File
		how  int
		held bool // want EWOULDBLOCK
	}{
		{"first exclusive lock", a, syscall.LOCK_EX | syscall.LOCK_NB, false},
		{"second exclusive lock while held", b, syscall.LOCK_EX | syscall.LOCK_NB, true},
		{"shared lock while exclusive is held", b, syscall.LOCK_SH | syscall.LOCK_NB, true},
		{"unlock", a, syscall.LOCK_UN, false},
		{"shared lock", a, syscall.LOCK_SH | syscall.LOCK_NB, false},
		{"another shared lock", b, syscall.LOCK_SH | syscall.LOCK_NB, false},
		{"exclusive while shared by another", a, syscall.LOCK_EX | syscall.LOCK_NB, true},
	}
	for _, s := range steps {
		err := Apply(s.f, s.how)
		if held := errors.Is(err, syscall.EWOULDBLOCK); held != s.held || (err != nil && !held) {
			t.Fatalf("%s: error %v, want held=%v", s.name, err, s.held)
		}
	}
	c := open()
	c.Close()
	if err := Apply(c, syscall.LOCK_EX); err == nil {
		t.Error("a closed file was locked")
	}
}
