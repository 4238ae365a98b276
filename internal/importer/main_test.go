package importer

import (
	"os"
	"testing"

	"importer/internal/testbin"
)

// TestMain removes the commands the tests built (once for all of them).
func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Remove()
	os.Exit(code)
}
