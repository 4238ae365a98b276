package importer

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"importer/internal/fakeapi"
	"importer/internal/state"
)

// exportCSV writes a CRM export: rows n in keys, the Name column carrying
// a version so a test can change some rows.
func exportCSV(t *testing.T, path string, keys []int, version func(k int) int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("Email,Name,Score\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "user%d@example.com,Name %d v%d,%d\n", k, k, version(k), k)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func seq(from, to int) []int {
	var s []int
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

// TestDeltaNights: with a state database, the first night sends every
// row; the next night's export (some rows changed, some new, some gone)
// sends exactly the changed and new rows, marks the rest unchanged, and
// lists the gone keys; the same export again is refused by the ledger,
// under any file name.
func TestDeltaNights(t *testing.T) {
	dir := t.TempDir()
	fake, url := startFake(t, fakeapi.Options{})
	cfg := writeFile(t, dir, "c.yaml", simpleConfig)
	stateDB := filepath.Join(dir, "state.db")
	night := func(name string, keys []int, version func(int) int) run {
		in := filepath.Join(dir, name)
		exportCSV(t, in, keys, version)
		o := baseOptions(ModeRun, cfg, in, dir)
		o.Results, o.Rejects = in+".results.csv", in+".rejects.csv"
		o.APIURL, o.State, o.Missing = url, stateDB, in+".missing.csv"
		return runImporter(t, context.Background(), o)
	}
	v1 := func(int) int { return 1 }
	r := night("mon.csv", seq(1, 100), v1)
	if r.code != ExitOK || r.sum.OK != 100 || r.sum.Unchanged != 0 || r.sum.Missing != 0 {
		t.Fatalf("first night: exit %d, %d ok, %d unchanged, %d missing: %v\n%s", r.code, r.sum.OK, r.sum.Unchanged, r.sum.Missing, r.err, r.stderr)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "mon.csv.missing.csv")); err != nil || string(b) != "key,time,row\n" {
		t.Errorf("first night's missing file = %q, %v; want the header alone", b, err)
	}
	// The night's puts are folded before it ends: the next night's
	// lookups read them, and nothing is left for its Open to fold.
	st, err := state.Open(stateDB, state.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	pending, err := st.Pending()
	st.Close()
	if err != nil || pending != 0 {
		t.Errorf("after the first night %d puts are staged, not folded (%v)", pending, err)
	}
	before := fake.Stats().Requests

	// Tuesday: keys 1–5 changed, 96–100 gone, 101–103 new.
	changed := func(k int) int {
		if k <= 5 {
			return 2
		}
		return 1
	}
	r = night("tue.csv", append(seq(1, 95), 101, 102, 103), changed)
	if r.code != ExitOK || r.sum.OK != 8 || r.sum.Unchanged != 90 || r.sum.Missing != 5 {
		t.Fatalf("second night: exit %d, %d ok, %d unchanged, %d missing; want 8, 90, 5: %v\n%s",
			r.code, r.sum.OK, r.sum.Unchanged, r.sum.Missing, r.err, r.stderr)
	}
	if n := fake.Stats().Requests - before; n != 8 {
		t.Errorf("the API got %d requests on the second night, want exactly the 8 changed and new rows", n)
	}
	f, err := os.Open(filepath.Join(dir, "tue.csv.missing.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(recs) != 6 || strings.Join(recs[0], ",") != "key,time,row" || recs[1][0] != "user100@example.com" && recs[1][0] != "user96@example.com" {
		t.Errorf("missing file = %v, %v; want a header and the 5 gone keys", recs, err)
	}

	// The same export again, under another name: refused, nothing sent.
	before = fake.Stats().Requests
	r = night("tue-copy.csv", append(seq(1, 95), 101, 102, 103), changed)
	if r.code != ExitFatal || !errors.Is(r.err, ErrAlreadyImported) || !strings.Contains(r.err.Error(), "tue.csv) imported on") {
		t.Errorf("the same content again: exit %d, %v; want a refusal naming the earlier import", r.code, r.err)
	}
	if n := fake.Stats().Requests - before; n != 0 {
		t.Errorf("the refused run sent %d requests", n)
	}

	// --resume continues a journal; without one it is no way around the
	// ledger.
	in := filepath.Join(dir, "tue-again.csv")
	exportCSV(t, in, append(seq(1, 95), 101, 102, 103), changed)
	o := baseOptions(ModeRun, cfg, in, dir)
	o.Results, o.Rejects = in+".results.csv", in+".rejects.csv"
	o.APIURL, o.State, o.Resume = url, stateDB, true
	if r := runImporter(t, context.Background(), o); r.code != ExitFatal || !errors.Is(r.err, ErrAlreadyImported) {
		t.Errorf("--resume without a journal of the imported content: exit %d, %v; want the ledger's refusal", r.code, r.err)
	}
}

// TestDeltaDuplicateKeys: a key that comes twice in one export is sent
// both times when its first row changed, so the last row still wins.
func TestDeltaDuplicateKeys(t *testing.T) {
	dir := t.TempDir()
	fake, url := startFake(t, fakeapi.Options{})
	cfg := writeFile(t, dir, "c.yaml", simpleConfig)
	stateDB := filepath.Join(dir, "state.db")
	write := func(name, body string) string {
		return writeFile(t, dir, name, "Email,Name,Score\n"+body)
	}
	runIt := func(in string) run {
		o := baseOptions(ModeRun, cfg, in, dir)
		o.Results, o.Rejects = in+".results.csv", in+".rejects.csv"
		o.APIURL, o.State = url, stateDB
		return runImporter(t, context.Background(), o)
	}
	if r := runIt(write("a.csv", "a@example.com,First,1\na@example.com,Last,2\n")); r.code != ExitOK {
		t.Fatalf("first: %v\n%s", r.err, r.stderr)
	}
	// The first row changes; the second is as before, but must be sent
	// again to land after the first.
	r := runIt(write("b.csv", "a@example.com,First changed,1\na@example.com,Last,2\n"))
	if r.code != ExitOK || r.sum.OK != 2 || r.sum.Unchanged != 0 {
		t.Fatalf("second: exit %d, %d ok, %d unchanged; want both sent\n%s", r.code, r.sum.OK, r.sum.Unchanged, r.stderr)
	}
	profiles := fake.Profiles()
	if len(profiles) != 1 || profiles[0].Fields["_fname"] != "Last" {
		t.Errorf("the store holds %+v, want the last row's name", profiles)
	}
}
