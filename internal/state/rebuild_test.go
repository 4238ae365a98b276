package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"
)

// TestRebuiltFileShapes: the file a rebuild writes page by page passes
// bbolt's consistency check and holds exactly the keys, for trees of every
// shape: none, one key, keys filling pages to the byte, keys longer than a
// page (overflow pages), many tiny keys, enough keys for three levels of
// pages, and a ledger too big to be stored inline. bbolt then writes into
// it (puts, deletes, a fold in place) and the check still passes.
func TestRebuiltFileShapes(t *testing.T) {
	long := func(c byte, n int) string { return strings.Repeat(string(c), n) }
	cases := []struct {
		name  string
		keys  func() []string
		runs  int
		depth int // of the keys' tree (1: a leaf, or inline)
	}{
		{"no keys", func() []string { return nil }, 0, 1},
		{"one key", func() []string { return []string{"a"} }, 1, 1},
		{"keys longer than a page", func() []string {
			return []string{"a", long('b', 5000), long('c', MaxKeyLen), "d", long('e', 4080)}
		}, 0, 3},
		{"many one-byte and two-byte keys", func() []string {
			var ks []string
			for i := range 256 * 4 {
				if i < 256 {
					ks = append(ks, string([]byte{byte(i)}))
				} else {
					ks = append(ks, string([]byte{byte(i / 256), byte(i)}))
				}
			}
			return ks
		}, 0, 2},
		{"three levels of pages and a paged ledger", func() []string {
			// 200-byte keys: 17 to a leaf, 18 to a branch page.
			var ks []string
			for i := range 1000 {
				ks = append(ks, fmt.Sprintf("%0190d@example", i*7919%1000))
			}
			return ks
		}, 40, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			s := openStore(t, path)
			model := map[string]Entry{}
			var batch Batch
			for i, k := range tc.keys() {
				e := entry(int64(i), i%9, int64(i))
				batch.Put(k, e.Fingerprint, e.Time, e.Row)
				model[k] = e
			}
			if err := s.Commit(&batch); err != nil {
				t.Fatal(err)
			}
			for i := range tc.runs {
				batch.Reset()
				batch.Record(Run{Input: fmt.Sprintf("night-%03d.csv", i), Content: Hash{byte(i)}})
				if err := s.Commit(&batch); err != nil {
					t.Fatal(err)
				}
			}
			foldWith(t, s, foldRebuild)
			checkConsistent(t, s)
			s.view(func(tx *bolt.Tx) error {
				if d := tx.Bucket(bucketKeys).Stats().Depth; d != tc.depth {
					t.Errorf("the keys' tree is %d levels deep, want %d", d, tc.depth)
				}
				if inline := tx.Bucket(bucketRuns).Stats().InlineBucketN == 1; inline != (tc.runs < 10) {
					t.Errorf("the ledger of %d entries is inline: %v", tc.runs, inline)
				}
				return nil
			})
			if diff := cmp.Diff(model, dump(t, s)); diff != "" {
				t.Fatalf("rebuilt state (-want +got):\n%s", diff)
			}
			runs, err := s.Runs(0)
			if err != nil || len(runs) != tc.runs {
				t.Fatalf("Runs = %d, %v; want %d", len(runs), err, tc.runs)
			}
			// bbolt writes into the rebuilt file.
			var forget []string
			for i, k := range slices.Sorted(maps.Keys(model)) {
				if i%3 == 0 {
					forget = append(forget, k)
					delete(model, k)
				}
			}
			if _, err := s.Forget(forget); err != nil {
				t.Fatal(err)
			}
			commit(t, s, testPut{"new@example.com", entry(1, 1, 1)})
			model["new@example.com"] = entry(1, 1, 1)
			foldWith(t, s, foldInPlace)
			checkConsistent(t, s)
			if diff := cmp.Diff(model, dump(t, s)); diff != "" {
				t.Fatalf("after bbolt's writes (-want +got):\n%s", diff)
			}
			s.Close()
			s = openStore(t, path)
			checkConsistent(t, s)
		})
	}
}

