package k8s_test

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"importer/internal/importer"
	"importer/internal/source/s3test"
)

// xlsx is the export as a workbook, its rows on the first sheet.
func (e export) xlsx(t *testing.T) []byte {
	t.Helper()
	f := excelize.NewFile()
	rows := [][]any{{"Email", "First name", "Last name", "Phone"}}
	for _, r := range e {
		rows = append(rows, []any{r.email, r.first, r.last, r.phone})
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// checkInputs asserts that every pod of a night took the same export.
func checkInputs(t *testing.T, runs []*podRun, want string) {
	t.Helper()
	for _, r := range runs {
		if got := r.summaryJSON(t).Input; got != want {
			t.Errorf("pod %d imported %s, want %s", r.index, got, want)
		}
	}
}

// TestK8sBucketPodsRunReal runs the bucket CronJob's container, as written,
// with the real binary against the fake API and an S3 store on loopback
// (the ConfigMap's endpoint replaced by the store's; the Secret importer-s3
// holding the keys the store accepts): each night's pods all take the
// newest export; a finished shard retried as written finds nothing new; a
// resume names the night's export; a workbook is spooled to the pod's
// emptyDir; a night without a new export stops and sends nothing.
func TestK8sBucketPodsRunReal(t *testing.T) {
	s := loadK8s(t, bucket)
	prefix := fmt.Sprint(dig(s.envVar("IMPORT_INPUT"), "value"))
	bkt, dir, ok := strings.Cut(strings.TrimPrefix(prefix, "s3://"), "/")
	if !strings.HasPrefix(prefix, "s3://") || !ok || !strings.HasSuffix(dir, "/") {
		t.Fatalf("IMPORT_INPUT=%s: want s3://BUCKET/PREFIX/", prefix)
	}
	store := s3test.New(t)
	store.Bucket(t, bkt)
	c := newK8sCluster(t, s, clusterOpts{
		secrets: map[string]string{"importer-s3/access_key_id": s3test.KeyID, "importer-s3/secret_access_key": s3test.Secret},
		config:  map[string]string{s.mapping.Input.S3.Endpoint: store.URL},
	})
	const night1, night2, night3 = "importer-s3-29000000", "importer-s3-29001440", "importer-s3-29002880"
	key1, key2 := dir+"crm-2024-03-01.csv", dir+"crm-2024-03-02.xlsx"

	n1 := newExport("n1", 97)
	store.Put(t, bkt, key1, n1.csv())
	runs := c.night(t, night1)
	c.checkNight(t, runs, n1, nil)
	checkInputs(t, runs, "s3://"+bkt+"/"+key1)
	c.checkPushes(t, c.gw.since(0), runs)

	t.Run("a finished shard retried as written finds nothing new and sends nothing", func(t *testing.T) {
		// Its ledger holds the export now, so --pick passes over it: the
		// reason a resume names the export (next subtest).
		before := c.fake.Stats().Requests
		r := c.night(t, night1, s.n-1)[0]
		if r.code != importer.ExitFatal || !strings.Contains(r.out, "already imported") {
			t.Errorf("exit %d, want %d saying the only export is imported already\n%s", r.code, importer.ExitFatal, r.out)
		}
		if after := c.fake.Stats().Requests; after != before {
			t.Errorf("%d requests sent, want 0", after-before)
		}
	})

	t.Run("a resume that names the night's export reads its journal and sends nothing", func(t *testing.T) {
		// README.md's recipe: the Job made by hand with IMPORT_INPUT set to
		// the export and IMPORT_PICK empty.
		before := c.fake.Stats().Requests
		for _, r := range c.nightEnv(t, night1, map[string]string{"IMPORT_INPUT": "s3://" + bkt + "/" + key1, "IMPORT_PICK": ""}) {
			if r.code != 0 {
				t.Errorf("pod %d: exit %d\n%s", r.index, r.code, r.out)
			}
		}
		if after := c.fake.Stats().Requests; after != before {
			t.Errorf("%d requests sent, want 0: every journal says every row is ok", after-before)
		}
	})

	t.Run("the next night's pods all take the new export, a workbook, and send what changed", func(t *testing.T) {
		n2 := n1.nextNight(func(id int) bool { return id%7 == 3 }, func(id int) bool { return id >= 90 }, 5)
		store.Put(t, bkt, key2, n2.xlsx(t))
		// The rule README.md sets: an export imported is deleted (or moved
		// out of the prefix) once a newer one is there.
		if _, err := store.Backend.DeleteObject(bkt, key1); err != nil {
			t.Fatal(err)
		}
		pushes := c.gw.count()
		runs := c.night(t, night2)
		c.checkNight(t, runs, n2, n2.unchangedAfter(n1))
		checkInputs(t, runs, "s3://"+bkt+"/"+key2)
		c.checkMissing(t, runs, n2.goneAfter(n1))
		c.checkPushes(t, c.gw.since(pushes), runs)
		if left, err := os.ReadDir(c.hostPath(t, "/tmp")); err != nil || len(left) != 0 {
			t.Errorf("the pods' temporary directory holds %v (%v), want it empty after the run", left, err)
		}
	})

	t.Run("a night without a new export stops and sends nothing", func(t *testing.T) {
		before := c.fake.Stats().Requests
		for _, r := range c.night(t, night3) {
			if r.code != importer.ExitFatal || !strings.Contains(r.out, "already imported") {
				t.Errorf("pod %d: exit %d, want %d saying there is no new export\n%s", r.index, r.code, importer.ExitFatal, r.out)
			}
		}
		if after := c.fake.Stats().Requests; after != before {
			t.Errorf("%d requests sent, want 0", after-before)
		}
	})
}
