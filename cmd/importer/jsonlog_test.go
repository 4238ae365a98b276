package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"importer/internal/fakeapi"
	"importer/internal/importer"
)

// TestJSONLogsAreJSONLines: with --log-format json every line the importer
// writes to stderr is one JSON record, the closing summary and a fatal
// error included, so a log collector reading the job's output line by line
// gets all of it.
func TestJSONLogsAreJSONLines(t *testing.T) {
	f := newFixture(t, 20, fakeapi.Options{})
	badRows := filepath.Join(f.dir, "bad.csv")
	if err := os.WriteFile(badRows, []byte("Email,Name\nok@example.com,A\nnot-an-email,B\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badConfig := filepath.Join(f.dir, "bad.yaml")
	if err := os.WriteFile(badConfig, []byte("fields: [unclosed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		last string // the msg of the last record
	}{
		{"AllRowsOK", f.runArgs("--log-format", "json"), importer.ExitOK, "finished"},
		{"RowsRejected", []string{"run", "-c", f.cfg, "--api-url", f.url, "--progress", "log", "--log-format", "json",
			"--results", badRows + ".results.csv", badRows}, importer.ExitRowErrors, "finished"},
		{"FatalError", []string{"run", "-c", badConfig, "--api-url", f.url, "--log-format", "json", f.in}, importer.ExitFatal, "stopped"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd, out := f.command(tc.args...)
			if code := exitCode(t, cmd.Run()); code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, out)
			}
			var last map[string]any
			for line := range strings.Lines(out.String()) {
				last = nil
				if err := json.Unmarshal([]byte(line), &last); err != nil {
					t.Fatalf("a stderr line is not a JSON record: %q (%v)", line, err)
				}
			}
			if last == nil || last["msg"] != tc.last {
				t.Fatalf("last record %v, want msg %q\n%s", last, tc.last, out)
			}
			code := last["exit_code"]
			if sum, ok := last["summary"].(map[string]any); ok {
				code = sum["exit_code"]
			}
			if code != float64(tc.code) {
				t.Errorf("the last record says exit code %v, want %d: %v", code, tc.code, last)
			}
		})
	}
}
