package main

import (
	"errors"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable"
)

type pebbleEngine struct {
	db    *pebble.DB
	cache interface{ Unref() }
}

type quiet struct{}

func (quiet) Infof(string, ...any)  {}
func (quiet) Errorf(string, ...any) {}
func (quiet) Fatalf(format string, args ...any) {
	panic(errors.New("pebble fatal"))
}

func init() {
	engines["pebble"] = func(dir string) (engine, error) {
		cache := pebble.NewCache(int64(pebbleCacheMB) << 20)
		opts := &pebble.Options{Cache: cache, MemTableSize: 4 << 20, Logger: quiet{}}
		if pebbleNewest {
			opts.FormatMajorVersion = pebble.FormatNewest
		}
		for i := range opts.Levels {
			opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
			if pebbleBlock > 0 {
				opts.Levels[i].BlockSize = pebbleBlock
			}
			if pebbleIndexBlock > 0 {
				opts.Levels[i].IndexBlockSize = pebbleIndexBlock
			}
			if pebbleNoCompress {
				opts.Levels[i].Compression = func() *sstable.CompressionProfile { return sstable.NoCompression }
			}
		}
		db, err := pebble.Open(dir, opts)
		if err != nil {
			return nil, err
		}
		return &pebbleEngine{db: db, cache: cache}, nil
	}
}

func (e *pebbleEngine) put(keys, vals [][]byte) error {
	b := e.db.NewBatch()
	defer b.Close()
	for i := range keys {
		if err := b.Set(keys[i], vals[i], nil); err != nil {
			return err
		}
	}
	return b.Commit(pebble.Sync)
}

func (e *pebbleEngine) lookup(keys [][]byte, fn func(int, []byte)) error {
	for i, k := range keys {
		v, c, err := e.db.Get(k)
		if errors.Is(err, pebble.ErrNotFound) {
			fn(i, nil)
			continue
		}
		if err != nil {
			return err
		}
		fn(i, v)
		c.Close()
	}
	return nil
}

func (e *pebbleEngine) scan(fn func(k, v []byte)) error {
	it, err := e.db.NewIter(nil)
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		fn(it.Key(), it.Value())
	}
	return it.Close()
}

func (e *pebbleEngine) close() error {
	err := e.db.Close()
	e.cache.Unref()
	return err
}

var pebbleCacheMB = 8

var (
	pebbleNewest, pebbleNoCompress bool
	pebbleBlock, pebbleIndexBlock  int
)
