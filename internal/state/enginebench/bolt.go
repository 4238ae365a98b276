package main

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"

	bolt "go.etcd.io/bbolt"
)

var boltBucket = []byte("keys")

type boltEngine struct {
	db  *bolt.DB
	idx []int
}

func init() {
	engines["bbolt"] = func(dir string) (engine, error) {
		db, err := bolt.Open(filepath.Join(dir, "state.db"), 0o600, &bolt.Options{NoFreelistSync: true, FreelistType: bolt.FreelistMapType, PageSize: boltPage})
		if err != nil {
			return nil, err
		}
		db.AllocSize = 1 << 20
		err = db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists(boltBucket); return err })
		return &boltEngine{db: db}, err
	}
}

// put sorts the batch first: bbolt's cursor then walks the tree once.
func (e *boltEngine) put(keys, vals [][]byte) error {
	e.idx = e.idx[:0]
	for i := range keys {
		e.idx = append(e.idx, i)
	}
	sort.SliceStable(e.idx, func(a, b int) bool { return bytes.Compare(keys[e.idx[a]], keys[e.idx[b]]) < 0 })
	return e.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(boltBucket)
		b.FillPercent = fill
		for _, i := range e.idx {
			if err := b.Put(keys[i], vals[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

var fill = 0.5

func (e *boltEngine) lookup(keys [][]byte, fn func(int, []byte)) error {
	return e.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(boltBucket).Cursor()
		for i, k := range keys {
			if sk, v := c.Seek(k); sk != nil && bytes.Equal(sk, k) {
				fn(i, v)
			} else {
				fn(i, nil)
			}
		}
		return nil
	})
}

func (e *boltEngine) scan(fn func(k, v []byte)) error {
	return e.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(boltBucket).ForEach(func(k, v []byte) error { fn(k, v); return nil })
	})
}

func (e *boltEngine) close() error { return e.db.Close() }

var boltPage = 4096

// boltCompactSize copies the state in key order into a new file with full
// pages (what a compaction command would do) and returns that file's size.
func boltCompactSize(dir string) int64 {
	src, err := bolt.Open(filepath.Join(dir, "state.db"), 0o600, &bolt.Options{ReadOnly: true})
	check(err)
	defer src.Close()
	path := filepath.Join(dir, "compact.db")
	dst, err := bolt.Open(path, 0o600, nil)
	check(err)
	check(bolt.Compact(dst, src, 64<<20))
	check(dst.Close())
	fi, err := os.Stat(path)
	check(err)
	defer os.Remove(path)
	return fi.Size()
}
