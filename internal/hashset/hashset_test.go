package hashset

import (
	"hash/maphash"
	"math/rand/v2"
	"testing"
)

// TestSet reads as the set's specification, on hashes chosen to share
// home slots (the low bits) so that runs form, wrap around the table's end
// and are cut by removals.
func TestSet(t *testing.T) {
	const size = 64 // New(8) has 64 slots: mask 63
	home := func(slot, tag uint64) uint64 { return tag<<32 | slot }
	tests := []struct {
		name   string
		ops    func(s *Set)
		has    []uint64
		hasNot []uint64
	}{
		{"Empty", func(*Set) {}, nil, []uint64{1, 2, 0}},
		{"Zero is a hash like any other", func(s *Set) { s.Add(0) }, []uint64{0}, []uint64{2}},
		{"A run of one home", func(s *Set) {
			s.Add(home(5, 1))
			s.Add(home(5, 2))
			s.Add(home(5, 3))
		}, []uint64{home(5, 1), home(5, 2), home(5, 3)}, []uint64{home(5, 4)}},
		{"Removing the head of a run keeps the rest reachable", func(s *Set) {
			s.Add(home(5, 1))
			s.Add(home(5, 2))
			s.Add(home(6, 1)) // lands at 7, behind the run of 5
			s.Add(home(5, 3))
			s.Remove(home(5, 1))
		}, []uint64{home(5, 2), home(5, 3), home(6, 1)}, []uint64{home(5, 1)}},
		{"A run that wraps around the end", func(s *Set) {
			s.Add(home(size-1, 1))
			s.Add(home(size-1, 2)) // at 0
			s.Add(home(0, 1))      // at 1
			s.Remove(home(size-1, 1))
		}, []uint64{home(size-1, 2), home(0, 1)}, []uint64{home(size-1, 1)}},
		{"An entry never moves before its home", func(s *Set) {
			s.Add(home(3, 1))
			s.Add(home(4, 1))
			s.Add(home(4, 2)) // at 5
			s.Remove(home(3, 1))
		}, []uint64{home(4, 1), home(4, 2)}, []uint64{home(3, 1)}},
		{"Removing what is absent changes nothing", func(s *Set) {
			s.Add(home(9, 1))
			s.Remove(home(9, 2))
			s.Remove(home(10, 1))
		}, []uint64{home(9, 1)}, []uint64{home(9, 2)}},
		{"Adding twice keeps one", func(s *Set) {
			s.Add(home(9, 1))
			s.Add(home(9, 1))
			s.Remove(home(9, 1))
		}, nil, []uint64{home(9, 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(8)
			if len(s.slots) != size {
				t.Fatalf("New(8) has %d slots, the cases assume %d", len(s.slots), size)
			}
			tt.ops(s)
			for _, h := range tt.has {
				if !s.Has(h) {
					t.Errorf("has(%#x) = false, want true", h)
				}
			}
			for _, h := range tt.hasNot {
				if s.Has(h) {
					t.Errorf("has(%#x) = true, want false", h)
				}
			}
			if s.Len() != len(tt.has) {
				t.Errorf("len = %d, want %d", s.Len(), len(tt.has))
			}
		})
	}
}

// TestSetAgainstMap runs random adds and removes and compares every
// answer with a map's: once with hashes crowded on a few home slots (long
// runs that wrap and are cut by removals), once spread over a table that
// grows.
func TestSetAgainstMap(t *testing.T) {
	tests := []struct {
		name        string
		homes, tags int
		ops         int
	}{
		{"Crowded", 64, 32, 50_000},
		{"Spread", 1 << 14, 1, 100_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			// (0 and 1 are one hash to the set: see slotOf.)
			hash := func() uint64 { return slotOf(uint64(rng.IntN(tt.tags))<<40 | uint64(rng.IntN(tt.homes))) }
			s := New(4)
			ref := map[uint64]bool{}
			for i := range tt.ops {
				h := hash()
				if rng.IntN(2) == 0 {
					if got, want := s.Add(h), !ref[h]; got != want {
						t.Fatalf("op %d: add(%#x) = %v, want %v", i, h, got, want)
					}
					ref[h] = true
				} else {
					s.Remove(h)
					delete(ref, h)
				}
				if s.Len() != len(ref) {
					t.Fatalf("op %d: len = %d, want %d", i, s.Len(), len(ref))
				}
				if p := hash(); s.Has(p) != ref[p] {
					t.Fatalf("op %d: has(%#x) = %v, want %v", i, p, !ref[p], ref[p])
				}
			}
			for h := range ref {
				if !s.Has(h) {
					t.Fatalf("has(%#x) = false at the end, want true", h)
				}
			}
		})
	}
}

// BenchmarkKeySet is the sender's per-job key bookkeeping in a batch run:
// a window of 8,000 keys in flight, each new key added and the oldest
// removed, with the map from hash to waiting jobs (a slice) that the set
// replaced there, for comparison.
func BenchmarkKeySet(b *testing.B) {
	const window = 8000
	seed := maphash.MakeSeed()
	hashes := make([]uint64, 1<<20)
	for i := range hashes {
		hashes[i] = maphash.Comparable(seed, i)
	}
	b.Run("Set", func(b *testing.B) {
		s := New(window)
		for i := range window {
			s.Add(hashes[i])
		}
		i := window
		for b.Loop() {
			s.Add(hashes[i%len(hashes)])
			s.Remove(hashes[(i-window)%len(hashes)])
			i++
		}
	})
	b.Run("map", func(b *testing.B) {
		m := make(map[uint64][]uint64, window)
		for i := range window {
			m[hashes[i]] = nil
		}
		i := window
		for b.Loop() {
			h := hashes[i%len(hashes)]
			if _, busy := m[h]; !busy {
				m[h] = nil
			}
			old := hashes[(i-window)%len(hashes)]
			if q := m[old]; len(q) == 0 {
				delete(m, old)
			}
			i++
		}
	})
}
