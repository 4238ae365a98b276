package state

import (
	"bytes"
	"encoding/json"
	"errors"
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
