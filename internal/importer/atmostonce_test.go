package importer

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"importer/internal/fakeapi"
	"importer/internal/results"
)

// At most once, end to end: the real pipeline (importer.Run) against the
// fake API over loopback, whose store counts the incr writes applied to each
// profile. Every row has a key of its own (user<row>@example.com), so a
// profile tells what happened to its row: absent (never applied), applied
// once, or applied twice (a defect whenever the row uses incr).
//
// The rule under test: a row using incr/add/delete ("risky") is never sent
// again once a request holding it may have been applied; its journal says
// ok only when the API said so, unknown when the reply was lost, and failed
// only when the reply proved nothing was applied. Set-only rows are simply
// sent again until the API answers.

// onceConfig maps Email, Name and Visits; with risky, Visits is added with
// incr, so every row with a Visits cell is risky.
func onceConfig(risky bool, timeout time.Duration) string {
	action := ""
	if risky {
		action = ", action: incr"
	}
	return fmt.Sprintf(`
api: {endpoint: import, rate: 0, max_attempts: 8, timeout: %s}
request: {db_id: 1, matching: email}
fields:
  email: {column: Email, validate: email, required: true}
  _fname: Name
  visits: {column: Visits, type: int%s}
`, timeout, action)
}

// onceCSV writes n rows over distinct keys: row i is user<i>@example.com with
// Visits i; when setOnly(i), the Visits cell is empty, which leaves the
// field out and the row set-only even under a risky config.
func onceCSV(t testing.TB, dir string, n int, setOnly func(i int) bool) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("Email,Name,Visits\n")
	for i := 1; i <= n; i++ {
		visits := strconv.Itoa(i)
		if setOnly != nil && setOnly(i) {
			visits = ""
		}
		fmt.Fprintf(&b, "user%d@example.com,Name %d,%s\n", i, i, visits)
	}
	return writeFile(t, dir, "in.csv", b.String())
}

// onceSeed makes the fake lose replies (ApplyThenRate 10%) on its 2nd, 3rd
// and 6th requests among others: with six batches of 50 the fault still
// fires, whatever the arrival order.
const onceSeed = 22

// onceFault is a way the API loses the reply to a request it applied.
type onceFault struct {
	name string
	opts fakeapi.Options
	// timeout is the importer's per-attempt timeout for the case.
	timeout time.Duration
	// code is the error_code a risky row gets when this fault hits it.
	code string
	// late: the client may also give up on a request the fake has not
	// processed yet (a short timeout on a loaded machine), so an unknown
	// row of this fault is not necessarily applied.
	late bool
}

var onceFaults = []onceFault{
	{name: "no fault", timeout: 5 * time.Second},
	{name: "502 after applying", code: "HTTP 502", timeout: 5 * time.Second,
		opts: fakeapi.Options{ApplyThenRate: 0.1, ApplyThen: fakeapi.Lost502, Seed: onceSeed}},
	{name: "reset after applying", code: "network", timeout: 5 * time.Second,
		opts: fakeapi.Options{ApplyThenRate: 0.1, ApplyThen: fakeapi.LostReset, Seed: onceSeed}},
	{name: "timeout after applying", code: "timeout", timeout: 150 * time.Millisecond, late: true,
		opts: fakeapi.Options{ApplyThenRate: 0.1, ApplyThen: fakeapi.LostTimeout, Slow: 250 * time.Millisecond, Seed: onceSeed}},
}

// onceShape is how the fake answers a successful batch.
type onceShape struct {
	name  string
	reply fakeapi.BatchReply
	// matched: the reply has one result per item, so each row learns its
	// own outcome; otherwise the batch's risky rows end unknown ("reply"),
	// its set-only rows go out again one by one, and so does every later row.
	matched bool
}

var onceShapes = []onceShape{
	{"ordered", fakeapi.BatchOrdered, true},
	{"errors-only", fakeapi.BatchErrorsOnly, false},
	{"bare", fakeapi.BatchBare, false},
}

// onceCase is one cell of the matrix.
type onceCase struct {
	name  string
	risky bool
	batch int // 0: one profile per request
	shape onceShape
	fault onceFault
}

