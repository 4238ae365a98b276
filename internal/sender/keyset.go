package sender

// hashSet is the set of the key hashes that have a job in flight or queued:
// open addressing with linear probing over 8-byte slots, at most half full,
// with deletion by backward shift (no tombstones, so a long run does not
// slow down). It replaced a map[uint64][]Job that every job of a batch run
// looked up, filled and emptied: with the window's thousands of keys the
// map's groups spread over several cache lines per lookup, and the map was
// the biggest single cost of the sender in a batch run (about a fifth of
// the importer's CPU with --batch-size 1000; see BenchmarkKeySet). The
// jobs waiting behind a busy key are rare and live in a small map beside it.
//
// Slot value 0 means empty, so hash 0 is stored as 1 (two keys then only
// wait for each other, as any two keys with one hash do).
type hashSet struct {
	slots []uint64
	n     int
}

// newHashSet returns a set with room for about size hashes before it grows.
func newHashSet(size int) *hashSet {
	n := 64
	for n < 2*size {
		n *= 2
	}
	return &hashSet{slots: make([]uint64, n)}
}

func slotOf(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return h
}

// add inserts h and reports whether it was absent.
func (s *hashSet) add(h uint64) bool {
	h = slotOf(h)
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return false
		case 0:
			s.slots[i] = h
			s.n++
			if 2*s.n > len(s.slots) {
				s.grow()
			}
			return true
		}
	}
}

// has reports whether h is in the set.
func (s *hashSet) has(h uint64) bool {
	h = slotOf(h)
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

// remove deletes h if present. The slots after it in its run shift back
// into the hole when their home allows, so every probe still finds its
// hash before an empty slot.
func (s *hashSet) remove(h uint64) {
	h = slotOf(h)
	mask := uint64(len(s.slots) - 1)
	i := h & mask
	for s.slots[i] != h {
		if s.slots[i] == 0 {
			return
		}
		i = (i + 1) & mask
	}
	s.n--
	hole := i
	for j := (i + 1) & mask; s.slots[j] != 0; j = (j + 1) & mask {
		home := s.slots[j] & mask
		// The entry at j may move into the hole when its home is not in
		// the cyclic range (hole, j]: moving it keeps it reachable.
		if (j-home)&mask >= (j-hole)&mask {
			s.slots[hole] = s.slots[j]
			hole = j
		}
	}
	s.slots[hole] = 0
}

// len is the number of hashes in the set.
func (s *hashSet) len() int { return s.n }

// grow doubles the table and files every hash again.
func (s *hashSet) grow() {
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
