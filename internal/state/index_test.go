package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// indexKey is test key i of an indexed state.
func indexKey(i int) string { return fmt.Sprintf("user%05d@example.com", i) }

// fp8 is the part of a fingerprint an Index keeps.
func fp8(f Fingerprint) uint64 { return binary.LittleEndian.Uint64(f[:8]) }

// sameFirst8 is a fingerprint equal to f in its first 8 bytes only.
func sameFirst8(f Fingerprint) Fingerprint {
	f[15] ^= 0xff
	return f
}

// indexedStore is a state of n keys (key i holds fpOf(i)), folded, plus,
// if staged, puts that change keys 0–9 and add n..n+9, which neither
// Lookup nor an Index sees until the next fold.
func indexedStore(t *testing.T, n int, staged bool) *Store {
	t.Helper()
	s := newStore(t)
	var puts []testPut
	for i := range n {
		puts = append(puts, testPut{indexKey(i), entry(int64(i), 0, int64(i+1))})
	}
	commit(t, s, puts...)
	fold(t, s)
	if !staged {
		return s
	}
	puts = puts[:0]
	for i := range 10 {
		puts = append(puts, testPut{indexKey(i), entry(int64(-i-1), 1, 1)}, testPut{indexKey(n + i), entry(int64(n+i), 1, 1)})
	}
	commit(t, s, puts...)
	return s
}

// TestIndexAnswersAsLookup: on a real store, an Index accepts a key and a
// fingerprint exactly when Store.Lookup finds the key with that
// fingerprint (in its first 8 bytes), staged puts unseen by both; with
// hashes cut to a few bits, so that hundreds of keys share each hash, it
// accepts exactly when a stored key with the same hash holds that
// fingerprint: every stored key still finds its own.
func TestIndexAnswersAsLookup(t *testing.T) {
	const n = 3000
	s := indexedStore(t, n, true)
	var keys []string
	for i := range n + 20 { // the last 20: staged (10) or never put (10)
		keys = append(keys, indexKey(i))
	}
	hits := lookup(t, s, keys...)
	cases := []struct {
		name     string
		hashBits uint
	}{
		{"64-bit hashes", 64},
		{"hashes cut to 9 bits: about 6 keys a hash", 9},
		{"hashes cut to 3 bits: 8 hashes for 3000 keys", 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x, err := s.index(tc.hashBits)
			if err != nil {
				t.Fatal(err)
			}
			if x.Len() != n {
				t.Fatalf("Len() = %d, want %d", x.Len(), n)
			}
			// What a stored key with the same hash holds, by hash.
			held := map[uint64]map[uint64]bool{}
			for i, h := range hits {
				if h.Found {
					hk := x.hash(keys[i])
					if held[hk] == nil {
						held[hk] = map[uint64]bool{}
					}
					held[hk][fp8(h.Entry.Fingerprint)] = true
				}
			}
			if tc.hashBits < 64 && len(held) > 1<<tc.hashBits {
				t.Fatalf("%d distinct hashes for %d keys: no collisions forced", len(held), n)
			}
			queries := []struct {
				what string
				fp   func(i int, h Hit) Fingerprint
			}{
				{"its stored fingerprint", func(i int, h Hit) Fingerprint { return h.Entry.Fingerprint }},
				{"its staged fingerprint", func(i int, h Hit) Fingerprint { return fpOf(int64(-i - 1)) }},
				{"another key's fingerprint", func(i int, h Hit) Fingerprint { return fpOf(int64((i + 1) % n)) }},
				{"its own in the first 8 bytes only", func(i int, h Hit) Fingerprint { return sameFirst8(h.Entry.Fingerprint) }},
				{"a fingerprint never stored", func(i int, h Hit) Fingerprint { return fpOf(int64(i), 99) }},
			}
			for _, q := range queries {
				for i, key := range keys {
					fp := q.fp(i, hits[i])
					want := hits[i].Found && fp8(hits[i].Entry.Fingerprint) == fp8(fp)
					if tc.hashBits < 64 {
						want = held[x.hash(key)][fp8(fp)]
					}
					slot := x.Lookup(key, fp)
					if got := slot >= 0; got != want {
						t.Fatalf("Lookup(%s, %s) = %d: accepted %v, want %v (Store.Lookup: %+v)", key, q.what, slot, got, want, hits[i])
					}
					if slot >= 0 && (x.slots[slot].hash != x.hash(key) || x.slots[slot].fp != fp8(fp)) {
						t.Fatalf("Lookup(%s, %s) = slot %d, which holds another hash or fingerprint", key, q.what, slot)
					}
				}
			}
		})
	}
}