// unknownCodes are the error codes a row of the case may end unknown with:
// only ambiguous replies, only for risky rows.
func (c onceCase) unknownCodes() map[string]bool {
	codes := map[string]bool{}
	if !c.risky {
		return codes
	}
	if c.fault.code != "" {
		codes[c.fault.code] = true
	}
	if c.batch > 1 && !c.shape.matched {
		codes["reply"] = true
	}
	return codes
}

// onceMatrix is {risky, set-only} × {single, batch 50 × reply shape} ×
// fault. A single request's reply has no result list, so the batch reply
// shape does not apply to it: single rows run once per fault.
func onceMatrix() []onceCase {
	var cases []onceCase
	for _, risky := range []bool{true, false} {
		rows := "set-only"
		if risky {
			rows = "risky"
		}
		for _, f := range onceFaults {
			cases = append(cases, onceCase{name: rows + "/single/" + f.name, risky: risky, shape: onceShapes[0], fault: f})
			for _, s := range onceShapes {
				cases = append(cases, onceCase{name: rows + "/batch50/" + s.name + "/" + f.name, risky: risky, batch: 50, shape: s, fault: f})
			}
		}
	}
	return cases
}

// TestAtMostOnceMatrix: whatever the API does with its replies, no row using
// incr is applied twice, and each row's final journal line tells the truth
// about what the API applied.
func TestAtMostOnceMatrix(t *testing.T) {
	const rows = 300
	for _, tc := range onceMatrix() {
		t.Run(tc.name, func(t *testing.T) {
			// Most of a case's time is spent waiting (timeouts, backoff
			// before a set-only row goes out again): cases run side by side.
			t.Parallel()
			opts := tc.fault.opts
			opts.BatchReply = tc.shape.reply
			fake, url := startFake(t, opts)
			dir := t.TempDir()
			cfg := writeFile(t, dir, "c.yaml", onceConfig(tc.risky, tc.fault.timeout))
			o := baseOptions(ModeRun, cfg, onceCSV(t, dir, rows, nil), dir)
			o.APIURL = url
			conc := 8
			if tc.batch > 1 {
				o.BatchSize = &tc.batch
			}
			o.Concurrency = &conc
			r := runTracked(t, context.Background(), o)

			fired := faultCounts(fake.Stats())["apply_then"]
			if tc.fault.code != "" && fired == 0 {
				t.Fatalf("the fake lost no reply: the case tests nothing")
			}
			n := checkOnce(t, fake, readJournal(t, o.Results), rows, onceExpect{
				risky: func(int) bool { return tc.risky }, codes: tc.unknownCodes(), late: tc.fault.late, setVisits: !tc.risky,
			})
			wantCode := ExitOK
			if len(tc.unknownCodes()) > 0 {
				wantCode = ExitRowErrors
				if n.unknown < fired {
					t.Errorf("%d rows unknown, but the fake lost %d replies: each leaves its rows unknown", n.unknown, fired)
				}
				if tc.batch == 0 && !tc.fault.late && n.unknown != fired {
					t.Errorf("%d rows unknown, the fake lost %d replies to single requests: want one each", n.unknown, fired)
				}
			}
			if r.code != wantCode {
				t.Fatalf("exit code = %d, want %d; err %v\n%s", r.code, wantCode, r.err, r.stderr)
			}
			if s := r.sum; s.OK != n.ok || s.Unknown != n.unknown || s.Failed != 0 {
				t.Errorf("summary ok/unknown/failed = %d/%d/%d, journal says %d/%d/0", s.OK, s.Unknown, s.Failed, n.ok, n.unknown)
			}
			items := fakeItems(fake)
			if tc.risky && items != rows {
				t.Errorf("the fake processed %d profiles for %d risky rows: each must reach the API exactly once", items, rows)
			}
			warned := strings.Count(r.stderr, "batch reply cannot be matched")
			if want := btoi(tc.batch > 1 && !tc.shape.matched); warned != want {
				t.Errorf("the log says %d times that batch replies cannot be matched, want %d", warned, want)
			}
		})
	}
}

