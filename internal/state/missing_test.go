package state

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMissing: the keys in the state that the input lacked are reported, in
// key order, with their time and last row; keys seen are not.
func TestMissing(t *testing.T) {
	stored := []testPut{
		{"anna@example.com", entry(1, 0, 1)},
		{"boris@example.com", entry(2, 0, 2)},
		{"olga@example.com", entry(3, 1, 3)},
		{"ivan@example.com", entry(4, 2, 4)},
	}
	type missed struct {
		Key   string
		Entry Entry
	}
	cases := []struct {
		name string
		seen []string
		want []missed
	}{
		{
			name: "every key seen: none missing",
			seen: []string{"anna@example.com", "boris@example.com", "olga@example.com", "ivan@example.com"},
		},
		{
			name: "two keys gone, in key order",
			seen: []string{"boris@example.com", "ivan@example.com", "new@example.com"},
			want: []missed{{"anna@example.com", entry(1, 0, 1)}, {"olga@example.com", entry(3, 1, 3)}},
		},
		{
			name: "keys seen several times count once",
			seen: []string{"anna@example.com", "anna@example.com", "boris@example.com", "olga@example.com", "olga@example.com"},
			want: []missed{{"ivan@example.com", entry(4, 2, 4)}},
		},
		{
			name: "an empty input: every key is missing",
			want: []missed{
				{"anna@example.com", entry(1, 0, 1)}, {"boris@example.com", entry(2, 0, 2)},
				{"ivan@example.com", entry(4, 2, 4)}, {"olga@example.com", entry(3, 1, 3)},
			},
		},
		{
			name: "keys differ by case: not the same key",
			seen: []string{"ANNA@example.com", "boris@example.com", "olga@example.com", "ivan@example.com"},
			want: []missed{{"anna@example.com", entry(1, 0, 1)}},
		},
	}
	s := newStore(t)
	commit(t, s, stored...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seen := NewSeen(0)
			for _, k := range tc.seen {
				seen.Add(k)
			}
			var got []missed
			n, err := s.Missing(seen.HasBytes, func(key string, e Entry) error {
				got = append(got, missed{key, e})
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Missing (-want +got):\n%s", diff)
			}
			if n != len(tc.want) {
				t.Errorf("Missing returned %d, want %d", n, len(tc.want))
			}
		})
	}

	t.Run("an error from fn stops the scan", func(t *testing.T) {
		stop := errors.New("disk full")
		calls := 0
		_, err := s.Missing(NewSeen(0).HasBytes, func(string, Entry) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Errorf("Missing = %v after %d calls, want the fn's error after 1", err, calls)
		}
	})
}

// TestSeen: the set of an input's keys answers "did this key come
// earlier?" as keys arrive (Add) and "did the input hold this key?" (Has,
// HasBytes), through growth from any size hint; repeats take no room.
func TestSeen(t *testing.T) {
	for _, tc := range []struct {
		name string
		hint int
		keys int
	}{
		{"NoHint", 0, 5000},
		{"HintTooSmall", 100, 5000},
		{"HintRight", 5000, 5000},
		{"HintTooLarge", 1_000_000, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSeen(tc.hint)
			for i := range tc.keys {
				if !s.Add(fmt.Sprintf("user%d@example.com", i)) {
					t.Fatalf("key %d reported as added before it was", i)
				}
			}
			for i := range tc.keys {
				k := fmt.Sprintf("user%d@example.com", i)
				if s.Add(k) {
					t.Fatalf("key %d reported new twice", i)
				}
				if !s.Has(k) || !s.HasBytes([]byte(k)) {
					t.Fatalf("key %d was added but Has or HasBytes says no", i)
				}
			}
			for i := tc.keys; i < tc.keys+1000; i++ {
				k := fmt.Sprintf("user%d@example.com", i)
				if s.Has(k) || s.HasBytes([]byte(k)) {
					t.Fatalf("key %d was never added but Has or HasBytes says yes", i)
				}
			}
			if s.Len() != tc.keys {
				t.Errorf("Len = %d, want %d", s.Len(), tc.keys)
			}
		})
	}
	t.Run("a key repeated 100,000 times takes no more room", func(t *testing.T) {
		s := NewSeen(0)
		start := s.set.Cap()
		for range 100_000 {
			s.Add("same@example.com")
		}
		if s.Len() != 1 || s.set.Cap() != start {
			t.Errorf("Len = %d, slots %d → %d: repeats must take no room", s.Len(), start, s.set.Cap())
		}
	})
	t.Run("a size hint is honoured", func(t *testing.T) {
		s := NewSeen(20_000)
		start := s.set.Cap()
		for i := range 20_000 {
			s.Add(fmt.Sprint(i))
		}
		if s.set.Cap() != start {
			t.Errorf("slots %d → %d after 20000 distinct keys with that hint, want no growth", start, s.set.Cap())
		}
	})
}
