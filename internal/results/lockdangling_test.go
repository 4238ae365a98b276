package results

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestLockFollowsDanglingSymlink: a journal path that is a symlink to a
// file not created yet (relative or absolute, through a chain of links)
// takes the lock of that file, so a run on the file's own path is refused.
func TestLockFollowsDanglingSymlink(t *testing.T) {
	for _, tc := range []struct {
		name  string
		links func(dir, real string) (link string)
	}{
		{"absolute", func(dir, real string) string {
			link := filepath.Join(dir, "link.results.csv")
			mustSymlinkTB(t, real, link)
			return link
		}},
		{"relative", func(dir, real string) string {
			link := filepath.Join(dir, "link.results.csv")
			mustSymlinkTB(t, filepath.Join("real", filepath.Base(real)), link)
			return link
		}},
		{"a chain", func(dir, real string) string {
			mid := filepath.Join(dir, "mid.results.csv")
			mustSymlinkTB(t, real, mid)
			link := filepath.Join(dir, "link.results.csv")
			mustSymlinkTB(t, "mid.results.csv", link)
			return link
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			real := filepath.Join(dir, "real", "x.results.csv")
			if err := os.MkdirAll(filepath.Dir(real), 0o755); err != nil {
				t.Fatal(err)
			}
			link := tc.links(dir, real)
			l, err := Lock(link)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Unlock()
			if _, err := Lock(real); !errors.Is(err, ErrLocked) {
				t.Errorf("Lock(%s) = %v while %s, a link to it, is locked; want ErrLocked", real, err, link)
			}
		})
	}
}

func mustSymlinkTB(tb testing.TB, target, link string) {
	tb.Helper()
	if err := os.Symlink(target, link); err != nil {
		tb.Fatal(err)
	}
}
