package hashset

// Set is a set of 64-bit hashes. Hash 0 is stored as 1 (slot value 0
// marks an empty slot), so 0 and 1 are one hash to the set. The zero Set
// is not usable: make one with New. A Set is not safe for concurrent use
// when anyone adds or removes; lookups alone may run in parallel.
type Set struct {
	slots []uint64
	n     int
}

// New returns a set with room for about size hashes before it grows.
func New(size int) *Set {
	n := 64
	for n*3/4 < size {
		n *= 2
	}
	return &Set{slots: make([]uint64, n)}
}

func slotOf(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return h
}

// Add inserts h and reports whether it was absent.
func (s *Set) Add(h uint64) bool {
	h = slotOf(h)
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return false
		case 0:
			s.slots[i] = h
			s.n++
			if 4*s.n > 3*len(s.slots) {
				s.grow()
			}
			return true
		}
	}
}

// Has reports whether h is in the set.
func (s *Set) Has(h uint64) bool {
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

// Remove deletes h if present. The slots after it in its run shift back
// into the hole when their home allows, so every probe still finds its
// hash before an empty slot.
func (s *Set) Remove(h uint64) {
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

// Len is the number of hashes in the set.
func (s *Set) Len() int { return s.n }

// Cap is the number of slots, 8 bytes each: the set's memory. It doubles
// when an Add leaves the set over three quarters full.
func (s *Set) Cap() int { return len(s.slots) }

// grow doubles the table and files every hash again.
func (s *Set) grow() {
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
