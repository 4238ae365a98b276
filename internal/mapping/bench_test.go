package mapping

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"importer/internal/cputime"
	"importer/internal/input"
)

// benchConfigText maps 10 text columns: the common shape of a CRM export.
const benchConfigText = `request: {db_id: 1}
fields:
  email: {column: Email, transform: [lower]}
  _fname: First
  _lname: Last
  _city: City
  _country: Country
  company: Company
  position: Position
  _vendor: Source
  note: Note
  segment: Segment
`

var benchHeader = []string{"Email", "First", "Last", "City", "Country", "Company", "Position", "Source", "Note", "Segment", "Phone"}

// benchConfigPhone adds a phone list and an sms subscription on the same
// number: two phone conversions per row.
const benchConfigPhone = benchConfigText + `  phones: Phone
subscriptions:
  - {channel: sms, resource_id: 1, phone: Phone}
`

// benchRows builds n distinct rows; each has its own phone number.
func benchRows(n int) []*input.Record {
	cities := []string{"Москва", "Санкт-Петербург", "Kazan", "Novosibirsk"}
	recs := make([]*input.Record, n)
	for i := range recs {
		recs[i] = &input.Record{Row: int64(i + 1), Line: int64(i + 2), Fields: []string{
			fmt.Sprintf("User%d@Example.com", i), "Анна", "Иванова", cities[i%len(cities)], "RU",
			"ООО \"Ромашка\"", "manager", "legacy-crm", "likes <b>bold</b> offers", "retail",
			fmt.Sprintf("8 (9%02d) %03d-%02d-%02d", 10+i%80, i/10000%1000, i/100%100, i%100),
		}}
	}
	return recs
}

// benchMap maps rows round and round. Besides ns/op it reports cpu-ns/op,
// the process's CPU time per row (the collector's included), which a busy
// shared machine disturbs far less than wall time.
func benchMap(b *testing.B, m *Mapper, rows []*input.Record) {
	benchMapRelease(b, m, rows, false)
}

