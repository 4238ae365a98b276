package results

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNULsAnywhereRefused: bytes zeroed anywhere in a journal (a power
// failure's loss) make it refused, wherever they fall: between lines, across
// lines, inside a field.
func TestNULsAnywhereRefused(t *testing.T) {
	var b strings.Builder
	b.WriteString("row,line,key,status,profile_id,error_code,error,attempts\n")
	for i := 1; i <= 60; i++ {
		fmt.Fprintf(&b, "%d,%d,user%d@example.com,ok,8e7f0a2b3c4d5e6f%08d,,,1\n", i, i+1, i, i)
	}
	src := []byte(b.String())
	p := filepath.Join(t.TempDir(), "j.csv")
	for from := 60; from+40 < len(src)-100; from += 7 {
		s := append([]byte(nil), src...)
		for i := from; i < from+40; i++ {
			s[i] = 0
		}
		if err := os.WriteFile(p, s, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadJournal(p); err == nil {
			t.Fatalf("NULs at bytes %d–%d accepted", from, from+40)
		}
	}
}
