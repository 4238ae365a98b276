package state

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// MaxKeyLen is the longest key the state stores (bbolt's limit).
const MaxKeyLen = bolt.MaxKeySize

// Batch collects the puts (and at most one ledger entry) of one transaction.
// Its bytes live in one buffer, so a reused Batch allocates nothing once it
// has grown. A Batch is not safe for concurrent use.
type Batch struct {
	// buf holds each put as it is staged: the key's length (a uvarint), the
	// key, the encoded entry; back to back.
	buf  []byte
	puts []put
	run  *Run
}

// put is one Put: where its staged form starts in buf, and where its key
// lies.
type put struct {
	rec int
	key span
	row int64
}

type span struct{ off, end int }

// Put records that key's request with fingerprint fp was sent successfully
// by input row row at time t. If a batch puts one key several times, the
// last Put wins.
func (b *Batch) Put(key string, fp Fingerprint, t time.Time, row int64) {
	rec := len(b.buf)
	b.buf = binary.AppendUvarint(b.buf, uint64(len(key)))
	k := span{off: len(b.buf)}
	b.buf = append(b.buf, key...)
	k.end = len(b.buf)
	b.buf = appendEntry(b.buf, &Entry{Fingerprint: fp, Time: t, Row: row})
	b.puts = append(b.puts, put{rec: rec, key: k, row: row})
}

// Record adds a ledger entry to the batch: it is committed in the same
// transaction as the puts (a run's last batch and its ledger entry then
// land together or not at all).
func (b *Batch) Record(r Run) { b.run = &r }

// Len is the number of puts in the batch.
func (b *Batch) Len() int { return len(b.puts) }

// Reset empties the batch, keeping its memory.
func (b *Batch) Reset() {
	b.buf, b.puts, b.run = b.buf[:0], b.puts[:0], nil
}

// Commit writes the batch in one durable transaction (two fsyncs): when it
// returns nil, every put and the ledger entry are in the file and survive a
// crash; when it returns an error, none of them is. The batch is left as it
// was, so a failed commit can be retried (Reset it to reuse it). An empty
// batch commits nothing and costs nothing.
//
// The puts are staged: appended, in the order of the Puts, after those of
// earlier commits, as one record. Lookups do not see them until Fold moves them into the
// keys (Open does after a crash); the ledger entry is visible at once. An
// append writes only the end of the staging area, so a commit costs about
// the same whatever the keys and however large the state.
func (s *Store) Commit(b *Batch) error {
	if len(b.puts) == 0 && b.run == nil {
		return nil
	}
	for _, p := range b.puts {
		if n := p.key.end - p.key.off; n == 0 || n > MaxKeyLen {
			return fmt.Errorf("state commit: row %d: key of %d bytes (allowed: 1 to %d)", p.row, n, MaxKeyLen)
		}
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	err := s.update(func(tx *bolt.Tx) error {
		if len(b.puts) > 0 {
			if err := s.stage(tx, b); err != nil {
				return err
			}
		}
		if b.run != nil {
			return s.putRun(tx, b.run)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("state commit to %s: %w", s.path, err)
	}
	return nil
}

// pieceMax bounds a staged record: four records and their bbolt element
// headers fill a 4 KiB page, so records append page by page and a commit
// rewrites only the staging area's last, partly filled page.
const pieceMax = 990

// stage appends b's puts to the staging bucket, in order, as records of
// consecutive puts up to pieceMax bytes (a longer put makes a record of its
// own) under the sequence number of their first put (see staged.go).
func (s *Store) stage(tx *bolt.Tx, b *Batch) error {
	st, err := s.staged(tx)
	if err != nil {
		return err
	}
	// Appends fill pages to the brim: nothing is ever inserted before them.
	st.FillPercent = 1.0
	seq := st.Sequence()
	var k [8]byte
	first, start := 0, 0 // the record's first put and where it starts in buf
	flush := func(end int) error {
		binary.BigEndian.PutUint64(k[:], seq+uint64(first)+1)
		// bbolt copies the key; the value stays in b.buf, which outlives
		// the transaction.
		return st.Put(k[:], b.buf[start:end:end])
	}
	for i := 1; i < len(b.puts); i++ {
		end := len(b.buf) // where put i ends
		if i+1 < len(b.puts) {
			end = b.puts[i+1].rec
		}
		if end-start > pieceMax { // put i starts the next record
			if err := flush(b.puts[i].rec); err != nil {
				return err
			}
			first, start = i, b.puts[i].rec
		}
	}
	if err := flush(len(b.buf)); err != nil {
		return err
	}
	return st.SetSequence(seq + uint64(len(b.puts)))
}
