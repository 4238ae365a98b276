package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzDecodeEntry: any stored value either decodes or fails with
// ErrCorrupt, never panics; what decodes encodes back to a value that
// decodes to the same entry.
func FuzzDecodeEntry(f *testing.F) {
	for _, e := range []Entry{
		{},
		{Fingerprint: fpOf(1), Time: at(0), Row: 1},
		{Fingerprint: fpOf(2), Time: time.Unix(-1, 0), Row: -5},
		{Fingerprint: fpOf(3), Time: time.Unix(1<<40, 0), Row: 1 << 62},
	} {
		f.Add(appendEntry(nil, &e))
	}
	f.Add([]byte{})
	f.Add(make([]byte, 17))
	f.Add(append(make([]byte, 16), 0x80, 0x80, 0x80))                  // unterminated varint
	f.Add(append(make([]byte, 16), 0x02, 0x04, 0x00))                  // trailing byte
	f.Add(append(make([]byte, 16), bytes.Repeat([]byte{0xff}, 11)...)) // overflowing varint
	f.Fuzz(func(t *testing.T, v []byte) {
		e, err := decodeEntry(v)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if len(v) > maxValueLen {
			t.Fatalf("a %d-byte value decoded; values are at most %d", len(v), maxValueLen)
		}
		back, err := decodeEntry(appendEntry(nil, &e))
		if err != nil {
			t.Fatalf("re-encoded %+v does not decode: %v", e, err)
		}
		if back != e {
			t.Fatalf("round trip: %+v became %+v", e, back)
		}
	})
}

// FuzzDecodeRun: any stored ledger entry decodes or fails with ErrCorrupt,
// never panics; what decodes survives a round trip.
func FuzzDecodeRun(f *testing.F) {
	r := Run{Content: Hash{1, 2}, Size: 12345, Input: "export.csv", Config: Hash{3},
		Started: at(0), Finished: at(0).Add(time.Minute), Counts: Counts{OK: 1, Failed: 2, Invalid: 3, Unknown: 4, Unchanged: 5, Missing: 6}}
	good, _ := json.Marshal(r)
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"content_sha256":"zz"}`))
	f.Add([]byte(`{"started":"yesterday"}`))
	f.Add([]byte(`{} {}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[1,2]`))
	f.Fuzz(func(t *testing.T, v []byte) {
		r, err := decodeRun(v)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		again, err := json.Marshal(r)
		if err != nil {
			t.Skip("a decoded time outside what JSON can hold") // years beyond 9999
		}
		back, err := decodeRun(again)
		if err != nil {
			t.Fatalf("re-encoded %s does not decode: %v", again, err)
		}
		if !back.Started.Equal(r.Started) || !back.Finished.Equal(r.Finished) || back.Content != r.Content ||
			back.Config != r.Config || back.Counts != r.Counts || back.Input != r.Input || back.Size != r.Size {
			t.Fatalf("round trip: %+v became %+v", r, back)
		}
	})
}

// FuzzStagedRecord: any staged record splits into puts or fails with
// ErrCorrupt, never panics; the puts it splits into, put into a Batch,
// make a record that splits into the same puts.
func FuzzStagedRecord(f *testing.F) {
	var b Batch
	b.Put("anna@example.com", fpOf(1), at(0), 1)
	b.Put("иван@пример.рф", fpOf(2), at(1), 1<<40)
	f.Add(slices.Clone(b.buf))
	b.Reset()
	b.Put(strings.Repeat("k", 300), fpOf(3), time.Unix(-5, 0), -1)
	f.Add(slices.Clone(b.buf))
	f.Add([]byte{})
	f.Add([]byte{0})                         // a key of 0 bytes
	f.Add([]byte{5, 'a', 'b'})               // a key cut short
	f.Add(append([]byte{1, 'a'}, 1, 2, 3))   // an entry cut short
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1}) // a key longer than allowed
	f.Fuzz(func(t *testing.T, rec []byte) {
		puts, err := splitRecord(rec)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		var again Batch
		for _, p := range puts {
			again.Put(p.key, p.e.Fingerprint, p.e.Time, p.e.Row)
		}
		back, err := splitRecord(again.buf)
		if err != nil {
			t.Fatalf("the record of %d puts put again does not split: %v", len(puts), err)
		}
		if !slices.Equal(puts, back) {
			t.Fatalf("round trip: %+v became %+v", puts, back)
		}
	})
}

// splitRecord splits a staged record into its puts.
func splitRecord(rec []byte) ([]testPut, error) {
	var puts []testPut
	for len(rec) > 0 {
		key, val, rest, err := nextPut(rec)
		if err != nil {
			return nil, err
		}
		e, err := decodeEntry(val)
		if err != nil {
			return nil, fmt.Errorf("nextPut passed an entry that does not decode: %v", err)
		}
		puts = append(puts, testPut{string(key), e})
		rec = rest
	}
	return puts, nil
}
