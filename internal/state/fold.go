package state

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

// Fold moves the staged puts (those committed since the last fold) into the
// keys that lookups read, the last put of each key winning, and empties the
// staging area. Call it once at the end of a run, after its last Commit;
// Open calls it when a run was interrupted before it did. Commits wait
// while a fold runs. Lookups may run meanwhile but see some of the staged
// puts and not others, so a run should have finished its lookups.
//
// How it folds depends on how many puts are staged against how many keys
// the state holds:
//
//   - Few (under 1/32 of the keys, so a nightly delta of 1-3%): in place. Up to 64Ki staged puts at a
//     time are read, sorted by key and written into the keys in
//     transactions of a thousand keys, walking the tree from left to
//     right; the last of those transactions also removes the staged puts
//     it folded. Each put rewrites a page of the tree (about 15 µs of CPU).
//   - More (a first run, a big change): a rebuild.
//     The staged puts are sorted in runs of up to 64Ki (spilled to a
//     temporary file beside the database, all but the last), merged with
//     the keys (already in order), and the result written page by page, in
//     key order and with full pages, into a new file that replaces the old
//     one by a rename once it is complete and fsynced. It costs about
//     0.2 µs of CPU per key of the state plus 0.5 µs per staged put, and
//     leaves the smallest file the keys fit in.
//
// A fold killed at any point leaves every put either folded or still
// staged, and folding again gives the same result: a fold in place removes
// the staged puts it read only in the transaction that writes the last of
// them, and a rebuild killed before its rename leaves the old file as it
// was (the next Open removes the half-written one). After a fold in place,
// if the file has grown to over 1.4 times the bytes its pages hold (inserts
// split full pages), it is rebuilt to compact it. ctx stops a fold between
// two of its transactions (a rebuild, before its rename); what it folded
// stays folded, the rest stays staged.
func (s *Store) Fold(ctx context.Context) error {
	return s.foldWith(ctx, foldAuto)
}

// Compact rewrites the file in key order with full pages (a rebuild, after
// folding whatever is staged): the smallest file the state fits in.
func (s *Store) Compact(ctx context.Context) error {
	return s.foldWith(ctx, foldRebuild)
}

type foldHow int

const (
	foldAuto foldHow = iota
	foldInPlace
	foldRebuild
)

func (h foldHow) String() string {
	return [...]string{"auto", "in-place", "rebuild"}[h]
}

// rebuildShare: a fold rebuilds when the staged puts are at least 1/32 of
// the keys. A put folded in place costs about as much CPU as a rebuild
// spends on 80 to 100 keys (BenchmarkFold; docs/STATE-ENGINE.md has the
// figures), but a rebuild also writes, fsyncs and maps a whole second file:
// on the next night of a million keys with 1.1% changed, folding in place
// took the run from 1.51 to 1.37 s of wall time and 2.16 to 2.03 µs of CPU a
// row, and its peak RSS from 213 to 149 MB, for a file of 78 bytes a key
// instead of 72 (make bench). A rebuild also compacts the file, which the
// bloat check below still asks for when updates in place have spread it.
const rebuildShare = 32

// foldTxnKeys is how many keys a fold in place writes per transaction: each
// rewrites up to that many leaf pages, which the file must hold twice until
// the transaction commits, so small transactions keep the file small.
var foldTxnKeys = 1000

// Bloat: after a fold in place, the file is rebuilt when it exceeds
// bloatRatio times the bytes its pages hold, plus bloatSlack.
const (
	bloatRatio = 1.4
	bloatSlack = 4 << 20
)

// foldHook, when set (by tests), is called at the points of a fold where a
// crash is interesting: "fold-txn" after each transaction of a fold in
// place; "spilled" after each sorted run a rebuild spills, "writing" part
// way through writing the new file's keys, "rename" just before the new
// file replaces the old, "renamed" just after.
var foldHook func(point string)

func hook(point string) {
	if foldHook != nil {
		foldHook(point)
	}
}

// errReadOnly is the answer of the operations that write, on a read-only
// store.
func (s *Store) errReadOnly(op string) error {
	return fmt.Errorf("state %s: %s is open read-only", op, s.path)
}

