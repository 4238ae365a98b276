package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"importer/internal/fakeapi"
)

// The crash matrix extends TestKillNineThenResume (kill -9 before the first
// send and mid-run, one profile per request) to the points where a crash is
// most likely to lose or duplicate work: with a batch in flight, while the
// journal is being written at full speed, while a resume is itself running,
// and with a JSONL journal. After each kill, --resume runs to completion: no
// row may be lost, and rows sent twice must stay within what was in flight
// when the process died.

// crashPoint is one kill -9 scenario.
type crashPoint struct {
	name        string
	rows        int
	fake        fakeapi.Options
	concurrency int
	batch       int             // 0: one profile per request
	jsonl       bool            // --results x.results.jsonl
	kills       int             // processes killed before the final resume: the first run, then resumes
	killAt      func() killCond // a fresh kill condition for each process
}

// killCond reports whether the running process has reached its kill point;
// since is the fake's request count when the process started.
type killCond func(f *fixture, journal string, since int64) bool

// requestsAfter kills once the fake saw n requests from this process.
func requestsAfter(n int64) func() killCond {
	return func() killCond {
		return func(f *fixture, _ string, since int64) bool { return f.fake.Stats().Requests >= since+n }
	}
}

// journalGrows kills once this process added size bytes to the journal
// (CSV or JSONL).
func journalGrows(size int64) func() killCond {
	return func() killCond {
		base := int64(-1)
		return func(_ *fixture, journal string, _ int64) bool {
			st, err := os.Stat(journal)
			if err != nil {
				return false
			}
			if base < 0 {
				base = st.Size()
			}
			return st.Size()-base >= size
		}
	}
}

// itemsSeen counts the profiles the fake processed: one per single request,
// len(data) per batch. Rows applied twice show up here, not in Requests.
func itemsSeen(f *fixture) int64 {
	var n int64
	for _, ep := range f.fake.Stats().Endpoints {
		n += ep.Items
	}
	return n
}

func TestKillNineMatrix(t *testing.T) {
	const conc = 4
	tests := []crashPoint{
		{
			// Batches of 25 held 100 ms by the fake: after the third batch
			// was processed, that batch and the next are in flight.
			name: "MidBatch", rows: 400, fake: fakeapi.Options{Latency: 100 * time.Millisecond},
			concurrency: 2, batch: 25, kills: 1,
			killAt: requestsAfter(3),
		},
		{
			// No latency, no rate limit: the writer is the busiest stage and
			// the journal grows as fast as it can; the kill lands amid its
			// writes. Killed at three different sizes.
			name: "DuringFlush/early", rows: 3000, concurrency: 8, kills: 1,
			killAt: journalGrows(4 << 10),
		},
		{
			name: "DuringFlush/mid", rows: 3000, concurrency: 8, kills: 1,
			killAt: journalGrows(40 << 10),
		},
		{
			name: "DuringFlush/batch", rows: 3000, concurrency: 4, batch: 50, kills: 1,
			killAt: journalGrows(30 << 10),
		},
		{
			// The first run is killed, then the resume is killed too, then
			// a second resume finishes.
			name: "DuringResume", rows: 400, fake: fakeapi.Options{Latency: 5 * time.Millisecond},
			concurrency: conc, kills: 2,
			killAt: requestsAfter(60),
		},
		{
			name: "DuringResume/batch", rows: 600, fake: fakeapi.Options{Latency: 30 * time.Millisecond},
			concurrency: 2, batch: 20, kills: 3,
			killAt: requestsAfter(4),
		},
		{
			name: "JSONLResults", rows: 300, fake: fakeapi.Options{Latency: 5 * time.Millisecond},
			concurrency: conc, jsonl: true, kills: 1,
			killAt: requestsAfter(80),
		},
		{
			name: "JSONLResults/DuringFlush", rows: 3000, concurrency: 8, jsonl: true, kills: 2,
			killAt: journalGrows(30 << 10),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runCrashPoint(t, tc) })
	}
}

// inFlightWindow bounds the rows one kill -9 may cause to be sent twice:
// rows the API applied whose result line had not reached the journal file.
// They are
//   - the requests in flight: concurrency × batch size rows, applied by the
//     fake, their replies (or the results being handed over) lost;
//   - the pipeline's result queue between the sender and the writer: 16
//     (pipeline.go: "a result waiting here is lost to a kill -9");
//   - journal lines the writer took since it last found its queues empty:
//     it hands every line to the file whenever they run dry (pipeline.go,
//     write), so only lines taken during one unbroken run of queued results
//     are in memory. 48 is a margin for that; against the loopback fake with
//     no latency the measured excess over in-flight plus queue is under 16.
//
// Rows the journal already records as ok are skipped by --resume, so
// nothing else can be sent twice.
func inFlightWindow(concurrency, batch int) int64 {
	return int64(concurrency*max(batch, 1)) + 16 + 48
}