// TestIndexEdges: the states at the edges of what an Index reads.
func TestIndexEdges(t *testing.T) {
	cases := []struct {
		name    string
		prepare func(t *testing.T, path string) *Store
		len     int
		lookups map[string]Fingerprint // key → fingerprint: each must be accepted
		misses  map[string]Fingerprint // each must not
		corrupt bool
	}{
		{
			name:    "an empty state: nothing is accepted",
			prepare: func(t *testing.T, path string) *Store { return openStore(t, path) },
			misses:  map[string]Fingerprint{"anna@example.com": fpOf(1), "": {}},
		},
		{
			name: "one key",
			prepare: func(t *testing.T, path string) *Store {
				s := openStore(t, path)
				commit(t, s, testPut{"anna@example.com", entry(1, 0, 1)})
				fold(t, s)
				return s
			},
			len:     1,
			lookups: map[string]Fingerprint{"anna@example.com": fpOf(1)},
			misses:  map[string]Fingerprint{"anna@example.com ": fpOf(1), "ANNA@example.com": fpOf(1), "boris@example.com": fpOf(1)},
		},
		{
			name: "read-only, puts staged by a run that died: unseen, as by Lookup",
			prepare: func(t *testing.T, path string) *Store {
				s := openStore(t, path)
				commit(t, s, testPut{"anna@example.com", entry(1, 0, 1)})
				fold(t, s)
				commit(t, s, testPut{"anna@example.com", entry(2, 1, 1)}, testPut{"boris@example.com", entry(3, 1, 2)})
				s.Close()
				ro, err := Open(path, Options{ReadOnly: true})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { ro.Close() })
				return ro
			},
			len:     1,
			lookups: map[string]Fingerprint{"anna@example.com": fpOf(1)},
			misses:  map[string]Fingerprint{"anna@example.com": fpOf(2), "boris@example.com": fpOf(3)},
		},
		{
			name: "a value too short to be an entry: ErrCorrupt",
			prepare: func(t *testing.T, path string) *Store {
				s := openStore(t, path)
				if err := s.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketKeys).Put([]byte("anna@example.com"), []byte{1, 2, 3}) }); err != nil {
					t.Fatal(err)
				}
				return s
			},
			corrupt: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.prepare(t, filepath.Join(t.TempDir(), "state.db"))
			x, err := s.Index()
			if tc.corrupt {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Index() = %v, want an error wrapping ErrCorrupt", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if x.Len() != tc.len {
				t.Errorf("Len() = %d, want %d", x.Len(), tc.len)
			}
			for key, fp := range tc.lookups {
				if x.Lookup(key, fp) < 0 {
					t.Errorf("Lookup(%q, %s) = -1, want a slot", key, fp)
				}
			}
			for key, fp := range tc.misses {
				if slot := x.Lookup(key, fp); slot >= 0 {
					t.Errorf("Lookup(%q, %s) = slot %d, want -1", key, fp, slot)
				}
			}
		})
	}
	t.Run("a closed store: an error, no index", func(t *testing.T) {
		s := newStore(t)
		s.Close()
		if x, err := s.Index(); err == nil {
			t.Fatalf("Index() of a closed store = %v, nil", x)
		}
	})
}

// TestIndexConcurrentLookups: once built, an Index answers lookups from
// many goroutines at once (run under -race), each answer as alone.
func TestIndexConcurrentLookups(t *testing.T) {
	const n = 2000
	s := indexedStore(t, n, true)
	x, err := s.index(10) // collisions: longer chains read by every goroutine
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for j := range n {
				i := (j*7 + g*131) % n
				if x.Lookup(indexKey(i), fpOf(int64(i))) < 0 {
					errs <- fmt.Errorf("goroutine %d: key %d with its fingerprint not accepted", g, i)
					return
				}
				if x.Lookup(indexKey(n+10+i), fpOf(int64(n+10+i))) >= 0 {
					errs <- fmt.Errorf("goroutine %d: a key never stored accepted", g)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