func (s *Store) foldWith(ctx context.Context, how foldHow) error {
	if s.readOnly {
		return s.errReadOnly("fold")
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.fold(ctx, how); err != nil {
		return fmt.Errorf("state fold in %s: %w", s.path, err)
	}
	return nil
}

// fold folds as how says (foldAuto: as the volumes say). The caller holds
// writeMu.
func (s *Store) fold(ctx context.Context, how foldHow) error {
	var pending, keys int
	err := s.view(func(tx *bolt.Tx) error {
		pending = pendingIn(tx)
		if pending == 0 || how != foldAuto {
			return nil
		}
		b, err := s.keys(tx)
		if err != nil {
			return err
		}
		keys = b.Stats().KeyN
		return nil
	})
	if err != nil {
		return err
	}
	if pending == 0 && how != foldRebuild {
		return nil
	}
	if how == foldAuto {
		how = foldInPlace
		if pending*rebuildShare >= keys {
			how = foldRebuild
		}
	}
	if how == foldInPlace {
		if err := s.foldInPlace(ctx); err != nil {
			return err
		}
		if bloated, err := s.bloated(); err != nil || !bloated {
			return err
		}
	}
	return s.rebuild(ctx)
}

// foldInPlace folds the staged puts chunk by chunk into the keys bucket.
func (s *Store) foldInPlace(ctx context.Context) error {
	var c chunk
	for {
		c.reset()
		err := s.view(func(tx *bolt.Tx) error {
			st, err := s.staged(tx)
			if err != nil {
				return err
			}
			cur := st.Cursor()
			k, v := cur.First()
			_, _, err = c.readFrom(cur, k, v)
			return err
		})
		if err != nil || len(c.items) == 0 {
			return err
		}
		c.sortDedup()
		if err := s.applyChunk(ctx, &c); err != nil {
			return err
		}
	}
}

// applyChunk writes a sorted chunk into the keys in transactions of
// foldTxnKeys; the last one also removes the chunk's staged records.
func (s *Store) applyChunk(ctx context.Context, c *chunk) error {
	for from := 0; from < len(c.items); from += foldTxnKeys {
		if err := ctx.Err(); err != nil {
			return err
		}
		to := min(len(c.items), from+foldTxnKeys)
		err := s.update(func(tx *bolt.Tx) error {
			keys, err := s.keys(tx)
			if err != nil {
				return err
			}
			for i := from; i < to; i++ {
				if err := keys.Put(c.key(i), c.val(i)); err != nil {
					return fmt.Errorf("key %q: %w", c.key(i), err)
				}
			}
			if to < len(c.items) {
				return nil
			}
			return s.dropStaged(tx, c.recs)
		})
		if err != nil {
			return err
		}
		hook("fold-txn")
	}
	return nil
}

// dropStaged removes the staged records recs, the front of the staging
// area.
func (s *Store) dropStaged(tx *bolt.Tx, recs []uint64) error {
	st, err := s.staged(tx)
	if err != nil {
		return err
	}
	if k, _ := st.Cursor().Last(); k != nil && binary.BigEndian.Uint64(k) == recs[len(recs)-1] {
		// All of it: dropping the bucket frees its pages without rewriting
		// them. The sequence carries on, so numbers are never reused.
		seq := st.Sequence()
		if err := tx.DeleteBucket(bucketStaged); err != nil {
			return err
		}
		st, err := tx.CreateBucket(bucketStaged)
		if err != nil {
			return err
		}
		return st.SetSequence(seq)
	}
	var k [8]byte
	for _, seq := range recs {
		binary.BigEndian.PutUint64(k[:], seq)
		if err := st.Delete(k[:]); err != nil {
			return err
		}
	}
	return nil
}

// bloated reports whether the file has grown well past the bytes its pages
// hold: random inserts split full pages in two, and each transaction of a
// fold in place needs room for the pages it rewrites.
func (s *Store) bloated() (bool, error) {
	var inUse int
	err := s.view(func(tx *bolt.Tx) error {
		return tx.ForEach(func(_ []byte, b *bolt.Bucket) error {
			st := b.Stats()
			inUse += st.LeafInuse + st.BranchInuse
			return nil
		})
	})
	if err != nil {
		return false, err
	}
	fi, err := os.Stat(s.dataPath)
	if err != nil {
		return false, err
	}
	return float64(fi.Size()) > bloatRatio*float64(inUse)+bloatSlack, nil
}

// removeLeftovers removes the temporary files a rebuild killed before it
// finished left beside the database (the half-written new file; spills
// where the system keeps them by name). The caller holds the lock.
func removeLeftovers(dataPath string) error {
	if err := os.Remove(rebuildPath(dataPath)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return removeSpills(dataPath)
}
