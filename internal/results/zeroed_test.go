package results

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestZeroedJournal: NUL bytes after the last good line are lost data (a
// power failure), not a line torn by a crash: ReadJournal refuses them,
// naming the line and byte, OpenJournal does not trim them away, and
// Salvage keeps the good lines before them.
func TestZeroedJournal(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			good := func() []byte {
				path := filepath.Join(t.TempDir(), "x"+f.ext)
				j, err := OpenJournal(path, false)
				if err != nil {
					t.Fatal(err)
				}
				for i := int64(1); i <= 3; i++ {
					if err := j.Write(&Row{Row: i, Line: i + 1, Key: "k", Status: StatusOK, Attempts: 1}); err != nil {
						t.Fatal(err)
					}
				}
				if err := j.Close(); err != nil {
					t.Fatal(err)
				}
				return mustReadFile(t, path)
			}()
			lastLine := bytes.LastIndexByte(good[:len(good)-1], '\n') + 1
			nuls := func(n int) []byte { return make([]byte, n) }
			tests := []struct {
				name    string
				content []byte
				wantErr string // "" = accepted
				wantOK  int64  // rows ok when accepted, or kept by Salvage
			}{
				{"a torn last line is forgiven", append(bytes.Clone(good), "4,5,k,o"...), "", 3},
				{"NULs after the last line", append(bytes.Clone(good), nuls(4096)...), "NUL bytes where lines should be", 3},
				{"NULs and a line end after the last line", append(append(bytes.Clone(good), nuls(100)...), '\n'), "NUL bytes where lines should be", 3},
				{"the last line zeroed", append(bytes.Clone(good[:lastLine]), nuls(len(good)-lastLine)...), "NUL bytes where lines should be", 2},
				{"every byte zeroed", nuls(len(good)), "line 1: NUL bytes where lines should be (byte 0)", 0},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					path := filepath.Join(t.TempDir(), "x"+f.ext)
					mustWriteFile(t, path, tc.content)
					prev, err := ReadJournal(path)
					if tc.wantErr == "" {
						if err != nil || prev.Count().OK != tc.wantOK {
							t.Fatalf("ReadJournal = %v, %+v; want %d ok", err, prev.Count(), tc.wantOK)
						}
						return
					}
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), path) {
						t.Fatalf("ReadJournal error = %v, want one naming %s and saying %q", err, path, tc.wantErr)
					}
					if j, err := OpenJournal(path, true); err == nil {
						j.Close()
						t.Fatalf("OpenJournal(append) accepted the zeroed journal")
					}
					if got := mustReadFile(t, path); !bytes.Equal(got, tc.content) {
						t.Fatalf("refusing changed the file")
					}
					if _, _, _, err := Salvage(path, time.Now()); err != nil {
						t.Fatal(err)
					}
					prev, err = ReadJournal(path)
					if err != nil || prev.Count().OK != tc.wantOK {
						t.Fatalf("after Salvage: ReadJournal = %v, %+v; want the %d good rows", err, prev.Count(), tc.wantOK)
					}
				})
			}
		})
	}
}
