package state

import "importer/internal/hashset"

// InputKeys is the set of keys an input held, for a run that looks its
// rows up in an Index: one bit per slot of the index for the keys the
// state holds, and a Seen for the others (keys new tonight, a few per
// cent at most). It answers the questions a Seen answers for a run, row
// by row whether a key came earlier in the input, and at the end, for
// every key of the state, whether the input held it (Store.Missing with
// HasBytes), for 1 bit a slot (160 KB for a million keys) beside the
// Index instead of a table of 8-byte hashes (16 MB).
//
// A key stands for its hash under the Index's seed, as in Seen. A row
// whose lookup matched marks the slot of its key (AddSlot); any other row
// marks every slot of its chain with its hash (Add). So a key the input
// held always leaves a marked slot with its hash, and HasBytes never
// reports it missing; a stored key the input lacked whose hash equals that
// of a key it held is not reported missing (chance at most m·n/2⁶⁴ for m
// stored and n held keys, as for Seen). Two stored keys that share a hash
// and both come unchanged mark two slots: the second does not look
// repeated, so neither is sent every night.
//
// An InputKeys is not safe for concurrent use; its Index is, so lookups may
// run in parallel with the one goroutine that marks keys.
type InputKeys struct {
	idx  *Index
	bits []uint64 // bit i: slot i of idx was marked
	rest *Seen    // keys whose hash no slot of idx holds
}

// NewInputKeys returns an empty set over idx.
func NewInputKeys(idx *Index) *InputKeys {
	return &InputKeys{idx: idx, bits: make([]uint64, (len(idx.slots)+63)/64), rest: NewSeen(0)}
}

// AddSlot marks the slot Index.Lookup returned for a row and reports
// whether this is the first time (the key did not come earlier in the
// input, as far as hashes tell).
func (k *InputKeys) AddSlot(slot int) bool {
	w, b := slot>>6, uint64(1)<<(slot&63)
	first := k.bits[w]&b == 0
	k.bits[w] |= b
	return first
}

// Add adds a key whose row was not matched by a lookup (a changed row, an
// invalid one, one new tonight) and reports whether it was new: no slot
// with its hash was marked before, or, for a key the index does not hold,
// what Seen.Add says.
func (k *InputKeys) Add(key string) bool {
	x := k.idx
	h := x.hash(key)
	found, first := false, true
	for i := x.start(h); x.slots[i].hash != 0; i = x.next(i) {
		if x.slots[i].hash != h {
			continue
		}
		found = true
		w, b := i>>6, uint64(1)<<(i&63)
		if k.bits[w]&b != 0 {
			first = false
		}
		k.bits[w] |= b
	}
	if !found {
		return k.rest.Add(key)
	}
	return first
}

// Held returns what Store.Missing asks of every key of the state at the
// end of the run: whether the input held it. The state may by then hold
// keys the Index lacks, but only keys the run put, which it put for rows of
// its input (given to Add or AddSlot): they count as held. Its answers are
// HasBytes's, found another way when the Index holds every key the state
// held (no puts were staged as it was read): the few hashes whose slots no
// row marked are collected once, and a key is held unless its hash is one
// of them, which costs a hash and a small table per key where HasBytes
// costs a probe of the whole Index (a cache miss a key).
func (k *InputKeys) Held() func(key []byte) bool {
	x := k.idx
	if !x.whole {
		return k.HasBytes
	}
	var lacked []uint64
	for i, s := range x.slots {
		if s.hash == 0 || k.bits[i>>6]&(1<<(i&63)) != 0 || k.marked(s.hash) {
			continue
		}
		if lacked = append(lacked, s.hash); len(lacked) > len(x.slots)/16 {
			return k.HasBytes // many keys missing: a table of them would be big
		}
	}
	set := hashset.New(len(lacked))
	for _, h := range lacked {
		set.Add(h)
	}
	return func(key []byte) bool { return !set.Has(x.hashBytes(key)) }
}

// marked reports whether a slot with hash h is marked.
func (k *InputKeys) marked(h uint64) bool {
	x := k.idx
	for i := x.start(h); x.slots[i].hash != 0; i = x.next(i) {
		if x.slots[i].hash == h && k.bits[i>>6]&(1<<(i&63)) != 0 {
			return true
		}
	}
	return false
}

// HasBytes reports whether the input held key (or a key with the same
// hash): what Store.Missing asks of every key of the state.
func (k *InputKeys) HasBytes(key []byte) bool {
	x := k.idx
	h := x.hashBytes(key)
	found := false
	for i := x.start(h); x.slots[i].hash != 0; i = x.next(i) {
		if x.slots[i].hash == h {
			if k.bits[i>>6]&(1<<(i&63)) != 0 {
				return true
			}
			found = true
		}
	}
	// Add files a key in rest only when no slot holds its hash.
	return !found && k.rest.HasBytes(key)
}
