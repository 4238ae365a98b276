package input

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"importer/internal/golden"
)

// excelCP1251 is what Excel's "CSV (разделители - запятые)" writes on a
// Russian Windows: Windows-1251, ; between fields, CRLF between records, a
// quoted cell with a line break (Alt+Enter, a bare LF) and doubled quotes.
const excelCP1251 = "Фамилия;Имя;E-mail;Телефон;Дата рождения;Комментарий\r\n" +
	"Иванов;Иван;ivanov@example.ru;8 (916) 123-45-67;22.02.1990;\r\n" +
	"Петрова;Мария;maria@example.ru;+7 916 765 43 21;01.12.1985;\"ООО \"\"Ромашка\"\";\nперезвонить после 18:00\"\r\n" +
	"Сидоров;Пётр;;;;\"Ёлки; палки\"\r\n" +
	"\r\n" +
	"Кузнецова;Ольга;olga@example.ru;89161112233;15.07.2001;VIP\r\n"

// excelUTF16 is Excel's "Текст в Юникоде" (Unicode text): UTF-16LE with a
// BOM, TAB between fields, CRLF, a quoted cell with a line break.
const excelUTF16 = "Фамилия\tИмя\tE-mail\tКомментарий\r\n" +
	"Иванов\tИван\tivanov@example.ru\t\r\n" +
	"Петрова\tМария\tmaria@example.ru\t\"две\nстроки\"\r\n" +
	"Müller\tJürgen\tj@example.de\tÄÖÜ ß €\r\n"

// goldenCases are the fixtures whose records are pinned in testdata/golden.
var goldenCases = []struct {
	name   string
	file   string            // under testdata/
	source string            // UTF-8 text the fixture is encoded from; "" = the file is hand-written
	enc    encoding.Encoding // how source is encoded into file
	bom    string
	opts   Options
}{
	{name: "excel-cp1251", file: "excel-cp1251.csv", source: excelCP1251, enc: charmap.Windows1251, opts: Options{Encoding: "cp1251"}},
	{name: "excel-utf16", file: "excel-unicode.txt", source: excelUTF16, bom: "\xff\xfe",
		enc: unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)},
	{name: "messy", file: "messy.csv"},
	{name: "feed", file: "feed.jsonl"},
}

// goldenFile is what a golden file holds: the detected layout and every record.
type goldenFile struct {
	Format    Format   `json:"format"`
	Delimiter string   `json:"delimiter,omitempty"`
	Encoding  string   `json:"encoding"`
	Header    []string `json:"header,omitempty"`
	Records   []view   `json:"records"`
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			if tc.source != "" {
				want, err := tc.enc.NewEncoder().Bytes([]byte(tc.source))
				if err != nil {
					t.Fatal(err)
				}
				want = append([]byte(tc.bom), want...)
				if *golden.Update {
					if err := os.WriteFile(path, want, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				got, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s is not the encoding of its source text: run go test -update", path)
				}
			}
			in, err := Open(path, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			recs, err := drain(in)
			if err != nil {
				t.Fatal(err)
			}
			got := goldenFile{Format: in.Format(), Encoding: in.Encoding(), Header: in.Header()}
			if in.Delimiter() != 0 {
				got.Delimiter = string(in.Delimiter())
			}
			for _, r := range recs {
				got.Records = append(got.Records, viewOf(r))
			}
			gotJSON, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			gotJSON = append(gotJSON, '\n')
			golden.Check(t, filepath.Join("testdata", "golden", tc.name+".json"), gotJSON)
		})
	}
}
