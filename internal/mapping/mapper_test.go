package mapping

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"importer/internal/input"
	"importer/internal/phone"
)

func TestCompileMissingColumns(t *testing.T) {
	const base = "request: {db_id: 1}\n"
	tests := []struct {
		name   string
		yml    string
		header []string
		want   string // "" = compiles
	}{
		{
			name:   "Typo",
			yml:    base + "fields:\n  email: Emial\n  _fname: Name\n",
			header: []string{"Email", "Name"},
			want:   `column "Emial" (fields.email) is not in the file's header; closest: "Email"`,
		},
		{
			name: "EveryColumnListedOnce",
			yml: base + "fields:\n  email: {column: E-mail}\n  _fname: Имя\n  _lname: Фамилия\n" +
				"subscriptions:\n  - {channel: email, resource_id: 1, email: E-mail}\n",
			header: []string{"Email", "Имя", "Фамиля"},
			want: `column "E-mail" (fields.email, subscriptions[0].email) is not in the file's header; closest: "Email"` + "\n" +
				`column "Фамилия" (fields._lname) is not in the file's header; closest: "Фамиля"`,
		},
		{
			name:   "CaseDiffersIsMissing",
			yml:    base + "fields:\n  email: email\n",
			header: []string{"Phone", "EMAIL"},
			want:   `column "email" (fields.email) is not in the file's header; closest: "EMAIL"`,
		},
		{
			name:   "MatchColumn",
			yml:    base + "match:\n  email: Mail\nfields:\n  _fname: Name\n",
			header: []string{"Name"},
			want:   `column "Mail" (match.email) is not in the file's header; closest: "Name"`,
		},
		{
			name:   "EmptyHeader",
			yml:    base + "fields:\n  email: Email\n",
			header: []string{},
			want:   `column "Email" (fields.email) is not in the file's header`,
		},
		{name: "PaddedHeaderName", yml: base + "fields:\n  email: Email\n", header: []string{" Email "}},
		{name: "BOMOnFirstName", yml: base + "fields:\n  email: Email\n", header: []string{"\ufeffEmail"}},
		{name: "DuplicateHeaderFirstWins", yml: base + "fields:\n  email: Email\n", header: []string{"Email", "Email"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Compile(mustParse(t, tt.yml), tt.header)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Compile: %v", err)
				}
				req, err := m.Map(&input.Record{Row: 1, Fields: []string{"a@example.com", "second@example.com"}})
				if err != nil || req.Key != "a@example.com" {
					t.Errorf("Map = %+v, %v; want key a@example.com", req, err)
				}
				return
			}
			var he *HeaderError
			if !errors.As(err, &he) {
				t.Fatalf("Compile error = %v (%T), want *HeaderError", err, err)
			}
			if err.Error() != tt.want {
				t.Errorf("Compile error:\n%s\nwant:\n%s", err, tt.want)
			}
		})
	}
}

func TestCompileRefusesInvalidConfig(t *testing.T) {
	c := Default() // no db_id
	c.Fields = Fields{{Name: "email", Field: Field{Column: "Email"}}}
	_, err := Compile(c, []string{"Email"})
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("Compile(invalid) error = %v, want *ConfigError", err)
	}
}

func TestColumns(t *testing.T) {
	c := mustParse(t, `request: {db_id: 1, matching: phone}
match: {phone: Tel}
fields:
  email: Email
  phones: Tel
  _fname: Name
  source: {value: x}
subscriptions:
  - {channel: email, resource_id: 1, email: Email, status: Status}
`)
	m, err := Compile(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Tel", "Email", "Name", "Status"}
	if diff := cmp.Diff(want, m.Columns()); diff != "" {
		t.Errorf("Columns() (-want +got):\n%s", diff)
	}
}

func TestFieldErrorError(t *testing.T) {
	tests := []struct {
		e    FieldError
		want string
	}{
		{FieldError{Column: "Телефон", Field: "phones", Value: "12345", Reason: "is not a valid phone number for region RU"},
			`column "Телефон": "12345" is not a valid phone number for region RU`},
		{FieldError{Column: "Email", Field: "email", Reason: "is empty, but the field is required"},
			`column "Email": is empty, but the field is required`},
		{FieldError{Field: "subscriptions[2].provider", Reason: "is empty"},
			`field "subscriptions[2].provider": is empty`},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %s\nwant      %s", got, tt.want)
		}
	}
}

