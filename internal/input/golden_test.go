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

// legacy1C is a contacts export of a 1C:Enterprise CRM as a Russian Excel
// saves it: Windows-1251, ; between fields, CRLF, a title and a date above
// the header, a ; at the end of every line (a nameless last column), company
// names with bare quotes, a line of spaces and Excel's ;;; for an empty row.
// It is the demo's samples/legacy-1c.csv.
const legacy1C = "Выгрузка контрагентов из 1С:Предприятие 8.3 \"Управление торговлей\"\r\n" +
	"Дата выгрузки: 15.06.2026 10:42\r\n" +
	"Фамилия;Имя;Отчество;E-mail;Телефон;Дата рождения;Организация;\r\n" +
	"Иванов;Иван;Петрович;ivanov@example.ru;8 (916) 123-45-67;22.02.1990;ООО \"Ромашка\";\r\n" +
	"Петрова;Мария;Сергеевна;m.petrova@example.ru;8 (903) 765-43-21;01.12.1985;;\r\n" +
	"Сидоров;Пётр;Алексеевич;sidorov.p@example.ru;8 (925) 111-22-33;15.07.1978;ЗАО \"Вектор-М\";\r\n" +
	"Кузнецова;Ольга;Игоревна;olga.k@example.ru;8 (916) 555-66-77;03.03.1992;ИП Кузнецова О. И.;\r\n" +
	"Смирнов;Алексей;Викторович;a.smirnov@example.ru;8 (495) 123-45-67;28.10.1969;ООО \"Торговый дом \"Север\"\";\r\n" +
	"   \t \r\n" +
	"Попова;Екатерина;Андреевна;popova.e@example.ru;8 (912) 345-67-89;09.05.1995;;\r\n" +
	"Васильев;Дмитрий;Олегович;vasiliev@example.ru;8 (926) 987-65-43;17.11.1983;АО \"Северсталь\";\r\n" +
	"Новикова;Анна;Павловна;anna.novikova@example.ru;8 (917) 222-33-44;30.01.2001;;\r\n" +
	"Морозов;Сергей;Николаевич;morozov.s@example.ru;8 (985) 444-55-66;12.08.1975;ООО \"Ромашка\";\r\n" +
	"Волкова;Наталья;Дмитриевна;n.volkova@example.ru;8 (916) 777-88-99;25.12.1988;;\r\n" +
	"Соколов;Андрей;Ильич;sokolov@example.ru;8 (903) 000-11-22;06.06.1990;ООО \"Лютик и К°\";\r\n" +
	"Лебедева;Юлия;Александровна;lebedeva.yu@example.ru;8 (921) 333-44-55;14.04.1998;;\r\n" +
	";;;;;;;\r\n"

// bankStatement is a bank statement saved as Excel's "Unicode text": UTF-16LE
// with a BOM, TAB between fields, three lines of title above the header (a
// stray quote, commas and semicolons among them).
const bankStatement = "Выписка по счёту 40817810000000000001 \"Основной\r\n" +
	"Период: 01.05.2026 - 31.05.2026; валюта: RUB, остаток: 1 000,00\r\n" +
	"\r\n" +
	"Дата\tСумма\tКонтрагент\tНазначение\r\n" +
	"01.05.2026\t-1 500,00\tООО \"Ромашка\"\tОплата по счёту №12 от 28.04.2026\r\n" +
	"03.05.2026\t25 000,00\tИП Иванов И. И.\t\"Возврат\tаванса\"\r\n" +
	"\t\t\t\r\n" +
	"05.05.2026\t-99,90\tМагазин 12\" \tПокупка\r\n"

// goldenCases are the fixtures whose records are pinned in testdata/golden.
var goldenCases = []struct {
	name   string
	file   string            // under dir
	dir    string            // "" = testdata
	source string            // UTF-8 text the fixture is encoded from; "" = the file is hand-written
	enc    encoding.Encoding // how source is encoded into file
	bom    string
	opts   Options
}{
	{name: "excel-cp1251", file: "excel-cp1251.csv", source: excelCP1251, enc: charmap.Windows1251, opts: Options{Encoding: "cp1251"}},
	{name: "excel-utf16", file: "excel-unicode.txt", source: excelUTF16, bom: "\xff\xfe",
		enc: unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)},
	{name: "messy", file: "messy.csv"},
	{name: "messy-strict", file: "messy.csv", opts: Options{StrictQuotes: true}},
	{name: "feed", file: "feed.jsonl"},
	{name: "legacy-1c", file: "legacy-1c.csv", dir: "../../samples", source: legacy1C, enc: charmap.Windows1251,
		opts: Options{Encoding: "windows-1251", SkipLines: 2}},
	{name: "bank-statement", file: "bank-statement.txt", source: bankStatement, bom: "\xff\xfe",
		enc: unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), opts: Options{SkipLines: 3}},
	{name: "quotes-lazy", file: "quotes.csv"},
	{name: "quotes-strict", file: "quotes.csv", opts: Options{StrictQuotes: true}},
	{name: "excel-nameless", file: "excel-nameless.csv"},
}

// goldenFile is what a golden file holds: the detected layout and every record.
type goldenFile struct {
	Format    Format   `json:"format"`
	Delimiter string   `json:"delimiter,omitempty"`
	Encoding  string   `json:"encoding"`
	Header    []string `json:"header,omitempty"`
	Ignored   []int    `json:"ignored,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
	Preamble  []string `json:"preamble,omitempty"`
	Records   []view   `json:"records"`
}

// TestFilesReadAsRecorded reads every file of testdata (messy exports,
// charsets, quotes, nameless columns, title lines) and compares the header,
// the warnings and every record with its golden view.
func TestFilesReadAsRecorded(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir
			if dir == "" {
				dir = "testdata"
			}
			path := filepath.Join(dir, tc.file)
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
			in, recs := openAll(t, path, tc.opts)
			got := goldenFile{Format: in.Format(), Encoding: in.Encoding(), Header: in.Header(),
				Ignored: in.Ignored(), Warnings: in.Warnings(), Preamble: in.Preamble()}
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
