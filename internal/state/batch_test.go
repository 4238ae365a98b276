package state

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestCommitLookup: what Lookup answers after a sequence of committed
// batches and a fold, folded in place or by a rebuild.
func TestCommitLookup(t *testing.T) {
	a, b := "anna@example.com", "boris@example.com"
	cases := []struct {
		name    string
		batches [][]testPut
		keys    []string
		want    []Hit
	}{
		{
			name: "an empty state finds nothing",
			keys: []string{a, b, ""},
			want: []Hit{{}, {}, {}},
		},
		{
			name:    "a committed put is found with its fingerprint, time and row",
			batches: [][]testPut{{{a, entry(1, 0, 7)}}},
			keys:    []string{a, b},
			want:    []Hit{{Found: true, Entry: entry(1, 0, 7)}, {}},
		},
		{
			name:    "the last put for a key in one batch wins",
			batches: [][]testPut{{{a, entry(1, 0, 1)}, {b, entry(2, 0, 2)}, {a, entry(3, 0, 3)}, {a, entry(4, 0, 4)}}},
			keys:    []string{a, b},
			want:    []Hit{{Found: true, Entry: entry(4, 0, 4)}, {Found: true, Entry: entry(2, 0, 2)}},
		},
		{
			name:    "a later batch overwrites an earlier one",
			batches: [][]testPut{{{a, entry(1, 0, 1)}}, {{a, entry(2, 1, 9)}}},
			keys:    []string{a},
			want:    []Hit{{Found: true, Entry: entry(2, 1, 9)}},
		},
		{
			name:    "a key found twice in one chunk is answered twice",
			batches: [][]testPut{{{a, entry(1, 0, 1)}}},
			keys:    []string{a, b, a},
			want:    []Hit{{Found: true, Entry: entry(1, 0, 1)}, {}, {Found: true, Entry: entry(1, 0, 1)}},
		},
		{
			name:    "a key is matched exactly: no prefix, no case folding",
			batches: [][]testPut{{{a, entry(1, 0, 1)}}},
			keys:    []string{"anna@example.co", "anna@example.com.", "ANNA@example.com"},
			want:    []Hit{{}, {}, {}},
		},
		{
			name: "keys of any bytes: Cyrillic, commas, quotes, newlines, NUL",
			batches: [][]testPut{{
				{"иван@пример.рф", entry(1, 0, 1)}, {"a,b\"c\nd", entry(2, 0, 2)}, {"x\x00y", entry(3, 0, 3)},
			}},
			keys: []string{"иван@пример.рф", "a,b\"c\nd", "x\x00y", "x"},
			want: []Hit{{Found: true, Entry: entry(1, 0, 1)}, {Found: true, Entry: entry(2, 0, 2)}, {Found: true, Entry: entry(3, 0, 3)}, {}},
		},
		{
			name: "time is kept to the second, in UTC; rows of any size",
			batches: [][]testPut{{
				{a, Entry{Fingerprint: fpOf(1), Time: time.Date(2026, 12, 1, 5, 6, 7, 999_999_999, time.FixedZone("MSK", 3*3600)), Row: 1 << 40}},
				{b, Entry{Fingerprint: fpOf(2), Time: time.Unix(0, 0), Row: 0}},
			}},
			keys: []string{a, b},
			want: []Hit{
				{Found: true, Entry: Entry{Fingerprint: fpOf(1), Time: time.Date(2026, 12, 1, 2, 6, 7, 0, time.UTC), Row: 1 << 40}},
				{Found: true, Entry: Entry{Fingerprint: fpOf(2), Time: time.Unix(0, 0).UTC(), Row: 0}},
			},
		},
	}
	for _, tc := range cases {
		for _, how := range []foldHow{foldInPlace, foldRebuild} {
			t.Run(tc.name+"/"+how.String(), func(t *testing.T) {
				s := newStore(t)
				for _, puts := range tc.batches {
					commit(t, s, puts...)
				}
				foldWith(t, s, how)
				if diff := cmp.Diff(tc.want, lookup(t, s, tc.keys...)); diff != "" {
					t.Errorf("Lookup(%q) (-want +got):\n%s", tc.keys, diff)
				}
			})
		}
	}
}

// TestCommitRefusesBadKeys: a batch with an empty or oversized key is
// refused whole, naming the row; nothing of it is written.
func TestCommitRefusesBadKeys(t *testing.T) {
	cases := []struct {
		name, key, want string
	}{
		{"empty key", "", "row 12: key of 0 bytes"},
		{"key over the limit", strings.Repeat("k", MaxKeyLen+1), "row 12: key of 32769 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			var b Batch
			b.Put("good@example.com", fpOf(1), at(0), 11)
			b.Put(tc.key, fpOf(2), at(0), 12)
			err := s.Commit(&b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Commit = %v, want an error containing %q", err, tc.want)
			}
			fold(t, s)
			if h := lookup(t, s, "good@example.com"); h[0].Found {
				t.Error("the good key of the refused batch was written")
			}
		})
	}
}

// TestBatchReuse: a reset batch forgets its puts and its ledger entry, and
// a batch can be committed again after a failure.
func TestBatchReuse(t *testing.T) {
	s := newStore(t)
	var b Batch
	b.Put("a", fpOf(1), at(0), 1)
	b.Record(Run{Input: "first"})
	if err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if b.Len() != 0 {
		t.Fatalf("Len after Reset = %d", b.Len())
	}
	b.Put("b", fpOf(2), at(0), 2)
	if err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	runs, err := s.Runs(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 {
		t.Errorf("%d ledger entries, want 1: Reset must drop the recorded run", len(runs))
	}
	fold(t, s)
	if h := lookup(t, s, "a", "b"); !h[0].Found || !h[1].Found {
		t.Errorf("lookups after two commits and a fold: %+v", h)
	}
	// An empty batch is a no-op.
	b.Reset()
	if err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
}

// TestLookupNeedsRoom: out shorter than keys is an error, not a panic.
func TestLookupNeedsRoom(t *testing.T) {
	s := newStore(t)
	if err := s.Lookup([]string{"a", "b"}, make([]Hit, 1)); err == nil {
		t.Fatal("Lookup with too little room succeeded")
	}
}

// TestReopen: what was committed is there after Close and Open, in a new
// Store on the same file.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := openStore(t, path)
	var b Batch
	b.Put("anna@example.com", fpOf(1), at(0), 3)
	b.Record(Run{Input: "export.csv", Content: Hash{1}, Counts: Counts{OK: 1}})
	if err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []Options{{}, {ReadOnly: true}} {
		s, err := Open(path, opts)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]Hit{{Found: true, Entry: entry(1, 0, 3)}}, lookup(t, s, "anna@example.com")); diff != "" {
			t.Errorf("ReadOnly=%v: lookup after reopen (-want +got):\n%s", opts.ReadOnly, diff)
		}
		if _, ok, err := s.FindRun(Hash{1}); err != nil || !ok {
			t.Errorf("ReadOnly=%v: FindRun after reopen = %v, %v", opts.ReadOnly, ok, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// A read-only store refuses to write.
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	b.Reset()
	b.Put("x", fpOf(1), at(0), 1)
	if err := ro.Commit(&b); err == nil {
		t.Error("Commit on a read-only store succeeded")
	}
	if _, err := ro.Forget([]string{"anna@example.com"}); err == nil {
		t.Error("Forget on a read-only store succeeded")
	}
}
