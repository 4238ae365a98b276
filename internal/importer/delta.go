package importer

import (
	"crypto/sha256"
	"encoding/csv"
	"fmt"
	"hash/maphash"
	"os"
	"strconv"
	"sync"
	"time"

	"importer/internal/mapping"
	"importer/internal/results"
	"importer/internal/state"
)

// Delta imports: with a state database (--state), a row whose request is
// exactly what was sent for its key at its last ok is not sent again
// (journal status unchanged). The pieces, in the pipeline's order:
//
//   - mapping workers fingerprint each set-only row: SHA-256 (first 16
//     bytes) of the endpoint, the request options and the row's members;
//     rows using incr/add/delete are events, not state, and always go;
//   - the dispatcher looks the chunk's keys up in the state (one read
//     transaction a chunk) and marks a row unchanged when its fingerprint
//     matches and its key did not come earlier in this input (a key the
//     run sends must not then be skipped for a later, older row);
//   - the writer stores key → fingerprint for rows that ended ok, once
//     their journal lines are on disk (journal fsync, then one state
//     transaction per batch), so a crash never leaves the state claiming a
//     row the journal lacks;
//   - at the end of a run that read its whole input: the ledger entry, and
//     with --missing the keys of the state the export no longer holds.
const (
	deltaCommitRows  = 4096            // puts per state transaction, at most
	deltaCommitEvery = 2 * time.Second // and at least this often
)

// delta is a run's use of its state database.
type delta struct {
	store  *state.Store
	prefix []byte // the fingerprint's first bytes: endpoint and request options

	mu      sync.Mutex  // guards seen and earlier: the reader (resumed rows) and the dispatcher add to them
	seen    *state.Seen // every key of the input, for the missing-key scan
	earlier hashSet     // the same keys, asked row by row: did the key come earlier in this input?

	hits []state.Hit // dispatcher only
	keys []string

	batch      state.Batch // writer only
	lastCommit time.Time
	pool       sync.Pool // *[]byte scratch for fingerprints
}

func newDelta(store *state.Store, endpoint string, envelope []byte) *delta {
	d := &delta{store: store, seen: state.NewSeen(0), earlier: newHashSet(), lastCommit: time.Now()}
	d.prefix = append(append([]byte(endpoint), 0), envelope...)
	d.pool.New = func() any { b := make([]byte, 0, 1024); return &b }
	return d
}

// fingerprint is what the row would send, never the token.
func (d *delta) fingerprint(req *mapping.Request) state.Fingerprint {
	bp := d.pool.Get().(*[]byte)
	b := append((*bp)[:0], d.prefix...)
	b = append(b, 0)
	b = req.AppendSingle(b)
	sum := sha256.Sum256(b)
	*bp = b
	d.pool.Put(bp)
	var fp state.Fingerprint
	copy(fp[:], sum[:])
	return fp
}

