package state

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"
)

// foldStep is one step of a staging scenario: a commit of puts (and maybe a
// ledger entry), a fold, or a close and reopen; then what lookups and
// Pending must answer.
type foldStep struct {
	commit  []testPut
	record  bool // the commit also records a ledger entry
	fold    bool
	reopen  bool
	want    map[string]*Entry // key → entry expected (nil: not found)
	pending int
}

// TestStagingAndFold: committed puts are staged, unseen by lookups until a
// fold moves them into the keys, the last put of a key winning within a
// batch and across batches; Open folds what an interrupted run left. Every
// scenario runs with each way of folding.
func TestStagingAndFold(t *testing.T) {
	a, b := "anna@example.com", "boris@example.com"
	e := func(n int64) *Entry { x := entry(n, int(n), n); return &x }
	cases := []struct {
		name  string
		steps []foldStep
	}{
		{"a committed put is not seen until the fold", []foldStep{
			{commit: []testPut{{a, *e(1)}}, want: map[string]*Entry{a: nil}, pending: 1},
			{fold: true, want: map[string]*Entry{a: e(1)}},
		}},
		{"the last put of a key in one batch wins", []foldStep{
			{commit: []testPut{{a, *e(1)}, {b, *e(2)}, {a, *e(3)}}, pending: 3},
			{fold: true, want: map[string]*Entry{a: e(3), b: e(2)}},
		}},
		{"a later batch wins over an earlier one, both staged", []foldStep{
			{commit: []testPut{{a, *e(1)}, {b, *e(2)}}, pending: 2},
			{commit: []testPut{{a, *e(3)}}, pending: 3},
			{fold: true, want: map[string]*Entry{a: e(3), b: e(2)}},
		}},
		{"a staged put replaces a folded one only at the next fold", []foldStep{
			{commit: []testPut{{a, *e(1)}}, pending: 1},
			{fold: true},
			{commit: []testPut{{a, *e(2)}}, want: map[string]*Entry{a: e(1)}, pending: 1},
			{fold: true, want: map[string]*Entry{a: e(2)}},
		}},
		{"keys that are not staged keep their entries", []foldStep{
			{commit: []testPut{{a, *e(1)}, {b, *e(2)}}, pending: 2},
			{fold: true},
			{commit: []testPut{{a, *e(3)}}, pending: 1},
			{fold: true, want: map[string]*Entry{a: e(3), b: e(2)}},
		}},
		{"Open folds what an interrupted run left", []foldStep{
			{commit: []testPut{{a, *e(1)}}, pending: 1},
			{commit: []testPut{{a, *e(2)}, {b, *e(3)}}, pending: 3},
			{reopen: true, want: map[string]*Entry{a: e(2), b: e(3)}},
		}},
		{"a fold with nothing staged changes nothing", []foldStep{
			{commit: []testPut{{a, *e(1)}}, pending: 1},
			{fold: true},
			{fold: true, want: map[string]*Entry{a: e(1), b: nil}},
		}},
		{"a commit of only a ledger entry stages nothing", []foldStep{
			{record: true, pending: 0},
			{fold: true, want: map[string]*Entry{a: nil}},
		}},
	}
	for _, tc := range cases {
		for _, how := range []foldHow{foldAuto, foldInPlace, foldRebuild} {
			t.Run(tc.name+"/"+how.String(), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "state.db")
				s := openStore(t, path)
				for i, st := range tc.steps {
					switch {
					case st.commit != nil || st.record:
						var batch Batch
						for _, p := range st.commit {
							batch.Put(p.key, p.e.Fingerprint, p.e.Time, p.e.Row)
						}
						if st.record {
							batch.Record(Run{Input: "step " + strconv.Itoa(i)})
						}
						if err := s.Commit(&batch); err != nil {
							t.Fatal(err)
						}
					case st.fold:
						foldWith(t, s, how)
					case st.reopen:
						if err := s.Close(); err != nil {
							t.Fatal(err)
						}
						s = openStore(t, path)
					}
					checkStep(t, s, i, st)
				}
			})
		}
	}
}

func checkStep(t *testing.T, s *Store, i int, st foldStep) {
	t.Helper()
	if n, err := s.Pending(); err != nil || n != st.pending {
		t.Errorf("step %d: Pending = %d, %v; want %d", i, n, err, st.pending)
	}
	for key, want := range st.want {
		got := lookup(t, s, key)[0]
		if want == nil && got.Found {
			t.Errorf("step %d: %s found (%+v), want not found", i, key, got.Entry)
		}
		if want != nil && (!got.Found || got.Entry != *want) {
			t.Errorf("step %d: %s = %+v, want %+v", i, key, got, *want)
		}
	}
}

// setVar sets a tuning variable for one test.
func setVar[T any](t *testing.T, v *T, to T) {
	old := *v
	*v = to
	t.Cleanup(func() { *v = old })
}

