package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"importer/tools/bench"
)

// TestRunUsage covers the command line; the scenarios themselves are
// tested end to end in tools/bench.
func TestRunUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"Help", []string{"-help"}, 0, "-only"},
		{"Extra", []string{"now"}, 2, `unexpected argument "now"`},
		{"BadSize", []string{"-big-size", "huge"}, 2, "-big-size"},
		{"BadConcurrency", []string{"-bare-concurrency", "4,x"}, 2, "-bare-concurrency"},
		{"ZeroConcurrency", []string{"-bare-concurrency", "0"}, 2, "≥ 1"},
		{"UnknownScenario", []string{"-only", "warp", "-dir", "."}, 1, `unknown scenario "warp"`},
		{"NoBinaries", []string{"-only", "rate", "-dir", "/nonexistent-bench-root"}, 1, "make build"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tt.args, &stdout, &stderr); code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.err) {
				t.Errorf("stderr lacks %q:\n%s", tt.err, stderr.String())
			}
		})
	}
}

func TestParseInts(t *testing.T) {
	tests := []struct {
		in   string
		want string // joined back, "" = error
	}{
		{"4,16,64", "4,16,64"},
		{" 8 , 2", "8,2"},
		{"1", "1"},
		{"", ""},
		{"4,,8", ""},
		{"-1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseInts(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Errorf("parseInts(%q) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil || joinInts(got) != tt.want {
				t.Errorf("parseInts(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestWriteReportAtomic: the report appears whole under its name and no
// temporary file is left behind.
func TestWriteReportAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "BENCHMARKS.md")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeReport(p, emptyReport()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || !strings.HasPrefix(string(b), "# Benchmarks") {
		t.Fatalf("report = %.40q, %v", b, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("dir holds %d entries, want only the report", len(entries))
	}
	if err := writeReport(filepath.Join(dir, "missing", "B.md"), emptyReport()); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}

func emptyReport() *bench.Report { return &bench.Report{Complete: true} }