// benchMapRelease is benchMap; with release each request is released
// after it is mapped, as a pipeline that recycles them does.
func benchMapRelease(b *testing.B, m *Mapper, rows []*input.Record, release bool) {
	b.ReportAllocs()
	i := 0
	cpu0 := cputime.Self()
	for b.Loop() {
		req, err := m.Map(rows[i])
		if err != nil {
			b.Fatal(err)
		}
		if release {
			req.Release()
		}
		if i++; i == len(rows) {
			i = 0
		}
	}
	b.ReportMetric(float64(cputime.Self()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkMap measures Map per row (ns/op = ns/row). The phone case uses
// distinct numbers (no cache hits, the cost of a big file with unique
// phones); phone-repeat shows the cache at work.
func BenchmarkMap(b *testing.B) {
	b.Run("text", func(b *testing.B) {
		benchMap(b, compileCSV(b, benchConfigText, benchHeader...), benchRows(1000))
	})
	b.Run("phone", func(b *testing.B) {
		// More distinct numbers than the cache holds, so every row parses.
		benchMap(b, compileCSV(b, benchConfigPhone, benchHeader...), benchRows(4*phoneCacheSize))
	})
	b.Run("phone-repeat", func(b *testing.B) {
		benchMap(b, compileCSV(b, benchConfigPhone, benchHeader...), benchRows(100))
	})
	b.Run("mapped", func(b *testing.B) {
		benchMap(b, compileCSV(b, benchConfigMapped, crmHeader...), crmRows(1000))
	})
	b.Run("mapped-release", func(b *testing.B) {
		benchMapRelease(b, compileCSV(b, benchConfigMapped, crmHeader...), crmRows(1000), true)
	})
	b.Run("mapped-phone", func(b *testing.B) {
		benchMap(b, compileCSV(b, benchConfigMappedPhone, crmHeader...), crmRows(4*phoneCacheSize))
	})
	b.Run("jsonl", func(b *testing.B) {
		m, err := Compile(mustParse(b, benchConfigJSONL), nil)
		if err != nil {
			b.Fatal(err)
		}
		benchMap(b, m, benchJSONLRows(b, 1000))
	})
}

const benchConfigJSONL = `input: {format: jsonl}
request: {db_id: 1}
fields:
  email: {column: contact.email, transform: [lower]}
  _fname: name.first
  _lname: name.last
  _city: address.city
  customer_id: customer_id
  orders: {column: stats.orders, type: int}
  total: {column: stats.total, type: float}
  vip: {column: vip, type: bool}
  tags: {column: tags, split: ","}
  _vendor: source
`

func benchJSONLRows(tb testing.TB, n int) []*input.Record {
	recs := make([]*input.Record, n)
	for i := range recs {
		line := fmt.Sprintf(`{"customer_id":%d,"contact":{"email":"User%d@Example.com"},"name":{"first":"Анна","last":"Иванова"},`+
			`"address":{"city":"Kazan"},"stats":{"orders":%d,"total":%d.5},"vip":true,"tags":["a","b"],"source":"shop"}`,
			10000000000000000+i, i, i%50, i)
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		rec := &input.Record{Row: int64(i + 1), Line: int64(i + 1), Raw: []byte(line)}
		if err := dec.Decode(&rec.Object); err != nil {
			tb.Fatal(err)
		}
		recs[i] = rec
	}
	return recs
}

// BenchmarkCSVBaseline is bare encoding/csv parsing of the same 10 text
// columns: mapping a row should cost no more than a few times parsing it.
func BenchmarkCSVBaseline(b *testing.B) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	for _, r := range benchRows(1000) {
		if err := w.Write(r.Fields[:10]); err != nil {
			b.Fatal(err)
		}
	}
	w.Flush()
	data := buf.Bytes()
	b.ReportAllocs()
	b.ResetTimer()
	r := csv.NewReader(bytes.NewReader(data))
	r.ReuseRecord = true
	for b.Loop() {
		if _, err := r.Read(); err == io.EOF {
			r = csv.NewReader(bytes.NewReader(data))
			r.ReuseRecord = true
		} else if err != nil {
			b.Fatal(err)
		}
	}
}

// crmHeader is the header of the bench harness's generated CRM export
// (tools/bench): the file `make bench` validates.
var crmHeader = []string{"crm_id", "first_name", "last_name", "email", "phone", "birthday", "gender", "city", "subscribed", "comment"}

// benchConfigMapped is the harness's 10-column mapping (tools/bench
// testdata/mapped.yaml): the e-mail lower-cased and checked, a date
// reparsed, two maps, a split and one subscription, no phone parsing.
const benchConfigMapped = `request: {db_id: 1, matching: email, skip_triggers: true}
fields:
  crm_id: crm_id
  _fname: first_name
  _lname: last_name
  email: {column: email, transform: [lower], validate: email, required: true}
  phone_raw: phone
  _bdate: {column: birthday, type: date, layout: "02.01.2006"}
  _sex: {column: gender, map: {М: male, Ж: female, M: male, F: female}}
  city: {column: city, split: ","}
  comment: comment
subscriptions:
  - channel: email
    resource_id: 1
    email: {column: email, transform: [lower]}
    status: {column: subscribed, map: {да: subscribed, нет: unsubscribed, "yes": subscribed, "no": unsubscribed}}
`

// benchConfigMappedPhone is benchConfigMapped with the phone column parsed.
var benchConfigMappedPhone = strings.Replace(benchConfigMapped, "phone_raw: phone", "phones: phone", 1)

// crmRows builds n rows shaped like the harness's generated export: each
// its own e-mail and phone number.
func crmRows(n int) []*input.Record {
	first := []string{"Анна", "Иван", "Robert", "Мария"}
	last := []string{"Иванова", "Петров", "Lee", "Smirnova"}
	cities := []string{"Москва", "Berlin, Свердловская обл.", "Kazan", "Санкт-Петербург"}
	comments := []string{"", "постоянный клиент", "", `ООО "Ромашка", отдел закупок`}
	recs := make([]*input.Record, n)
	for i := range recs {
		k := i % 4
		recs[i] = &input.Record{Row: int64(i + 1), Line: int64(i + 2), Fields: []string{
			fmt.Sprint(1000000 + i), first[k], last[k], fmt.Sprintf("user.name%d@gmail.com", i),
			fmt.Sprintf("+7 (9%02d) %03d-%02d-%02d", 10+i%80, i/10000%1000, i/100%100, i%100),
			fmt.Sprintf("%02d.%02d.%d", 1+i%28, 1+i%12, 1950+i%56), []string{"Ж", "М", "M", "F"}[k], cities[k],
			[]string{"да", "нет", "yes", "no"}[k], comments[k],
		}}
	}
	return recs
}

// BenchmarkMapIndex looks up the values of a yes/no column (ns/op = 5
// lookups, one of them a case-insensitive match): "scan" is mapIndex, which
// compares the few keys in turn; "go-map" is the same exact match through
// the Go map it uses for more than smallMap keys.
func BenchmarkMapIndex(b *testing.B) {
	c := &conv{mapExact: map[string]int{"да": 0, "нет": 1, "yes": 2, "no": 3}, mapKeys: []string{"да", "нет", "yes", "no"}}
	in := []string{"да", "нет", "yes", "no", "Да"}
	b.Run("scan", func(b *testing.B) {
		n := 0
		for b.Loop() {
			for _, s := range in {
				n += c.mapIndex(s)
			}
		}
		if n == 0 {
			b.Fatal("no value mapped")
		}
	})
	b.Run("go-map", func(b *testing.B) {
		n := 0
		for b.Loop() {
			for _, s := range in {
				i, ok := c.mapExact[s]
				if !ok {
					for j, k := range c.mapKeys {
						if strings.EqualFold(k, s) {
							i = j
							break
						}
					}
				}
				n += i
			}
		}
		if n == 0 {
			b.Fatal("no value mapped")
		}
	})
}
