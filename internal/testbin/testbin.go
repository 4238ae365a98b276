package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

var (
	mu    sync.Mutex
	dir   string
	built = map[string]string{} // command name → path
)

// Build returns the path of the module's command cmd/<name> (importer,
// fakeapi), building it on the first call. Remove deletes what Build made.
func Build(name string) (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[name]; ok {
		return p, nil
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "importer-testbin")
		if err != nil {
			return "", fmt.Errorf("testbin: %w", err)
		}
		dir = d
	}
	p := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-trimpath", "-o", p, "importer/cmd/"+name)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("testbin: go build importer/cmd/%s: %w\n%s", name, err, out)
	}
	built[name] = p
	return p, nil
}

// TB is the part of testing.TB that MustBuild uses.
type TB interface {
	Helper()
	Fatal(args ...any)
}

// MustBuild is Build for a test: it fails the test when the build fails.
func MustBuild(t TB, name string) string {
	t.Helper()
	p, err := Build(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Remove deletes the built commands; a TestMain calls it after m.Run.
func Remove() {
	mu.Lock()
	defer mu.Unlock()
	if dir != "" {
		os.RemoveAll(dir)
		dir, built = "", map[string]string{}
	}
}
