package results

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// benchRow is a typical failed row: the texts a journal line usually carries.
var benchRow = Row{
	Row: 123456, Line: 123460, Key: "ivan.petrov@example.com", Status: StatusFailed,
	ErrorCode: "404", Error: `API error 404: Profile not found (matching: email, "ivan.petrov@example.com")`, Attempts: 3,
}

// benchValidRow is the line of every valid row of a dry run: a key and a
// status.
var benchValidRow = Row{Row: 123456, Line: 123460, Key: "ivan.petrov123456@example.com", Status: StatusValid}

func BenchmarkJournalWrite(b *testing.B) {
	for _, f := range formats {
		b.Run(f.name, func(b *testing.B) { benchJournalWrite(b, f.ext, benchRow) })
		b.Run(f.name+"-valid", func(b *testing.B) { benchJournalWrite(b, f.ext, benchValidRow) })
	}
}

func benchJournalWrite(b *testing.B, ext string, row Row) {
	j, err := OpenJournal(filepath.Join(b.TempDir(), "bench"+ext), false)
	if err != nil {
		b.Fatal(err)
	}
	r := row
	b.ReportAllocs()
	for b.Loop() {
		r.Row++
		if err := j.Write(&r); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if err := j.Close(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkRejectsWrite(b *testing.B) {
	fields := []string{"ivan.petrov@example.com", "8 (916) 123-45-67", "Иван", "Петров", "22.02.1990", "M", "yes", "a|b|c", "Москва, ул. Тверская, 1", "1250"}
	raw := []byte(`{"email":"ivan.petrov@example.com","phone":"8 (916) 123-45-67","name":"Иван Петров","birthday":"22.02.1990","tags":["a","b"],"city":"Москва"}`)
	header := make([]string, len(fields))
	for i := range header {
		header[i] = fmt.Sprint("Col", i)
	}
	msg := `column "Phone": value "8 (916) 123-45-6" is not a phone number`
	b.Run("CSV", func(b *testing.B) {
		r, err := NewRejects(filepath.Join(b.TempDir(), "r.csv"), header, ';', false)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := r.Write(fields, nil, msg); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		r.Close()
	})
	b.Run("CSVNeutralise", func(b *testing.B) {
		r, err := NewRejects(filepath.Join(b.TempDir(), "r.csv"), header, ';', true)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := r.Write(fields, nil, msg); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		r.Close()
	})
	b.Run("JSONL", func(b *testing.B) {
		r, err := NewJSONLRejects(filepath.Join(b.TempDir(), "r.jsonl"))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := r.Write(nil, raw, msg); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		r.Close()
	})
}

func BenchmarkPayloadsWrite(b *testing.B) {
	body := []byte(`{"token":"***","db_id":1,"matching":"email","email":"ivan.petrov@example.com","data":{"_fname":"Иван","_lname":"Петров","_bdate":"1990-02-22","phones":["+79161234567"]},"subscriptions":[{"channel":"email","resource_id":2,"email":"ivan.petrov@example.com"}]}`)
	p, err := NewPayloads(filepath.Join(b.TempDir(), "p.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var row int64
	for b.Loop() {
		row++
		if err := p.Write(row, body); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	p.Close()
}

func BenchmarkSummaryAdd(b *testing.B) {
	s := NewSummary()
	ok := Row{Status: StatusOK}
	bad := benchRow
	b.ReportAllocs()
	var n int64
	for b.Loop() {
		n++
		if n%10 == 0 {
			bad.Row = n
			s.Add(&bad, "", "")
		} else {
			ok.Row = n
			s.Add(&ok, "", "")
		}
	}
}

func BenchmarkReadJournal(b *testing.B) {
	const rows = 100_000
	for _, f := range formats {
		b.Run(f.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "r"+f.ext)
			j, err := OpenJournal(path, false)
			if err != nil {
				b.Fatal(err)
			}
			r := benchRow
			for n := int64(1); n <= rows; n++ {
				r.Row = n
				if err := j.Write(&r); err != nil {
					b.Fatal(err)
				}
			}
			if err := j.Close(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				if _, err := ReadJournal(path); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N)/rows, "ns/row")
		})
	}
}

func BenchmarkPreviousOK(b *testing.B) {
	var p Previous
	for n := int64(1); n <= 1_000_000; n++ {
		p.add(&Row{Row: n, Status: StatusOK})
	}
	b.ReportAllocs()
	var n int64
	for b.Loop() {
		n = n%1_000_000 + 1
		if !p.OK(n) {
			b.Fatal("missing row")
		}
	}
}
