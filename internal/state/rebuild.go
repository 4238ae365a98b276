package state

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// rebuild writes the state as a fold leaves it (the keys with the staged
// puts merged in, the ledger) into a new file in key order with full pages,
// and puts it in the old one's place. The caller holds writeMu, so nothing
// commits meanwhile; lookups go on reading the old file until the swap.
func (s *Store) rebuild(ctx context.Context) (err error) {
	tmp := rebuildPath(s.dataPath)
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if err := s.writeNew(ctx, tmp); err != nil {
		return err
	}
	hook("rename")
	return s.swap(tmp)
}

// writeNew writes the new file at tmp, fsynced and closed.
func (s *Store) writeNew(ctx context.Context, tmp string) error {
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	err := s.view(func(old *bolt.Tx) error {
		bf, err := newBulkFile(tmp, old.DB().Info().PageSize)
		if err != nil {
			return err
		}
		root, err := s.writeBuckets(ctx, old, bf)
		if err != nil {
			bf.close()
			return err
		}
		return bf.finish(root)
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if fi, err := os.Stat(s.dataPath); err == nil {
		// The new file takes the old one's permissions.
		if err := os.Chmod(tmp, fi.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

// writeBuckets writes the four buckets into bf: the keys with the staged
// puts merged in, the ledger as it is, the meta bucket, an empty staging
// bucket whose sequence carries on. It returns the root page's id.
func (s *Store) writeBuckets(ctx context.Context, old *bolt.Tx, bf *bulkFile) (uint64, error) {
	keys, err := s.writeKeys(ctx, old, bf)
	if err != nil {
		return 0, err
	}
	runs, err := s.runs(old)
	if err != nil {
		return 0, err
	}
	ledger, err := writeBucketTree(bf, runs.Sequence(), cursorEntries(runs.Cursor()))
	if err != nil {
		return 0, err
	}
	metaEntries := [][2][]byte{ // in key order
		{metaFormat, binary.AppendUvarint(nil, FormatVersion)},
		{metaMagic, []byte(magic)},
	}
	meta, err := writeBucketTree(bf, 0, func() ([]byte, []byte, bool, error) {
		if len(metaEntries) == 0 {
			return nil, nil, false, nil
		}
		e := metaEntries[0]
		metaEntries = metaEntries[1:]
		return e[0], e[1], true, nil
	})
	if err != nil {
		return 0, err
	}
	var stagedSeq uint64
	if st := old.Bucket(bucketStaged); st != nil {
		stagedSeq = st.Sequence()
	}
	staged, err := newTreeBuilder(bf).finish(stagedSeq, true)
	if err != nil {
		return 0, err
	}
	root := newTreeBuilder(bf)
	for _, b := range [][2][]byte{ // in key order
		{bucketKeys, keys}, {bucketMeta, meta}, {bucketRuns, ledger}, {bucketStaged, staged},
	} {
		if err := root.add(b[0], b[1], leafFlagBucket); err != nil {
			return 0, err
		}
	}
	hdr, err := root.finish(0, false)
	if err != nil {
		return 0, err
	}
	return ne.Uint64(hdr), nil
}

// writeKeys writes the keys bucket: the keys of old with its staged puts
// merged in. It returns the bucket's value for the root.
func (s *Store) writeKeys(ctx context.Context, old *bolt.Tx, bf *bulkFile) ([]byte, error) {
	m, err := newMerged(ctx, s, old, filepath.Dir(s.dataPath))
	if err != nil {
		return nil, err
	}
	defer m.close()
	n, half := 0, max(1, pendingIn(old)/2)
	return writeBucketTree(bf, 0, func() ([]byte, []byte, bool, error) {
		if n++; n%(1<<16) == 0 {
			if err := ctx.Err(); err != nil {
				return nil, nil, false, err
			}
		}
		if n == half {
			hook("writing")
		}
		ok, err := m.next()
		return m.k, m.v, ok, err
	})
}

// cursorEntries yields a bucket's entries in key order, for writeBucketTree.
func cursorEntries(c *bolt.Cursor) func() ([]byte, []byte, bool, error) {
	k, v := c.First()
	return func() ([]byte, []byte, bool, error) {
		rk, rv := k, v
		k, v = c.Next()
		return rk, rv, rk != nil, nil
	}
}

// swap puts the new file at tmp in the old one's place and reopens the
// store on it. The lock file stays locked throughout, so no other process
// can open the state in between.
func (s *Store) swap(tmp string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return s.closedError()
	}
	if !posixFiles {
		// The old file cannot be renamed over while it is open here.
		if err := s.db.Close(); err != nil {
			return err
		}
		s.db = nil
	}
	if err := os.Rename(tmp, s.dataPath); err != nil {
		if s.db == nil {
			s.db, _ = openBolt(s.dataPath, false)
		}
		return err
	}
	hook("renamed")
	// From here on the store must move to the new file whatever happens:
	// the old one is no longer the state.
	syncErr := syncDir(filepath.Dir(s.dataPath))
	db, err := openBolt(s.dataPath, false)
	if s.db != nil {
		s.db.Close()
	}
	s.db = db
	if err != nil {
		return fmt.Errorf("reopen after the rebuild: %w", err)
	}
	return syncErr
}

// syncDir fsyncs a directory, making a rename in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil && !posixFiles {
		return nil // directories cannot be fsynced here
	}
	return err
}
