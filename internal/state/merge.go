package state

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// The external sort of the staged puts. The staging area is read in
// sequence order, a chunk at a time; each chunk is sorted by key, keeps the
// last put of each key and becomes a sorted run. Every run but the last is
// written to one spill file; the last stays in memory. A k-way merge of the
// runs, where the newest run wins among equal keys, gives every staged key
// once with its last put; merging that with the keys bucket (staged wins)
// gives the state as a fold would leave it, in key order.

// spillPattern names spill files: the database's name, then this.
const spillPattern = ".spill-*.tmp"

// rebuildPath is the new file a rebuild writes before the rename.
func rebuildPath(dataPath string) string { return dataPath + ".rebuild.tmp" }

// removeSpills removes spill files of dataPath's rebuilds.
func removeSpills(dataPath string) error {
	dir, base := filepath.Split(dataPath)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	prefix, suffix, _ := strings.Cut(spillPattern, "*")
	for _, e := range ents {
		name := e.Name()
		if rest, ok := strings.CutPrefix(name, base+prefix); ok && strings.HasSuffix(rest, suffix) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// sortedRun is one sorted run of staged puts: in memory (a chunk) or a
// section of the spill file. k and v are its current put, valid until
// advance.
type sortedRun struct {
	age  int // the run's place in sequence order: higher is newer
	k, v []byte
	done bool

	mem *chunk // an in-memory run
	i   int

	r   *bufio.Reader // a spilled run
	buf []byte
}

// advance moves to the run's next put.
func (r *sortedRun) advance() error {
	if r.mem != nil {
		if r.i == len(r.mem.items) {
			r.done = true
			return nil
		}
		r.k, r.v = r.mem.key(r.i), r.mem.val(r.i)
		r.i++
		return nil
	}
	kl, err := binary.ReadUvarint(r.r)
	if err == io.EOF {
		r.done = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("read spill file: %w", err)
	}
	vl, err := binary.ReadUvarint(r.r)
	if err != nil || kl > MaxKeyLen || vl > maxValueLen {
		return fmt.Errorf("read spill file: bad record header (%v)", err)
	}
	n := int(kl + vl)
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	r.buf = r.buf[:n]
	if _, err := io.ReadFull(r.r, r.buf); err != nil {
		return fmt.Errorf("read spill file: %w", err)
	}
	r.k, r.v = r.buf[:kl], r.buf[kl:]
	return nil
}

// stagedMerge yields the staged puts once per key, the last one, in key
// order. Its runs form a heap: smallest key first, the newest run first
// among equal keys.
type stagedMerge struct {
	heap  []*sortedRun
	spill *os.File
	k, v  []byte // the current put (copied: the runs reuse their buffers)
}

func (m *stagedMerge) less(i, j int) bool {
	a, b := m.heap[i], m.heap[j]
	if c := bytes.Compare(a.k, b.k); c != 0 {
		return c < 0
	}
	return a.age > b.age
}

func (m *stagedMerge) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(m.heap) {
			return
		}
		j := l
		if r := l + 1; r < len(m.heap) && m.less(r, l) {
			j = r
		}
		if !m.less(j, i) {
			return
		}
		m.heap[i], m.heap[j] = m.heap[j], m.heap[i]
		i = j
	}
}

// next moves to the next key; false when there is none.
func (m *stagedMerge) next() (bool, error) {
	if len(m.heap) == 0 {
		return false, nil
	}
	top := m.heap[0]
	m.k = append(m.k[:0], top.k...)
	m.v = append(m.v[:0], top.v...)
	// Advance every run past this key: the first one (the newest) won.
	for len(m.heap) > 0 && bytes.Equal(m.heap[0].k, m.k) {
		r := m.heap[0]
		if err := r.advance(); err != nil {
			return false, err
		}
		if r.done {
			last := len(m.heap) - 1
			m.heap[0] = m.heap[last]
			m.heap = m.heap[:last]
		}
		m.down(0)
	}
	return true, nil
}

// close removes the spill file.
func (m *stagedMerge) close() {
	if m.spill != nil {
		name := m.spill.Name()
		m.spill.Close()
		os.Remove(name)
		m.spill = nil
	}
}

// sortStaged reads the staging area of tx and returns its merge. Spilled
// runs go to a file in dir named after the database (removed when the
// merge is closed, and at once where the system allows).
func sortStaged(ctx context.Context, tx *bolt.Tx, dir, dataPath string) (*stagedMerge, error) {
	m := &stagedMerge{}
	runs, err := m.makeRuns(ctx, tx, dir, dataPath)
	if err != nil {
		m.close()
		return nil, err
	}
	for age, r := range runs {
		r.age = age
		if err := r.advance(); err != nil {
			m.close()
			return nil, err
		}
		if !r.done {
			m.heap = append(m.heap, r)
		}
	}
	for i := len(m.heap)/2 - 1; i >= 0; i-- {
		m.down(i)
	}
	return m, nil
}

