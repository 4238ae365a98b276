package state

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Missing calls fn, in key order, for every key in the state that seen lacks
// (the keys tonight's complete export no longer has), with what the state
// remembers of it. It returns how many keys it reported; an error from fn
// stops the scan and is returned. The scan is one read transaction over the
// whole file (a fraction of a second per million keys), so run it after the
// run's last Commit. See Seen for the one-sided error of hashing.
func (s *Store) Missing(seen *Seen, fn func(key string, e Entry) error) (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		keys, err := s.keys(tx)
		if err != nil {
			return err
		}
		return keys.ForEach(func(k, v []byte) error {
			if seen.hasBytes(k) {
				return nil
			}
			e, err := decodeEntry(v)
			if err != nil {
				return s.corruptKey(k, err)
			}
			n++
			return fn(string(k), e)
		})
	})
	if err != nil {
		return n, fmt.Errorf("missing keys: %w", err)
	}
	return n, nil
}
