package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Hash is a SHA-256 digest: of an input's bytes, or of a config's.
type Hash [sha256.Size]byte

// String is the hash in hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// MarshalText writes the hash in hex.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText reads 64 hex digits.
func (h *Hash) UnmarshalText(b []byte) error {
	if len(b) != 2*len(h) {
		return fmt.Errorf("hash of %d hex digits, want %d", len(b), 2*len(h))
	}
	_, err := hex.Decode(h[:], b)
	return err
}

// Counts are a run's rows by final status.
type Counts struct {
	OK        int64 `json:"ok"`
	Failed    int64 `json:"failed"`
	Invalid   int64 `json:"invalid"`
	Unknown   int64 `json:"unknown"`
	Unchanged int64 `json:"unchanged"`
	Missing   int64 `json:"missing"` // keys in the state that the input lacked
}

// Run is one ledger entry: an input that was imported to the end.
type Run struct {
	Content  Hash      `json:"content_sha256"` // SHA-256 of the input's bytes
	Size     int64     `json:"size"`           // the input's size in bytes
	Input    string    `json:"input"`          // the input's name as given
	Config   Hash      `json:"config_sha256"`  // SHA-256 of the config's bytes
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Counts   Counts    `json:"counts"`
}

// putRun appends r to the ledger under the next sequence number, so the
// ledger keeps every run in the order they were recorded.
func (s *Store) putRun(tx *bolt.Tx, r *Run) error {
	runs, err := s.runs(tx)
	if err != nil {
		return err
	}
	seq, err := runs.NextSequence()
	if err != nil {
		return err
	}
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return runs.Put(binary.BigEndian.AppendUint64(nil, seq), v)
}

// decodeRun reads a stored ledger entry.
func decodeRun(v []byte) (Run, error) {
	var r Run
	d := json.NewDecoder(bytes.NewReader(v))
	if err := d.Decode(&r); err != nil {
		return Run{}, fmt.Errorf("ledger entry: %v: %w", err, ErrCorrupt)
	}
	if d.More() {
		return Run{}, fmt.Errorf("ledger entry: data after the JSON object: %w", ErrCorrupt)
	}
	return r, nil
}

// FindRun returns the latest ledger entry for an input with this content
// hash; ok is false when none was recorded.
func (s *Store) FindRun(content Hash) (run Run, ok bool, err error) {
	err = s.eachRun(func(r Run) bool {
		if r.Content == content {
			run, ok = r, true
			return false
		}
		return true
	})
	return run, ok, err
}

// Runs returns up to n ledger entries, the most recently recorded first
// (n ≤ 0: all of them).
func (s *Store) Runs(n int) ([]Run, error) {
	var out []Run
	err := s.eachRun(func(r Run) bool {
		out = append(out, r)
		return n <= 0 || len(out) < n
	})
	return out, err
}

// eachRun calls fn for every ledger entry, newest first, until fn returns
// false.
func (s *Store) eachRun(fn func(Run) bool) error {
	return s.view(func(tx *bolt.Tx) error {
		runs, err := s.runs(tx)
		if err != nil {
			return err
		}
		c := runs.Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			r, err := decodeRun(v)
			if err != nil {
				return fmt.Errorf("state database %s, ledger entry %x: %w", s.path, k, err)
			}
			if !fn(r) {
				return nil
			}
		}
		return nil
	})
}

// runs returns the ledger bucket of tx, or a corruption error if it is gone.
func (s *Store) runs(tx *bolt.Tx) (*bolt.Bucket, error) {
	b := tx.Bucket(bucketRuns)
	if b == nil {
		return nil, fmt.Errorf("state database %s: the ledger bucket is missing: %w", s.path, ErrCorrupt)
	}
	return b, nil
}
