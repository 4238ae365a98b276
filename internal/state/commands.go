package state

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
	"unsafe"

	bolt "go.etcd.io/bbolt"
)

// Stats describes a state database for `importer state stats`.
type Stats struct {
	Path     string
	Format   int   // the file's format version
	Keys     int   // keys with a fingerprint (staged puts of new keys included)
	FileSize int64 // bytes on disk
	Runs     []Run // the latest ledger entries, newest first
	// Pending is the number of puts committed but not folded: 0 for a store
	// open for writing (Stats folds them), possibly more for a read-only
	// one after an interrupted run.
	Pending int
}

// Stats counts the keys (a walk over the pages of the tree: a fraction of a
// second per million keys) and returns the file's size and the latest
// lastRuns ledger entries. A store open for writing folds the staged puts
// first; a read-only one with staged puts counts the keys by merging them
// (see Store.Missing).
func (s *Store) Stats(lastRuns int) (Stats, error) {
	st := Stats{Path: s.path, Format: FormatVersion}
	if !s.readOnly {
		if err := s.Fold(context.Background()); err != nil {
			return Stats{}, fmt.Errorf("state stats: %w", err)
		}
	}
	err := s.view(func(tx *bolt.Tx) error {
		keys, err := s.keys(tx)
		if err != nil {
			return err
		}
		st.Keys = keys.Stats().KeyN
		st.Pending = pendingIn(tx)
		if meta := tx.Bucket(bucketMeta); meta != nil {
			v, _ := s.readFormat(meta)
			st.Format = int(v)
		}
		return nil
	})
	if err == nil && st.Pending > 0 {
		st.Keys = 0
		err = s.scan(func([]byte, []byte) error { st.Keys++; return nil })
	}
	if err != nil {
		return Stats{}, fmt.Errorf("state stats: %w", err)
	}
	fi, err := os.Stat(s.path)
	if err != nil {
		return Stats{}, fmt.Errorf("state stats: %w", err)
	}
	st.FileSize = fi.Size()
	if lastRuns > 0 {
		if st.Runs, err = s.Runs(lastRuns); err != nil {
			return Stats{}, fmt.Errorf("state stats: %w", err)
		}
	}
	return st, nil
}

// ExportHeader is the header line Export writes.
var ExportHeader = []string{"key", "time", "row"}

// Export writes every key as CSV to w, in key order: the key, the time its
// fingerprint was committed (RFC 3339, UTC) and the row that produced it,
// under the header key,time,row. Keys are quoted as CSV needs. It returns
// the number of keys written.
func (s *Store) Export(w io.Writer) (int, error) {
	cw := csv.NewWriter(w)
	if err := cw.Write(ExportHeader); err != nil {
		return 0, fmt.Errorf("state export: %w", err)
	}
	n := 0
	rec := make([]string, 3)
	var tb, rb []byte
	err := s.scan(func(k, v []byte) error {
		e, err := decodeEntry(v)
		if err != nil {
			return s.corruptKey(k, err)
		}
		tb = e.Time.AppendFormat(tb[:0], time.RFC3339)
		rb = strconv.AppendInt(rb[:0], e.Row, 10)
		rec[0], rec[1], rec[2] = string(k), string(tb), string(rb)
		if err := cw.Write(rec); err != nil {
			return err
		}
		n++
		return nil
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	if err != nil {
		return n, fmt.Errorf("state export: %w", err)
	}
	return n, nil
}

// Forget removes keys from the state in one transaction (their rows will be
// sent again by the next run) and returns how many of them it held. Keys it
// does not hold are skipped; a key given twice counts once. Staged puts are
// folded first, so none brings a forgotten key back.
func (s *Store) Forget(keys []string) (int, error) {
	if s.readOnly {
		return 0, s.errReadOnly("forget")
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.fold(context.Background(), foldAuto); err != nil {
		return 0, fmt.Errorf("state forget in %s: %w", s.path, err)
	}
	n := 0
	err := s.update(func(tx *bolt.Tx) error {
		b, err := s.keys(tx)
		if err != nil {
			return err
		}
		for _, key := range keys {
			kb := keyBytes(key)
			if len(kb) == 0 || b.Get(kb) == nil {
				continue
			}
			if err := b.Delete(kb); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("state forget in %s: %w", s.path, err)
	}
	return n, nil
}

// keyBytes views a key's bytes without copying. Only for reads: bbolt's
// Seek and Get compare the bytes and keep no reference, and Put copies the
// key, so the string's bytes are never written or retained.
func keyBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
