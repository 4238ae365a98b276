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
//   - the same workers look the chunk's keys up in the state (one read
//     transaction a chunk, in parallel; none when the state is empty), and
//     the dispatcher, in file order, marks a row unchanged when its
//     fingerprint matches and its key did not come earlier in this input
//     (a key the run sends must not then be skipped for a later, older
//     row);
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
	// holds at the end came from this input: the run keeps no key set at
	// all, which on a million keys spares 16 MB of live heap and the
	// collections it costs under the memory limit.
	empty bool

	mu sync.Mutex // guards seen: the reader (resumed rows) and the dispatcher add to it
	// seen is every key of the input: asked row by row (did the key come
	// earlier in this input?) and by the missing-key scan.
	seen *state.Seen

	batch      state.Batch // writer only
	lastCommit time.Time
	pool       sync.Pool // *[]byte scratch for fingerprints
}

// newDelta prepares a run's delta over store. stored is how many keys the
// state holds: tonight's export holds about as many, so the key set is
// sized once for them instead of doubling (and copying) as it fills.
func newDelta(store *state.Store, stored int, endpoint string, envelope []byte) *delta {
	d := &delta{store: store, empty: stored == 0, seen: state.NewSeen(stored), lastCommit: time.Now()}
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

// lookupScratch is a mapping worker's buffers for its chunks' lookups.
type lookupScratch struct {
	keys []string
	at   []int // the item of each key
	hits []state.Hit
}

// lookup looks the chunk's fingerprinted rows up in the state (a mapping
// worker calls it once the chunk is mapped; lookups of chunks run in
// parallel, each in its own read transaction).
func (d *delta) lookup(c *chunk, sc *lookupScratch) error {
	if d.empty {
		return nil
	}
	sc.keys, sc.at = sc.keys[:0], sc.at[:0]
	for i := range c.items {
		if it := &c.items[i]; it.hasFP && !it.resumedOK {
			sc.keys = append(sc.keys, it.req.Key)
			sc.at = append(sc.at, i)
		}
	}
	if len(sc.keys) == 0 {
		return nil
	}
	if cap(sc.hits) < len(sc.keys) {
		sc.hits = make([]state.Hit, len(sc.keys))
	}
	hits := sc.hits[:len(sc.keys)]
	if err := d.store.Lookup(sc.keys, hits); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	for n, i := range sc.at {
		it := &c.items[i]
		it.stored = hits[n].Found && hits[n].Entry.Fingerprint == it.fp
	}
	return nil
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
		if !it.hasFP {
			continue
		}
		first := d.seen.Add(it.req.Key)
		it.unchanged = first && !it.resumedOK && it.stored
	}
}

// see records that the input holds key (rows lookup did not see: invalid,
// risky, or skipped by --resume).
func (d *delta) see(key string) {
	if key == "" || d.empty {
		return
	}
	d.mu.Lock()
	d.seen.Add(key)
	d.mu.Unlock()
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
	// the scan sees the whole state (they are seen anyway). A state that
	// was empty when the run began holds only keys of this input.
	held := d.seen.HasBytes
	if d.empty {
		held = func([]byte) bool { return true }
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
