package report

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteFile: the file holds what Write writes, mode 0644, with no
// temporary file left; a directory that does not exist is an error.
func TestWriteFile(t *testing.T) {
	rec, f := smallRun()
	dir := t.TempDir()
	path := filepath.Join(dir, "night.html")
	if err := os.WriteFile(path, []byte("old report"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := rec.WriteFile(path, f); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, render(t, rec, f)) {
		t.Error("the file differs from Write's output")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %d files, want 1", len(entries))
	}
	if err := rec.WriteFile(filepath.Join(dir, "no", "such", "x.html"), f); err == nil {
		t.Error("WriteFile into a missing directory: no error")
	}
}