func runCrashPoint(t *testing.T, tc crashPoint) {
	f := newFixture(t, tc.rows, tc.fake)
	journal := f.results
	var extra []string
	if tc.jsonl {
		journal = filepath.Join(f.dir, "x.results.jsonl")
		extra = append(extra, "--results", journal)
	}
	extra = append(extra, "--concurrency", strconv.Itoa(tc.concurrency), "--rate", "0")
	if tc.batch > 0 {
		extra = append(extra, "--batch-size", strconv.Itoa(tc.batch))
	}

	for k := range tc.kills {
		args := extra
		if k > 0 {
			args = append([]string{"--resume"}, extra...)
		}
		since := f.fake.Stats().Requests
		killAt := tc.killAt()
		cmd, out := f.command(f.runArgs(args...)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		deadline := time.Now().Add(20 * time.Second)
		for !killAt(f, journal, since) {
			select {
			case err := <-exited:
				t.Fatalf("process %d ended (%v) before the kill point; raise rows or lower the point\n%s", k+1, err, out)
			default:
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("timed out waiting for the kill point of process %d\n%s", k+1, out)
			}
			time.Sleep(time.Millisecond)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if err := <-exited; err == nil {
			t.Fatalf("process %d exited 0 before the kill: the kill point came too late\n%s", k+1, out)
		}
		done, torn := readStatuses(t, journal, tc.jsonl)
		t.Logf("kill %d: fake applied %d rows in %d requests; journal holds %d lines (torn tail: %v)",
			k+1, itemsSeen(f), f.fake.Stats().Requests, len(done), torn)
		if len(done) >= tc.rows {
			t.Fatalf("the journal already holds every row at kill %d: the kill came too late", k+1)
		}
	}

	cmd, out := f.command(f.runArgs(append([]string{"--resume"}, extra...)...)...)
	if code := exitCode(t, cmd.Run()); code != 0 {
		t.Fatalf("final resume: exit %d\n%s", code, out)
	}
	last, torn := readStatuses(t, journal, tc.jsonl)
	if torn {
		t.Errorf("the journal ends with a torn line after a clean finish")
	}
	for i := 1; i <= f.n; i++ {
		if s := last[i]; s != "ok" {
			t.Fatalf("row %d: last status %q, want ok: lost by the crash", i, s)
		}
	}
	if got := len(f.fake.Profiles()); got != f.n {
		t.Fatalf("fake store holds %d profiles, want %d", got, f.n)
	}
	resent := itemsSeen(f) - int64(f.n)
	window := inFlightWindow(tc.concurrency, tc.batch)
	t.Logf("%d rows sent twice over %d kills (window %d per kill)", resent, tc.kills, window)
	if resent > window*int64(tc.kills) {
		t.Errorf("%d rows sent twice over %d kills: more than the in-flight window %d per kill", resent, tc.kills, window)
	}
}

// readStatuses reads the journal as --resume does: a torn last line (bytes
// after the last newline, or a last line that does not parse) is ignored,
// every other line must parse, and the last line of a row wins.
func readStatuses(t *testing.T, path string, jsonl bool) (last map[int]string, torn bool) {
	t.Helper()
	last = map[int]string{}
	if !jsonl {
		for _, r := range journalRows(t, path) {
			i, err := strconv.Atoi(r[0])
			if err != nil {
				t.Fatalf("journal row number %q", r[0])
			}
			last[i] = r[3]
		}
		b, _ := os.ReadFile(path)
		return last, len(b) > 0 && b[len(b)-1] != '\n'
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(b, []byte("\n"))
	// The bytes after the last newline are a torn line (or nothing).
	torn = len(lines[len(lines)-1]) > 0
	lines = lines[:len(lines)-1]
	for n, line := range lines {
		var r struct {
			Row    int    `json:"row"`
			Status string `json:"status"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("JSONL journal line %d does not parse: %v\n%s", n+1, err, line)
		}
		last[r.Row] = r.Status
	}
	return last, torn
}

// TestSIGTERMDrainsBatches: the first SIGTERM with batches in flight lets
// them finish and records every row the API applied; --resume then sends
// only the rest, none twice.
func TestSIGTERMDrainsBatches(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			f := newFixture(t, 400, fakeapi.Options{Latency: 100 * time.Millisecond})
			args := f.runArgs("--batch-size", "25", "--concurrency", "2", "--rate", "0")
			cmd, out := f.command(args...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "batches in flight", func() bool { return f.fake.Stats().Requests >= 3 })
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if code := exitCode(t, cmd.Wait()); code != 130 {
				t.Fatalf("exit %d after %v, want 130\n%s", code, sig, out)
			}
			done, _ := readStatuses(t, f.results, false)
			applied := itemsSeen(f)
			if int64(len(done)) != applied {
				t.Errorf("journal holds %d rows, the fake applied %d: a drained stop records every applied row", len(done), applied)
			}
			if len(done) == 0 || len(done) >= f.n {
				t.Fatalf("the drained run finished %d of %d rows: want some, not all", len(done), f.n)
			}
			cmd, out = f.command(append(args, "--resume")...)
			if code := exitCode(t, cmd.Run()); code != 0 {
				t.Fatalf("resume: exit %d\n%s", code, out)
			}
			f.checkComplete(t)
			if got := itemsSeen(f); got != int64(f.n) {
				t.Errorf("the fake applied %d rows for %d: after a drained stop nothing is sent twice", got, f.n)
			}
		})
	}
}

// TestNoTokenFlag: the token is never a flag value (it would show in ps and
// shell history): --token is a usage error whose message does not echo the
// value.
func TestNoTokenFlag(t *testing.T) {
	f := newFixture(t, 3, fakeapi.Options{})
	for _, flag := range []string{"--token", "--api-token", "-t"} {
		t.Run(flag, func(t *testing.T) {
			cmd, out := f.command(f.runArgs(flag, "argv-SECRET-1234")...)
			if code := exitCode(t, cmd.Run()); code != 1 {
				t.Fatalf("run %s VALUE: exit %d, want 1 (usage)\n%s", flag, code, out)
			}
			if !bytes.Contains(out.Bytes(), []byte("unknown flag")) && !bytes.Contains(out.Bytes(), []byte("unknown shorthand flag")) {
				t.Errorf("no usage error for %s:\n%s", flag, out)
			}
			if bytes.Contains(out.Bytes(), []byte("argv-SECRET-1234")) {
				t.Errorf("the value given to %s is echoed:\n%s", flag, out)
			}
			if n := f.fake.Stats().Requests; n != 0 {
				t.Errorf("the API got %d requests", n)
			}
		})
	}
}
