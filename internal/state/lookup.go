package state

import (
	"bytes"
	"fmt"
	"unsafe"

	bolt "go.etcd.io/bbolt"
)

// Hit is Lookup's answer for one key.
type Hit struct {
	Found bool  // the key is in the state
	Entry Entry // valid when Found
}

// Lookup looks up a chunk of keys in one read transaction: out[i] receives
// the answer for keys[i] (out must be at least as long as keys). It does not
// allocate, so the caller reuses out across chunks. Lookup sees the state as
// of the last Fold (Open folds): the puts committed since are staged and
// not seen, so a run's lookups all see the state as it was when the run
// started.
func (s *Store) Lookup(keys []string, out []Hit) error {
	if len(out) < len(keys) {
		return fmt.Errorf("state lookup: %d keys but room for %d answers", len(keys), len(out))
	}
	return s.view(func(tx *bolt.Tx) error {
		b, err := s.keys(tx)
		if err != nil {
			return err
		}
		// One cursor for the chunk: Bucket.Get would make a new one per key.
		c := b.Cursor()
		for i, key := range keys {
			kb := keyBytes(key)
			k, v := c.Seek(kb)
			if k == nil || !bytes.Equal(k, kb) {
				out[i] = Hit{}
				continue
			}
			e, err := decodeEntry(v)
			if err != nil {
				return s.corruptKey(kb, err)
			}
			out[i] = Hit{Found: true, Entry: e}
		}
		return nil
	})
}

// keyBytes views a key's bytes without copying. Only for reads: bbolt's
// Seek and Get compare the bytes and keep no reference, and Put copies the
// key, so the string's bytes are never written or retained.
func keyBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
