package state

import (
	"hash/maphash"
	"slices"
)

// Seen is the set of keys an input held, kept as 64-bit hashes: 8 bytes per
// distinct key (8 MB for a million), whatever the keys' length. A Go map of
// the strings would take ten times that.
//
// A hash stands for its key, so two keys whose hashes collide are one key to
// Seen: a key the input lacked whose hash equals that of a key it held is
// not reported missing. The hash is maphash's, with a seed drawn per Seen,
// so no input can aim for collisions; for n keys seen and m keys stored, the
// chance that any stored key is hidden so is at most m·n/2⁶⁴, about 5·10⁻⁸
// for a million of each. The error goes one way only: a key Add was called
// for is never reported missing.
//
// A Seen is not safe for concurrent use (Has and Len sort it in place).
type Seen struct {
	seed   maphash.Seed
	h      []uint64
	sorted int // h[:sorted] is sorted and free of duplicates
}

// NewSeen returns an empty set with room for sizeHint keys (0 if unknown:
// it grows as keys come).
func NewSeen(sizeHint int) *Seen {
	return &Seen{seed: maphash.MakeSeed(), h: make([]uint64, 0, max(sizeHint, 1024))}
}

// Add adds key to the set.
func (s *Seen) Add(key string) {
	if len(s.h) == cap(s.h) {
		// Full: drop duplicates first, and grow only if that freed little,
		// so an input that repeats its keys does not grow the set.
		s.compact()
		if len(s.h) > cap(s.h)/4*3 {
			s.h = slices.Grow(s.h, cap(s.h))
		}
	}
	s.h = append(s.h, maphash.String(s.seed, key))
}

// Len is the number of distinct keys added (as far as their hashes tell).
func (s *Seen) Len() int {
	s.compact()
	return len(s.h)
}

// Has reports whether key was added (or a key with the same hash was).
func (s *Seen) Has(key string) bool { return s.has(maphash.String(s.seed, key)) }

// HasBytes is Has for a key's bytes, without converting them to a string
// (what Store.Missing asks).
func (s *Seen) HasBytes(key []byte) bool { return s.has(maphash.Bytes(s.seed, key)) }

func (s *Seen) has(h uint64) bool {
	s.compact()
	_, ok := slices.BinarySearch(s.h, h)
	return ok
}

// compact sorts the hashes and drops duplicates, unless they already are.
func (s *Seen) compact() {
	if s.sorted == len(s.h) {
		return
	}
	slices.Sort(s.h)
	s.h = slices.Compact(s.h)
	s.sorted = len(s.h)
}