// TestRebuildKeepsWhatIsNotKeys: a rebuild keeps the ledger, in order, and
// its numbering (the next entry comes after the others); the staging
// sequence goes on; the file keeps its permissions; a database reached
// through a symlink is rebuilt where the link points, and the link stays.
func TestRebuildKeepsWhatIsNotKeys(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.db")
	link := filepath.Join(dir, "link.db")
	if err := os.Symlink(real, link); err != nil {
		t.Skip("no symlinks here:", err)
	}
	s := openStore(t, link)
	var b Batch
	b.Put("a", fpOf(1), at(0), 1)
	b.Record(Run{Input: "one.csv"})
	if err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	b.Record(Run{Input: "two.csv"})
	if err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(real, 0o640); err != nil {
		t.Fatal(err)
	}
	foldWith(t, s, foldRebuild)

	b.Reset()
	b.Put("b", fpOf(2), at(0), 2)
	b.Record(Run{Input: "three.csv"})
	if err := s.Commit(&b); err != nil {
		t.Fatal(err)
	}
	var names []string
	runs, err := s.Runs(0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		names = append(names, r.Input)
	}
	if diff := cmp.Diff([]string{"three.csv", "two.csv", "one.csv"}, names); diff != "" {
		t.Errorf("ledger after a rebuild and a commit, newest first (-want +got):\n%s", diff)
	}
	err = s.view(func(tx *bolt.Tx) error {
		var seqs []uint64
		tx.Bucket(bucketRuns).ForEach(func(k, _ []byte) error { seqs = append(seqs, binary.BigEndian.Uint64(k)); return nil })
		if !slices.Equal(seqs, []uint64{1, 2, 3}) {
			t.Errorf("ledger keys %v, want 1 2 3", seqs)
		}
		if k, _ := tx.Bucket(bucketStaged).Cursor().First(); k == nil || binary.BigEndian.Uint64(k) != 2 {
			t.Errorf("the put after the rebuild is staged as put %x, want 2 (the numbers go on)", k)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v, %v", fi.Mode(), err)
	}
	if fi, err := os.Stat(real); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("the rebuilt file's mode is %v (%v), want 0640", fi.Mode().Perm(), err)
	}
	if _, err := os.Stat(real + ".lock"); err != nil {
		t.Errorf("the lock file is not beside the real file: %v", err)
	}
}

// TestLockHeldDuringRebuild: at every point of a rebuild, and after it,
// another Open of the state fails with ErrLocked naming the file: the lock
// is on a file the rename does not replace. (flock locks conflict between
// two opens of a file in one process too.)
func TestLockHeldDuringRebuild(t *testing.T) {
	if !posixFiles {
		t.Skip("no flock here")
	}
	setVar(t, &chunkPuts, 10)
	setVar(t, &lockWait, 10*time.Millisecond)
	path := filepath.Join(t.TempDir(), "state.db")
	s := openStore(t, path)
	var b Batch
	for i := range 50 { // five commits: five staged records, four spilled runs
		b.Put(fmt.Sprintf("k%02d", i), fpOf(int64(i)), at(0), int64(i))
		if b.Len() == 10 {
			if err := s.Commit(&b); err != nil {
				t.Fatal(err)
			}
			b.Reset()
		}
	}
	tryOpen := func(point string) {
		for _, opts := range []Options{{}, {ReadOnly: true}} {
			o, err := Open(path, opts)
			if err == nil {
				o.Close()
				t.Errorf("%s: Open(ReadOnly=%v) succeeded during the rebuild", point, opts.ReadOnly)
				continue
			}
			if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) {
				t.Errorf("%s: Open error %q, want ErrLocked naming %s", point, err, path)
			}
		}
	}
	var points []string
	foldHook = func(point string) {
		points = append(points, point)
		tryOpen(point)
	}
	t.Cleanup(func() { foldHook = nil })
	foldWith(t, s, foldRebuild)
	foldHook = nil
	tryOpen("after the rebuild")
	if diff := cmp.Diff([]string{"spilled", "spilled", "spilled", "spilled", "writing", "rename", "renamed"}, points); diff != "" {
		t.Errorf("rebuild points (-want +got):\n%s", diff)
	}
}

// TestLeftoversRemoved: the files a rebuild killed part way leaves (the
// half-written new file; a spill file where the system keeps them by name)
// are removed by the next Open for writing, and only they; a read-only
// Open leaves them.
func TestLeftoversRemoved(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	s := openStore(t, path)
	s.Close()
	leftovers := []string{"state.db.rebuild.tmp", "state.db.spill-123.tmp", "state.db.spill-9.tmp"}
	others := []string{"state.db.lock", "other.db.spill-1.tmp", "state.db.spill-1.tmpx", "notes.txt"}
	for _, name := range append(slices.Clone(leftovers), others...) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	ro.Close()
	if got := dirNames(t, dir); len(got) != 1+len(leftovers)+len(others) {
		t.Fatalf("a read-only Open removed files: %v", got)
	}
	s = openStore(t, path)
	s.Close()
	want := append([]string{"state.db"}, others...)
	slices.Sort(want)
	if diff := cmp.Diff(want, dirNames(t, dir)); diff != "" {
		t.Errorf("files after Open (-want +got):\n%s", diff)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TestOpenVersion1: a file of format version 1 (no staging bucket) is read
// as it is by a read-only Open, and upgraded by an Open for writing, its
// keys and ledger kept.
func TestOpenVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucket(bucketMeta)
		meta.Put(metaMagic, []byte(magic))
		meta.Put(metaFormat, binary.AppendUvarint(nil, 1))
		keys, _ := tx.CreateBucket(bucketKeys)
		e := entry(1, 0, 7)
		keys.Put([]byte("anna@example.com"), appendEntry(nil, &e))
		runs, _ := tx.CreateBucket(bucketRuns)
		return runs.Put(binary.BigEndian.AppendUint64(nil, 1), []byte(`{"input":"old.csv"}`))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	before := readFile(t, path)
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	st, err := ro.Stats(1)
	if err != nil || st.Format != 1 || st.Keys != 1 || len(st.Runs) != 1 {
		t.Errorf("read-only Stats of a version 1 file = %+v, %v", st, err)
	}
	ro.Close()
	if string(before) != string(readFile(t, path)) {
		t.Error("a read-only Open changed the version 1 file")
	}

	s := openStore(t, path)
	if diff := cmp.Diff([]Hit{{Found: true, Entry: entry(1, 0, 7)}}, lookup(t, s, "anna@example.com")); diff != "" {
		t.Errorf("lookup after the upgrade (-want +got):\n%s", diff)
	}
	commit(t, s, testPut{"boris@example.com", entry(2, 0, 8)})
	fold(t, s)
	st, err = s.Stats(5)
	if err != nil || st.Format != FormatVersion || st.Keys != 2 || len(st.Runs) != 1 || st.Runs[0].Input != "old.csv" {
		t.Errorf("Stats after the upgrade = %+v, %v", st, err)
	}
}
