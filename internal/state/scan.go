package state

import (
	"context"
	"os"

	bolt "go.etcd.io/bbolt"
)

// scan calls fn for every key of the state in key order, the staged puts
// included: a store open for writing folds them first; a read-only one
// merges them into what it reads (sorting them with spills to the system's
// temporary directory when they are many), leaving the file as it is. k
// and v are valid only during the call. The scan is one read transaction.
func (s *Store) scan(fn func(k, v []byte) error) error {
	if !s.readOnly {
		if err := s.Fold(context.Background()); err != nil {
			return err
		}
	}
	return s.view(func(tx *bolt.Tx) error {
		if pendingIn(tx) == 0 {
			keys, err := s.keys(tx)
			if err != nil {
				return err
			}
			return keys.ForEach(fn)
		}
		m, err := newMerged(context.Background(), s, tx, os.TempDir())
		if err != nil {
			return err
		}
		defer m.close()
		for {
			ok, err := m.next()
			if err != nil || !ok {
				return err
			}
			if err := fn(m.k, m.v); err != nil {
				return err
			}
		}
	})
}