// TestFoldMatchesModel: random batches over a small key space, folded in
// place or rebuilt at random, with chunks of a few puts (so that chunks,
// transactions and spilled runs all come in numbers), leave exactly what a
// map with last-wins puts holds; bbolt's consistency check passes after
// every fold.
func TestFoldMatchesModel(t *testing.T) {
	setVar(t, &chunkPuts, 7)
	setVar(t, &foldTxnKeys, 3)
	for _, seed := range []uint64{1, 2, 3, 4} {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 11))
			path := filepath.Join(t.TempDir(), "state.db")
			s := openStore(t, path)
			model := map[string]Entry{}
			put := int64(0)
			for round := range 12 {
				for range 1 + rng.IntN(4) {
					var batch Batch
					for range rng.IntN(30) {
						put++
						key := fmt.Sprintf("k%03d@example.com", rng.IntN(120))
						e := entry(put, int(put%40), put)
						batch.Put(key, e.Fingerprint, e.Time, e.Row)
						model[key] = e
					}
					if err := s.Commit(&batch); err != nil {
						t.Fatal(err)
					}
				}
				switch rng.IntN(4) {
				case 0:
					foldWith(t, s, foldInPlace)
				case 1:
					foldWith(t, s, foldRebuild)
				case 2:
					foldWith(t, s, foldAuto)
				case 3:
					s.Close()
					s = openStore(t, path)
				}
				checkConsistent(t, s)
				if diff := cmp.Diff(model, dump(t, s)); diff != "" {
					t.Fatalf("round %d: the state differs from the model (-want +got):\n%s", round, diff)
				}
			}
		})
	}
}

