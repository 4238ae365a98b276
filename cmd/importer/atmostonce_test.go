package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"importer/internal/fakeapi"
)

// At most once, with the real binary: kill -9, signals, a spent account,
// re-runs, a journal lost or damaged, two runs on one journal, a pipe. Every
// row uses incr (its Visits cell), and every row has a key of its own, so
// the fake's store tells for each row whether the API applied it never,
// once, or twice (a defect, but where the user asked for it with
// --retry-unknown, --again or --force).

const onceProcConfig = `
api: {endpoint: import, rate: 0, timeout: 5s}
request: {db_id: 1, matching: email}
fields:
  email: {column: Email, validate: email, required: true}
  _fname: Name
  visits: {column: Visits, type: int, action: incr}
`

// newOnceFixture is newFixture with the incr config: row i is
// user<i>@example.com with Visits i.
func newOnceFixture(t *testing.T, n int, opts fakeapi.Options) *fixture {
	t.Helper()
	f := newFixture(t, n, opts)
	if err := os.WriteFile(f.cfg, []byte(onceProcConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("Email,Name,Visits\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "user%d@example.com,Name %d,%d\n", i, i, i)
	}
	if err := os.WriteFile(f.in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// jline is one journal line.
type jline struct {
	row               int
	status, code, pid string
}

// lastLines reads the journal as --resume does (a torn last line is
// dropped) and keeps the last line of each row.
func lastLines(t *testing.T, path string) map[int]jline {
	t.Helper()
	last := map[int]jline{}
	for _, r := range journalRows(t, path) {
		i, err := strconv.Atoi(r[0])
		if err != nil {
			t.Fatalf("journal row number %q", r[0])
		}
		last[i] = jline{row: i, status: r[3], pid: r[4], code: r[5]}
	}
	return last
}

// applied returns the store's profiles by row, failing the test on any
// profile whose incr was applied more than once.
func (f *fixture) applied(t *testing.T) map[int]fakeapi.Profile {
	t.Helper()
	out := map[int]fakeapi.Profile{}
	for _, p := range f.fake.Profiles() {
		email, _ := p.Fields["email"].(string)
		i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(email, "user"), "@example.com"))
		if err != nil {
			t.Fatalf("the store holds %q, no row's key", email)
		}
		out[i] = p
	}
	return out
}

// checkRecorded holds the journal against the store after a run ended in
// any way: no incr was applied twice; every row the API applied has a
// journal record, ok or unknown (the in-flight line written before its
// request); an ok row was applied, with the store's profile id. It returns
// the rows whose last line is unknown.
func (f *fixture) checkRecorded(t *testing.T, last map[int]jline) (unknown []int) {
	t.Helper()
	if n := f.fake.Stats().IncrAppliedTwice; n != 0 {
		t.Errorf("%d profiles had their incr applied twice", n)
	}
	store := f.applied(t)
	for i := 1; i <= f.n; i++ {
		l, recorded := last[i]
		p, applied := store[i]
		if applied && p.IncrApplied != 1 {
			t.Errorf("row %d: incr applied %d times", i, p.IncrApplied)
		}
		switch {
		case applied && !recorded:
			t.Errorf("row %d was applied but the journal has no line for it", i)
		case !recorded:
		case l.status == "ok" && !applied:
			t.Errorf("row %d: ok, but the API never applied it", i)
		case l.status == "ok" && l.pid != p.ID:
			t.Errorf("row %d: profile_id %q, the store's is %q", i, l.pid, p.ID)
		case l.status == "unknown":
			unknown = append(unknown, i)
		case l.status == "failed" && applied:
			t.Errorf("row %d: failed (%s), but the API applied it", i, l.code)
		case l.status != "ok" && l.status != "failed":
			t.Errorf("row %d: status %q", i, l.status)
		}
	}
	return unknown
}

// startKilled starts the importer with args and kills it with SIGKILL once
// killAt holds.
func (f *fixture) startKilled(t *testing.T, journal string, killAt killCond, args ...string) {
	t.Helper()
	since := f.fake.Stats().Requests
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
			t.Fatalf("the importer ended (%v) before the kill point\n%s", err, out)
		default:
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("timed out waiting for the kill point\n%s", out)
		}
		time.Sleep(time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err == nil {
		t.Fatalf("the importer exited 0 before the kill\n%s", out)
	}
}

// runCmd runs the importer to its end and returns its exit code and output.
func (f *fixture) runCmd(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd, out := f.command(args...)
	err := cmd.Run()
	return exitCode(t, err), out.String()
}

// TestKillNineAtMostOnce: kill -9 with risky rows in flight (requests the
// API applied and had not answered yet) or amid journal writes, then
// --resume until done: no row is applied twice; rows in flight at a kill
// end unknown (their in-flight line stands: --resume skips them and says
// so); --resume --retry-unknown then sends exactly those.
func TestKillNineAtMostOnce(t *testing.T) {
	tests := []struct {
		name        string
		rows        int
		fake        fakeapi.Options
		concurrency int
		batch       int
		kills       int // the first run, then resumes
		killAt      func() killCond
		inFlight    bool // requests are surely in flight at the kill: some rows must end unknown
	}{
		{
			name: "single/requests in flight", rows: 60, fake: fakeapi.Options{Latency: 60 * time.Millisecond},
			concurrency: 4, kills: 2, killAt: requestsAfter(10), inFlight: true,
		},
		{
			name: "batch50/requests in flight", rows: 400, fake: fakeapi.Options{Latency: 100 * time.Millisecond},
			concurrency: 2, batch: 50, kills: 2, killAt: requestsAfter(2), inFlight: true,
		},
		{
			// No latency: in-flight records and final lines reach the file
			// as fast as the writer can go, and the kill lands among them.
			name: "single/during journal writes", rows: 3000, concurrency: 8, kills: 1, killAt: journalGrows(40 << 10),
		},
		{
			name: "batch50/during journal writes", rows: 3000, concurrency: 4, batch: 50, kills: 1, killAt: journalGrows(60 << 10),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newOnceFixture(t, tc.rows, tc.fake)
			extra := []string{"--concurrency", strconv.Itoa(tc.concurrency), "--rate", "0"}
			if tc.batch > 0 {
				extra = append(extra, "--batch-size", strconv.Itoa(tc.batch))
			}
			var unknown []int
			for k := range tc.kills {
				args := extra
				if k > 0 {
					args = append([]string{"--resume"}, extra...)
				}
				f.startKilled(t, f.results, tc.killAt(), args...)
				unknown = f.checkRecorded(t, lastLines(t, f.results))
				t.Logf("kill %d: %d rows applied, %d unknown", k+1, len(f.applied(t)), len(unknown))
			}
			if tc.inFlight && len(unknown) == 0 {
				t.Fatalf("no row was in flight at the kill: the case tests nothing")
			}

			code, out := f.runCmd(t, f.runArgs(append([]string{"--resume"}, extra...)...)...)
			last := lastLines(t, f.results)
			after := f.checkRecorded(t, last)
			want := exitAfterSkips(len(unknown))
			if code != want {
				t.Fatalf("final --resume: exit %d, want %d\n%s", code, want, out)
			}
			if !slices.Equal(after, unknown) {
				t.Errorf("after the final --resume rows %v are unknown, want exactly those left in flight by the kills %v", after, unknown)
			}
			for _, i := range after {
				if last[i].code != "in_flight" {
					t.Errorf("row %d: unknown with %q, want its in-flight line to stand", i, last[i].code)
				}
			}
			for i := 1; i <= f.n; i++ {
				if s := last[i].status; s != "ok" && s != "unknown" {
					t.Errorf("row %d: %q after the final --resume, want ok (or unknown when in flight at a kill)", i, s)
				}
			}
			said := fmt.Sprintf("skipped %d rows left unknown by an earlier run", len(unknown))
			if len(unknown) == 1 {
				said = "skipped 1 row left unknown by an earlier run"
			}
			if len(unknown) > 0 && !strings.Contains(out, said) {
				t.Errorf("the resumed run does not say it skipped %d unknown rows:\n%s", len(unknown), out)
			}

			// The operator checked them in Altcraft: --retry-unknown sends
			// each once more, and nothing else.
			store := f.applied(t)
			wasApplied := 0
			for _, i := range unknown {
				if _, ok := store[i]; ok {
					wasApplied++
				}
			}
			before := f.fake.Stats().IncrWrites
			code, out = f.runCmd(t, f.runArgs(append([]string{"--resume", "--retry-unknown"}, extra...)...)...)
			if code != 0 {
				t.Fatalf("--resume --retry-unknown: exit %d\n%s", code, out)
			}
			for i, l := range lastLines(t, f.results) {
				if l.status != "ok" {
					t.Errorf("row %d: %s after --retry-unknown, want ok", i, l.status)
				}
			}
			st := f.fake.Stats()
			if sent := st.IncrWrites - before; sent != int64(len(unknown)) {
				t.Errorf("--retry-unknown sent %d rows, want the %d unknown ones", sent, len(unknown))
			}
			if st.IncrAppliedTwice != int64(wasApplied) {
				t.Errorf("%d profiles applied twice, want %d: the unknown rows the API had applied, resent on request",
					st.IncrAppliedTwice, wasApplied)
			}
		})
	}
}

// exitAfterSkips is the exit code of a run that finished with every row
// ok except unknown rows skipped: 2 when any row is still unknown (its
// outcome is not known, so not every row is ok), 0 otherwise.
func exitAfterSkips(unknown int) int {
	if unknown > 0 {
		return 2
	}
	return 0
}

// TestAccountLimitStopsThenResumes: the account's limit is reached mid-run
// (API error 402, or HTTP 402): the run stops within a few requests with
// exit 1 and one line naming the code, the API's text and what to do; rows
// it did not send have no journal line; once the limit is raised, --resume
// finishes the file, every row ok and none applied twice.
func TestAccountLimitStopsThenResumes(t *testing.T) {
	const rows, quota, conc = 200, 60, 4
	for _, tc := range []struct {
		name     string
		httpForm bool
		code     string // the journal's error_code for the refused rows
		line     string // the fatal line
	}{
		{"API error 402", false, "402", `importer run: the API refused the request (API error 402: Tariff limit reached): the account's limit is used up: raise it in Altcraft (or wait for it to renew), then run the same command with --resume`},
		{"HTTP 402", true, "HTTP 402", `importer run: the API refused the request: HTTP 402 Payment Required: Tariff limit reached: the account's limit is used up: raise it in Altcraft (or wait for it to renew), then run the same command with --resume`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newOnceFixture(t, rows, fakeapi.Options{Quota: quota, QuotaHTTP: tc.httpForm})
			args := f.runArgs("--concurrency", strconv.Itoa(conc))
			code, out := f.runCmd(t, args...)
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%s", code, out)
			}
			if !containsLine(out, tc.line) {
				t.Errorf("no line\n%s\nin the output:\n%s", tc.line, out)
			}
			st := f.fake.Stats()
			if st.Requests > quota+2*conc {
				t.Errorf("the fake saw %d requests for a limit of %d: the run should stop within a few requests", st.Requests, quota)
			}
			last := lastLines(t, f.results)
			f.checkRecorded(t, last)
			store := f.applied(t)
			if len(store) != quota {
				t.Errorf("the store holds %d profiles, want the %d the limit allowed", len(store), quota)
			}
			refused := 0
			for i := 1; i <= rows; i++ {
				l, ok := last[i]
				_, applied := store[i]
				switch {
				case !ok:
				case l.status == "ok":
				case l.status == "failed" && l.code == tc.code && !applied:
					refused++
				default:
					t.Errorf("row %d: %s %s: want ok, or failed %s (refused, not applied), or no line", i, l.status, l.code, tc.code)
				}
			}
			if refused == 0 {
				t.Errorf("no row records the refusal")
			}
			if len(last) > quota+2*conc {
				t.Errorf("the journal has lines for %d rows: rows never sent must have none", len(last))
			}

			f.fake.SetQuota(0)
			code, out = f.runCmd(t, append(args, "--resume")...)
			if code != 0 {
				t.Fatalf("--resume once the limit is lifted: exit %d\n%s", code, out)
			}
			last = lastLines(t, f.results)
			f.checkRecorded(t, last)
			for i := 1; i <= rows; i++ {
				if last[i].status != "ok" {
					t.Errorf("row %d: %s after --resume, want ok", i, last[i].status)
				}
			}
			if st := f.fake.Stats(); st.IncrWrites != rows {
				t.Errorf("the API applied %d incr writes for %d rows", st.IncrWrites, rows)
			}
		})
	}
}

