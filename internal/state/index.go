package state

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"unsafe"

	bolt "go.etcd.io/bbolt"
)

// Index is the state's keys as a run began, held in memory for the run's
// lookups: read once, in one pass over the keys in file order, then only
// read, so any number of goroutines may look keys up at once. A lookup is
// a hash of the key and a few adjacent slots of one table (about 0.1 µs),
// where a lookup in the file walks the B-tree from its root (about 1 µs).
//
// The table is open-addressed with linear probing. A slot holds a 64-bit
// hash of a key (maphash, with a seed drawn per Index, so no input can aim
// for collisions; never 0, which marks an empty slot) and the first 8 bytes
// of the key's stored Fingerprint: 16 bytes a slot, the table kept at most
// 80% full, so 20 bytes a key (20 MB for a million). A key's probe starts
// at its hash scaled to the table's length (the high word of hash × length,
// no power-of-two rounding, which would take up to twice the memory).
//
// # What a lookup can get wrong
//
// Lookup answers "the state holds this fingerprint for this key" from 8
// bytes of fingerprint under a 64-bit hash of the key. Two stored keys may
// share a hash: a lookup accepts when any slot of its probe chain holds
// both its hash and its fingerprint, so each key of such a pair still finds
// its own fingerprint (neither is sent every night). Rows that changed are
// the ones at risk of a false "unchanged" (a row not sent): that needs the
// new fingerprint's first 8 bytes to equal what a slot with the key's hash
// holds, its own key's slot or that of a stored key with the same hash. The
// fingerprint is a cryptographic digest, so each such slot matches with
// chance 2⁻⁶⁴, and a changed row meets more than its own key's slot only
// when its hash collides (chance below m/2⁶⁴ for m stored keys): about
// c/2⁶⁴ a night for c changed rows, 2·10⁻¹² over ten years of 10,000
// changed rows a night. (Someone who writes both the old and the new
// content of a row could search about 2³² candidates for a pair whose
// fingerprints share their first 8 bytes, and so keep that row's change
// from being sent; nobody else's.)
type Index struct {
	seed  maphash.Seed
	mask  uint64 // the bits of a hash kept: all of them, but in tests that force collisions
	slots []indexSlot
	n     int
	// whole: no puts were staged when the index was read, so it holds every
	// key the state held (see InputKeys.Held).
	whole bool
}

// indexSlot is one key: hash 0 is an empty slot.
type indexSlot struct{ hash, fp uint64 }

// maxIndexSlots bounds the table so that a slot number fits in an int32
// (the pipeline keeps one per row): about 1.7 billion keys, which would take
// 34 GB of memory anyway.
const maxIndexSlots = math.MaxInt32

// Index reads every key of the state, as of the last fold, into an Index
// (one read transaction, the keys in file order). It does not see the puts
// committed since the last fold (Open folds, so for a store
// open for writing that is the state as the run began; a read-only store's
// staged puts are not seen). A value that is not a well-formed entry is an
// error wrapping ErrCorrupt, naming the key.
func (s *Store) Index() (*Index, error) { return s.index(64) }

// index is Index keeping hashBits bits of every hash (64; fewer in tests,
// to force collisions among a few thousand keys).
func (s *Store) index(hashBits uint) (*Index, error) {
	var x *Index
	err := s.view(func(tx *bolt.Tx) error {
		b, err := s.keys(tx)
		if err != nil {
			return err
		}
		keyN := b.Stats().KeyN
		if x, err = newIndex(keyN, hashBits); err != nil {
			return err
		}
		x.whole = pendingIn(tx) == 0
		// Keys are filed a batch at a time: the probes of a batch are
		// independent, so the processor has several of their cache misses
		// in flight at once, where one probe after each key's read had one.
		var batch [64]indexSlot
		n, read := 0, 0
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(v) < 16+2 {
				_, err := decodeEntry(v) // says how it is malformed
				return s.corruptKey(k, err)
			}
			if read++; read > keyN { // the table was sized for keyN: it must keep an empty slot
				return fmt.Errorf("state database %s: the keys bucket holds more keys than its pages count (%d): %w", s.path, keyN, ErrCorrupt)
			}
			batch[n] = indexSlot{hash: x.hashBytes(k), fp: binary.LittleEndian.Uint64(v)}
			if n++; n == len(batch) {
				x.insertAll(batch[:])
				n = 0
			}
		}
		x.insertAll(batch[:n])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("state index: %w", err)
	}
	return x, nil
}

// newIndex is an empty index with room for n keys at most 80% full (and
// at least one empty slot, which ends every probe).
func newIndex(n int, hashBits uint) (*Index, error) {
	size := n + n/4 + 1
	if size > maxIndexSlots || size < n {
		return nil, fmt.Errorf("%d keys are too many to index in memory", n)
	}
	return &Index{seed: maphash.MakeSeed(), mask: ^uint64(0) << (64 - hashBits), slots: make([]indexSlot, size)}, nil
}

// Len is the number of keys indexed.
func (x *Index) Len() int { return x.n }

// Bytes is the memory the index holds for the run: its table.
func (x *Index) Bytes() int64 { return int64(len(x.slots)) * int64(unsafe.Sizeof(indexSlot{})) }

// Lookup returns the slot that holds fp for key, or -1 when the state
// holds another fingerprint for key or does not hold key. Only the first 8
// bytes of fp count (see the type's documentation for what that risks).
// The slot is what InputKeys.AddSlot takes.
func (x *Index) Lookup(key string, fp Fingerprint) int {
	return x.find(x.hash(key), binary.LittleEndian.Uint64(fp[:8]))
}

func (x *Index) hash(key string) uint64      { return maphash.String(x.seed, key)&x.mask | 1 }
func (x *Index) hashBytes(key []byte) uint64 { return maphash.Bytes(x.seed, key)&x.mask | 1 }

// start is the first slot of hash h's probe chain: h scaled to the table.
func (x *Index) start(h uint64) int {
	hi, _ := bits.Mul64(h, uint64(len(x.slots)))
	return int(hi)
}

// next is the slot after i, wrapping at the end of the table.
func (x *Index) next(i int) int {
	if i++; i == len(x.slots) {
		return 0
	}
	return i
}

// insertAll files keys' hashes and fingerprints, each in the first empty
// slot of its chain. Only the build calls it, before the Index is shared.
func (x *Index) insertAll(keys []indexSlot) {
	for _, k := range keys {
		i := x.start(k.hash)
		for x.slots[i].hash != 0 {
			i = x.next(i)
		}
		x.slots[i] = k
	}
	x.n += len(keys)
}

// find is the first slot of h's chain holding h and fp, or -1.
func (x *Index) find(h, fp uint64) int {
	for i := x.start(h); ; i = x.next(i) {
		switch s := &x.slots[i]; {
		case s.hash == h && s.fp == fp:
			return i
		case s.hash == 0:
			return -1
		}
	}
}