// onceExpect says what checkOnce may accept.
type onceExpect struct {
	risky func(row int) bool // the row uses incr
	codes map[string]bool    // error codes a risky row may end unknown with
	late  bool               // an unknown row may also be one the fake never applied
	// partial: rows may lack a journal line (the run stopped); such a row
	// must never have been applied.
	partial bool
	// failed: error codes a row may end failed with; such a row must never
	// have been applied.
	failed map[string]bool
	// setVisits: the config sets Visits (no incr), so every row carries it.
	setVisits bool
}

// onceCounts are the final statuses checkOnce found.
type onceCounts struct{ ok, unknown, failed, missing int64 }

// checkOnce holds a run's journal against the fake's store, row by row (the
// last line of a row wins):
//   - no profile had an incr applied twice, and each applied one holds its
//     row's Visits once;
//   - ok: the row was applied, with the profile_id the store gave it;
//   - unknown: only a risky row, only with an ambiguous reply's code, and
//     (but for late replies) applied;
//   - failed: never an applied row;
//   - a risky row that was sent has exactly one in-flight line before its
//     final line; a set-only row has exactly one line.
func checkOnce(t *testing.T, fake *fakeapi.Server, lines []map[string]string, n int, want onceExpect) onceCounts {
	t.Helper()
	if st := fake.Stats(); st.IncrAppliedTwice != 0 {
		t.Errorf("fake stats: %d profiles had their incr applied twice", st.IncrAppliedTwice)
	}
	store := map[int]fakeapi.Profile{}
	for _, p := range fake.Profiles() {
		email, _ := p.Fields["email"].(string)
		i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(email, "user"), "@example.com"))
		if err != nil {
			t.Fatalf("the store holds %q, no row's key", email)
		}
		store[i] = p
		if p.IncrApplied > 1 {
			t.Errorf("row %d: incr applied %d times", i, p.IncrApplied)
		}
		wantVisits := strconv.Itoa(i)
		if !want.risky(i) && !want.setVisits {
			wantVisits = "<nil>" // a set-only row of a risky config has no Visits
		}
		if v := fmt.Sprint(p.Fields["visits"]); v != wantVisits {
			t.Errorf("row %d: visits = %s, want %s (its value, once)", i, v, wantVisits)
		}
	}
	byRow := map[int][]map[string]string{}
	for _, l := range lines {
		i, _ := strconv.Atoi(l["row"])
		byRow[i] = append(byRow[i], l)
	}
	var c onceCounts
	for i := 1; i <= n; i++ {
		p, applied := store[i]
		ls := byRow[i]
		if len(ls) == 0 {
			c.missing++
			if !want.partial {
				t.Errorf("row %d has no journal line", i)
			} else if applied {
				t.Errorf("row %d was applied but has no journal line", i)
			}
			continue
		}
		last := ls[len(ls)-1]
		checkLines(t, i, ls, want.risky(i))
		switch st, code := last["status"], last["error_code"]; st {
		case "ok":
			c.ok++
			if !applied {
				t.Errorf("row %d: ok, but the API never applied it", i)
			} else if last["profile_id"] != p.ID {
				t.Errorf("row %d: profile_id %q, the store's is %q", i, last["profile_id"], p.ID)
			}
		case "unknown":
			c.unknown++
			switch {
			case !want.risky(i):
				t.Errorf("row %d: unknown (%s), but a set-only row is sent again until answered", i, code)
			case !want.codes[code]:
				t.Errorf("row %d: unknown with error_code %q (%s); this case allows only %v", i, code, last["error"], keys(want.codes))
			case !applied && !(want.late && code == "timeout") && code != results.InFlightCode:
				t.Errorf("row %d: unknown (%s), but the fake never applied it: the reply was not ambiguous", i, code)
			}
		case "failed":
			c.failed++
			if applied {
				t.Errorf("row %d: failed (%s %s), but the API applied it", i, code, last["error"])
			}
			if !want.failed[code] {
				t.Errorf("row %d: failed with %q (%s)", i, code, last["error"])
			}
		default:
			t.Errorf("row %d: status %q", i, st)
		}
	}
	return c
}

