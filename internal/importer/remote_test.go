package importer

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"importer/internal/fakeapi"
	"importer/internal/source/s3test"
)

// s3Config is simpleConfig reading s3:// inputs from the test store.
func s3Config(store *s3test.Server) string {
	return simpleConfig + fmt.Sprintf("\ninput:\n  s3: {endpoint: %q, region: %s, path_style: true}\n", store.URL, s3test.Region)
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestS3Input: an export in an S3-compatible store is imported like a
// local file (gzip detected); --resume recognises the object by its ETag
// and refuses another version of it; a missing object or wrong
// credentials stop the run naming the bucket and key, never the secret.
func TestS3Input(t *testing.T) {
	store := s3test.New(t)
	store.Bucket(t, "exports")
	dir := t.TempDir()
	csvData, err := os.ReadFile(genCSV(t, dir, 20, 20, false))
	if err != nil {
		t.Fatal(err)
	}
	store.Put(t, "exports", "crm/mon.csv.gz", gzipped(t, csvData))
	cfg := writeFile(t, dir, "c.yaml", s3Config(store))
	fake, url := startFake(t, fakeapi.Options{})
	opts := func(in string) Options {
		o := baseOptions(ModeRun, cfg, in, dir)
		o.APIURL = url
		return o
	}

	r := runImporter(t, context.Background(), opts("s3://exports/crm/mon.csv.gz"))
	if r.code != ExitOK || r.sum.OK != 20 || fake.Stats().Requests != 20 {
		t.Fatalf("s3 input: exit %d, %d ok, %d requests: %v\n%s", r.code, r.sum.OK, fake.Stats().Requests, r.err, r.stderr)
	}
	o := opts("s3://exports/crm/mon.csv.gz")
	o.Resume = true
	if r := runImporter(t, context.Background(), o); r.code != ExitOK || r.sum.Skipped != 20 {
		t.Errorf("--resume of the same object: exit %d, %d skipped: %v", r.code, r.sum.Skipped, r.err)
	}
	store.Put(t, "exports", "crm/mon.csv.gz", gzipped(t, append(csvData, "late@example.com,Late,1\n"...)))
	if r := runImporter(t, context.Background(), o); r.code != ExitFatal || !strings.Contains(r.err.Error(), "changed") {
		t.Errorf("--resume of a replaced object: exit %d, %v; want a refusal saying it changed", r.code, r.err)
	}

	for _, tc := range []struct {
		name, input, want string
		secret            string
	}{
		{"MissingObject", "s3://exports/crm/tue.csv", "exports", ""},
		{"MissingBucket", "s3://nope/mon.csv", "nope", ""},
		{"WrongSecret", "s3://exports/crm/mon.csv.gz", "exports", "not-the-s3cr3t-value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.secret != "" {
				s3test.UseCredentials(t, s3test.KeyID, tc.secret)
			}
			o := opts(tc.input)
			o.Results = filepath.Join(t.TempDir(), "r.csv")
			r := runImporter(t, context.Background(), o)
			if r.code != ExitFatal || !strings.Contains(r.err.Error(), tc.want) {
				t.Fatalf("exit %d, %v; want exit 1 naming %q", r.code, r.err, tc.want)
			}
			if tc.secret != "" && strings.Contains(r.err.Error()+r.stderr, tc.secret) {
				t.Errorf("the secret shows in the output: %v\n%s", r.err, r.stderr)
			}
		})
	}
}

// TestS3PickNewest: with --pick newest and a state, the cron job takes the
// newest export under a prefix, and says which; once that one is imported
// it takes nothing (an older export left behind would roll profiles back),
// while --pick oldest works through what is left in order.
func TestS3PickNewest(t *testing.T) {
	store := s3test.New(t)
	store.Bucket(t, "exports")
	dir := t.TempDir()
	for _, day := range []string{"mon", "tue"} {
		exportCSV(t, filepath.Join(dir, day+".csv"), seq(1, 10), func(k int) int { return len(day) + k })
		b, _ := os.ReadFile(filepath.Join(dir, day+".csv"))
		store.Put(t, "exports", "crm/"+day+".csv", b)
	}
	cfg := writeFile(t, dir, "c.yaml", s3Config(store))
	_, url := startFake(t, fakeapi.Options{})
	pick := func(rule string) run {
		o := baseOptions(ModeRun, cfg, "s3://exports/crm/", dir)
		o.Results = filepath.Join(t.TempDir(), "r.csv")
		o.APIURL, o.Pick, o.State = url, rule, filepath.Join(dir, "state.db")
		return runImporter(t, context.Background(), o)
	}
	r := pick("newest")
	if r.code != ExitOK || !strings.Contains(r.stderr, "s3://exports/crm/tue.csv") {
		t.Fatalf("first pick: exit %d, %v; want tue.csv taken\n%s", r.code, r.err, r.stderr)
	}
	r = pick("newest")
	if r.code != ExitFatal || !errors.Is(r.err, ErrAlreadyImported) || !strings.Contains(r.err.Error(), "tue.csv") {
		t.Errorf("second pick: exit %d, %v; want a refusal: the newest, tue.csv, is imported (mon.csv is older)", r.code, r.err)
	}
	r = pick("oldest")
	if r.code != ExitOK || !strings.Contains(r.stderr, "s3://exports/crm/mon.csv") {
		t.Errorf("--pick oldest: exit %d, %v; want mon.csv, the one left\n%s", r.code, r.err, r.stderr)
	}
	if r = pick("oldest"); r.code != ExitFatal {
		t.Errorf("--pick oldest with everything imported: exit %d, %v; want exit 1", r.code, r.err)
	}
}
