package state

import (
	"hash/maphash"

	"importer/internal/hashset"
)

// Seen is the set of keys an input held, kept as 64-bit hashes in a
// hashset.Set (open addressing, linear probing): 8 bytes a slot, between 11 and 24
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
	seed maphash.Seed
	set  *hashset.Set
}

// NewSeen returns an empty set with room for about sizeHint keys before it
// grows (0 if unknown: it grows as keys come).
func NewSeen(sizeHint int) *Seen {
	return &Seen{seed: maphash.MakeSeed(), set: hashset.New(sizeHint)}
}

// Add adds key to the set and reports whether it was new (as far as its
// hash tells).
func (s *Seen) Add(key string) bool { return s.set.Add(maphash.String(s.seed, key)) }

// Len is the number of distinct keys added (as far as their hashes tell).
func (s *Seen) Len() int { return s.set.Len() }

// Has reports whether key was added (or a key with the same hash was).
func (s *Seen) Has(key string) bool { return s.set.Has(maphash.String(s.seed, key)) }

// HasBytes is Has for a key's bytes, without converting them to a string
// (what Store.Missing asks).
func (s *Seen) HasBytes(key []byte) bool { return s.set.Has(maphash.Bytes(s.seed, key)) }