// checkLines asserts the shape of one row's journal lines: a risky row's
// first line is its in-flight record, which appears once; a set-only row
// is never recorded in flight.
func checkLines(t *testing.T, i int, ls []map[string]string, risky bool) {
	t.Helper()
	flights := 0
	for _, l := range ls {
		if l["error_code"] == results.InFlightCode {
			flights++
			if l["status"] != "unknown" {
				t.Errorf("row %d: an in-flight line with status %q", i, l["status"])
			}
		}
	}
	switch {
	case !risky && flights > 0:
		t.Errorf("row %d: set-only, yet recorded in flight", i)
	case !risky && len(ls) != 1:
		t.Errorf("row %d: %d journal lines, want one", i, len(ls))
	case risky && ls[0]["error_code"] != results.InFlightCode:
		t.Errorf("row %d: risky, its first line is %s/%s, not the in-flight record", i, ls[0]["status"], ls[0]["error_code"])
	case risky && flights != 1:
		t.Errorf("row %d: %d in-flight lines, want one", i, flights)
	}
}

// fakeItems is how many profiles the fake processed, over every endpoint.
func fakeItems(fake *fakeapi.Server) int64 {
	var n int64
	for _, ep := range fake.Stats().Endpoints {
		n += ep.Items
	}
	return n
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestBatchReplyUnmatched: a batch reply that cannot be matched to its rows
// (no result list, or the failed items only) ends the risky rows of the
// batches already sent unknown, sends their set-only rows again one by
// one, and sends every later row one per request; the log says so once.
func TestBatchReplyUnmatched(t *testing.T) {
	const rows, batch, conc = 300, 50, 2
	setOnly := func(i int) bool { return i%2 == 1 } // odd rows have no Visits: no incr
	for _, shape := range onceShapes {
		if shape.matched {
			continue
		}
		t.Run(shape.name, func(t *testing.T) {
			fake, url := startFake(t, fakeapi.Options{BatchReply: shape.reply})
			dir := t.TempDir()
			cfg := writeFile(t, dir, "c.yaml", onceConfig(true, 5*time.Second))
			o := baseOptions(ModeRun, cfg, onceCSV(t, dir, rows, setOnly), dir)
			o.APIURL = url
			b, c := batch, conc
			o.BatchSize, o.Concurrency = &b, &c
			r := runTracked(t, context.Background(), o)
			if r.code != ExitRowErrors {
				t.Fatalf("exit code = %d, want 2 (risky rows unknown); err %v\n%s", r.code, r.err, r.stderr)
			}
			n := checkOnce(t, fake, readJournal(t, o.Results), rows, onceExpect{
				risky: func(i int) bool { return !setOnly(i) }, codes: map[string]bool{"reply": true},
			})
			st := fake.Stats()
			batches, singles := st.Endpoints["import_batch"], st.Endpoints["import"]
			// Only the batches sent before the first reply came back went
			// out as batches: at most one per request slot.
			if batches.Requests == 0 || batches.Requests > conc {
				t.Errorf("%d batch requests, want 1..%d: after the first unmatched reply every row goes alone", batches.Requests, conc)
			}
			// Each risky row of those batches is unknown and never sent
			// again; every other row reached the single endpoint once.
			if want := batches.Items / 2; n.unknown != want {
				t.Errorf("%d rows unknown, want the %d risky rows of the %d batched rows", n.unknown, want, batches.Items)
			}
			if want := int64(rows) - n.unknown; singles.Requests != want {
				t.Errorf("%d single requests, want %d: one for each row but the unknown ones", singles.Requests, want)
			}
			if n.ok != int64(rows)-n.unknown {
				t.Errorf("%d rows ok, want every row but the %d unknown", n.ok, n.unknown)
			}
			if got := strings.Count(r.stderr, "the API's batch reply cannot be matched to the rows of the batch"); got != 1 {
				t.Errorf("the log says %d times that batch replies cannot be matched, want once:\n%s", got, r.stderr)
			}
		})
	}
}

// TestTooLargeBatchSplits: the API refuses a 50-profile batch as too large
// (HTTP 413, nothing applied); the importer splits it until the halves fit,
// keeps later batches small, and every row ends ok, applied once.
func TestTooLargeBatchSplits(t *testing.T) {
	const rows = 300
	// One profile's item is about 80 bytes: 50 of them are over 2000 bytes,
	// 12 are not.
	fake, url := startFake(t, fakeapi.Options{MaxBody: 2000})
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", onceConfig(true, 5*time.Second))
	o := baseOptions(ModeRun, cfg, onceCSV(t, dir, rows, nil), dir)
	o.APIURL = url
	b, c := 50, 4
	o.BatchSize, o.Concurrency = &b, &c
	r := runTracked(t, context.Background(), o)
	if r.code != ExitOK {
		t.Fatalf("exit code = %d, want 0; err %v\n%s", r.code, r.err, r.stderr)
	}
	n := checkOnce(t, fake, readJournal(t, o.Results), rows, onceExpect{risky: func(int) bool { return true }})
	if n.ok != rows {
		t.Errorf("%d rows ok, want all %d", n.ok, rows)
	}
	st := fake.Stats()
	if refused := st.Endpoints["import_batch"].Outcomes["http_4xx"]; refused == 0 {
		t.Fatalf("the fake refused no batch as too large: the case tests nothing")
	}
	if items := fakeItems(fake); items != rows {
		t.Errorf("the fake processed %d profiles for %d rows: a refused batch applied nothing, so each row goes out once", items, rows)
	}
	if st.Writes != rows || st.IncrWrites != rows {
		t.Errorf("writes %d, incr writes %d, want %d each", st.Writes, st.IncrWrites, rows)
	}
	if !strings.Contains(r.stderr, "the API refused a batch as too large (HTTP 413)") {
		t.Errorf("the log does not say batches were split:\n%s", r.stderr)
	}
}

// TestResumeLeavingUnknownRows: --resume skips rows an earlier run left
// unknown and says so; since their outcome is still unknown, the run does
// not claim every row ok (exit 2). --retry-unknown sends them.
func TestResumeLeavingUnknownRows(t *testing.T) {
	const rows = 60
	fake, url := startFake(t, fakeapi.Options{ApplyThenRate: 0.1, ApplyThen: fakeapi.Lost502, Seed: onceSeed})
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", onceConfig(true, 5*time.Second))
	o := baseOptions(ModeRun, cfg, onceCSV(t, dir, rows, nil), dir)
	o.APIURL = url
	first := runTracked(t, context.Background(), o)
	if first.code != ExitRowErrors || first.sum.Unknown == 0 {
		t.Fatalf("first run: exit %d with %v unknown rows, want 2 and some; err %v\n%s", first.code, first.sum, first.err, first.stderr)
	}
	unknown := first.sum.Unknown
	sent := fake.Stats().Requests

	o.Resume = true
	r := runTracked(t, context.Background(), o)
	if r.code != ExitRowErrors {
		t.Errorf("--resume skipping %d unknown rows: exit %d, want 2; err %v", unknown, r.code, r.err)
	}
	if r.sum.SkippedUnknown != unknown || r.sum.Skipped != rows-unknown {
		t.Errorf("--resume skipped %d unknown and %d ok rows, want %d and %d", r.sum.SkippedUnknown, r.sum.Skipped, unknown, rows-unknown)
	}
	if got := fake.Stats().Requests; got != sent {
		t.Errorf("--resume sent %d requests, want none: every row is ok or unknown", got-sent)
	}
	if !strings.Contains(r.stderr, fmt.Sprintf("skipped %d rows left unknown by an earlier run", unknown)) {
		t.Errorf("the summary does not say the unknown rows were skipped:\n%s", r.stderr)
	}

	// Checked by hand and found missing: sent, here to a fake without faults.
	clean, cleanURL := startFake(t, fakeapi.Options{})
	o.APIURL, o.RetryUnknown = cleanURL, true
	r = runTracked(t, context.Background(), o)
	if r.code != ExitOK {
		t.Fatalf("--resume --retry-unknown: exit %d, want 0; err %v\n%s", r.code, r.err, r.stderr)
	}
	if got := clean.Stats().IncrWrites; got != unknown {
		t.Errorf("--retry-unknown sent %d rows, want the %d unknown ones", got, unknown)
	}
}