// dump returns every key of the folded state (through lookups, which read
// only folded keys) with its entry.
func dump(t *testing.T, s *Store) map[string]Entry {
	t.Helper()
	out := map[string]Entry{}
	err := s.view(func(tx *bolt.Tx) error {
		if n := pendingIn(tx); n != 0 {
			return fmt.Errorf("%d puts still staged", n)
		}
		return tx.Bucket(bucketKeys).ForEach(func(k, v []byte) error {
			e, err := decodeEntry(v)
			out[string(k)] = e
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, e := range out {
		if h := lookup(t, s, k)[0]; !h.Found || h.Entry != e {
			t.Fatalf("lookup of %q = %+v, the bucket holds %+v", k, h, e)
		}
	}
	return out
}

// checkConsistent runs bbolt's consistency check over the store's file.
func checkConsistent(t *testing.T, s *Store) {
	t.Helper()
	err := s.view(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("bbolt check: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReadOnlySeesStaged: a read-only store cannot fold, so its lookups
// see the folded keys only, while Missing, Export and Stats merge in the
// staged puts (sorting them with spills when they are many), and the file
// is left as it was.
func TestReadOnlySeesStaged(t *testing.T) {
	setVar(t, &chunkPuts, 4)
	path := filepath.Join(t.TempDir(), "state.db")
	s := openStore(t, path)
	commit(t, s, testPut{"a", entry(1, 0, 1)}, testPut{"c", entry(2, 0, 2)}, testPut{"e", entry(3, 0, 3)})
	fold(t, s)
	// Staged, the newest last: c changes twice, b and d are new.
	commit(t, s, testPut{"c", entry(4, 1, 4)}, testPut{"d", entry(5, 1, 5)}, testPut{"b", entry(6, 1, 6)})
	commit(t, s, testPut{"c", entry(7, 2, 7)}, testPut{"f", entry(8, 2, 8)})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before := readFile(t, path)

	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if diff := cmp.Diff([]Hit{{Found: true, Entry: entry(2, 0, 2)}, {}}, lookup(t, ro, "c", "b")); diff != "" {
		t.Errorf("read-only lookups (-want +got):\n%s", diff)
	}
	var buf bytes.Buffer
	if n, err := ro.Export(&buf); err != nil || n != 6 {
		t.Fatalf("Export = %d, %v; want 6 keys", n, err)
	}
	wantCSV := "key,time,row\n" +
		"a,2026-11-30T02:00:00Z,1\nb,2026-12-01T02:00:00Z,6\nc,2026-12-02T02:00:00Z,7\n" +
		"d,2026-12-01T02:00:00Z,5\ne,2026-11-30T02:00:00Z,3\nf,2026-12-02T02:00:00Z,8\n"
	if diff := cmp.Diff(wantCSV, buf.String()); diff != "" {
		t.Errorf("Export (-want +got):\n%s", diff)
	}
	seen := NewSeen(0)
	for _, k := range []string{"a", "c", "f"} {
		seen.Add(k)
	}
	var missing []string
	if _, err := ro.Missing(seen.HasBytes, func(k string, _ Entry) error { missing = append(missing, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"b", "d", "e"}, missing); diff != "" {
		t.Errorf("Missing (-want +got):\n%s", diff)
	}
	st, err := ro.Stats(0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Keys != 6 || st.Pending != 5 {
		t.Errorf("Stats: %d keys, %d pending; want 6 and 5", st.Keys, st.Pending)
	}
	if err := ro.Fold(context.Background()); err == nil {
		t.Error("Fold on a read-only store succeeded")
	}
	if !bytes.Equal(before, readFile(t, path)) {
		t.Error("the read-only store changed the file")
	}
}

// TestForgetFoldsFirst: a key forgotten while a put of it is staged is
// gone, and no later fold brings it back.
func TestForgetFoldsFirst(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := openStore(t, path)
	commit(t, s, testPut{"a", entry(1, 0, 1)}, testPut{"b", entry(2, 0, 2)})
	if n, err := s.Forget([]string{"a"}); err != nil || n != 1 {
		t.Fatalf("Forget = %d, %v; want 1", n, err)
	}
	fold(t, s)
	s.Close()
	s = openStore(t, path)
	if diff := cmp.Diff([]Hit{{}, {Found: true, Entry: entry(2, 0, 2)}}, lookup(t, s, "a", "b")); diff != "" {
		t.Errorf("after Forget, a fold and a reopen (-want +got):\n%s", diff)
	}
}

// TestStagedRecords: a commit's puts are staged in records of consecutive
// puts of at most pieceMax bytes (a longer put alone), numbered by their
// first put, the numbers going on across commits.
func TestStagedRecords(t *testing.T) {
	s := newStore(t)
	var batch Batch
	// 100 puts of 44 bytes (1 + a 20-byte key + a 16-byte fingerprint, 5
	// bytes of time and 2 of row): 22 fit in a record.
	for i := range 100 {
		batch.Put(fmt.Sprintf("user%04d@example.com", i), fpOf(int64(i)), at(0), int64(1000+i))
	}
	if err := s.Commit(&batch); err != nil {
		t.Fatal(err)
	}
	batch.Reset()
	batch.Put("x@example.com", fpOf(1), at(0), 1)
	batch.Put(string(bytes.Repeat([]byte("y"), 2000)), fpOf(2), at(0), 2)
	batch.Put("z@example.com", fpOf(3), at(0), 3)
	if err := s.Commit(&batch); err != nil {
		t.Fatal(err)
	}
	type rec struct {
		First uint64
		Puts  int
		Bytes int
	}
	var got []rec
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketStaged).ForEach(func(k, v []byte) error {
			r := rec{First: be64(k), Bytes: len(v)}
			for len(v) > 0 {
				_, _, rest, err := nextPut(v)
				if err != nil {
					return err
				}
				v = rest
				r.Puts++
			}
			got = append(got, r)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []rec{
		{1, 22, 968}, {23, 22, 968}, {45, 22, 968}, {67, 22, 968}, {89, 12, 528},
		{101, 1, 36}, {102, 1, 2024}, {103, 1, 36},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("staged records (-want +got):\n%s", diff)
	}
	if n, err := s.Pending(); err != nil || n != 103 {
		t.Errorf("Pending = %d, %v; want 103", n, err)
	}
}

func be64(b []byte) uint64 {
	var n uint64
	for _, c := range b {
		n = n<<8 | uint64(c)
	}
	return n
}

// TestSortChunk: a chunk sorts by key whatever the keys share (nothing,
// their first 8 bytes, 20 bytes, all but trailing zero bytes), and keeps
// the last put of each key.
func TestSortChunk(t *testing.T) {
	cases := []struct {
		name string
		keys []string
	}{
		{"distinct first bytes", []string{"olga", "anna", "boris", "ivan", "anna", "olga"}},
		{"a shared 8-byte prefix", []string{"ivan.petrov3", "ivan.petrov1", "ivan.petrov2", "ivan.petrov1", "ivan.pet"}},
		{"phone numbers sharing 9 bytes", []string{"+79161234567", "+79161230000", "+79161234567", "+79161239999", "+7916123"}},
		{"keys differing only in trailing zero bytes", []string{"a\x00\x00", "a", "a\x00", "a", "a\x00\x00"}},
		{"a big group sharing 20 bytes", func() []string {
			var ks []string
			for i := range 200 {
				ks = append(ks, fmt.Sprintf("customer-0000000000-%03d", (i*37)%150))
			}
			return ks
		}()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c chunk
			last := map[string]int{}
			for i, k := range tc.keys {
				it := item{pfx: prefix([]byte(k)), off: uint32(len(c.buf)), idx: uint32(i)}
				c.buf = append(c.buf, k...)
				it.mid = uint32(len(c.buf))
				c.buf = strconv.AppendInt(c.buf, int64(i), 10)
				it.end = uint32(len(c.buf))
				c.items = append(c.items, it)
				last[k] = i
			}
			c.sortDedup()
			var got []string
			for i := range c.items {
				got = append(got, fmt.Sprintf("%q=%s", c.key(i), c.val(i)))
			}
			var want []string
			for _, k := range slices.Sorted(maps.Keys(last)) {
				want = append(want, fmt.Sprintf("%q=%d", k, last[k]))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("sorted chunk (-want +got):\n%s", diff)
			}
		})
	}
}
