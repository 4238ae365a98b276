package input

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// cleanRef is what cleanUTF8 must compute.
func cleanRef(b []byte) bool { return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 }

func TestCleanUTF8(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"Empty", ""},
		{"ASCII", "plain ascii text, longer than one word"},
		{"Cyrillic", "Иванов Иван Иванович, Москва"},
		{"CyrillicAcrossWords", "abcdefgЖ" + "Жabcdefg"},
		{"ThreeByte", "№ 5 — «цитата» €"},
		{"FourByte", "emoji 😀 in the middle of a longer text"},
		{"LoneContinuation", "abcdefg\x80hijklmnop"},
		{"LeadAtWordEnd", "abcdefg\xd0"},
		{"LeadThenASCIIAcrossWords", "abcdefg\xd0abcdefgh"},
		{"OverlongC0", "abcdefgh\xc0\x80abcdefgh"},
		{"OverlongC1", "abc\xc1\xbfabcdefghijk"},
		{"CP1251", "\xc8\xe2\xe0\xed\xee\xe2 \xc8\xe2\xe0\xed"},
		{"Surrogate", "abcdefgh\xed\xa0\x80abcdefgh"},
		{"TruncatedThreeByte", "abcdefgh\xe2\x84"},
		{"F5Byte", "abcdefgh\xf5\x80\x80\x80abc"},
		{"LongMixed", strings.Repeat("Жж x № y ", 20)},
		{"LongInvalidTail", strings.Repeat("Жж x № y ", 20) + "\xff"},
		{"NUL", "abcdefgh\x00abcdefgh"},
		{"NULInTail", "abcdefgh\x00"},
		{"NULAmongCyrillic", "Жжжж\x00жжжжжжж"},
		{"NULAfterThreeByte", "ab№\x00cdefghijkl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for off := range 8 { // every alignment against the 8-byte words
				in := strings.Repeat("a", off) + tt.in
				if got, want := cleanUTF8([]byte(in)), cleanRef([]byte(in)); got != want {
					t.Errorf("cleanUTF8(%q) = %v, want %v", in, got, want)
				}
			}
		})
	}
}

func FuzzCleanUTF8(f *testing.F) {
	for _, s := range []string{"", "abc", "Жжжжжжжжжж", "abcdefg\xd0\x96", "\xc0\x80", "№—«»", "\xed\xa0\x80", "ab\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := cleanUTF8(b), cleanRef(b); got != want {
			t.Fatalf("cleanUTF8(%q) = %v, want %v", b, got, want)
		}
	})
}

// BenchmarkCleanUTF8 compares cleanUTF8 with utf8.Valid plus a NUL search
// on a CRM row with Russian text.
func BenchmarkCleanUTF8(b *testing.B) {
	row := []byte("100042,user42@example.com,Екатерина,Кузнецова,+7 (916) 123-45-67,Санкт-Петербург,22.02.1990,постоянный клиент,1234.56,tag1|tag2")
	b.Run("cleanUTF8", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(row)))
		for b.Loop() {
			if !cleanUTF8(row) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("utf8.Valid+IndexByte", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(row)))
		for b.Loop() {
			if !cleanRef(row) {
				b.Fatal("invalid")
			}
		}
	})
}
