package state

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// MaxKeyLen is the longest key the state stores (bbolt's limit).
const MaxKeyLen = bolt.MaxKeySize

// Batch collects the puts (and at most one ledger entry) of one transaction.
// Its bytes live in one buffer, so a reused Batch allocates nothing once it
// has grown. A Batch is not safe for concurrent use.
type Batch struct {
	buf  []byte // keys and encoded values, back to back
	puts []put
	run  *Run
}

// put is one Put: where its key and value lie in buf, and its order.
type put struct {
	key, val span
	row      int64
	seq      int
}

type span struct{ off, end int }

// Put records that key's request with fingerprint fp was sent successfully
// by input row row at time t. If a batch puts one key several times, the
// last Put wins.
func (b *Batch) Put(key string, fp Fingerprint, t time.Time, row int64) {
	k := span{off: len(b.buf)}
	b.buf = append(b.buf, key...)
	k.end = len(b.buf)
	v := span{off: len(b.buf)}
	b.buf = appendEntry(b.buf, &Entry{Fingerprint: fp, Time: t, Row: row})
	v.end = len(b.buf)
	b.puts = append(b.puts, put{key: k, val: v, row: row, seq: len(b.puts)})
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

func (b *Batch) bytes(s span) []byte { return b.buf[s.off:s.end:s.end] }

// Commit writes the batch in one durable transaction (two fsyncs): when it
// returns nil, every put and the ledger entry are in the file and survive a
// crash; when it returns an error, none of them is. The batch is left as it
// was, so a failed commit can be retried (Reset it to reuse it). An empty batch commits nothing and costs
// nothing.
func (s *Store) Commit(b *Batch) error {
	if len(b.puts) == 0 && b.run == nil {
		return nil
	}
	for _, p := range b.puts {
		if n := p.key.end - p.key.off; n == 0 || n > MaxKeyLen {
			return fmt.Errorf("state commit: row %d: key of %d bytes (allowed: 1 to %d)", p.row, n, MaxKeyLen)
		}
	}
	// Put in key order, so the cursor walks the tree once from left to right;
	// equal keys keep their order, so the last Put is written last and wins.
	slices.SortFunc(b.puts, func(x, y put) int {
		if c := bytes.Compare(b.bytes(x.key), b.bytes(y.key)); c != 0 {
			return c
		}
		return x.seq - y.seq
	})
	err := s.db.Update(func(tx *bolt.Tx) error {
		keys, err := s.keys(tx)
		if err != nil {
			return err
		}
		for _, p := range b.puts {
			if err := keys.Put(b.bytes(p.key), b.bytes(p.val)); err != nil {
				return fmt.Errorf("row %d: %w", p.row, err)
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
