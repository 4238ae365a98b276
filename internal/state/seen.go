package state

import "hash/maphash"

// Seen is the set of keys an input held, kept as 64-bit hashes in an
// open-addressed table (linear probing): 8 bytes a slot, between 11 and 24
// bytes a distinct key as the table fills and doubles (16 MB for a million
// keys), whatever the keys' length. A Go map of the strings would take
// several times that. A run asks it twice: row by row, whether a key came
// earlier in the input (Add's answer), and at the end, for every key of the
// state, whether the input held it (Store.Missing with HasBytes).
//
// A hash stands for its key, so two keys whose hashes collide are one key to
// Seen: a key the input lacked whose hash equals that of a key it held is
// not reported missing, and the second of two such keys in an input looks
// repeated. The hash is maphash's, with a seed drawn per Seen, so no input
// can aim for collisions; for n keys seen and m keys stored, the chance that
// any stored key is hidden so is at most m·n/2⁶⁴, about 5·10⁻⁸ for a million
// of each. The error goes one way only: a key Add was called for is never
// reported missing.
//
// A Seen is not safe for concurrent use.
type Seen struct {
	seed  maphash.Seed
	slots []uint64 // 0 = empty; a hash of 0 is stored as 1
	n     int
}

// NewSeen returns an empty set with room for about sizeHint keys before it
// grows (0 if unknown: it grows as keys come).
func NewSeen(sizeHint int) *Seen {
	n := 1024
	for n*3/4 < sizeHint {
		n *= 2
	}
	return &Seen{seed: maphash.MakeSeed(), slots: make([]uint64, n)}
}

// Add adds key to the set and reports whether it was new (as far as its
// hash tells).
func (s *Seen) Add(key string) bool {
	if s.n >= len(s.slots)*3/4 {
		s.grow()
	}
	h := maphash.String(s.seed, key) | 1
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return false
		case 0:
			s.slots[i] = h
			s.n++
			return true
		}
	}
}

// Len is the number of distinct keys added (as far as their hashes tell).
func (s *Seen) Len() int { return s.n }

// Has reports whether key was added (or a key with the same hash was).
func (s *Seen) Has(key string) bool { return s.has(maphash.String(s.seed, key) | 1) }

// HasBytes is Has for a key's bytes, without converting them to a string
// (what Store.Missing asks).
func (s *Seen) HasBytes(key []byte) bool { return s.has(maphash.Bytes(s.seed, key) | 1) }

func (s *Seen) has(h uint64) bool {
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return true
		case 0:
			return false
		}
	}
}

// grow doubles the table and files every hash again.
func (s *Seen) grow() {
	old := s.slots
	s.slots = make([]uint64, 2*len(old))
	mask := uint64(len(s.slots) - 1)
	for _, h := range old {
		if h == 0 {
			continue
		}
		i := h & mask
		for s.slots[i] != 0 {
			i = (i + 1) & mask
		}
		s.slots[i] = h
	}
}
