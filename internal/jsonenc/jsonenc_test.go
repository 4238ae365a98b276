package jsonenc

import (
	"encoding/json"
	"math"
	"testing"
)

func TestAppendString(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"Empty", "", `""`},
		{"Plain", "abc", `"abc"`},
		{"Cyrillic", "Иван", `"Иван"`},
		{"QuoteBackslash", `a"b\c`, `"a\"b\\c"`},
		{"Controls", "\n\r\t\b\f\x00\x1f", `"\n\r\t\b\f\u0000\u001f"`},
		{"HTMLKept", "<b>&", `"<b>&"`},
		{"InvalidUTF8", "a\xffb", `"a\ufffdb"`},
		{"LineSeparators", "\u2028\u2029", `"\u2028\u2029"`},
		{"FourByte", "😀", `"😀"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(AppendString(nil, tc.in)); got != tc.want {
				t.Errorf("AppendString(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestAppendFloat(t *testing.T) {
	for _, f := range []float64{0, 1, -1.5, 1e-7, 1e21, 123456789.125, 1e-6, 2.5e-9, math.MaxFloat64} {
		want, _ := json.Marshal(f)
		if got := AppendFloat(nil, f); string(got) != string(want) {
			t.Errorf("AppendFloat(%v) = %s, encoding/json says %s", f, got, want)
		}
	}
}

// FuzzAppendString: any string gives one valid JSON string that decodes to
// what encoding/json's encoding of it decodes to (invalid UTF-8 → U+FFFD).
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\x00", "\xff", "я\u2028", "\\u0000", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := AppendString(nil, s)
		var back, want string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("AppendString(%q) = %s: invalid JSON: %v", s, got, err)
		}
		ref, _ := json.Marshal(s)
		if err := json.Unmarshal(ref, &want); err != nil {
			t.Fatal(err)
		}
		if back != want {
			t.Fatalf("AppendString(%q) = %s decodes to %q; encoding/json's decodes to %q", s, got, back, want)
		}
		for _, c := range got {
			if c == '\n' || c == '\r' {
				t.Fatalf("AppendString(%q) = %s spans lines", s, got)
			}
		}
	})
}

func BenchmarkAppendString(b *testing.B) {
	b.ReportAllocs()
	dst := make([]byte, 0, 256)
	for b.Loop() {
		dst = AppendString(dst[:0], `Иванова Анна Сергеевна, "ООО Ромашка", ул. Ленина 1`)
	}
}
