package state

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
)

// inputRow is one row of an input as a run meets it: a key with the
// fingerprint it would send. mark files it as the importer does: a row
// whose lookup matched marks its slot, any other row its key; the answer
// is whether the key came earlier in the input.
type inputRow struct {
	key string
	fp  Fingerprint
}

func mark(x *Index, k *InputKeys, r inputRow) bool {
	if slot := x.Lookup(r.key, r.fp); slot >= 0 {
		return k.AddSlot(slot)
	}
	return k.Add(r.key)
}

// TestInputKeysAnswersAsSeen: row by row, "is this the key's first row?",
// and at the end, for every key of the state and a few others, "did the
// input hold it?", InputKeys answers as a Seen given the same keys does;
// the table's expectations are checked against both. Held, asked only
// about keys the state holds at the end (its keys and the input's new
// ones, which the run puts), answers as HasBytes.
func TestInputKeysAnswersAsSeen(t *testing.T) {
	s := newStore(t)
	commit(t, s, testPut{"anna@example.com", entry(1, 0, 1)}, testPut{"boris@example.com", entry(2, 0, 2)},
		testPut{"olga@example.com", entry(3, 0, 3)}, testPut{"ivan@example.com", entry(4, 0, 4)})
	fold(t, s)
	x, err := s.Index()
	if err != nil {
		t.Fatal(err)
	}
	same := func(key string, n int64) inputRow { return inputRow{key, fpOf(n)} }              // as stored: the lookup matches
	changed := func(key string) inputRow { return inputRow{key, fpOf(100, int64(len(key)))} } // no match
	cases := []struct {
		name    string
		rows    []inputRow
		first   []bool
		missing []string // of the state's keys and "new@example.com", "gone@example.com"
	}{
		{
			name:    "every key once, unchanged: all first, none missing",
			rows:    []inputRow{same("anna@example.com", 1), same("boris@example.com", 2), same("olga@example.com", 3), same("ivan@example.com", 4)},
			first:   []bool{true, true, true, true},
			missing: []string{"new@example.com", "gone@example.com"},
		},
		{
			name:    "a key twice, unchanged both times: the second repeats",
			rows:    []inputRow{same("anna@example.com", 1), same("anna@example.com", 1)},
			first:   []bool{true, false},
			missing: []string{"boris@example.com", "olga@example.com", "ivan@example.com", "new@example.com", "gone@example.com"},
		},
		{
			name:    "changed, then as stored: the second repeats (the first was sent)",
			rows:    []inputRow{changed("anna@example.com"), same("anna@example.com", 1), same("boris@example.com", 2)},
			first:   []bool{true, false, true},
			missing: []string{"olga@example.com", "ivan@example.com", "new@example.com", "gone@example.com"},
		},
		{
			name:    "as stored, then changed: the second repeats",
			rows:    []inputRow{same("olga@example.com", 3), changed("olga@example.com")},
			first:   []bool{true, false},
			missing: []string{"anna@example.com", "boris@example.com", "ivan@example.com", "new@example.com", "gone@example.com"},
		},
		{
			name:    "a new key twice: the second repeats; held, not missing",
			rows:    []inputRow{changed("new@example.com"), same("ivan@example.com", 4), changed("new@example.com")},
			first:   []bool{true, true, false},
			missing: []string{"anna@example.com", "boris@example.com", "olga@example.com", "gone@example.com"},
		},
		{
			name:    "an empty input: every stored key missing",
			missing: []string{"anna@example.com", "boris@example.com", "olga@example.com", "ivan@example.com", "new@example.com", "gone@example.com"},
		},
		{
			name:    "keys differ by case: not the same key",
			rows:    []inputRow{changed("ANNA@example.com"), same("anna@example.com", 1)},
			first:   []bool{true, true},
			missing: []string{"boris@example.com", "olga@example.com", "ivan@example.com", "new@example.com", "gone@example.com"},
		},
	}
	asked := []string{"anna@example.com", "boris@example.com", "olga@example.com", "ivan@example.com", "new@example.com", "gone@example.com"}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, seen := NewInputKeys(x), NewSeen(0)
			for i, r := range tc.rows {
				got, want := mark(x, k, r), seen.Add(r.key)
				if got != tc.first[i] || want != tc.first[i] {
					t.Errorf("row %d (%s): first = %v, a Seen says %v, want %v", i+1, r.key, got, want, tc.first[i])
				}
			}
			var missing, seenMissing []string
			for _, key := range asked {
				if !k.HasBytes([]byte(key)) {
					missing = append(missing, key)
				}
				if !seen.HasBytes([]byte(key)) {
					seenMissing = append(seenMissing, key)
				}
			}
			if fmt.Sprint(missing) != fmt.Sprint(tc.missing) || fmt.Sprint(seenMissing) != fmt.Sprint(tc.missing) {
				t.Errorf("missing %q, a Seen says %q, want %q", missing, seenMissing, tc.missing)
			}
			held := k.Held()
			for _, key := range asked {
				if key == "gone@example.com" || (key == "new@example.com" && slices.Contains(tc.missing, key)) {
					continue // not in the state at the end of the run
				}
				if got, want := held([]byte(key)), k.HasBytes([]byte(key)); got != want {
					t.Errorf("Held()(%s) = %v, HasBytes %v", key, got, want)
				}
			}
		})
	}
}

