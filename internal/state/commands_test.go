package state

import (
	"bytes"
	"os"
	"testing"

	"importer/internal/golden"

	"github.com/google/go-cmp/cmp"
)

// TestExport: the CSV export of a small state, compared with a golden file
// (go test -update rewrites it). Keys that need CSV quoting are quoted.
func TestExport(t *testing.T) {
	s := newStore(t)
	commit(t, s,
		testPut{"olga@example.com", entry(3, 1, 3)},
		testPut{"anna@example.com", entry(1, 0, 120345)},
		testPut{"иван@пример.рф", entry(4, 2, 4)},
		testPut{`"quoted",comma@example.com`, entry(5, 0, 5)},
		testPut{"line\nbreak@example.com", entry(6, 0, 6)},
	)
	var buf bytes.Buffer
	n, err := s.Export(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Errorf("Export wrote %d keys, want 5", n)
	}
	golden.Check(t, "testdata/export.golden.csv", buf.Bytes())

	empty := newStore(t)
	buf.Reset()
	if n, err := empty.Export(&buf); err != nil || n != 0 || buf.String() != "key,time,row\n" {
		t.Errorf("empty export = %d, %v, %q; want only the header", n, err, buf.String())
	}
}

// TestForget: forgotten keys are gone, the others stay, and the count is of
// the keys that were there.
func TestForget(t *testing.T) {
	cases := []struct {
		name   string
		forget []string
		count  int
		left   []string
	}{
		{"one key", []string{"a"}, 1, []string{"b", "c"}},
		{"keys that are not there", []string{"x", "y"}, 0, []string{"a", "b", "c"}},
		{"a key given twice counts once", []string{"b", "b", "zz"}, 1, []string{"a", "c"}},
		{"every key", []string{"c", "a", "b"}, 3, nil},
		{"nothing, and the empty key", []string{""}, 0, []string{"a", "b", "c"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			commit(t, s, testPut{"a", entry(1, 0, 1)}, testPut{"b", entry(2, 0, 2)}, testPut{"c", entry(3, 0, 3)})
			n, err := s.Forget(tc.forget)
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.count {
				t.Errorf("Forget(%q) = %d, want %d", tc.forget, n, tc.count)
			}
			var left []string
			if _, err := s.Missing(NewSeen(0).HasBytes, func(k string, _ Entry) error { left = append(left, k); return nil }); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.left, left); diff != "" {
				t.Errorf("keys left (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStats: key count, file size and the latest runs.
func TestStats(t *testing.T) {
	s := newStore(t)
	var b Batch
	for i := range 300 {
		b.Put(string(rune('a'+i%26))+string(rune('0'+i/26)), fpOf(int64(i)), at(0), int64(i))
	}
	b.Record(Run{Input: "one.csv", Content: Hash{1}})
	if err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	b.Record(Run{Input: "two.csv", Content: Hash{2}})
	if err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stats(1)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Path: s.Path(), Format: FormatVersion, Keys: 300, FileSize: fi.Size(), Runs: []Run{{Input: "two.csv", Content: Hash{2}}}}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
}
