// Package hashset is a set of 64-bit hashes: open addressing with linear
// probing over 8-byte slots, at most three quarters full, deletion by
// backward shift. It is what a set of keys costs when the keys themselves
// need not be kept: 8 bytes a slot whatever the keys' length, and one cache
// line touched by most probes, where a Go map of the keys takes several
// times the memory and spreads a lookup over several lines.
//
// Callers hash their keys (hash/maphash, with a seed of their own) and live
// with what a set of hashes implies: two keys with one hash are one key to
// the set. The sender's keys in flight and the state's set of an input's
// keys are its two users; each documents what a collision means for it.
package hashset
