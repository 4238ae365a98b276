package state

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLedger: runs recorded in batches are found by content hash (the
// latest one wins) and listed newest first.
func TestLedger(t *testing.T) {
	run := func(content byte, input string, day int, ok int64) Run {
		return Run{
			Content: Hash{content}, Size: 1000 + int64(content), Input: input, Config: Hash{0xc0, content},
			Started: at(day), Finished: at(day).Add(90e9),
			Counts: Counts{OK: ok, Failed: 1, Invalid: 2, Unknown: 3, Unchanged: 4, Missing: 5},
		}
	}
	s := newStore(t)
	recorded := []Run{
		run(1, "export-1.csv", 0, 10),
		run(2, "export-2.csv", 1, 20),
		run(1, "export-1-again.csv", 2, 30), // the same bytes imported again (--again)
		run(3, "export-3.csv", 3, 40),
	}
	for i, r := range recorded {
		var b Batch
		b.Put("k", fpOf(int64(i)), r.Finished, 1)
		b.Record(r)
		if err := s.Commit(&b); err != nil {
			t.Fatal(err)
		}
	}

	finds := []struct {
		name    string
		content Hash
		want    Run
		ok      bool
	}{
		{"an input recorded once", Hash{2}, recorded[1], true},
		{"an input recorded twice: the latest", Hash{1}, recorded[2], true},
		{"an input never recorded", Hash{9}, Run{}, false},
	}
	for _, tc := range finds {
		t.Run("FindRun/"+tc.name, func(t *testing.T) {
			got, ok, err := s.FindRun(tc.content)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.ok {
				t.Fatalf("FindRun found = %v, want %v", ok, tc.ok)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("FindRun (-want +got):\n%s", diff)
			}
		})
	}

	lists := []struct {
		name string
		n    int
		want []Run
	}{
		{"the last two", 2, []Run{recorded[3], recorded[2]}},
		{"more than there are", 10, []Run{recorded[3], recorded[2], recorded[1], recorded[0]}},
		{"all", 0, []Run{recorded[3], recorded[2], recorded[1], recorded[0]}},
	}
	for _, tc := range lists {
		t.Run("Runs/"+tc.name, func(t *testing.T) {
			got, err := s.Runs(tc.n)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Runs(%d) (-want +got):\n%s", tc.n, diff)
			}
		})
	}
}

// TestHashText: hashes travel as 64 hex digits and nothing else.
func TestHashText(t *testing.T) {
	h := Hash{0xab, 0xcd}
	text, _ := h.MarshalText()
	var back Hash
	if err := back.UnmarshalText(text); err != nil || back != h {
		t.Fatalf("round trip: %v, %x", err, back)
	}
	for _, bad := range []string{"", "abcd", string(text[:63]) + "g", string(text) + "00"} {
		if err := back.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("UnmarshalText(%q) accepted", bad)
		}
	}
}
