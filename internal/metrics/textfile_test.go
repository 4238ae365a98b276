package metrics

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var textLabels = map[string]string{"importer_job": "nightly", "config": "legacy-crm", "shard": "1/4"}

func TestWriteTextfile(t *testing.T) {
	tests := []struct {
		name string
		runs []Run // written in order to the same path; the last one is checked
		// lastSuccess is the expected importer_last_success_timestamp_seconds
		// after the last run; 0 = the series must be absent.
		lastSuccess float64
	}{
		{"success", []Run{okRun(night1)}, unixSeconds(night1)},
		{"failure after a success keeps the last success", []Run{okRun(night1), failedRun(night2)}, unixSeconds(night1)},
		{"two failures after a success still keep it", []Run{okRun(night1), failedRun(night2), failedRun(night3)}, unixSeconds(night1)},
		{"first run failing has no last success", []Run{failedRun(night1)}, 0},
		{"success after a failure sets it", []Run{failedRun(night1), okRun(night2)}, unixSeconds(night2)},
		{"a newer success replaces an older one", []Run{okRun(night1), okRun(night2)}, unixSeconds(night2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "importer.prom")
			for _, r := range tt.runs {
				if err := WriteTextfile(path, r); err != nil {
					t.Fatalf("WriteTextfile: %v", err)
				}
			}
			last := tt.runs[len(tt.runs)-1]
			got := readSeries(t, path)
			if diff := cmp.Diff(expected(last, textLabels, tt.lastSuccess), got); diff != "" {
				t.Errorf("textfile series (-want +got):\n%s", diff)
			}
			checkFileMode(t, path)
		})
	}
}

// TestWriteTextfileLabels: empty config and shard are left out, and an
// empty job becomes DefaultJob; a previous file of another config does not
// lend its last success.
func TestWriteTextfileLabels(t *testing.T) {
	path := filepath.Join(t.TempDir(), "importer.prom")
	if err := WriteTextfile(path, okRun(night1)); err != nil {
		t.Fatal(err)
	}
	r := failedRun(night2)
	r.Job, r.Config, r.Shard = "", "", ""
	if err := WriteTextfile(path, r); err != nil {
		t.Fatal(err)
	}
	want := expected(r, map[string]string{"importer_job": DefaultJob}, 0)
	if diff := cmp.Diff(want, readSeries(t, path)); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}
}

// TestWriteTextfileCorruptPrevious: a previous file that does not parse
// cannot lend its last success; the new file is still written and the
// error says what was lost.
func TestWriteTextfileCorruptPrevious(t *testing.T) {
	path := filepath.Join(t.TempDir(), "importer.prom")
	if err := os.WriteFile(path, []byte("importer_last_success_timestamp_seconds{ 12\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := failedRun(night2)
	err := WriteTextfile(path, r)
	if err == nil || !strings.Contains(err.Error(), "last success not carried over") || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want one naming the file and the lost last success", err)
	}
	if diff := cmp.Diff(expected(r, textLabels, 0), readSeries(t, path)); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}
}

// TestWriteTextfileAtomic: the directory holds only the final file, and a
// directory that cannot take the temporary file leaves the old file as it
// was.
func TestWriteTextfileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "importer.prom")
	for _, r := range []Run{okRun(night1), failedRun(night2)} {
		if err := WriteTextfile(path, r); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "importer.prom" {
		t.Errorf("directory holds %v, want only importer.prom", entries)
	}

	if os.Geteuid() == 0 {
		t.Log("running as root: a read-only directory does not stop root; the failure case below is skipped")
		return
	}
	before, _ := os.ReadFile(path)
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	if err := WriteTextfile(path, okRun(night3)); err == nil {
		t.Fatal("WriteTextfile into a read-only directory: no error")
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("a failed write changed the existing file")
	}
}

// TestWriteTextfileMissingDir: the error names the problem; nothing panics.
func TestWriteTextfileMissingDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "dir", "importer.prom")
	err := WriteTextfile(path, okRun(night1))
	if err == nil || !strings.Contains(err.Error(), "no such file or directory") {
		t.Fatalf("err = %v, want the missing directory", err)
	}
}

func readSeries(t *testing.T, path string) map[string]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return series(t, f)
}

func checkFileMode(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, want 0644 (node_exporter may run as another user)", fi.Mode().Perm())
	}
}
