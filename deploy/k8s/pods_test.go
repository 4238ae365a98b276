package k8s_test

import (
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"importer/internal/importer"
)

// exportRow is one row of a nightly export; id numbers its customer.
type exportRow struct {
	id                        int
	email, first, last, phone string
}

// key is the row's match key: the e-mail, lower-cased as the mapping does.
func (r exportRow) key() string { return strings.ToLower(r.email) }

// same reports whether two rows make the same request.
func (r exportRow) same(o exportRow) bool {
	return r.key() == o.key() && r.first == o.first && r.last == o.last && r.phone == o.phone
}

// export is a nightly export, rows in file order.
type export []exportRow

// newExport makes keys customers with e-mails tagged by tag, then repeats
// every fifth customer in upper case with another first name, so that
// per-key order can be checked: the store must end with the later row.
func newExport(tag string, keys int) export {
	var e export
	for i := range keys {
		e = append(e, exportRow{i, fmt.Sprintf("%s.user%d@example.com", tag, i), fmt.Sprintf("First%d", i), fmt.Sprintf("Last%d", i), fmt.Sprintf("+7916%07d", i)})
	}
	for i := 0; i < keys; i += 5 {
		r := e[i]
		r.email, r.first = strings.ToUpper(r.email), fmt.Sprintf("Again%d", i)
		e = append(e, r)
	}
	return e
}

// nextNight is the export of the night after e: customers whose id
// changed(id) get another first name, those gone(id) leave, and added new
// customers join at the end.
func (e export) nextNight(changed, gone func(id int) bool, added int) export {
	var next export
	for _, r := range e {
		switch {
		case gone(r.id):
			continue
		case changed(r.id):
			r.first = "Changed" + r.first
		}
		next = append(next, r)
	}
	for i := range added {
		id := 100000 + i
		next = append(next, exportRow{id, fmt.Sprintf("new.user%d@example.com", i), "New", "Customer", fmt.Sprintf("+7926%07d", i)})
	}
	return next
}

func (e export) csv() []byte {
	var b strings.Builder
	b.WriteString("Email,First name,Last name,Phone\n")
	for _, r := range e {
		fmt.Fprintf(&b, "%s,%s,%s,%s\n", r.email, r.first, r.last, r.phone)
	}
	return []byte(b.String())
}

// names is, per key, the first name of its last row: what the store must
// hold once the export is imported.
func (e export) names() map[string]string {
	m := map[string]string{}
	for _, r := range e {
		m[r.key()] = r.first
	}
	return m
}

// unchangedAfter is the rows (1-based) that a state holding prev's import
// does not send again: a key's first row in e whose request is that of the
// key's last row in prev. A later row of a key is always sent: the key's
// earlier row in this export was.
func (e export) unchangedAfter(prev export) map[int]bool {
	last := map[string]exportRow{}
	for _, r := range prev {
		last[r.key()] = r
	}
	out, seen := map[int]bool{}, map[string]bool{}
	for i, r := range e {
		if p, ok := last[r.key()]; ok && !seen[r.key()] && p.same(r) {
			out[i+1] = true
		}
		seen[r.key()] = true
	}
	return out
}

// goneAfter is the keys of prev that e lacks.
func (e export) goneAfter(prev export) map[string]bool {
	now := e.names()
	out := map[string]bool{}
	for _, r := range prev {
		if _, ok := now[r.key()]; !ok {
			out[r.key()] = true
		}
	}
	return out
}

// checkNight asserts that the pods of a night exited 0 and that, together,
// they imported the export: every row in exactly one journal, in its key's
// shard, ok if sent and unchanged if the state skipped it (the rows
// unchanged lists); the store holds each key's last row.
func (c *k8sCluster) checkNight(t *testing.T, runs []*podRun, e export, unchanged map[int]bool) {
	t.Helper()
	seen := map[int]int{} // row → shard
	journals := map[string]bool{}
	var okSum, unchangedSum int64
	for _, r := range runs {
		if r.code != 0 {
			t.Fatalf("pod %d: exit %d, want 0\n%s", r.index, r.code, r.out)
		}
		if journals[r.results] {
			t.Fatalf("pods share the journal %s", r.results)
		}
		journals[r.results] = true
		for _, rec := range journalRows(t, r.results) {
			row, _ := strconv.Atoi(rec[0])
			if prev, dup := seen[row]; dup {
				t.Errorf("row %d is in the journals of shards %d and %d", row, prev, r.index)
			}
			seen[row] = r.index
			want := "ok"
			if unchanged[row] {
				want = "unchanged"
			}
			if rec[3] != want {
				t.Errorf("shard %d row %d: status %s, want %s (%s)", r.index, row, rec[3], want, rec[6])
			}
			if got := importer.ShardOf(rec[2], c.s.n); got != r.index {
				t.Errorf("row %d key %q went through shard %d, its hash says %d", row, rec[2], r.index, got)
			}
		}
		sum := r.summaryJSON(t)
		okSum += sum.OK
		unchangedSum += sum.Unchanged
	}
	if len(seen) != len(e) || okSum+unchangedSum != int64(len(e)) || unchangedSum != int64(len(unchanged)) {
		t.Errorf("the journals hold %d rows and the summaries %d ok + %d unchanged; the export has %d rows, %d unchanged",
			len(seen), okSum, unchangedSum, len(e), len(unchanged))
	}
	// Per-key order held: for every key the store holds its last row.
	got := map[string]string{}
	for _, p := range c.fake.Profiles() {
		got[fmt.Sprint(p.Fields["email"])] = fmt.Sprint(p.Fields["_fname"])
	}
	for email, name := range e.names() {
		if got[email] != name {
			t.Errorf("profile %s: _fname %q, want %q (the key's last row)", email, got[email], name)
		}
	}
}

