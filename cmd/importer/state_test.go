package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"importer/internal/fakeapi"
)

// stateKeys exports a state database through the binary: key → row.
func stateKeys(t *testing.T, f *fixture, args ...string) map[string]string {
	t.Helper()
	cmd, out := f.command(append([]string{"state", "export"}, append(args, "-")...)...)
	if code := exitCode(t, cmd.Run()); code != 0 {
		t.Fatalf("state export: exit %d\n%s", code, out)
	}
	recs, err := csv.NewReader(strings.NewReader(out.String())).ReadAll()
	if err != nil || len(recs) == 0 || strings.Join(recs[0], ",") != "key,time,row" {
		t.Fatalf("state export = %v, %v:\n%s", recs, err, out)
	}
	keys := map[string]string{}
	for _, r := range recs[1:] {
		keys[r[0]] = r[2]
	}
	return keys
}

// TestStateCommand: a night with --state, then `importer state` reads it
// back (stats, export) and forgets keys, whose rows the next run sends.
func TestStateCommand(t *testing.T) {
	f := newFixture(t, 30, fakeapi.Options{})
	db := filepath.Join(f.dir, "state.db")
	cmd, out := f.command(f.runArgs("--state", db)...)
	if code := exitCode(t, cmd.Run()); code != 0 {
		t.Fatalf("run: exit %d\n%s", code, out)
	}
	cmd, out = f.command("state", "stats", "--state", db)
	if code := exitCode(t, cmd.Run()); code != 0 || !strings.Contains(out.String(), "30 keys") || !strings.Contains(out.String(), "30 ok") {
		t.Fatalf("state stats: exit %d\n%s", code, out)
	}
	if keys := stateKeys(t, f, "--state", db); len(keys) != 30 || keys["user7@example.com"] != "7" {
		t.Fatalf("state export holds %d keys (user7 → %q), want 30", len(keys), keys["user7@example.com"])
	}
	forget := filepath.Join(f.dir, "forget.csv")
	if err := os.WriteFile(forget, []byte("key\nuser1@example.com\nuser2@example.com\nnobody@example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, out = f.command("state", "forget", "--state", db, forget)
	if code := exitCode(t, cmd.Run()); code != 0 || !strings.Contains(out.String(), "forgot 2 of 3 keys") {
		t.Fatalf("state forget: exit %d\n%s", code, out)
	}
	before := f.fake.Stats().Requests
	cmd, out = f.command(f.runArgs("--state", db, "--again")...)
	if code := exitCode(t, cmd.Run()); code != 0 || !strings.Contains(out.String(), "2 ok, 0 failed, 0 invalid, 0 unknown, 28 unchanged") {
		t.Fatalf("run after forget: exit %d\n%s", code, out)
	}
	if n := f.fake.Stats().Requests - before; n != 2 {
		t.Errorf("the run after forget sent %d requests, want the 2 forgotten keys", n)
	}
}

// TestStateShards: each shard keeps a state of its own, holding only its
// keys, and the shards together hold every key once.
func TestStateShards(t *testing.T) {
	f := newFixture(t, 60, fakeapi.Options{})
	db := filepath.Join(f.dir, "state.db")
	total := 0
	for k := range 2 {
		shard := fmt.Sprintf("%d/2", k)
		cmd, out := f.command(f.runArgs("--state", db, "--shard", shard)...)
		if code := exitCode(t, cmd.Run()); code != 0 {
			t.Fatalf("shard %s: exit %d\n%s", shard, code, out)
		}
		if _, err := os.Stat(fmt.Sprintf("%s.shard-%d-of-2", db, k)); err != nil {
			t.Fatalf("shard %s has no state file of its own: %v", shard, err)
		}
		keys := stateKeys(t, f, "--state", db, "--shard", shard)
		if len(keys) == 0 || len(keys) == 60 {
			t.Errorf("shard %s holds %d keys, want its share", shard, len(keys))
		}
		total += len(keys)
	}
	if total != 60 {
		t.Errorf("the shards hold %d keys together, want 60", total)
	}
}

// TestStateKillNine: kill -9 while rows are written to the journal and the
// state, then --resume: the state never holds a key whose ok line the
// journal lacks, and a later night sends nothing that was applied.
func TestStateKillNine(t *testing.T) {
	f := newFixture(t, 3000, fakeapi.Options{Latency: time.Millisecond})
	db := filepath.Join(f.dir, "state.db")
	cmd, _ := f.command(f.runArgs("--state", db, "--concurrency", "8")...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "requests", func() bool { return f.fake.Stats().Requests >= 1500 })
	cmd.Process.Kill()
	cmd.Wait()
	ok := map[string]bool{}
	for _, r := range journalRows(t, f.results) {
		if r[3] == "ok" {
			ok[r[0]] = true
		}
	}
	for key, row := range stateKeys(t, f, "--state", db) {
		if !ok[row] {
			t.Errorf("the state holds %s (row %s) but the journal has no ok line for it", key, row)
		}
	}
	cmd, out := f.command(f.runArgs("--state", db, "--resume")...)
	if code := exitCode(t, cmd.Run()); code != 0 {
		t.Fatalf("resume: exit %d\n%s", code, out)
	}
	f.checkComplete(t)
	if keys := stateKeys(t, f, "--state", db); len(keys) < 2000 {
		t.Errorf("after the resume the state holds %d keys", len(keys))
	}
}
