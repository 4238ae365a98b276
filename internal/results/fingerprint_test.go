package results

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFingerprint(t *testing.T) {
	config := []byte("request:\n  db_id: 1\n")
	big := make([]byte, 3*FingerprintSpan) // head and tail do not overlap
	for i := range big {
		big[i] = byte('a' + i%26)
	}
	tests := []struct {
		name   string
		orig   []byte
		change func(data []byte) []byte // nil: unchanged
		config []byte                   // nil: same config
		want   []string                 // nil: no error
	}{
		{name: "Same", orig: big},
		{name: "SameSmall", orig: []byte("Email\nivan@example.com\n")},
		{name: "HeadByte", orig: big, change: func(d []byte) []byte { d[10] ^= 1; return d },
			want: []string{"the input file changed: its first MiB differs"}},
		{name: "TailByte", orig: big, change: func(d []byte) []byte { d[len(d)-10] ^= 1; return d },
			want: []string{"the input file changed: its last MiB differs"}},
		{name: "MiddleByteUnnoticed", orig: big, change: func(d []byte) []byte { d[len(d)/2] ^= 1; return d }},
		{name: "Size", orig: big, change: func(d []byte) []byte { return append(d, 'z') },
			want: []string{"the input file changed: size 3145728 → 3145729"}},
		{name: "SmallFileByte", orig: []byte("Email\nivan@example.com\n"), change: func(d []byte) []byte { d[0] = 'e'; return d },
			want: []string{"its first and last MiB differ"}},
		{name: "Config", orig: big, config: []byte("request:\n  db_id: 2\n"),
			want: []string{"the config changed"}},
		{name: "SizeAndConfig", orig: big, change: func(d []byte) []byte { return d[:100] }, config: []byte("x"),
			want: []string{"size 3145728 → 100", "the config changed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			input := filepath.Join(dir, "customers.csv")
			journal := input + ".results.csv"
			data := append([]byte(nil), tt.orig...)
			mustWriteFile(t, input, data)
			fp, err := NewFingerprint(input, config)
			if err != nil {
				t.Fatal(err)
			}
			if err := fp.Save(journal); err != nil {
				t.Fatal(err)
			}
			if tt.change != nil {
				mustWriteFile(t, input, tt.change(data))
			}
			cfg := config
			if tt.config != nil {
				cfg = tt.config
			}
			cur, err := NewFingerprint(input, cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = CheckFingerprint(journal, cur)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CheckFingerprint() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrFingerprint) {
				t.Fatalf("CheckFingerprint() = %v, want ErrFingerprint", err)
			}
			for _, w := range append(tt.want, journal, "--force") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("CheckFingerprint() = %q, want it to say %q", err, w)
				}
			}
		})
	}
}

func TestFingerprintUncheckable(t *testing.T) {
	dir := t.TempDir()
	input := filepath.Join(dir, "in.csv")
	journal := input + ".results.csv"
	mustWriteFile(t, input, []byte("a\n1\n"))
	fp, err := NewFingerprint(input, nil)
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := NewFingerprint("-", nil)
	if err != nil {
		t.Fatal(err)
	}
	if stdin.Size != -1 || stdin.Head != "" || stdin.Tail != "" || stdin.Config == "" {
		t.Errorf("NewFingerprint(-) = %+v, want Size -1, no file hashes, a config hash", stdin)
	}
	tests := []struct {
		name  string
		saved *Fingerprint // nil: no fingerprint file
		raw   string       // written as the fingerprint file instead
		cur   Fingerprint
		want  string
	}{
		{name: "Missing", cur: fp, want: "fingerprint file " + journal + ".fingerprint is missing"},
		{name: "Unreadable", raw: "{not json", cur: fp, want: "is unreadable"},
		{name: "StdinNow", saved: &fp, cur: stdin, want: "the input is stdin"},
		{name: "StdinThen", saved: &stdin, cur: fp, want: "written for stdin input"},
		{name: "StdinBoth", saved: &stdin, cur: stdin, want: "the input is stdin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(journal + ".fingerprint")
			switch {
			case tt.saved != nil:
				if err := tt.saved.Save(journal); err != nil {
					t.Fatal(err)
				}
			case tt.raw != "":
				mustWriteFile(t, journal+".fingerprint", []byte(tt.raw))
			}
			err := CheckFingerprint(journal, tt.cur)
			if !errors.Is(err, ErrFingerprint) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "--force") {
				t.Errorf("CheckFingerprint() = %v, want ErrFingerprint saying %q and --force", err, tt.want)
			}
		})
	}
	t.Run("MovedInputIsSame", func(t *testing.T) {
		if err := fp.Save(journal); err != nil {
			t.Fatal(err)
		}
		moved := filepath.Join(dir, "moved.csv")
		if err := os.Rename(input, moved); err != nil {
			t.Fatal(err)
		}
		cur, err := NewFingerprint(moved, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckFingerprint(journal, cur); err != nil {
			t.Errorf("CheckFingerprint(moved input) = %v, want nil", err)
		}
	})
	t.Run("MissingInput", func(t *testing.T) {
		if _, err := NewFingerprint(filepath.Join(dir, "nope.csv"), nil); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("NewFingerprint(missing) = %v, want os.ErrNotExist", err)
		}
	})
	t.Run("SaveLeavesNoTemp", func(t *testing.T) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.Contains(e.Name(), ".tmp") {
				t.Errorf("Save left %s behind", e.Name())
			}
		}
	})
}
