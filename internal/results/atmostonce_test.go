package results

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestInFlight: rows recorded in flight read back as unknown, and as in
// flight, until their final line comes; then the final line wins.
func TestInFlight(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in"+f.ext)
			j, err := OpenJournal(path, false)
			if err != nil {
				t.Fatal(err)
			}
			if err := j.WriteInFlight([]Row{{Row: 1, Line: 2, Key: "a"}, {Row: 2, Line: 3, Key: "b"}, {Row: 3, Line: 4, Key: "c"}}); err != nil {
				t.Fatal(err)
			}
			// In flight means on disk, not in a buffer: a kill -9 now must
			// leave them there.
			if got := string(mustReadFile(t, path)); strings.Count(got, InFlightCode) != 3 {
				t.Fatalf("after WriteInFlight the file holds:\n%s\nwant 3 in-flight lines", got)
			}
			for _, r := range []Row{{Row: 1, Line: 2, Key: "a", Status: StatusOK, ProfileID: "p"}, {Row: 3, Line: 4, Key: "c", Status: StatusFailed}} {
				if err := j.Write(&r); err != nil {
					t.Fatal(err)
				}
			}
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			prev, err := ReadJournal(path)
			if err != nil {
				t.Fatal(err)
			}
			want := Counts{OK: 1, Failed: 1, Unknown: 1, InFlight: 1, Other: 1}
			if got := prev.Count(); got != want {
				t.Errorf("Count() = %+v, want %+v", got, want)
			}
			if !prev.Unknown(2) || prev.Unknown(1) || prev.Unknown(3) || !prev.OK(1) {
				t.Errorf("Unknown(1,2,3) = %v %v %v, OK(1) = %v; want only row 2 unknown",
					prev.Unknown(1), prev.Unknown(2), prev.Unknown(3), prev.OK(1))
			}
		})
	}
}

// TestInFlightConcurrent: in-flight lines from many goroutines and final
// lines from the owner interleave as whole lines.
func TestInFlightConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.results.csv")
	j, err := OpenJournal(path, false)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				row := int64(g*1000 + i + 1)
				if err := j.WriteInFlight([]Row{{Row: row, Key: "k"}}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for i := range 400 {
		if err := j.Write(&Row{Row: int64(100000 + i), Status: StatusOK}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	prev, err := ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if c := prev.Count(); c.InFlight != 400 || c.OK != 400 {
		t.Errorf("Count() = %+v, want 400 in flight and 400 ok", c)
	}
}

// TestJournalLost: a journal deleted, replaced or truncated under a running
// import is a fatal error naming what happened, at the next flush or at
// Close; never a quiet success.
func TestJournalLost(t *testing.T) {
	tests := []struct {
		name string
		do   func(t *testing.T, path string)
		want string
	}{
		{"Deleted", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}, "was deleted during the run"},
		{"Replaced", func(t *testing.T, path string) {
			tmp := path + ".new"
			mustWriteFile(t, tmp, []byte(csvHeaderLine+"\n"))
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}, "was replaced by another file during the run"},
		{"Truncated", func(t *testing.T, path string) {
			if err := os.Truncate(path, 10); err != nil {
				t.Fatal(err)
			}
		}, "was truncated during the run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in.results.csv")
			j, err := OpenJournal(path, false)
			if err != nil {
				t.Fatal(err)
			}
			clock := time.Now()
			j.now = func() time.Time { return clock }
			for i := range 3 {
				if err := j.Write(&Row{Row: int64(i + 1), Status: StatusOK}); err != nil {
					t.Fatal(err)
				}
			}
			if err := j.Flush(); err != nil {
				t.Fatal(err)
			}
			tt.do(t, path)
			clock = clock.Add(time.Second) // past the check interval
			werr := j.Write(&Row{Row: 4, Status: StatusOK})
			if werr == nil {
				werr = j.Flush()
			}
			cerr := j.Close()
			for _, err := range []error{werr, cerr} {
				if !errors.Is(err, ErrJournalLost) || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("error = %v, want ErrJournalLost saying %q", err, tt.want)
				}
			}
		})
	}
}

// TestLockFollowsTheFile: two spellings of one journal (a symlink, a path
// through "..") take the same lock.
func TestLockFollowsTheFile(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real", "x.results.csv")
	if err := os.MkdirAll(filepath.Dir(real), 0o755); err != nil {
		t.Fatal(err)
	}
	mustWriteFile(t, real, nil)
	link := filepath.Join(dir, "link.results.csv")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	dirLink := filepath.Join(dir, "dirlink")
	if err := os.Symlink(filepath.Join(dir, "real"), dirLink); err != nil {
		t.Fatal(err)
	}
	l, err := Lock(real)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	for _, other := range []string{
		link,
		filepath.Join(dir, "real", "..", "real", "x.results.csv"),
		filepath.Join(dirLink, "x.results.csv"),
	} {
		if _, err := Lock(other); !errors.Is(err, ErrLocked) {
			t.Errorf("Lock(%s) = %v, want ErrLocked: it is the same journal", other, err)
		}
	}
}

// TestSetAside: a journal and its fingerprint move out of the way together,
// never over an earlier one.
func TestSetAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.results.csv")
	now := time.Date(2026, 12, 3, 10, 20, 31, 0, time.UTC)
	if to, err := SetAside(path, "previous", now); err != nil || to != "" {
		t.Fatalf("SetAside(no journal) = %q, %v; want nothing to do", to, err)
	}
	var moved []string
	for range 2 {
		mustWriteFile(t, path, []byte(csvHeaderLine+"\n"))
		if err := (Fingerprint{Input: "x", Size: 1}).Save(path); err != nil {
			t.Fatal(err)
		}
		to, err := SetAside(path, "previous", now)
		if err != nil {
			t.Fatal(err)
		}
		moved = append(moved, to)
		if _, err := os.Stat(to + ".fingerprint"); err != nil {
			t.Errorf("the fingerprint did not follow the journal to %s: %v", to, err)
		}
	}
	want := []string{filepath.Join(dir, "x.results.previous-20261203T102031.csv"), filepath.Join(dir, "x.results.previous-20261203T102031-2.csv")}
	if moved[0] != want[0] || moved[1] != want[1] {
		t.Errorf("set aside to %v, want %v", moved, want)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the journal is still at %s", path)
	}
}

// TestMarkFinished: a finished run's fingerprint says so, and Same tells
// the same input and config from a changed one.
func TestMarkFinished(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	mustWriteFile(t, in, []byte("a\n1\n"))
	journal := in + ".results.csv"
	fp, err := NewFingerprint(in, []byte("cfg"))
	if err != nil {
		t.Fatal(err)
	}
	if err := fp.Save(journal); err != nil {
		t.Fatal(err)
	}
	if err := MarkFinished(journal, 1, time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFingerprint(journal)
	if err != nil {
		t.Fatal(err)
	}
	if got.Finished != "2026-12-03T00:00:00Z" || got.Rows != 1 || !got.Same(fp) {
		t.Errorf("after MarkFinished: %+v; want finished, 1 row, same as %+v", got, fp)
	}
	other, _ := NewFingerprint(in, []byte("another config"))
	stdin, _ := NewFingerprint("-", []byte("cfg"))
	if got.Same(other) || stdin.Same(stdin) {
		t.Error("Same() holds for a changed config, or for stdin")
	}
}
