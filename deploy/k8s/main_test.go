// Package k8s_test checks the Kubernetes manifests of this directory (the
// inbox variant here, the bucket variant in bucket/), the alert rules and
// the repository's Dockerfile against the real importer binary, without a
// cluster: every container's args parse as `importer run` takes them, the
// token and the S3 keys come from Secrets through env only, the shards cover
// every row, the pods' command lines import exports night after night (their
// state sending only what changed) against the fake API, from a volume or
// from an S3 store on loopback, and push the metrics the alerts use.
package k8s_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"importer/internal/testbin"
	"os"
	"strings"
	"testing"
)

// importerBin is the importer built for these tests.
var importerBin string

func TestMain(m *testing.M) {
	var err error
	if importerBin, err = testbin.Build("importer"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	testbin.Remove()
	os.Exit(code)
}

// journalRows reads a results journal's records, after its header.
func journalRows(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("journal %s: %v", path, err)
	}
	if len(recs) == 0 || strings.Join(recs[0], ",") != "row,line,key,status,profile_id,error_code,error,attempts" {
		t.Fatalf("journal header = %v", recs)
	}
	return recs[1:]
}
