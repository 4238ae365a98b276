package importer

import (
	"crypto/sha256"
	"encoding/csv"
	"fmt"
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
//   - the same workers look the chunk's keys up in an in-memory index of
//     the state as the run began (read once, while the input is hashed;
//     none when the state is empty), and the dispatcher, in file order,
//     marks a row unchanged when its fingerprint matches and its key did
//     not come earlier in this input (a key the run sends must not then be
//     skipped for a later, older row);
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

	// empty: the state held no keys when the run began (a first night).
	// No lookup can hit, no row can be unchanged, and every key the state
	// holds at the end came from this input: the run keeps no index and no
	// key set at all, which on a million keys spares 20 MB of live heap
	// and the collections it costs under the memory limit.
	empty bool
	// idx is the state's keys and fingerprints as the run began (nil when
	// empty): read only, so the mapping workers look rows up in parallel.
	idx *state.Index

	mu sync.Mutex // guards keys: the reader (resumed rows) and the dispatcher add to it
	// keys is every key of the input: a bit per slot of idx and a small
	// set of the keys idx lacks, asked row by row (did the key come
	// earlier in this input?) and by the missing-key scan.
	keys *state.InputKeys

	batch      state.Batch // writer only
	lastCommit time.Time
	pool       sync.Pool // *[]byte scratch for fingerprints
}

// newDelta prepares a run's delta over store, whose keys idx holds; empty
// says the state holds none (then idx is not kept).
func newDelta(store *state.Store, idx *state.Index, empty bool, endpoint string, envelope []byte) *delta {
	d := &delta{store: store, empty: empty, lastCommit: time.Now()}
	if !empty {
		d.idx, d.keys = idx, state.NewInputKeys(idx)
	}
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

// startIndex reads the state's keys into an index on a goroutine of its
// own (a few tenths of a second per million keys), so that the reading
// overlaps whatever the run does before its first lookup; wait returns it.
func startIndex(store *state.Store) (wait func() (*state.Index, error)) {
	done := make(chan struct{})
	var idx *state.Index
	var err error
	go func() {
		defer close(done)
		idx, err = store.Index()
	}()
	return func() (*state.Index, error) {
		<-done
		if err != nil {
			return nil, err // the state's errors name the state and its file
		}
		return idx, nil
	}
}

// lookup looks the chunk's fingerprinted rows up in the index (a mapping
// worker calls it once the chunk is mapped; workers look up in parallel).
func (d *delta) lookup(c *chunk) {
	if d.empty {
		return
	}
	for i := range c.items {
		if it := &c.items[i]; it.hasFP && !it.resumedOK {
			slot := d.idx.Lookup(it.req.Key, it.fp)
			it.stored, it.slot = slot >= 0, int32(slot)
		}
	}
}

// mark marks the chunk's unchanged rows: the state holds the row's
// request and the key did not come earlier in this input. The dispatcher
// calls it with chunks in file order.
func (d *delta) mark(c *chunk) {
	if d.empty {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range c.items {
		it := &c.items[i]
		switch {
		case it.stored:
			it.unchanged = d.keys.AddSlot(int(it.slot))
		case it.hasFP:
			d.keys.Add(it.req.Key)
		}
	}
}

// see records that the input holds key (rows lookup did not see: invalid,
// risky, or skipped by --resume).
func (d *delta) see(key string) {
	if key == "" || d.empty {
		return
	}
	d.mu.Lock()
	d.keys.Add(key)
	d.mu.Unlock()
}

// put stores a row that ended ok at time now; commitIfDue commits the
// batch when it is big or old enough, after making the journal durable.
// now is the journal's (Journal.Now): two clock reads a row cost 80 ns.
func (d *delta) put(o *outcome, now time.Time) {
	d.batch.Put(o.row.Key, o.fp, now, o.row.Row)
}

func (d *delta) commitIfDue(j *results.Journal, now time.Time) error {
	if d.batch.Len() == 0 || (d.batch.Len() < deltaCommitRows && now.Sub(d.lastCommit) < deltaCommitEvery) {
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
		return err // "state commit to PATH: ..."
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
		// The scan folds the puts committed so far: commit the last ones
		// first, so that one fold takes them all (the ledger entry, which
		// needs the count, is committed after, and stages nothing). Left
		// for the run's Fold, they cost a second fold.
		if err := d.commit(j); err != nil {
			return 0, err
		}
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
			return missing, err
		}
		d.batch.Reset()
	}
	return missing, nil
}

// writeMissing writes the keys of the state the input did not hold: CSV
// key,time,row (the time and input row of their last ok).
func (d *delta) writeMissing(path string) (int, error) {
	// The puts of this run are keys the input held (the scan folds them
	// first, as a store open for writing does). A state that was empty
	// when the run began holds only keys of this input.
	held := func([]byte) bool { return true }
	if !d.empty {
		held = d.keys.Held()
	}
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("missing keys: %w", err)
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"key", "time", "row"})
	n, err := d.store.Missing(held, func(key string, e state.Entry) error {
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
