package results

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const envLockJournal = "RESULTS_TEST_LOCK_JOURNAL"

// TestLockChild is the second process of TestLock: it tries the lock once
// and reports the outcome on stdout.
func TestLockChild(t *testing.T) {
	path := os.Getenv(envLockJournal)
	if path == "" {
		t.Skip("helper process for TestLock")
	}
	l, err := Lock(path)
	if err != nil {
		fmt.Printf("refused ErrLocked=%v: %v\n", errors.Is(err, ErrLocked), err)
		os.Exit(0)
	}
	fmt.Println("acquired")
	if err := l.Unlock(); err != nil {
		fmt.Println("unlock:", err)
	}
	os.Exit(0)
}

// lockInChild runs TestLockChild on journal and returns its report.
func lockInChild(t *testing.T, journal string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), envLockJournal+"="+journal)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "refused") || line == "acquired" {
			return line
		}
	}
	t.Fatalf("child said nothing useful:\n%s", out)
	return ""
}

func TestLock(t *testing.T) {
	journal := filepath.Join(t.TempDir(), "x.results.csv")
	l, err := Lock(journal)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(mustReadFile(t, journal+".lock"))); got != strconv.Itoa(os.Getpid()) {
		t.Errorf("lock file holds %q, want our pid %d", got, os.Getpid())
	}

	want := fmt.Sprintf("refused ErrLocked=true: results file %q is in use by another importer run (pid %d); "+
		"wait for it or remove %s.lock if that process is gone", journal, os.Getpid(), journal)
	if got := lockInChild(t, journal); got != want {
		t.Errorf("second process:\n got %s\nwant %s", got, want)
	}

	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(journal + ".lock"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Unlock the lock file is still there (%v)", err)
	}
	if err := l.Unlock(); err != nil {
		t.Errorf("second Unlock() = %v, want nil", err)
	}
	if got := lockInChild(t, journal); got != "acquired" {
		t.Errorf("second process after Unlock: %s, want acquired", got)
	}
}

func TestLockStale(t *testing.T) {
	journal := filepath.Join(t.TempDir(), "x.results.csv")
	// A run killed with -9 leaves its lock file but holds no flock.
	mustWriteFile(t, journal+".lock", []byte("99999999\n"))
	l, err := Lock(journal)
	if err != nil {
		t.Fatalf("Lock over a stale lock file = %v, want it taken over", err)
	}
	defer l.Unlock()
	if got := strings.TrimSpace(string(mustReadFile(t, journal+".lock"))); got != strconv.Itoa(os.Getpid()) {
		t.Errorf("lock file holds %q, want our pid %d", got, os.Getpid())
	}
}

func TestLockSameProcess(t *testing.T) {
	// flock belongs to the open file, so even this process cannot take the
	// lock twice: two pipelines in one process are refused too.
	journal := filepath.Join(t.TempDir(), "x.results.csv")
	l, err := Lock(journal)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if _, err := Lock(journal); !errors.Is(err, ErrLocked) {
		t.Errorf("second Lock() = %v, want ErrLocked", err)
	}
}

func TestLockErrors(t *testing.T) {
	_, err := Lock(filepath.Join(t.TempDir(), "no-such-dir", "x.csv"))
	if err == nil || errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "lock results") {
		t.Errorf("Lock(in a missing dir) = %v, want an I/O error naming the journal", err)
	}
}