// containsLine reports whether out has line as one whole line.
func containsLine(out, line string) bool {
	for _, l := range strings.Split(out, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// TestRerunRefused: the command that finished, or was interrupted, run
// again without --resume is refused (exit 1, nothing sent); --again sends
// every row again and keeps the old journal beside the new one.
func TestRerunRefused(t *testing.T) {
	t.Run("finished", func(t *testing.T) {
		f := newOnceFixture(t, 50, fakeapi.Options{})
		if code, out := f.runCmd(t, f.runArgs()...); code != 0 {
			t.Fatalf("first run: exit %d\n%s", code, out)
		}
		sent := f.fake.Stats().Requests
		code, out := f.runCmd(t, f.runArgs()...)
		if code != 1 {
			t.Fatalf("the same command again: exit %d, want 1\n%s", code, out)
		}
		for _, want := range []string{"this input was already run with this config: it finished on", "50 rows", "--resume", "--again"} {
			if !strings.Contains(out, want) {
				t.Errorf("the refusal lacks %q:\n%s", want, out)
			}
		}
		if got := f.fake.Stats().Requests; got != sent {
			t.Errorf("the refused run sent %d requests", got-sent)
		}

		code, out = f.runCmd(t, f.runArgs("--again")...)
		if code != 0 {
			t.Fatalf("--again: exit %d\n%s", code, out)
		}
		if st := f.fake.Stats(); st.IncrWrites != 100 || st.IncrAppliedTwice != 50 {
			t.Errorf("--again: %d incr writes, %d profiles twice; want every row sent again (100, 50)", st.IncrWrites, st.IncrAppliedTwice)
		}
		kept, _ := filepath.Glob(strings.TrimSuffix(f.results, ".csv") + ".previous-*.csv")
		if len(kept) != 1 {
			t.Fatalf("kept journals %v, want one beside %s", kept, f.results)
		}
		if old := lastLines(t, kept[0]); len(old) != 50 {
			t.Errorf("the kept journal holds %d rows, want the first run's 50", len(old))
		}
		if _, err := os.Stat(kept[0] + ".fingerprint"); err != nil {
			t.Errorf("the kept journal's fingerprint did not follow it: %v", err)
		}
		if now := lastLines(t, f.results); len(now) != 50 {
			t.Errorf("the new journal holds %d rows, want 50", len(now))
		}
	})
	t.Run("interrupted", func(t *testing.T) {
		f := newOnceFixture(t, 120, fakeapi.Options{Latency: 20 * time.Millisecond})
		cmd, out := f.command(f.runArgs("--concurrency", "4")...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "requests", func() bool { return f.fake.Stats().Requests >= 20 })
		cmd.Process.Signal(syscall.SIGINT)
		if code := exitCode(t, cmd.Wait()); code != 130 {
			t.Fatalf("SIGINT: exit %d, want 130\n%s", code, out)
		}
		sent := f.fake.Stats().Requests
		code, text := f.runCmd(t, f.runArgs()...)
		if code != 1 || !strings.Contains(text, "an unfinished run left results") || !strings.Contains(text, "--resume") {
			t.Fatalf("the interrupted command again: exit %d, want 1 and a hint to --resume\n%s", code, text)
		}
		if got := f.fake.Stats().Requests; got != sent {
			t.Errorf("the refused run sent %d requests", got-sent)
		}
		if code, text := f.runCmd(t, f.runArgs("--resume")...); code != 0 {
			t.Fatalf("--resume: exit %d\n%s", code, text)
		}
		f.checkRecorded(t, lastLines(t, f.results))
		if st := f.fake.Stats(); st.IncrWrites != 120 {
			t.Errorf("%d incr writes for 120 rows", st.IncrWrites)
		}
	})
}

// TestJournalDeletedDuringRun: the journal deleted under a running import
// stops it (exit 1, naming the file); a following --resume, or the same
// command, refuses rather than start over, since the fingerprint shows a
// run began.
func TestJournalDeletedDuringRun(t *testing.T) {
	f := newOnceFixture(t, 300, fakeapi.Options{Latency: 50 * time.Millisecond})
	cmd, out := f.command(f.runArgs("--concurrency", "2")...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	waitFor(t, "journal lines", func() bool { b, _ := os.ReadFile(f.results); return bytes.Count(b, []byte("\n")) > 10 })
	if err := os.Remove(f.results); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if code := exitCode(t, err); code != 1 {
			t.Fatalf("exit %d after the journal was deleted, want 1\n%s", code, out)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the run went on for 10 s without its journal\n%s", out)
	}
	if want := f.results + " was deleted during the run"; !strings.Contains(out.String(), want) {
		t.Errorf("the error does not say %q:\n%s", want, out)
	}
	sent := f.fake.Stats().Requests
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--resume"}, "resume: the results journal " + f.results + " is gone, but its fingerprint shows a run was started"},
		{nil, "its results journal " + f.results + " is gone"},
	} {
		code, text := f.runCmd(t, f.runArgs(tc.args...)...)
		if code != 1 || !strings.Contains(text, tc.want) || !strings.Contains(text, "--again") {
			t.Errorf("%v after the journal was lost: exit %d, want 1 saying %q and offering --again\n%s", tc.args, code, tc.want, text)
		}
	}
	if got := f.fake.Stats().Requests; got != sent {
		t.Errorf("the refused runs sent %d requests", got-sent)
	}
	if n := f.fake.Stats().IncrAppliedTwice; n != 0 {
		t.Errorf("%d profiles applied twice", n)
	}
}

// TestDamagedJournal: a journal with NUL bytes where lines were (what a
// power loss leaves on many filesystems) is refused by --resume, naming
// the file and --force; --resume --force keeps a copy, resumes from the
// readable part and finishes: only rows whose lines were destroyed are
// sent again.
func TestDamagedJournal(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(size int) (from, to int) // the byte range zeroed
	}{
		{"NULs at the end", func(size int) (int, int) { return size - 150, size }},
		{"NULs in the middle", func(size int) (int, int) { return size / 2, size/2 + 150 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newOnceFixture(t, 300, fakeapi.Options{Latency: 10 * time.Millisecond})
			cmd, out := f.command(f.runArgs("--concurrency", "4")...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "requests", func() bool { return f.fake.Stats().Requests >= 100 })
			cmd.Process.Signal(syscall.SIGINT)
			if code := exitCode(t, cmd.Wait()); code != 130 {
				t.Fatalf("SIGINT: exit %d\n%s", code, out)
			}
			b, err := os.ReadFile(f.results)
			if err != nil {
				t.Fatal(err)
			}
			before := lastLines(t, f.results)
			from, to := tc.damage(len(b))
			// Rows whose every line lies before the damage keep their
			// status; the others are lost with it.
			kept := map[int]string{}
			off := 0
			for _, line := range strings.SplitAfter(string(b), "\n") {
				if off+len(line) > from {
					break
				}
				if off > 0 { // the header
					fields := strings.Split(line, ",")
					i, _ := strconv.Atoi(fields[0])
					kept[i] = fields[3]
				}
				off += len(line)
			}
			lost := 0 // rows ok before the damage and not after
			for i, l := range before {
				if l.status == "ok" && kept[i] != "ok" {
					lost++
				}
			}
			copy(b[from:to], make([]byte, to-from))
			if err := os.WriteFile(f.results, b, 0o644); err != nil {
				t.Fatal(err)
			}
			sent := f.fake.Stats().Requests

			code, text := f.runCmd(t, f.runArgs("--resume")...)
			if code != 1 || !strings.Contains(text, f.results) || !strings.Contains(text, "--force") {
				t.Fatalf("--resume over a damaged journal: exit %d, want 1 naming the file and --force\n%s", code, text)
			}
			if got := f.fake.Stats().Requests; got != sent {
				t.Fatalf("the refused run sent %d requests", got-sent)
			}

			store := f.applied(t)
			resent := 0 // applied rows the salvaged journal no longer records
			for i := range store {
				if s := kept[i]; s != "ok" && s != "unknown" {
					resent++
				}
			}
			// Rows whose in-flight line survived and whose final line did
			// not are unknown again: skipped, so the run exits 2.
			stillUnknown := 0
			for _, s := range kept {
				if s == "unknown" {
					stillUnknown++
				}
			}
			code, text = f.runCmd(t, f.runArgs("--resume", "--force")...)
			if want := exitAfterSkips(stillUnknown); code != want {
				t.Fatalf("--resume --force: exit %d, want %d\n%s", code, want, text)
			}
			if !strings.Contains(text, "resuming from its readable part") {
				t.Errorf("--force does not say it salvaged the journal:\n%s", text)
			}
			copies, _ := filepath.Glob(strings.TrimSuffix(f.results, ".csv") + ".damaged-*.csv")
			if len(copies) != 1 {
				t.Errorf("damaged copies %v, want one", copies)
			} else if c, _ := os.ReadFile(copies[0]); !bytes.Equal(c, b) {
				t.Errorf("the damaged copy is not the journal as it was")
			}
			last := lastLines(t, f.results)
			for i := 1; i <= f.n; i++ {
				want := "ok"
				if kept[i] == "unknown" {
					want = "unknown"
				}
				if last[i].status != want {
					t.Errorf("row %d: %s, want %s", i, last[i].status, want)
				}
			}
			if lost == 0 {
				t.Fatalf("the damage destroyed no row's final line: the case tests nothing")
			}
			if st := f.fake.Stats(); st.IncrAppliedTwice != int64(resent) || st.IncrWrites != int64(f.n+resent) {
				t.Errorf("%d profiles applied twice, %d incr writes; want the %d rows whose lines were destroyed sent again, nothing else",
					st.IncrAppliedTwice, st.IncrWrites, resent)
			}
		})
	}
}

// TestLockFollowsTheFile: a second run on the same journal spelled another
// way (a symlink, a symlinked directory, dir/../dir) is refused naming the
// first run's pid, even with --resume.
func TestLockFollowsTheFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		// paths returns the journal paths of the first and second run,
		// creating what they need.
		paths func(t *testing.T, dir string) (first, second string)
	}{
		{"symlink to the journal", func(t *testing.T, dir string) (string, string) {
			real := filepath.Join(dir, "x.results.csv")
			os.WriteFile(real, nil, 0o644)
			link := filepath.Join(dir, "link.results.csv")
			mustSymlink(t, real, link)
			return real, link
		}},
		{"symlink not yet pointing at a file", func(t *testing.T, dir string) (string, string) {
			real := filepath.Join(dir, "x.results.csv")
			link := filepath.Join(dir, "link.results.csv")
			mustSymlink(t, real, link)
			return link, real
		}},
		{"symlinked directory", func(t *testing.T, dir string) (string, string) {
			os.Mkdir(filepath.Join(dir, "real"), 0o755)
			mustSymlink(t, filepath.Join(dir, "real"), filepath.Join(dir, "alias"))
			return filepath.Join(dir, "real", "x.results.csv"), filepath.Join(dir, "alias", "x.results.csv")
		}},
		{"dir/../dir", func(t *testing.T, dir string) (string, string) {
			os.Mkdir(filepath.Join(dir, "real"), 0o755)
			return filepath.Join(dir, "real", "x.results.csv"), filepath.Join(dir, "real", "..", "real", "x.results.csv")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newOnceFixture(t, 100, fakeapi.Options{Latency: 100 * time.Millisecond})
			first, second := tc.paths(t, f.dir)
			cmd, out := f.command(f.runArgs("--concurrency", "1", "--results", first)...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				cmd.Process.Kill()
				cmd.Wait()
			}()
			waitFor(t, "the first run's requests", func() bool { return f.fake.Stats().Requests >= 2 })
			code, text := f.runCmd(t, f.runArgs("--resume", "--results", second)...)
			if code != 1 {
				t.Fatalf("a second run on %s while %s is in use: exit %d, want 1\n%s\nfirst run:\n%s", second, first, code, text, out)
			}
			if want := fmt.Sprintf("is in use by another importer run (pid %d)", cmd.Process.Pid); !strings.Contains(text, want) {
				t.Errorf("the refusal does not say %q:\n%s", want, text)
			}
		})
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// TestPipeInput: rows written to a pipe reach the API while the pipe stays
// open, and SIGINT while the importer waits on an idle pipe ends it with
// exit 130, every row it read recorded.
func TestPipeInput(t *testing.T) {
	f := newOnceFixture(t, 0, fakeapi.Options{})
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	journal := filepath.Join(f.dir, "stdin.results.csv")
	cmd, out := f.command("run", "-c", f.cfg, "--api-url", f.url, "--progress", "none", "--results", journal, "-")
	cmd.Stdin = pr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()

	written := 0
	write := func(n int) {
		t.Helper()
		var b strings.Builder
		if written == 0 {
			b.WriteString("Email,Name,Visits\n")
		}
		for range n {
			written++
			fmt.Fprintf(&b, "user%d@example.com,Name %d,%d\n", written, written, written)
		}
		if _, err := pw.WriteString(b.String()); err != nil {
			t.Fatal(err)
		}
	}
	// Until rows arrive, the process is starting: a generous wait.
	sentWithin := func(d time.Duration) {
		t.Helper()
		deadline := time.Now().Add(d)
		for f.fake.Stats().IncrWrites < int64(written) {
			select {
			case err := <-exited:
				t.Fatalf("the importer ended (%v) with the pipe open\n%s", err, out)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d rows written to the pipe reached the API within %v", f.fake.Stats().IncrWrites, written, d)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	write(3)
	sentWithin(10 * time.Second)
	for _, n := range []int{1, 5} {
		write(n)
		sentWithin(2 * time.Second)
	}
	time.Sleep(100 * time.Millisecond) // the pipe is idle: the reader waits on it
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-exited:
		if code := exitCode(t, err); code != 130 {
			t.Fatalf("SIGINT on an idle pipe: exit %d, want 130\n%s", code, out)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("SIGINT on an idle pipe: still running after 5 s\n%s", out)
	}
	last := lastLines(t, journal)
	for i := 1; i <= written; i++ {
		if last[i].status != "ok" {
			t.Errorf("row %d: %q, want ok", i, last[i].status)
		}
	}
	if st := f.fake.Stats(); st.IncrAppliedTwice != 0 || st.IncrWrites != int64(written) {
		t.Errorf("%d incr writes (%d twice) for %d rows", st.IncrWrites, st.IncrAppliedTwice, written)
	}
	if !strings.Contains(out.String(), "importer: interrupted: finishing requests in flight") {
		t.Errorf("the interruption is not reported:\n%s", out)
	}
}

// TestSIGINTBeforeAnyInput: a signal stops the run while it still waits
// for the first lines of a pipe (the producer has written nothing yet).
func TestSIGINTBeforeAnyInput(t *testing.T) {
	f := newOnceFixture(t, 0, fakeapi.Options{})
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	cmd, out := f.command("run", "-c", f.cfg, "--api-url", f.url, "--progress", "none",
		"--results", filepath.Join(f.dir, "stdin.results.csv"), "-")
	cmd.Stdin = pr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	defer cmd.Process.Kill()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	time.Sleep(300 * time.Millisecond) // started, blocked on the empty pipe
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-exited:
		if code := exitCode(t, err); code != 130 {
			t.Fatalf("SIGINT before any input: exit %d, want 130\n%s", code, out)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("SIGINT before any input: still running after 5 s\n%s", out)
	}
	if n := f.fake.Stats().Requests; n != 0 {
		t.Errorf("the API got %d requests", n)
	}
}
