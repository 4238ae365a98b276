// Package golden compares test output with files under testdata/ and
// rewrites them when the tests run with -update. Every package's golden
// tests share it, so there is one -update flag and one diff format.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Update is set by `go test -update`: Check then rewrites the golden files
// instead of comparing.
var Update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// Check compares got with the file at path (relative to the package under
// test, usually testdata/...), or writes it under -update. A mismatch fails
// tb with a -want +got diff.
func Check(tb testing.TB, path string, got []byte) {
	tb.Helper()
	if *Update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read golden file: %v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(got), "\n")); diff != "" {
		tb.Errorf("%s mismatch (-want +got):\n%s\n(run go test -update if the change is intended)", path, diff)
	}
}