// checkMissing asserts that each pod's --missing file lists exactly the
// keys of its shard that the export lost.
func (c *k8sCluster) checkMissing(t *testing.T, runs []*podRun, gone map[string]bool) {
	t.Helper()
	listed := 0
	for _, r := range runs {
		b, err := os.ReadFile(r.missing)
		if err != nil {
			t.Fatalf("pod %d: %v", r.index, err)
		}
		recs, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
		if err != nil || len(recs) == 0 || strings.Join(recs[0], ",") != "key,time,row" {
			t.Fatalf("pod %d missing file %s: %v\n%s", r.index, r.missing, err, b)
		}
		for _, rec := range recs[1:] {
			if !gone[rec[0]] || importer.ShardOf(rec[0], c.s.n) != r.index {
				t.Errorf("pod %d lists %s as missing: it is not a key of its shard that the export lost", r.index, rec[0])
			}
		}
		if n := r.summaryJSON(t).Missing; n != int64(len(recs)-1) {
			t.Errorf("pod %d: summary says %d missing, its file lists %d", r.index, n, len(recs)-1)
		}
		listed += len(recs) - 1
	}
	if listed != len(gone) {
		t.Errorf("the missing files list %d keys, the export lost %d", listed, len(gone))
	}
}

// TestK8sPodsRunReal runs the inbox CronJob's container, as written, with
// the real binary: the N pods of a first night, a retried pod, a night that
// sends only what changed and lists the keys that left, a night that meets
// the same export again, and a retry that meets a changed input; each pod's
// metrics reach the Pushgateway's Service.
func TestK8sPodsRunReal(t *testing.T) {
	t.Parallel() // waits on the pods' rate limits, not on the CPU
	s := loadK8s(t, inbox)
	c := newK8sCluster(t, s, clusterOpts{})
	const night1, night2, night3 = "importer-29000000", "importer-29001440", "importer-29002880"

	n1 := newExport("n1", 97)
	writeFile(t, c.input, n1.csv())
	runs := c.night(t, night1)
	if len(runs) != s.n {
		t.Fatalf("%d pods ran, want %d", len(runs), s.n)
	}
	c.checkNight(t, runs, n1, nil)
	c.checkPushes(t, c.gw.since(0), runs)
	for k := range s.n {
		if _, err := os.Stat(c.statePath(t, k)); err != nil {
			t.Errorf("shard %d has no state database: %v", k, err)
		}
	}

	t.Run("a retried pod resumes and sends nothing again", func(t *testing.T) {
		before := c.fake.Stats().Requests
		for _, r := range c.night(t, night1, s.n-1) {
			if r.code != 0 {
				t.Fatalf("retried pod %d: exit %d\n%s", r.index, r.code, r.out)
			}
		}
		if after := c.fake.Stats().Requests; after != before {
			t.Errorf("the retried pod sent %d requests, want 0: its journal says every row is ok", after-before)
		}
	})

	n2 := n1.nextNight(func(id int) bool { return id%7 == 3 }, func(id int) bool { return id >= 90 }, 5)
	t.Run("the next night sends what changed and lists the keys that left", func(t *testing.T) {
		writeFile(t, c.input, n2.csv())
		pushes := c.gw.count()
		runs := c.night(t, night2)
		c.checkNight(t, runs, n2, n2.unchangedAfter(n1))
		c.checkMissing(t, runs, n2.goneAfter(n1))
		c.checkPushes(t, c.gw.since(pushes), runs)
	})

	t.Run("the same export on another night is refused, and sends nothing", func(t *testing.T) {
		// The export job did not deliver. --resume in the args continues a
		// journal that exists; tonight's journal does not, so the state's
		// ledger refuses an export it imported: exit 1, no request, and the
		// job-failed alert reports the stale export.
		before := c.fake.Stats().Requests
		for _, r := range c.night(t, night3) {
			if r.code != importer.ExitFatal {
				t.Fatalf("pod %d: exit %d, want %d (already imported)\n%s", r.index, r.code, importer.ExitFatal, r.out)
			}
			if !strings.Contains(r.out, "already imported") {
				t.Errorf("pod %d does not say why:\n%s", r.index, r.out)
			}
		}
		if after := c.fake.Stats().Requests; after != before {
			t.Errorf("the refused night sent %d requests, want 0", after-before)
		}
	})

	t.Run("a retry after the input changed stops, and is not retried", func(t *testing.T) {
		// night2's export is in place; a late retry of night1's pod 0 must
		// refuse its old journal rather than mix two exports.
		r := c.night(t, night1, 0)[0]
		if r.code != importer.ExitFatal {
			t.Fatalf("exit %d, want %d\n%s", r.code, importer.ExitFatal, r.out)
		}
		if !strings.Contains(r.out, "resume") {
			t.Errorf("the message does not say why:\n%s", r.out)
		}
	})
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