// makeRuns sorts the staging area of tx in chunks: all but the last are
// spilled (to m.spill, created on the first), the last stays in memory.
// It returns the runs, oldest first.
func (m *stagedMerge) makeRuns(ctx context.Context, tx *bolt.Tx, dir, dataPath string) ([]*sortedRun, error) {
	st := tx.Bucket(bucketStaged)
	if st == nil {
		return nil, nil
	}
	cur := st.Cursor()
	k, v := cur.First()
	var w *bufio.Writer
	var offsets []int64 // where each spilled run starts, then where the last ends
	var written int64
	c := &chunk{}
	for k != nil {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c.reset()
		var err error
		if k, v, err = c.readFrom(cur, k, v); err != nil {
			return nil, err
		}
		c.sortDedup()
		if k == nil {
			break // the last run stays in memory
		}
		if m.spill == nil {
			if m.spill, err = createSpill(dir, dataPath); err != nil {
				return nil, err
			}
			w = bufio.NewWriterSize(m.spill, 256<<10)
		}
		offsets = append(offsets, written)
		n, err := writeRun(w, c)
		if err != nil {
			return nil, fmt.Errorf("write spill file: %w", err)
		}
		written += n
		hook("spilled")
	}
	var runs []*sortedRun
	if m.spill != nil {
		if err := w.Flush(); err != nil {
			return nil, fmt.Errorf("write spill file: %w", err)
		}
		offsets = append(offsets, written)
		for i := range len(offsets) - 1 {
			sec := io.NewSectionReader(m.spill, offsets[i], offsets[i+1]-offsets[i])
			runs = append(runs, &sortedRun{r: bufio.NewReaderSize(sec, 64<<10)})
		}
	}
	if len(c.items) > 0 {
		runs = append(runs, &sortedRun{mem: c})
	}
	return runs, nil
}

// createSpill creates the spill file, and unlinks it at once where an open
// file may be unlinked, so that even a killed process leaves none behind.
func createSpill(dir, dataPath string) (*os.File, error) {
	f, err := os.CreateTemp(dir, filepath.Base(dataPath)+spillPattern)
	if err != nil {
		return nil, fmt.Errorf("create spill file: %w", err)
	}
	if posixFiles {
		os.Remove(f.Name())
	}
	return f, nil
}

// writeRun writes a sorted chunk as records: the key's and the value's
// lengths (uvarints), the key, the value. It returns the bytes written.
func writeRun(w *bufio.Writer, c *chunk) (int64, error) {
	var n int64
	var hdr [2 * binary.MaxVarintLen64]byte
	for i := range c.items {
		k, v := c.key(i), c.val(i)
		h := binary.AppendUvarint(hdr[:0], uint64(len(k)))
		h = binary.AppendUvarint(h, uint64(len(v)))
		w.Write(h)
		w.Write(k)
		if _, err := w.Write(v); err != nil {
			return n, err
		}
		n += int64(len(h) + len(k) + len(v))
	}
	return n, nil
}

// merged yields the state as a fold would leave it: the keys bucket with
// the staged puts merged in, in key order, a staged put winning over the
// key's entry in the bucket.
type merged struct {
	staged *stagedMerge
	cur    *bolt.Cursor

	sk, mk     []byte // the next staged key (nil: none left) and the next key of the bucket
	mv         []byte
	k, v       []byte // the current key and entry: valid until next
	kbuf, vbuf []byte // a staged put's copy (the staged merge reuses its buffers)
	began      bool
}

func newMerged(ctx context.Context, s *Store, tx *bolt.Tx, dir string) (*merged, error) {
	keys, err := s.keys(tx)
	if err != nil {
		return nil, err
	}
	sm, err := sortStaged(ctx, tx, dir, s.dataPath)
	if err != nil {
		return nil, err
	}
	return &merged{staged: sm, cur: keys.Cursor()}, nil
}

func (m *merged) nextStaged() error {
	ok, err := m.staged.next()
	if err != nil {
		return err
	}
	m.sk = nil
	if ok {
		m.sk = m.staged.k
	}
	return nil
}

// next moves to the next key; false when there is none.
func (m *merged) next() (bool, error) {
	if !m.began {
		m.began = true
		m.mk, m.mv = m.cur.First()
		if err := m.nextStaged(); err != nil {
			return false, err
		}
	}
	switch {
	case m.sk == nil && m.mk == nil:
		return false, nil
	case m.sk == nil:
		m.k, m.v = m.mk, m.mv
		m.mk, m.mv = m.cur.Next()
		return true, nil
	}
	c := -1 // no key left in the bucket: the staged one comes first
	if m.mk != nil {
		c = bytes.Compare(m.sk, m.mk)
	}
	if c > 0 {
		m.k, m.v = m.mk, m.mv
		m.mk, m.mv = m.cur.Next()
		return true, nil
	}
	if c == 0 {
		m.mk, m.mv = m.cur.Next()
	}
	m.kbuf = append(m.kbuf[:0], m.sk...)
	m.vbuf = append(m.vbuf[:0], m.staged.v...)
	m.k, m.v = m.kbuf, m.vbuf
	return true, m.nextStaged()
}

func (m *merged) close() { m.staged.close() }