// lookup marks the chunk's unchanged rows (the dispatcher calls it with
// the chunk mapped, in file order).
func (d *delta) lookup(c *chunk) error {
	d.keys = d.keys[:0]
	for i := range c.items {
		if c.items[i].hasFP && !c.items[i].resumedOK {
			d.keys = append(d.keys, c.items[i].req.Key)
		}
	}
	if cap(d.hits) < len(d.keys) {
		d.hits = make([]state.Hit, len(d.keys))
	}
	hits := d.hits[:len(d.keys)]
	if len(d.keys) > 0 {
		if err := d.store.Lookup(d.keys, hits); err != nil {
			return fmt.Errorf("state: %w", err)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	j := 0
	for i := range c.items {
		it := &c.items[i]
		if !it.hasFP {
			continue
		}
		if it.resumedOK {
			d.earlier.add(it.req.Key)
			d.seen.Add(it.req.Key)
			continue
		}
		h := hits[j]
		j++
		first := d.earlier.add(it.req.Key)
		d.seen.Add(it.req.Key)
		it.unchanged = first && h.Found && h.Entry.Fingerprint == it.fp
	}
	return nil
}

// see records that the input holds key (rows lookup did not see: invalid,
// risky, or skipped by --resume).
func (d *delta) see(key string) {
	if key == "" {
		return
	}
	d.mu.Lock()
	d.earlier.add(key)
	d.seen.Add(key)
	d.mu.Unlock()
}

// hashSet is a set of keys by their 64-bit hash (open addressing, linear
// probing), for a membership test per row: ~16 bytes a key at most. A Go
// map of strings would hold every key's bytes; state.Seen sorts on every
// test after an add. Two keys with one hash (odds ~10⁻⁸ for a million
// keys) make the second look repeated: it is then sent rather than skipped.
type hashSet struct {
	seed  maphash.Seed
	slots []uint64 // 0 = empty; a hash of 0 is stored as 1
	n     int
}

func newHashSet() hashSet { return hashSet{seed: maphash.MakeSeed(), slots: make([]uint64, 1024)} }

// add adds key and reports whether it was new.
func (s *hashSet) add(key string) bool {
	h := maphash.String(s.seed, key) | 1
	if s.n >= len(s.slots)*3/4 {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return false
		case 0:
			s.slots[i] = h
			s.n++
			return true
		}
	}
}

func (s *hashSet) grow() {
	old := s.slots
	s.slots = make([]uint64, 2*len(old))
	mask := uint64(len(s.slots) - 1)
	for _, h := range old {
		if h == 0 {
			continue
		}
		i := h & mask
		for s.slots[i] != 0 {
			i = (i + 1) & mask
		}
		s.slots[i] = h
	}
}

// put stores a row that ended ok; commitIfDue commits the batch when it is
// big or old enough, after making the journal durable.
func (d *delta) put(o *outcome) {
	d.batch.Put(o.row.Key, o.fp, time.Now(), o.row.Row)
}

func (d *delta) commitIfDue(j *results.Journal) error {
	if d.batch.Len() == 0 || (d.batch.Len() < deltaCommitRows && time.Since(d.lastCommit) < deltaCommitEvery) {
		return nil
	}
	return d.commit(j)
}

// commit makes the journal durable, then the state: the state never holds
// a row whose ok line could be lost.
func (d *delta) commit(j *results.Journal) error {
	d.lastCommit = time.Now()
	if d.batch.Len() == 0 {
		return nil
	}
	if err := j.Sync(); err != nil {
		return err
	}
	if err := d.store.Commit(&d.batch); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	d.batch.Reset()
	return nil
}

// finish commits what is left, with the ledger entry when the run read its
// whole input (run != nil), and writes the missing keys to missingPath when
// asked. It returns how many keys are missing.
func (d *delta) finish(j *results.Journal, run *state.Run, missingPath string) (int64, error) {
	var missing int64
	if run != nil && missingPath != "" {
		n, err := d.writeMissing(missingPath)
		if err != nil {
			return 0, err
		}
		missing = int64(n)
		run.Counts.Missing = missing
	}
	if run != nil {
		d.batch.Record(*run)
	}
	if d.batch.Len() > 0 || run != nil {
		if err := j.Sync(); err != nil {
			return missing, err
		}
		if err := d.store.Commit(&d.batch); err != nil {
			return missing, fmt.Errorf("state: %w", err)
		}
		d.batch.Reset()
	}
	return missing, nil
}

// writeMissing writes the keys of the state the input did not hold: CSV
// key,time,row (the time and input row of their last ok).
func (d *delta) writeMissing(path string) (int, error) {
	// The puts of this run are keys the input held: commit them first so
	// the scan sees the whole state (they are seen anyway).
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("missing keys: %w", err)
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"key", "time", "row"})
	n, err := d.store.Missing(d.seen, func(key string, e state.Entry) error {
		return w.Write([]string{key, e.Time.UTC().Format(time.RFC3339), strconv.FormatInt(e.Row, 10)})
	})
	w.Flush()
	if err == nil {
		err = w.Error()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("missing keys %s: %w", path, err)
	}
	return n, nil
}