// TestInputKeysRandomInputs: long random inputs over a state of 3,000
// keys: stored keys as stored or changed, once or many times, new keys,
// keys never met. With full hashes every answer equals a Seen's; with
// hashes cut to a few bits (hundreds of keys a hash) the errors go one way
// only: a key met before is never first, a key met is never missing, and
// stored keys met once each, as stored, are all first (two keys sharing a
// hash do not make the second look repeated). Held answers as HasBytes
// for every stored key and every new key met, for inputs that lack few
// keys and for inputs that lack most.
func TestInputKeysRandomInputs(t *testing.T) {
	const n = 3000
	s := indexedStore(t, n, false)
	rowOf := func(r *rand.Rand) inputRow {
		i := r.IntN(n + n/10) // a tenth are keys the state lacks
		if r.IntN(5) == 0 {
			// A fingerprint is of a request that names its key: no key's
			// row ever carries another key's stored fingerprint.
			return inputRow{indexKey(i), fpOf(int64(i), int64(r.IntN(3)))}
		}
		return inputRow{indexKey(i), fpOf(int64(i))}
	}
	cases := []struct {
		name     string
		hashBits uint
	}{
		{"64-bit hashes: as a Seen", 64},
		{"hashes cut to 8 bits", 8},
		{"hashes cut to 4 bits", 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x, err := s.index(tc.hashBits)
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, uint64(tc.hashBits)))
			for round, rows := range []int{2 * n, 3 * n, 5 * n, n / 10, 0} {
				k, seen, met := NewInputKeys(x), NewSeen(0), map[string]bool{}
				for range rows {
					row := rowOf(r)
					got, want := mark(x, k, row), seen.Add(row.key)
					if tc.hashBits == 64 && got != want {
						t.Fatalf("round %d, %s: first = %v, a Seen says %v", round, row.key, got, want)
					}
					if met[row.key] && got {
						t.Fatalf("round %d, %s: met before, yet first", round, row.key)
					}
					met[row.key] = true
				}
				for i := range n + n/5 {
					key := indexKey(i)
					got, want := k.HasBytes([]byte(key)), seen.HasBytes([]byte(key))
					if tc.hashBits == 64 && got != want {
						t.Fatalf("round %d, %s: held %v, a Seen says %v", round, key, got, want)
					}
					if met[key] && !got {
						t.Fatalf("round %d, %s: met, yet missing", round, key)
					}
				}
				held := k.Held()
				for i := range n + n/10 {
					if key := indexKey(i); i < n || met[key] {
						if got, want := held([]byte(key)), k.HasBytes([]byte(key)); got != want {
							t.Fatalf("round %d, %s: Held() says %v, HasBytes %v", round, key, got, want)
						}
					}
				}
			}
			k := NewInputKeys(x)
			for i := range n {
				if !mark(x, k, inputRow{indexKey(i), fpOf(int64(i))}) {
					t.Fatalf("stored key %d met once, as stored, looks repeated", i)
				}
			}
		})
	}
}

// TestInputKeysMissingScan: Store.Missing asking Held reports the keys
// the input lacked, those a run that died left staged included (a
// read-only store, whose Index does not hold them), and never a key the
// input held or one the run put.
func TestInputKeysMissingScan(t *testing.T) {
	cases := []struct {
		name    string
		staged  []testPut // committed after the fold, before the Index is read
		rows    []string  // the input's keys
		put     []testPut // the run's puts, committed after the lookups
		readDB  bool      // the run opens the state read-only (validate)
		missing []string
	}{
		{
			name:    "every key held but one",
			rows:    []string{"anna@example.com", "boris@example.com", "ivan@example.com"},
			missing: []string{"olga@example.com"},
		},
		{
			name:    "new keys put by the run are held",
			rows:    []string{"anna@example.com", "new1@example.com", "new2@example.com"},
			put:     []testPut{{"new1@example.com", entry(10, 1, 2)}, {"new2@example.com", entry(11, 1, 3)}, {"anna@example.com", entry(12, 1, 1)}},
			missing: []string{"boris@example.com", "ivan@example.com", "olga@example.com"},
		},
		{
			name:    "read-only, a killed run's staged keys: missing unless held",
			staged:  []testPut{{"staged1@example.com", entry(20, 1, 1)}, {"staged2@example.com", entry(21, 1, 2)}},
			rows:    []string{"anna@example.com", "boris@example.com", "olga@example.com", "ivan@example.com", "staged2@example.com"},
			readDB:  true,
			missing: []string{"staged1@example.com"},
		},
		{
			name:    "an empty input: every key",
			missing: []string{"anna@example.com", "boris@example.com", "ivan@example.com", "olga@example.com"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			s := openStore(t, path)
			commit(t, s, testPut{"anna@example.com", entry(1, 0, 1)}, testPut{"boris@example.com", entry(2, 0, 2)},
				testPut{"olga@example.com", entry(3, 0, 3)}, testPut{"ivan@example.com", entry(4, 0, 4)})
			fold(t, s)
			if len(tc.staged) > 0 {
				commit(t, s, tc.staged...)
			}
			if tc.readDB {
				s.Close()
				var err error
				if s, err = Open(path, Options{ReadOnly: true}); err != nil {
					t.Fatal(err)
				}
				defer s.Close()
			}
			x, err := s.Index()
			if err != nil {
				t.Fatal(err)
			}
			k := NewInputKeys(x)
			for _, key := range tc.rows {
				k.Add(key)
			}
			if len(tc.put) > 0 {
				commit(t, s, tc.put...)
			}
			var missing []string
			if _, err := s.Missing(k.Held(), func(key string, _ Entry) error { missing = append(missing, key); return nil }); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(missing) != fmt.Sprint(tc.missing) {
				t.Errorf("missing %q, want %q", missing, tc.missing)
			}
		})
	}
}
