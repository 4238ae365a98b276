package state

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestOpenRefuses: files that are not this importer's state, or of a newer
// format, are refused with an error that names the file and says why, and
// they are left unchanged.
func TestOpenRefuses(t *testing.T) {
	boltFile := func(fn func(tx *bolt.Tx) error) func(t *testing.T, path string) {
		return func(t *testing.T, path string) {
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(fn); err != nil {
				t.Fatal(err)
			}
			db.Close()
		}
	}
	setFormat := func(v []byte) func(t *testing.T, path string) {
		return func(t *testing.T, path string) {
			s := openStore(t, path)
			s.Close()
			boltFile(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(metaFormat, v) })(t, path)
		}
	}
	cases := []struct {
		name    string
		make    func(t *testing.T, path string)
		opts    Options
		kind    error
		message string
	}{
		{
			name: "a CSV file",
			make: func(t *testing.T, path string) {
				data := strings.Repeat("email,name\nanna@example.com,Anna\n", 400)
				if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			kind: ErrNotState, message: "not an importer state database",
		},
		{
			name: "a file shorter than a page",
			make: func(t *testing.T, path string) {
				if err := os.WriteFile(path, []byte("hello"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			kind: ErrNotState, message: "not an importer state database",
		},
		{
			name: "another program's bbolt database",
			make: boltFile(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("users")); return err }),
			kind: ErrNotState, message: "another program",
		},
		{
			name: "a bbolt database with a foreign meta bucket",
			make: boltFile(func(tx *bolt.Tx) error {
				b, err := tx.CreateBucket(bucketMeta)
				if err != nil {
					return err
				}
				return b.Put(metaMagic, []byte("something-else"))
			}),
			kind: ErrNotState, message: "another program",
		},
		{
			name: "a newer format version",
			make: setFormat(binary.AppendUvarint(nil, FormatVersion+1)),
			kind: ErrVersion, message: fmt.Sprintf("format version %d by a newer importer; this importer reads up to version %d", FormatVersion+1, FormatVersion),
		},
		{
			name: "an unreadable format version",
			make: setFormat([]byte{0xff}),
			kind: ErrNotState, message: "format version is unreadable",
		},
		{
			name: "read-only open of a file that does not exist",
			make: func(*testing.T, string) {},
			opts: Options{ReadOnly: true},
			kind: os.ErrNotExist, message: "no such file",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			tc.make(t, path)
			before, _ := os.ReadFile(path)
			s, err := Open(path, tc.opts)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tc.kind) {
				t.Errorf("Open error %q does not wrap %v", err, tc.kind)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.message) {
				t.Errorf("Open error %q, want it to name %s and say %q", err, path, tc.message)
			}
			after, _ := os.ReadFile(path)
			if string(before) != string(after) {
				t.Error("the refused file was changed")
			}
		})
	}
}

// TestOpenEmptyFile: an existing empty file (as touch leaves it) becomes a
// new state database.
func TestOpenEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, path)
	commit(t, s, testPut{"a", entry(1, 0, 1)})
	fold(t, s)
	if h := lookup(t, s, "a"); !h[0].Found {
		t.Error("the key committed to a new store is not found")
	}
}

const envLockDB = "STATE_TEST_LOCK_DB"

// TestLockChild is the process TestLockHeldByAnotherProcess starts: it opens
// the store, says so, and holds it until its stdin closes.
func TestLockChild(t *testing.T) {
	path := os.Getenv(envLockDB)
	if path == "" {
		t.Skip("helper process for TestLockHeldByAnotherProcess")
	}
	s, err := Open(path, Options{})
	if err != nil {
		os.Stdout.WriteString("error: " + err.Error() + "\n")
		os.Exit(3)
	}
	os.Stdout.WriteString("locked\n")
	io.Copy(io.Discard, os.Stdin)
	s.Close()
	os.Exit(0)
}

// TestLockHeldByAnotherProcess: while another process has the store open, a
// second Open (read-write or read-only) fails at once naming the file; once
// that process is gone, Open succeeds.
func TestLockHeldByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := openStore(t, path)
	s.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestLockChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), envLockDB+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "locked\n" {
		t.Fatalf("child said %q", line)
	}

	for _, opts := range []Options{{}, {ReadOnly: true}} {
		s, err := Open(path, opts)
		if err == nil {
			s.Close()
			t.Fatalf("ReadOnly=%v: Open succeeded while another process holds the lock", opts.ReadOnly)
		}
		if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "another importer process") {
			t.Errorf("ReadOnly=%v: Open error %q, want ErrLocked naming %s", opts.ReadOnly, err, path)
		}
	}

	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	s = openStore(t, path)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
