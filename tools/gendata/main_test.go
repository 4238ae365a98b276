package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommandLine: gendata writes the rows or the size asked, picks the
// format from the name, and refuses bad flags with exit 2 and I/O problems
// with exit 1.
func TestCommandLine(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name  string
		args  []string
		code  int
		out   string // file written, "" = none
		rows  int    // CSV data rows expected in it; -1 = do not parse as CSV
		inErr string
	}{
		{"Rows", []string{"-rows", "25", "-o", filepath.Join(dir, "a.csv")}, 0, "a.csv", 25, "25 rows"},
		{"SizeWins", []string{"-rows", "5", "-size", "20KiB", "-o", filepath.Join(dir, "b.csv")}, 0, "b.csv", 0, "rows"},
		{"JSONLFromName", []string{"-rows", "3", "-o", filepath.Join(dir, "c.jsonl")}, 0, "c.jsonl", -1, "3 rows"},
		{"BadSize", []string{"-size", "lots"}, 2, "", -1, "-size"},
		{"BadFormat", []string{"-format", "xml", "-o", filepath.Join(dir, "d.x")}, 1, "", -1, `format "xml"`},
		{"Extra", []string{"x"}, 2, "", -1, "unexpected argument"},
		{"NoDir", []string{"-o", filepath.Join(dir, "no", "e.csv")}, 1, "", -1, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, &stdout, &stderr); code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.inErr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.inErr)
			}
			if tt.out == "" {
				return
			}
			b, err := os.ReadFile(filepath.Join(dir, tt.out))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.rows > 0:
				recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
				if err != nil || len(recs)-1 != tt.rows {
					t.Errorf("%d records (%v), want %d rows", len(recs)-1, err, tt.rows)
				}
			case tt.rows == 0 && len(b) < 20<<10:
				t.Errorf("%d bytes, want at least 20 KiB", len(b))
			case tt.rows < 0 && bytes.Count(b, []byte("\n")) != 3:
				t.Errorf("JSONL file has %d lines, want 3", bytes.Count(b, []byte("\n")))
			}
		})
	}
}

// TestRunStdout: without -o the data goes to stdout, the same bytes as a file.
func TestRunStdout(t *testing.T) {
	var a, b, stderr bytes.Buffer
	if code := run([]string{"-rows", "10", "-seed", "4"}, &a, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	p := filepath.Join(t.TempDir(), "x.csv")
	if code := run([]string{"-rows", "10", "-seed", "4", "-o", p}, &b, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	f, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), f) || b.Len() != 0 {
		t.Errorf("stdout and file differ (%d vs %d bytes), or -o wrote to stdout", a.Len(), len(f))
	}
}
