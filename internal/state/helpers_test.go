package state

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// openStore opens (creating) a state database at path or fails the test, and
// closes it when the test ends unless the test closed it already.
func openStore(tb testing.TB, path string) *Store {
	tb.Helper()
	s, err := Open(path, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// newStore opens a fresh state database in a temporary directory.
func newStore(tb testing.TB) *Store {
	tb.Helper()
	return openStore(tb, filepath.Join(tb.TempDir(), "state.db"))
}

// fpOf is a deterministic fingerprint for a test value.
func fpOf(parts ...int64) Fingerprint {
	h := sha256.New()
	for _, p := range parts {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(p)))
	}
	var f Fingerprint
	copy(f[:], h.Sum(nil))
	return f
}

// at is a second-precision UTC time n days after a fixed night.
func at(days int) time.Time {
	return time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC).AddDate(0, 0, days)
}

// commit puts the given entries in one batch and commits it, or fails.
func commit(tb testing.TB, s *Store, puts ...testPut) {
	tb.Helper()
	var b Batch
	for _, p := range puts {
		b.Put(p.key, p.e.Fingerprint, p.e.Time, p.e.Row)
	}
	if err := s.Commit(&b); err != nil {
		tb.Fatal(err)
	}
}

// fold folds the staged puts or fails the test.
func fold(tb testing.TB, s *Store) {
	tb.Helper()
	if err := s.Fold(context.Background()); err != nil {
		tb.Fatal(err)
	}
}

// foldWith folds with the given strategy (foldAuto: as Fold would) or fails
// the test.
func foldWith(tb testing.TB, s *Store, how foldHow) {
	tb.Helper()
	if err := s.foldWith(context.Background(), how); err != nil {
		tb.Fatal(err)
	}
}

// testPut is one Put of a test.
type testPut struct {
	key string
	e   Entry
}

// entry is the Entry a test expects back for fingerprint seed n.
func entry(n int64, day int, row int64) Entry {
	return Entry{Fingerprint: fpOf(n), Time: at(day), Row: row}
}

// lookup looks keys up or fails the test.
func lookup(tb testing.TB, s *Store, keys ...string) []Hit {
	tb.Helper()
	out := make([]Hit, len(keys))
	if err := s.Lookup(keys, out); err != nil {
		tb.Fatal(err)
	}
	return out
}

// readFile reads a file or fails the test.
func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
