package state

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"
)

// Fingerprint is a digest of the request last sent successfully for a key
// (the caller computes it, for example the first 16 bytes of the SHA-256 of
// the request body).
type Fingerprint [16]byte

// String is the fingerprint in hex.
func (f Fingerprint) String() string { return hex.EncodeToString(f[:]) }

// Entry is what the state remembers of one key.
type Entry struct {
	Fingerprint Fingerprint
	// Time is when that fingerprint was committed (the caller's clock),
	// kept to the second, in UTC.
	Time time.Time
	// Row is the input row that produced it, in the run that committed it.
	Row int64
}

// Stored values are the 16 fingerprint bytes, then the time as a varint of
// Unix seconds, then the row as a varint: 21–24 bytes for any realistic time
// and row. Seconds since 1970 need 5 varint bytes until 2106.
const maxValueLen = 16 + 2*binary.MaxVarintLen64

// appendEntry appends e's stored form to b.
func appendEntry(b []byte, e *Entry) []byte {
	b = append(b, e.Fingerprint[:]...)
	b = binary.AppendVarint(b, e.Time.Unix())
	return binary.AppendVarint(b, e.Row)
}

// decodeEntry reads a stored value. Anything but exactly a fingerprint and
// two well-formed varints is an error wrapping ErrCorrupt.
func decodeEntry(v []byte) (Entry, error) {
	var e Entry
	if len(v) < 16+2 {
		return e, fmt.Errorf("value of %d bytes, want at least 18: %w", len(v), ErrCorrupt)
	}
	copy(e.Fingerprint[:], v[:16])
	rest := v[16:]
	sec, n := binary.Varint(rest)
	if n <= 0 {
		return e, fmt.Errorf("time is not a varint: %w", ErrCorrupt)
	}
	rest = rest[n:]
	row, n := binary.Varint(rest)
	if n <= 0 {
		return e, fmt.Errorf("row is not a varint: %w", ErrCorrupt)
	}
	if n != len(rest) {
		return e, fmt.Errorf("%d bytes after the row: %w", len(rest)-n, ErrCorrupt)
	}
	e.Time, e.Row = time.Unix(sec, 0).UTC(), row
	return e, nil
}

// corruptKey wraps a decoding error with the key and the file.
func (s *Store) corruptKey(key []byte, err error) error {
	return fmt.Errorf("state database %s, key %q: %w", s.path, key, err)
}