func TestMapErrorValueShortened(t *testing.T) {
	m := compileCSV(t, "request: {db_id: 1}\nfields:\n  email: Email\n  n: {column: N, type: int}\n", "Email", "N")
	long := strings.Repeat("я", 100)
	_, err := m.Map(&input.Record{Row: 3, Fields: []string{"a@example.com", long}})
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("Map = %v, want *FieldError", err)
	}
	if n := utf8.RuneCountInString(fe.Value); n != 40 || !strings.HasSuffix(fe.Value, "…") {
		t.Errorf("Value has %d runes (%q), want 40 ending in …", n, fe.Value)
	}
	if fe.Row != 3 || fe.Kind != "invalid int" || !errors.Is(err, ErrInvalidValue) {
		t.Errorf("FieldError = %+v", fe)
	}
}

func TestMapReturnsRecordError(t *testing.T) {
	m := compileCSV(t, "request: {db_id: 1}\nfields: {email: Email}\n", "Email")
	rowErr := &input.RowError{Row: 4, Line: 9, Err: input.ErrBareQuote}
	_, err := m.Map(&input.Record{Row: 4, Line: 9, Err: rowErr})
	if err != error(rowErr) {
		t.Errorf("Map(record with Err) = %v, want the record's error", err)
	}
}

// A CSV record shorter than the header: the missing cells are empty.
func TestMapShortRecord(t *testing.T) {
	m := compileCSV(t, "request: {db_id: 1}\nfields:\n  email: Email\n  _fname: Name\n  city: {column: City, default: Omsk}\n", "Email", "Name", "City")
	req, err := m.Map(&input.Record{Row: 1, Fields: []string{"a@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(req.AppendSingle(nil)), `"email":"a@example.com","data":{"email":"a@example.com","city":"Omsk"}`; got != want {
		t.Errorf("AppendSingle = %s\nwant %s", got, want)
	}
}

func TestAppendEnvelope(t *testing.T) {
	tests := []struct {
		name          string
		yml           string
		single, batch string
	}{
		{
			name:   "Minimal",
			yml:    "request: {db_id: 1}\nfields: {email: E}\n",
			single: `"db_id":1,"matching":"email"`,
			batch:  `"db_id":1,"matching":"email"`,
		},
		{
			name: "AllOptions",
			yml: "request: {db_id: 2, resource_id: 5, skip_triggers: true, skip_invalid_subscriptions: false, detect_geo: true," +
				" add_to_segments: [1, 2], remove_from_segments: [3]}\nfields: {email: E}\n",
			single: `"db_id":2,"matching":"email","resource_id":5,"skip_triggers":true,"skip_invalid_subscriptions":false,"detect_geo":true,"add_to_segments":[1,2],"remove_from_segments":[3]`,
			batch:  `"db_id":2,"matching":"email","resource_id":5,"skip_triggers":true,"skip_invalid_subscriptions":false,"detect_geo":true`,
		},
		{
			name:   "Custom",
			yml:    "request: {db_id: 3, matching: custom}\nmatch: {field_name: CRM_ID, field_value: C}\n",
			single: `"db_id":3,"matching":"custom","field_name":"CRM_ID"`,
			batch:  `"db_id":3,"matching":"custom","field_name":"CRM_ID"`,
		},
		{
			// Written as the row encoder writes text: no HTML escaping.
			name:   "CustomFieldNeedsEscaping",
			yml:    "request: {db_id: 4, matching: custom_sub}\nmatch: {field_name: 'A&B <\"x\">', field_value: C}\n",
			single: `"db_id":4,"matching":"custom_sub","field_name":"A&B <\"x\">"`,
			batch:  `"db_id":4,"matching":"custom_sub","field_name":"A&B <\"x\">"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Compile(mustParse(t, tt.yml), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(m.AppendEnvelope([]byte("X"), false)); got != "X"+tt.single {
				t.Errorf("AppendEnvelope(single) = %s\nwant X%s", got, tt.single)
			}
			if got := string(m.AppendEnvelope(nil, true)); got != tt.batch {
				t.Errorf("AppendEnvelope(batch) = %s\nwant %s", got, tt.batch)
			}
		})
	}
}

// AppendItem carries a member that is both a key and a data field once,
// with the key's value, wherever the member sits in data.
func TestAppendItemKeyOnce(t *testing.T) {
	tests := []struct {
		name   string
		fields string
		row    []string
		want   string
	}{
		{"KeyFirst", "  CRM: {column: C, transform: [upper]}\n  a: A\n  b: B\n", []string{"x1", "1", "2"}, `{"CRM":"X1","a":"1","b":"2"}`},
		{"KeyMiddle", "  a: A\n  CRM: C\n  b: B\n", []string{"x1", "1", "2"}, `{"CRM":"x1","a":"1","b":"2"}`},
		{"KeyLast", "  a: A\n  b: B\n  CRM: C\n", []string{"x1", "1", "2"}, `{"CRM":"x1","a":"1","b":"2"}`},
		{"KeyOnly", "  CRM: C\n", []string{"x1", "1", "2"}, `{"CRM":"x1"}`},
		{"OthersEmpty", "  a: A\n  CRM: C\n  b: B\n", []string{"x1", "", ""}, `{"CRM":"x1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := compileCSV(t, "request: {db_id: 1, matching: custom}\nmatch: {field_name: CRM}\nfields:\n"+tt.fields, "C", "A", "B")
			req, err := m.Map(&input.Record{Row: 1, Fields: tt.row})
			if err != nil {
				t.Fatal(err)
			}
			if got := string(req.AppendItem(nil)); got != tt.want {
				t.Errorf("AppendItem = %s\nwant %s", got, tt.want)
			}
		})
	}
}

// Map is safe for concurrent use: many goroutines on one Mapper give the
// same bytes as one goroutine (run with -race).
func TestMapConcurrent(t *testing.T) {
	m := compileCSV(t, benchConfigPhone, benchHeader...)
	rows := benchRows(200)
	want := make([]string, len(rows))
	for i, r := range rows {
		req, err := m.Map(r)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = string(singleBody(m, req))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for i, r := range rows {
				req, err := m.Map(r)
				if err != nil {
					errs <- err
					return
				}
				if got := string(singleBody(m, req)); got != want[i] {
					errs <- fmt.Errorf("row %d: %s != %s", i, got, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestPhoneCache: a cached answer is the parser's answer, for a hit, for a
// value whose slot another value took since, and for goroutines sharing
// the table while values keep replacing each other in it.
func TestPhoneCache(t *testing.T) {
	c := newPhoneCache("RU")
	for _, tt := range []struct {
		name, in, want string
		ok             bool
	}{
		{"a national number", "8 (916) 123-45-67", "+79161234567", true},
		{"the same, from the cache", "8 (916) 123-45-67", "+79161234567", true},
		{"a rejection", "12345", "", false},
		{"the same rejection, from the cache", "12345", "", false},
		{"another country", "+1 650 253 0000", "+16502530000", true},
		{"text around the number (the library's path)", "тел. 89161234567 доб. 12", "+79161234567", true},
	} {
		if got, ok := c.normalize(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("%s: normalize(%q) = %q, %v; want %q, %v", tt.name, tt.in, got, ok, tt.want, tt.ok)
		}
	}

	// Three times more values than slots, from four goroutines at once:
	// every answer must be the parser's, hit or miss.
	const n = 3 * phoneCacheSize
	in := make([]string, n)
	want := make([]string, n)
	for i := range in {
		in[i] = fmt.Sprintf("8 916 %07d", i)
		if i%5 == 0 {
			in[i] = fmt.Sprintf("%d", i) // too short: rejected
		}
		want[i], _ = phone.Normalize(in[i], "RU")
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := range 4 {
		wg.Go(func() {
			for k := range 2 * n {
				i := (k*7 + g*1013) % n
				if got, _ := c.normalize(in[i]); got != want[i] {
					errs <- fmt.Sprintf("normalize(%q) = %q, want %q", in[i], got, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if used := c.len(); used < phoneCacheSize/2 {
		t.Errorf("%d of %d slots hold a value after %d distinct values", used, phoneCacheSize, n)
	}
}

func TestParseBool(t *testing.T) {
	for _, s := range []string{"true", "TRUE", "yes", "Yes", "1", "да", "ДА", "Да", "y", "Y", "on", "On"} {
		if v, ok := parseBool(s); !v || !ok {
			t.Errorf("parseBool(%q) = %v, %v; want true, true", s, v, ok)
		}
	}
	for _, s := range []string{"false", "No", "0", "нет", "НЕТ", "n", "OFF"} {
		if v, ok := parseBool(s); v || !ok {
			t.Errorf("parseBool(%q) = %v, %v; want false, true", s, v, ok)
		}
	}
	for _, s := range []string{"", "2", "maybe", "да!", "tru"} {
		if _, ok := parseBool(s); ok {
			t.Errorf("parseBool(%q) accepted", s)
		}
	}
}

func TestParseFloat(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"1.5", 1.5, true}, {"1,5", 1.5, true}, {"-0,25", -0.25, true}, {"1e3", 1000, true},
		{"1,5.0", 0, false}, {"1,2,3", 0, false}, {"NaN", 0, false}, {"inf", 0, false}, {"1e400", 0, false}, {"", 0, false},
	} {
		got, ok := parseFloat(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseFloat(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestValidEmail(t *testing.T) {
	good := []string{"a@b.c", "ivan.petrov@mail.ru", "x+tag@sub.example.org", "o'brien@example.ie", "иван@пример.рф", "a_b@c-d.e"}
	bad := []string{"", "a", "a@", "@b.c", "a@b", "ivan@localhost", "Ivan <a@b.c>", `"odd"@example.com`, "a@b..c",
		"a.@b.c", ".a@b.c", "a@b.c.", "a b@c.d", "a@b.c, d@e.f", "a@@b.c", "a@b.c\n"}
	for _, s := range good {
		if !validEmail(s) {
			t.Errorf("validEmail(%q) = false, want true", s)
		}
	}
	for _, s := range bad {
		if validEmail(s) {
			t.Errorf("validEmail(%q) = true, want false", s)
		}
	}
}

func TestShorten(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{{"abc", 3, "abc"}, {"abcd", 3, "ab…"}, {"яяяя", 3, "яя…"}, {"", 3, ""}} {
		if got := shorten(tt.in, tt.n); got != tt.want {
			t.Errorf("shorten(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// FuzzValidEmail: the fast path never accepts what net/mail and the extra
// checks would refuse.
func FuzzValidEmail(f *testing.F) {
	for _, s := range []string{"a@b.c", "a.b@c.d", "a@b", "a..b@c.d", "{x}@y.z", "a@b_c.d", "a@-b.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if fastEmail(s) && !validEmailSlow(s) {
			t.Fatalf("fastEmail(%q) accepts what net/mail refuses", s)
		}
	})
}

// compileCSV parses yml and compiles it for a CSV header.
func compileCSV(tb testing.TB, yml string, header ...string) *Mapper {
	tb.Helper()
	m, err := Compile(mustParse(tb, yml), header)
	if err != nil {
		tb.Fatalf("Compile: %v", err)
	}
	return m
}

// fuzzConfig uses every type, split, map, default, unset, an action and a
// subscription, so FuzzMap reaches every converter.
const fuzzConfig = `request: {db_id: 1, matching: email_phone}
match:
  email: {column: E, transform: [lower]}
  phone: P
fields:
  s: {column: S, validate: email}
  i: {column: I, type: int, action: incr}
  f: {column: F, type: float, default: 0}
  b: {column: B, type: bool, empty: unset}
  d: {column: D, type: date}
  dt: {column: DT, type: datetime, timezone: Europe/Moscow}
  phones: {column: P, split: ","}
  e: {column: E, type: email}
  ip: {column: IP, type: ip}
  tags: {column: S, split: "|", action: add}
  m: {column: S, map: {a: 1, b: two}, map_default: other}
  u: {column: I, validate: ip, transform: [upper]}
subscriptions:
  - {channel: telegram_bot, resource_id: 1, id: I}
  - {channel: email, resource_id: 2, email: E, cats: {column: S, split: ","}}
`

var fuzzHeader = []string{"S", "I", "F", "B", "D", "DT", "P", "E", "IP"}

// FuzzMap feeds random cells through a config that uses every type: Map
// never panics, and returns either valid JSON bodies or a *FieldError
// naming a configured column.
func FuzzMap(f *testing.F) {
	f.Add("a|b", "42", "1,5", "да", "22.02.1990", "2024-01-02 03:04:05", "8 916 123-45-67", "A@B.CD", "::1")
	f.Add("", "", "", "", "", "", "", "", "")
	f.Add("\"\\\x00", "-0", "1e400", "maybe", "31.02.1990", "2024-13-01T00:00:00Z", "12345", "a@b", "1.2.3.4.5")
	f.Add("<>&\u2028", "9223372036854775808", "-0,0", "OFF", "1990-02-22T23:30:00+03:00", "", "+1 650 253 0000,,", "", "fe80::1%eth0")
	m := compileCSV(f, fuzzConfig, fuzzHeader...)
	f.Fuzz(func(t *testing.T, s, i, fl, b, d, dt, p, e, ip string) {
		rec := &input.Record{Row: 1, Line: 2, Fields: []string{s, i, fl, b, d, dt, p, e, ip}}
		req, err := m.Map(rec)
		if err != nil {
			checkRowErrors(t, err)
			return
		}
		single, item := singleBody(m, req), req.AppendItem(nil)
		if !json.Valid(single) || !json.Valid(item) || !json.Valid(batchBody(m, []*Request{req, req})) {
			t.Fatalf("invalid JSON:\n%s\n%s", single, item)
		}
		if req.Key == "" || req.Key == "|" {
			t.Fatalf("empty key in %s", single)
		}
	})
}

func TestTrimSpace(t *testing.T) {
	for _, s := range []string{"", "a", " a ", "\ta\n", "Анна", " Анна", "Анна\u00a0", "\u00a0Анна", "\u3000x\u3000",
		"x\u2028", "\u0085x", "a b", "\x01a", "a\x7f", "я я", "\u2009Анна\u2009", "\xff", " \xff ",
		"я", "Ё", "ж\u1680", "ё\u205f", "\u00a0", "\u0085", "\u3000", "\xa0", "a\xc2", "中文", "中\u2029", "€"} {
		if got, want := trimSpace(s), strings.TrimSpace(s); got != want {
			t.Errorf("trimSpace(%q) = %q, strings.TrimSpace gives %q", s, got, want)
		}
	}
}

// FuzzTrimSpace: trimSpace is strings.TrimSpace, only faster.
func FuzzTrimSpace(f *testing.F) {
	for _, s := range []string{" a ", "\u00a0я", "я\u3000", "\xe2\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := trimSpace(s), strings.TrimSpace(s); got != want {
			t.Fatalf("trimSpace(%q) = %q, want %q", s, got, want)
		}
	})
}

// FuzzMapJSONL feeds arbitrary JSONL lines through the jsonl golden config
// (paths, arrays, numbers, objects): no panic, and valid JSON bodies or a
// *FieldError.
func FuzzMapJSONL(f *testing.F) {
	data, err := os.ReadFile("testdata/jsonl/input.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		f.Add(line)
	}
	f.Add(`{"contact":{"email":"a@b.cd"},"phones":[[["x"]]],"stats":{"orders":1e400,"total":-0}}`)
	m, err := Compile(mustLoad(f, "testdata/jsonl/config.yaml"), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line string) {
		recs := jsonlRecords(t, []byte(line))
		for _, rec := range recs {
			req, err := m.Map(rec)
			if err != nil {
				if rec.Err == nil {
					checkRowErrors(t, err)
				}
				continue
			}
			if single, item := singleBody(m, req), req.AppendItem(nil); !json.Valid(single) || !json.Valid(item) {
				t.Fatalf("invalid JSON for %s:\n%s\n%s", line, single, item)
			}
		}
	})
}

// checkRowErrors: a row error is a non-empty RowErrors of complete
// FieldErrors, each column once, whose text joins theirs.
func checkRowErrors(t *testing.T, err error) {
	t.Helper()
	var re RowErrors
	if !errors.As(err, &re) || len(re) == 0 {
		t.Fatalf("Map error %T %v is not a non-empty RowErrors", err, err)
	}
	seen := map[string]bool{}
	texts := make([]string, len(re))
	for i, fe := range re {
		if fe.Column == "" || fe.Kind == "" || fe.Reason == "" || utf8.RuneCountInString(fe.Value) > 40 {
			t.Fatalf("incomplete FieldError %+v", fe)
		}
		if seen[fe.Column] {
			t.Fatalf("column %q reported twice in %v", fe.Column, err)
		}
		seen[fe.Column] = true
		texts[i] = fe.Error()
	}
	if got, want := err.Error(), strings.Join(texts, "; "); got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

// TestMapRowErrors: an invalid row reports every problem at once, each bad
// column once, match keys first and then in config order.
func TestMapRowErrors(t *testing.T) {
	const cfg = `request: {db_id: 1}
fields:
  email: {column: Email, transform: [lower]}
  n: {column: N, type: int}
  d: {column: D, type: date}
  phones: Phone
  _sex: {column: Sex, map: {M: male, F: female}}
  city: {column: City, required: true}
subscriptions:
  - {channel: sms, resource_id: 1, phone: Phone, priority: {column: Prio}, status: {column: St, map: {"yes": subscribed}}}
`
	header := []string{"Email", "N", "D", "Phone", "Sex", "City", "Prio", "St"}
	tests := []struct {
		name string
		row  []string
		want []string // Kind/Column of each problem
	}{
		{"OneBadCell", []string{"a@b.cd", "x", "", "", "", "Omsk", "", ""}, []string{"invalid int/N"}},
		{"EveryBadColumnInConfigOrder", []string{"a@b.cd", "x", "31.02.1990", "", "X", "", "", ""},
			[]string{"invalid int/N", "invalid date/D", "unmapped value/Sex", "missing value/City"}},
		{"AColumnReadTwiceIsOneProblem", []string{"a@b.cd", "", "", "12345", "", "Omsk", "", ""}, []string{"invalid phone/Phone"}},
		{"MissingKeyFirstThenTheRest", []string{"", "x", "", "", "", "Omsk", "", ""}, []string{"missing match key/Email", "invalid int/N"}},
		{"SubscriptionOptions", []string{"a@b.cd", "", "", "+79161234567", "", "Omsk", "high", "maybe"},
			[]string{"unmapped value/St", "invalid int/Prio"}},
	}
	m := compileCSV(t, cfg, header...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := m.Map(&input.Record{Row: 7, Fields: tt.row})
			if err == nil {
				t.Fatalf("Map = %s, want errors", req.AppendSingle(nil))
			}
			var re RowErrors
			if !errors.As(err, &re) {
				t.Fatalf("Map error %T, want RowErrors", err)
			}
			var got, texts []string
			for _, fe := range re {
				got = append(got, fe.Kind+"/"+fe.Column)
				texts = append(texts, fe.Error())
				if fe.Row != 7 {
					t.Errorf("FieldError.Row = %d, want 7", fe.Row)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if err.Error() != strings.Join(texts, "; ") {
				t.Errorf("Error() = %q, want the messages joined with \"; \"", err)
			}
			var first *FieldError
			if !errors.As(err, &first) || first != re[0] {
				t.Errorf("errors.As(*FieldError) = %v, want the first problem", first)
			}
			if _, ok := m.Key(&input.Record{Row: 7, Fields: tt.row}); ok != (got[0] != "missing match key/Email") {
				t.Errorf("Key ok = %v with problems %v", ok, got)
			}
		})
	}
}

// TestMapRowErrorsKeys: what an invalid row says about its keys, per mode.
func TestMapRowErrorsKeys(t *testing.T) {
	tests := []struct {
		name, yml string
		header    []string
		row       []string
		want      string
	}{
		{"EitherBothEmpty", "request: {db_id: 1, matching: email_phone}\nfields: {email: E, phones: P}\n", []string{"E", "P"}, []string{"", ""},
			`column "E": is empty, and so is the other key: matching "email_phone" needs an e-mail or a phone`},
		{"EitherOneInvalid", "request: {db_id: 1, matching: email_phone}\nmatch: {email: {column: E, type: email}}\nfields: {phones: P}\n", []string{"E", "P"}, []string{"nope", "+79161234567"},
			`column "E": "nope" is not a valid e-mail address`},
		{"PushBothEmpty", "request: {db_id: 1, matching: push_sub}\nmatch: {provider: A, subscription_id: B}\n", []string{"A", "B"}, []string{"", ""},
			`column "A": is empty, but matching "push_sub" needs it; column "B": is empty, but matching "push_sub" needs it`},
		{"PushOneEmpty", "request: {db_id: 1, matching: push_sub}\nmatch: {provider: A, subscription_id: B}\n", []string{"A", "B"}, []string{"fcm", ""},
			`column "B": is empty, but matching "push_sub" needs it`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := compileCSV(t, tt.yml, tt.header...)
			_, err := m.Map(&input.Record{Row: 1, Fields: tt.row})
			if err == nil || err.Error() != tt.want {
				t.Errorf("Map error = %v\nwant        %s", err, tt.want)
			}
			if !errors.Is(err, ErrInvalidValue) && !errors.Is(err, ErrMissingValue) {
				t.Errorf("errors.Is finds no sentinel in %v", err)
			}
		})
	}
}
