package input

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

func encode(t testing.TB, enc encoding.Encoding, s string) []byte {
	t.Helper()
	b, err := enc.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	utf16le = unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)
	utf16be = unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)
)

// russian is a small Russian export: header, a quoted line break, Ё.
const russian = "Фамилия;Имя;Город\r\nИванов;Иван;\"Москва,\r\nцентр\"\r\nЁжикова;Алёна;Санкт-Петербург\r\n"

var russianWant = []view{
	ok(1, 2, "Иванов", "Иван", "Москва,\r\nцентр"),
	ok(2, 4, "Ёжикова", "Алёна", "Санкт-Петербург"),
}

func TestCharsets(t *testing.T) {
	tests := []struct {
		name     string
		data     []byte
		opts     Options
		wantEnc  string
		wantHead []string
		want     []view
	}{
		{"UTF8", []byte(russian), Options{}, "utf-8", []string{"Фамилия", "Имя", "Город"}, russianWant},
		{"UTF8BOM", append([]byte("\xef\xbb\xbf"), russian...), Options{}, "utf-8 (BOM)", []string{"Фамилия", "Имя", "Город"}, russianWant},
		{"UTF16LEBOM", append([]byte("\xff\xfe"), encode(t, utf16le, russian)...), Options{}, "utf-16le (BOM)", []string{"Фамилия", "Имя", "Город"}, russianWant},
		{"UTF16BEBOM", append([]byte("\xfe\xff"), encode(t, utf16be, russian)...), Options{}, "utf-16be (BOM)", []string{"Фамилия", "Имя", "Город"}, russianWant},
		{"UTF16LENoBOM", encode(t, utf16le, russian), Options{}, "utf-16le (no BOM)", []string{"Фамилия", "Имя", "Город"}, russianWant},
		{"UTF16BENoBOM", encode(t, utf16be, russian), Options{}, "utf-16be (no BOM)", []string{"Фамилия", "Имя", "Город"}, russianWant},
		{"CP1251", encode(t, charmap.Windows1251, russian), Options{Encoding: "cp1251"}, "windows-1251", []string{"Фамилия", "Имя", "Город"}, russianWant},
		{"Windows1251", encode(t, charmap.Windows1251, russian), Options{Encoding: "Windows-1251"}, "windows-1251", []string{"Фамилия", "Имя", "Город"}, russianWant},
		{"KOI8R", encode(t, charmap.KOI8R, russian), Options{Encoding: "koi8-r"}, "koi8-r", []string{"Фамилия", "Имя", "Город"}, russianWant},
		{"CP866", encode(t, charmap.CodePage866, russian), Options{Encoding: "cp866"}, "ibm866", []string{"Фамилия", "Имя", "Город"}, russianWant},
		{"ConfiguredUTF16LE", encode(t, utf16le, russian), Options{Encoding: "utf-16le"}, "utf-16le", []string{"Фамилия", "Имя", "Город"}, russianWant},
		{"Latin1IsWindows1252", encode(t, charmap.Windows1252, "Name;Stadt\r\nJürgen;Köln\r\n"), Options{Encoding: "latin1"}, "windows-1252",
			[]string{"Name", "Stadt"}, []view{ok(1, 2, "Jürgen", "Köln")}},
		{"UTF8BOMWinsOverConfigured", append([]byte("\xef\xbb\xbf"), russian...), Options{Encoding: "windows-1251"}, "utf-8 (BOM)", []string{"Фамилия", "Имя", "Город"}, russianWant},
		{"UTF16BOMWinsOverConfigured", append([]byte("\xff\xfe"), encode(t, utf16le, russian)...), Options{Encoding: "windows-1251"}, "utf-16le (BOM)", []string{"Фамилия", "Имя", "Город"}, russianWant},
		{"ConfiguredUTF8ChecksRows", []byte("a;b\r\n\xc8\xe2\xe0\xed;1\r\nок;2\r\n"), Options{Encoding: "utf-8"}, "utf-8", []string{"a", "b"},
			[]view{bad(1, 2, ErrInvalidUTF8, 2, 1, "a", "\xc8\xe2\xe0\xed", "1"), ok(2, 3, "ок", "2")}},
		{"UndefinedCP1251ByteIsReplaced", []byte("a\r\nx\x98y\r\n"), Options{Encoding: "cp1251"}, "windows-1251", []string{"a"},
			[]view{ok(1, 2, "x\ufffdy")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, recs := readAll(t, "in.csv", tt.data, tt.opts)
			if got := f.Encoding(); got != tt.wantEnc {
				t.Errorf("Encoding() = %q, want %q", got, tt.wantEnc)
			}
			if diff := cmp.Diff(tt.wantHead, f.Header()); diff != "" {
				t.Errorf("Header() (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, views(recs)); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCharsetNotDetected: a file that is not UTF-8 and has no BOM fails at
// Open with a message that says which option to set and to what.
func TestCharsetNotDetected(t *testing.T) {
	tests := []struct {
		name  string
		data  []byte
		guess string
		line  string
	}{
		{"CP1251", encode(t, charmap.Windows1251, russian), `"windows-1251"`, "line 1"},
		{"KOI8R", encode(t, charmap.KOI8R, russian), `"koi8-r"`, "line 1"},
		{"CP866", encode(t, charmap.CodePage866, russian), `"ibm866"`, "line 1"},
		{"Latin1", encode(t, charmap.Windows1252, "Name;Stadt\r\nJürgen Weiß;Köln\r\nZoë;Montréal\r\n"), `"windows-1252"`, "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(string(tt.data)), "crm.csv", Options{})
			if !errors.Is(err, ErrEncoding) {
				t.Fatalf("NewReader = %v, want ErrEncoding", err)
			}
			for _, s := range []string{"crm.csv", "input.encoding", tt.guess, tt.line} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %s", err, s)
				}
			}
		})
	}
	t.Run("SampleDecoded", func(t *testing.T) {
		_, err := NewReader(strings.NewReader(string(encode(t, charmap.Windows1251, russian))), "crm.csv", Options{})
		if want := `line 1 would read "Фамилия;Имя;Город"`; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %s", err, want)
		}
	})
	t.Run("UnknownName", func(t *testing.T) {
		_, err := NewReader(strings.NewReader("a\n"), "crm.csv", Options{Encoding: "klingon"})
		if !errors.Is(err, ErrEncoding) || !strings.Contains(err.Error(), `input.encoding "klingon"`) {
			t.Errorf("NewReader = %v, want ErrEncoding naming input.encoding", err)
		}
	})
	t.Run("ReplacementCharset", func(t *testing.T) {
		_, err := NewReader(strings.NewReader("a\n"), "crm.csv", Options{Encoding: "iso-2022-kr"})
		if !errors.Is(err, ErrEncoding) {
			t.Errorf("NewReader = %v, want ErrEncoding", err)
		}
	})
}

// TestCharsetHead: only the first 64 KiB decide; later bad bytes are row
// errors, and a character cut by the 64 KiB boundary is no reason to fail.
func TestCharsetHead(t *testing.T) {
	var b strings.Builder
	b.WriteString("name\n")
	for b.Len() < headSize-1 {
		b.WriteString("x\n")
	}
	for b.Len() < headSize-1 {
		b.WriteString("x")
	}
	b.WriteString("Ж\n") // its first byte is the head's last
	b.WriteString("\xc8\xe2\xe0\xed\n")
	b.WriteString("ok\n")
	f, recs := readAll(t, "in.csv", []byte(b.String()), Options{})
	if f.Encoding() != "utf-8" {
		t.Errorf("Encoding() = %q, want utf-8", f.Encoding())
	}
	n := len(recs)
	if n < 3 {
		t.Fatalf("read %d records", n)
	}
	if recs[n-3].Err != nil || !strings.HasSuffix(recs[n-3].Fields[0], "Ж") {
		t.Fatalf("the record across the head's end is wrong: %+v", recs[n-3])
	}
	if recs[n-2].Err == nil || recs[n-2].Err.Kind() != ErrInvalidUTF8 {
		t.Errorf("record %d: Err = %v, want ErrInvalidUTF8", recs[n-2].Row, recs[n-2].Err)
	}
	if recs[n-1].Err != nil || recs[n-1].Fields[0] != "ok" {
		t.Errorf("last record = %+v, want ok", recs[n-1])
	}
}

func TestUTF16NoBOM(t *testing.T) {
	tests := []struct {
		name string
		data string
		want bool
	}{
		{"LE", string(encode(t, utf16le, "a,b\r\n1,2\r\n")), true},
		{"CyrillicLE", string(encode(t, utf16le, russian)), true},
		{"UTF8", russian, false},
		{"OneNUL", "name,notes\nx,\x00\n", false},
		{"Empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, got := utf16NoBOM([]byte(tt.data)); got != tt.want {
				t.Errorf("utf16NoBOM(%q) = %v, want %v", tt.data, got, tt.want)
			}
		})
	}
}
