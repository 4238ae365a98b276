package input

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// bankPreamble is what 1C and bank exports put above the header: a title
// with a stray quote and commas, a date with other delimiters, a blank line.
const bankPreamble = "Выписка по счёту \"Основной, рублёвый\r\n" +
	"Период: 01.05.2026 - 31.05.2026,|||\r\n" +
	"\r\n"

// TestSkipLines: Options.SkipLines skips the preamble whatever it holds,
// before the delimiter is sniffed and the header read, in every container
// and charset; lines and offsets stay the file's own.
func TestSkipLines(t *testing.T) {
	const table = "Дата;Сумма;Назначение\r\n" +
		"01.05.2026;100,50;Оплата по счёту №1\r\n" +
		"02.05.2026;-20;\"Возврат; частичный\"\r\n"
	wantPreamble := []string{`Выписка по счёту "Основной, рублёвый`, "Период: 01.05.2026 - 31.05.2026,|||", ""}
	wantRows := []view{
		ok(1, 5, "01.05.2026", "100,50", "Оплата по счёту №1"),
		ok(2, 6, "02.05.2026", "-20", "Возврат; частичный"),
	}
	wantHeader := []string{"Дата", "Сумма", "Назначение"}
	utf8Text := []byte(bankPreamble + table)
	cp1251, err := charmap.Windows1251.NewEncoder().Bytes(utf8Text)
	if err != nil {
		t.Fatal(err)
	}
	utf16, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes(utf8Text)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		file string
		data []byte
		opts Options
	}{
		{"UTF8", "bank.csv", utf8Text, Options{SkipLines: 3}},
		{"UTF8BOM", "bank.csv", append([]byte("\xef\xbb\xbf"), utf8Text...), Options{SkipLines: 3}},
		{"Gzip", "bank.csv.gz", gzipBytes(t, utf8Text), Options{SkipLines: 3}},
		{"CP1251", "bank.csv", cp1251, Options{SkipLines: 3, Encoding: "windows-1251"}},
		{"CP1251Gzip", "bank.csv.gz", gzipBytes(t, cp1251), Options{SkipLines: 3, Encoding: "windows-1251"}},
		{"UTF16BOM", "bank.txt", utf16, Options{SkipLines: 3}},
		{"StrictQuotes", "bank.csv", utf8Text, Options{SkipLines: 3, StrictQuotes: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, recs := openAll(t, writeTemp(t, tt.file, tt.data), tt.opts)
			if f.Delimiter() != ';' {
				t.Errorf("Delimiter() = %q, want ';' (sniffed from the header, not the preamble)", f.Delimiter())
			}
			if diff := cmp.Diff(wantHeader, f.Header()); diff != "" {
				t.Errorf("Header() (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantRows, views(recs)); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantPreamble, f.Preamble()); diff != "" {
				t.Errorf("Preamble() (-want +got):\n%s", diff)
			}
			if f.BytesRead() != int64(len(tt.data)) {
				t.Errorf("BytesRead() = %d at the end, want %d", f.BytesRead(), len(tt.data))
			}
		})
	}
}

// TestSkipLinesCases: what counts as a line, and where the header is then.
func TestSkipLinesCases(t *testing.T) {
	long := strings.Repeat("x,", 50_000) // a preamble line longer than the sniffed head
	tests := []struct {
		name         string
		file         string
		in           string
		opts         Options
		wantHeader   []string
		wantDelim    rune
		wantPreamble []string
		want         []view
	}{
		{"Zero", "in.csv", "a;b\n1;2\n", Options{}, []string{"a", "b"}, ';', nil, []view{ok(1, 2, "1", "2")}},
		{"BlankLinesCount", "in.csv", "\n\ntitle\na;b\n1;2\n", Options{SkipLines: 2},
			[]string{"title"}, ',', []string{"", ""}, []view{ok(1, 4, "a;b"), ok(2, 5, "1;2")}},
		{"LoneCRAndCRLF", "in.csv", "t1\rt2\r\na|b\r1|2\r", Options{SkipLines: 2},
			[]string{"a", "b"}, '|', []string{"t1", "t2"}, []view{ok(1, 4, "1", "2")}},
		{"QuoteInPreambleDoesNotOpenAField", "in.csv", "\"unclosed, title\na,b\n1,\"2\"\n", Options{SkipLines: 1},
			[]string{"a", "b"}, ',', []string{`"unclosed, title`}, []view{ok(1, 3, "1", "2")}},
		{"PreambleLongerThanTheHead", "in.csv", long + "\n" + long + "\nx\ty\n1\t2\n", Options{SkipLines: 2},
			[]string{"x", "y"}, '\t', []string{long[:maxPreambleLine], long[:maxPreambleLine]}, []view{ok(1, 4, "1", "2")}},
		{"NoHeader", "in.csv", "Report\n1;2\n3;4\n", Options{SkipLines: 1, NoHeader: true, Columns: []string{"x", "y"}},
			[]string{"x", "y"}, ';', []string{"Report"}, []view{ok(1, 2, "1", "2"), ok(2, 3, "3", "4")}},
		{"NoHeaderPastTheEnd", "in.csv", "Report\n", Options{SkipLines: 5, NoHeader: true, Columns: []string{"x"}},
			[]string{"x"}, ',', []string{"Report"}, nil},
		{"LastLineWithoutEnd", "in.csv", "a\n1", Options{SkipLines: 1, NoHeader: true, Columns: []string{"x"}},
			[]string{"x"}, ',', []string{"a"}, []view{ok(1, 2, "1")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, recs := readAll(t, tt.file, []byte(tt.in), tt.opts)
			if diff := cmp.Diff(tt.wantHeader, f.Header()); diff != "" {
				t.Errorf("Header() (-want +got):\n%s", diff)
			}
			if f.Delimiter() != tt.wantDelim {
				t.Errorf("Delimiter() = %q, want %q", f.Delimiter(), tt.wantDelim)
			}
			if diff := cmp.Diff(tt.wantPreamble, f.Preamble()); diff != "" {
				t.Errorf("Preamble() (-want +got):\n%s", clip([]byte(diff)))
			}
			if diff := cmp.Diff(tt.want, views(recs)); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSkipLinesJSONL: a JSON Lines feed may have a preamble too; lines end
// at LF only there, and the format is sniffed after the skipped lines.
func TestSkipLinesJSONL(t *testing.T) {
	tests := []struct {
		name, file string
		opts       Options
	}{
		{"ByName", "feed.jsonl", Options{SkipLines: 2}},
		{"Sniffed", "feed", Options{SkipLines: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, recs := readAll(t, tt.file, []byte("# export\r\n[not, json\n{\"a\":1}\n\n{\"a\":2}\n"), tt.opts)
			if f.Format() != FormatJSONL {
				t.Fatalf("Format() = %q, want jsonl", f.Format())
			}
			want := []view{
				obj(1, 3, map[string]any{"a": json.Number("1")}),
				obj(2, 5, map[string]any{"a": json.Number("2")}),
			}
			if diff := cmp.Diff(want, views(recs)); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"# export", "[not, json"}, f.Preamble()); diff != "" {
				t.Errorf("Preamble() (-want +got):\n%s", diff)
			}
		})
	}
}
