package importer

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"importer/internal/fakeapi"
	"importer/internal/state"
)

// TestDeltaKeyPaths: a second night over a state of five keys, in the
// shapes that reach the state's index and the run's set of input keys by
// each path (rows as stored, changed, repeated, invalid, new, gone; a
// dry run, which opens the state read-only; puts a killed run left
// staged): what is sent, what is unchanged, which keys are missing.
func TestDeltaKeyPaths(t *testing.T) {
	row := func(k int, name string) string { return fmt.Sprintf("user%d@example.com,%s,%d\n", k, name, k) }
	stored := func(ks ...int) string { // rows as the first night sent them
		var b strings.Builder
		for _, k := range ks {
			b.WriteString(row(k, fmt.Sprintf("Name %d", k)))
		}
		return b.String()
	}
	cases := []struct {
		name                      string
		mode                      Mode
		staged                    []int // keys a run that died before its fold left staged
		rows                      string
		ok, valid, unchanged, bad int64
		missing                   []int
	}{
		{name: "every key as stored, in another order: none sent, none missing", rows: stored(5, 4, 3, 2, 1), unchanged: 5},
		{name: "a key twice as stored: the second row is sent", rows: stored(1, 2, 3, 4, 5, 3), ok: 1, unchanged: 5},
		{name: "changed, then as stored: both rows sent", rows: row(2, "New") + stored(1, 2, 3, 4, 5), ok: 2, unchanged: 4},
		{name: "an invalid row keeps its key from the missing list", rows: row(1, "Name 1") + "user2@example.com,Name 2,x\n" + stored(3, 4, 5),
			unchanged: 4, bad: 1},
		{name: "a new key twice: both sent, not missing", rows: stored(1, 2, 3, 4, 5) + row(9, "Nine") + row(9, "Nine"), ok: 2, unchanged: 5},
		{name: "keys gone: missing, in key order", rows: stored(3, 1), unchanged: 2, missing: []int{2, 4, 5}},
		{name: "a dry run: unchanged and missing as a run counts them", mode: ModeValidate, rows: stored(1, 2) + row(3, "New") + row(8, "Eight"),
			valid: 2, unchanged: 2, missing: []int{4, 5}},
		{name: "a dry run after a killed run: its staged keys are missing unless held", mode: ModeValidate, staged: []int{6, 7},
			rows: stored(1, 2, 3, 4, 5) + row(7, "Name 7"), valid: 1, unchanged: 5, missing: []int{6}},
		{name: "a run after a killed run: Open folds its staged keys first", staged: []int{6, 7},
			rows: stored(1, 2, 3, 4, 5, 7), unchanged: 6, missing: []int{6}},
	}
	_, url := startFake(t, fakeapi.Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeFile(t, dir, "c.yaml", simpleConfig)
			stateDB := filepath.Join(dir, "state.db")
			night := func(mode Mode, name, body string) run {
				in := writeFile(t, dir, name, "Email,Name,Score\n"+body)
				o := baseOptions(mode, cfg, in, dir)
				o.Results, o.Rejects = in+".results.csv", in+".rejects.csv"
				o.APIURL, o.State, o.Missing = url, stateDB, in+".missing.csv"
				return runImporter(t, context.Background(), o)
			}
			if r := night(ModeRun, "first.csv", stored(1, 2, 3, 4, 5)); r.code != ExitOK || r.sum.OK != 5 {
				t.Fatalf("first night: exit %d, %+v: %v\n%s", r.code, r.sum, r.err, r.stderr)
			}
			if len(tc.staged) > 0 {
				stage(t, stateDB, tc.staged, stored)
			}
			mode := tc.mode
			if mode == "" {
				mode = ModeRun
			}
			r := night(mode, "second.csv", tc.rows)
			if r.err != nil && r.code != ExitRowErrors {
				t.Fatalf("second night: exit %d: %v\n%s", r.code, r.err, r.stderr)
			}
			s := r.sum
			if s.OK != tc.ok || s.Valid != tc.valid || s.Unchanged != tc.unchanged || s.Invalid != tc.bad || s.Missing != int64(len(tc.missing)) {
				t.Errorf("second night: %d ok, %d valid, %d unchanged, %d invalid, %d missing; want %d, %d, %d, %d, %d",
					s.OK, s.Valid, s.Unchanged, s.Invalid, s.Missing, tc.ok, tc.valid, tc.unchanged, tc.bad, len(tc.missing))
			}
			var want []string
			for _, k := range tc.missing {
				want = append(want, fmt.Sprintf("user%d@example.com", k))
			}
			if got := missingKeys(t, filepath.Join(dir, "second.csv.missing.csv")); !slices.Equal(got, want) {
				t.Errorf("missing file lists %q, want %q", got, want)
			}
		})
	}
}

// stage commits rows for keys as a run does, and closes the state without
// folding them, as a run killed before its fold leaves it.
func stage(t *testing.T, path string, keys []int, stored func(...int) string) {
	t.Helper()
	// The fingerprints of a run that sent these rows: taken from a run
	// into a state of their own, then copied.
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", simpleConfig)
	in := writeFile(t, dir, "staged.csv", "Email,Name,Score\n"+stored(keys...))
	_, url := startFake(t, fakeapi.Options{})
	o := baseOptions(ModeRun, cfg, in, dir)
	o.APIURL, o.State = url, filepath.Join(dir, "state.db")
	if r := runImporter(t, context.Background(), o); r.code != ExitOK {
		t.Fatalf("staging run: exit %d: %v\n%s", r.code, r.err, r.stderr)
	}
	src, err := state.Open(o.State, state.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var b state.Batch
	_, err = src.Missing(func([]byte) bool { return false }, func(key string, e state.Entry) error {
		b.Put(key, e.Fingerprint, time.Now(), e.Row)
		return nil
	})
	src.Close()
	if err != nil {
		t.Fatal(err)
	}
	dst, err := state.Open(path, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if err := dst.Commit(&b); err != nil {
		t.Fatal(err)
	}
	if n, err := dst.Pending(); err != nil || n != len(keys) {
		t.Fatalf("%d puts staged (%v), want %d", n, err, len(keys))
	}
}

// missingKeys reads the keys of a --missing file.
func missingKeys(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) == 0 || strings.Join(recs[0], ",") != "key,time,row" {
		t.Fatalf("missing file %s: %v, %v", path, recs, err)
	}
	var keys []string
	for _, r := range recs[1:] {
		keys = append(keys, r[0])
	}
	return keys
}
