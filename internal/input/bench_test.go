package input

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"golang.org/x/text/encoding/charmap"
)

// benchRows are the rows of the generated benchmark file: ten columns of a
// CRM export with Cyrillic names, some quoted fields (commas, doubled quotes,
// line breaks) and the usual ids, phones and dates.
var benchRows = sync.OnceValue(func() [][]string {
	first := []string{"Иван", "Мария", "Алексей", "Ольга", "John", "Екатерина", "Дмитрий", "Anna"}
	last := []string{"Петров", "Иванова", "Smith", "Кузнецова", "Соколов", "Lee", "Попова", "Новиков"}
	cities := []string{"Москва", "Санкт-Петербург", "Казань", "Berlin", "Новосибирск", "Екатеринбург"}
	notes := []string{"", "VIP", `ООО "Ромашка", отдел продаж`, "перезвонить\nпосле 18:00", "no notes, thanks", "постоянный клиент"}
	rnd := rand.New(rand.NewPCG(1, 2))
	const target = 10 << 20
	var rows [][]string
	for size := 0; size < target; {
		i := len(rows)
		row := []string{
			fmt.Sprint(100000 + i),
			fmt.Sprintf("user%d@example.com", i),
			first[rnd.IntN(len(first))],
			last[rnd.IntN(len(last))],
			fmt.Sprintf("+7 (9%02d) %03d-%02d-%02d", rnd.IntN(100), rnd.IntN(1000), rnd.IntN(100), rnd.IntN(100)),
			cities[rnd.IntN(len(cities))],
			fmt.Sprintf("%02d.%02d.19%02d", 1+rnd.IntN(28), 1+rnd.IntN(12), 50+rnd.IntN(50)),
			notes[rnd.IntN(len(notes))],
			fmt.Sprintf("%d.%02d", rnd.IntN(100000), rnd.IntN(100)),
			"tag1|tag2",
		}
		rows = append(rows, row)
		for _, f := range row {
			size += len(f) + 1
		}
	}
	return rows
})

var benchHeader = []string{"ID", "Email", "Имя", "Фамилия", "Телефон", "Город", "Дата рождения", "Примечание", "Сумма", "Теги"}

// benchCSV is the ~10 MB UTF-8 benchmark file, CRLF like Excel writes it.
var benchCSV = sync.OnceValue(func() []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	w.Write(benchHeader)
	w.WriteAll(benchRows())
	return buf.Bytes()
})

// benchCP1251 is benchCSV in Windows-1251 with ; as the delimiter.
var benchCP1251 = sync.OnceValue(func() []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	w.Comma = ';'
	w.Write(benchHeader)
	w.WriteAll(benchRows())
	out, err := charmap.Windows1251.NewEncoder().Bytes(buf.Bytes())
	if err != nil {
		panic(err)
	}
	return out
})

// benchJSONL is the same rows as JSON Lines, nested like a CRM feed.
var benchJSONL = sync.OnceValue(func() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, r := range benchRows() {
		enc.Encode(map[string]any{
			"id": json.Number(r[0]), "contact": map[string]any{"email": r[1], "phones": []string{r[4]}},
			"first_name": r[2], "last_name": r[3], "city": r[5], "birthday": r[6], "notes": r[7],
			"amount": json.Number(r[8]), "tags": []string{"tag1", "tag2"},
		})
	}
	return buf.Bytes()
})

func benchRead(b *testing.B, data []byte, name string, opts Options) {
	b.Helper()
	benchReadReleasing(b, data, name, opts, false)
}

// benchReadReleasing is benchRead; with release set, every record is
// released as soon as it is read, as a dry run's writer does a chunk later.
func benchReadReleasing(b *testing.B, data []byte, name string, opts Options, release bool) {
	b.Helper()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		f, err := NewReader(bytes.NewReader(data), name, opts)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			rec, err := f.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if rec.Err != nil {
				b.Fatalf("row %d: %v", rec.Row, rec.Err)
			}
			if release {
				f.Release(rec.Row)
			}
			n++
		}
		if n != len(benchRows()) {
			b.Fatalf("read %d records, want %d", n, len(benchRows()))
		}
	}
}

// BenchmarkReadCSV reads the UTF-8 file: charset and delimiter sniffing,
// UTF-8 and NUL checks, positions, one owned Record per row.
func BenchmarkReadCSV(b *testing.B) {
	benchRead(b, benchCSV(), "bench.csv", Options{})
}

// BenchmarkReadCSVReleased is BenchmarkReadCSV with every row released
// once read: the reader cuts records from the memory of released ones, so
// the allocations per row go to nearly none.
func BenchmarkReadCSVReleased(b *testing.B) {
	benchReadReleasing(b, benchCSV(), "bench.csv", Options{}, true)
}

// BenchmarkBareEncodingCSV parses the same bytes with encoding/csv alone
// (ReuseRecord, no copies, no checks): the ceiling BenchmarkReadCSV is
// measured against.
func BenchmarkBareEncodingCSV(b *testing.B) {
	data := benchCSV()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r := csv.NewReader(bytes.NewReader(data))
		r.ReuseRecord = true
		r.FieldsPerRecord = -1
		n := -1 // the header
		for {
			_, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != len(benchRows()) {
			b.Fatalf("read %d records, want %d", n, len(benchRows()))
		}
	}
}

// BenchmarkReadCP1251 reads the Windows-1251, ; delimited variant
// (MB/s of the cp1251 bytes).
func BenchmarkReadCP1251(b *testing.B) {
	benchRead(b, benchCP1251(), "bench.csv", Options{Encoding: "windows-1251"})
}

// BenchmarkReadJSONL reads the same rows as JSON Lines.
func BenchmarkReadJSONL(b *testing.B) {
	benchRead(b, benchJSONL(), "bench.jsonl", Options{})
}
