package mapping

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"importer/internal/input"
)

// The fast paths of Map (values shared with a key, dates read without
// time.Parse, pre-encoded map values) must never change a byte: these
// tests map the same rows with a Mapper and with the reference Mapper that
// compile builds without any fast path, and want the same requests and the
// same errors.

// sameMapping maps rec with fast and ref and fails unless both give the
// same single body, batch item, key, risk and errors.
func sameMapping(tb testing.TB, fast, ref *Mapper, rec *input.Record) {
	tb.Helper()
	got, gotErr := fast.Map(rec)
	want, wantErr := ref.Map(rec)
	switch {
	case (gotErr == nil) != (wantErr == nil):
		tb.Fatalf("row %d %q: fast path error %v, reference error %v", rec.Row, rec.Fields, gotErr, wantErr)
	case gotErr != nil:
		if gotErr.Error() != wantErr.Error() {
			tb.Fatalf("row %d %q: fast path error\n%v\nreference error\n%v", rec.Row, rec.Fields, gotErr, wantErr)
		}
		return
	}
	for _, c := range []struct {
		what      string
		got, want []byte
	}{
		{"single body", singleBody(fast, got), singleBody(ref, want)},
		{"batch item", got.AppendItem(nil), want.AppendItem(nil)},
		{"key", []byte(got.Key), []byte(want.Key)},
		{"risky", fmt.Append(nil, got.Risky), fmt.Append(nil, want.Risky)},
	} {
		if !bytes.Equal(c.got, c.want) {
			tb.Fatalf("row %d %q: fast path %s\n%s\nreference\n%s", rec.Row, rec.Fields, c.what, c.got, c.want)
		}
	}
}

// compilePair compiles yml for header twice: with the fast paths and as
// the reference.
func compilePair(tb testing.TB, yml string, header []string) (fast, ref *Mapper) {
	tb.Helper()
	cfg := mustParse(tb, yml)
	fast, err := compile(cfg, header, false)
	if err != nil {
		tb.Fatalf("Compile: %v", err)
	}
	ref, err = compile(cfg, header, true)
	if err != nil {
		tb.Fatalf("compile reference: %v", err)
	}
	return fast, ref
}

// TestFastPathsGolden: every golden case maps alike with and without the
// fast paths.
func TestFastPathsGolden(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/*/config.yaml")
	for _, cfgPath := range dirs {
		dir := filepath.Dir(cfgPath)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			cfg := mustLoad(t, cfgPath)
			inputs, _ := filepath.Glob(filepath.Join(dir, "input.*"))
			header, recs := readRecords(t, inputs[0], cfg)
			fast, err := compile(cfg, header, false)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := compile(cfg, header, true)
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range recs {
				sameMapping(t, fast, ref, rec)
			}
		})
	}
}

// alikeConfig reads the e-mail column four times (the match key, the data
// field, an e-mail subscription converting it alike, and one that does
// not: upper-cased), a plain column twice, and dates in several layouts.
const alikeConfig = `request: {db_id: 1, matching: email_phone}
match:
  email: {column: E, transform: [lower], validate: email}
  phone: P
fields:
  email: {column: E, transform: [lower], type: email}
  email2: {column: E, transform: [lower], type: email, default: "Def@Example.COM"}
  email3: {value: "Const@Example.COM", transform: [lower], type: email}
  plain: S
  plain2: {column: S}
  d: {column: D, type: date, layout: ["02.01.2006", "2006-01-02", "01/02/2006", "20060102"]}
  dd: {column: D, type: date}
  dt: {column: D, type: datetime, layout: "02.01.2006", timezone: Europe/Moscow}
  g: {column: G, map: {М: male, Ж: female, m: "1", F: female}}
  gi: {column: G, map: {М: 1, Ж: 2}, map_default: 0, type: int}
  gl: {column: G, transform: [lower], map: {"m": "x", "M": "y"}}
subscriptions:
  - {channel: email, resource_id: 1, email: {column: E, transform: [lower]}, status: {column: G, map: {М: subscribed}, map_default: unsubscribed}}
  - {channel: email, resource_id: 2, email: {column: E, transform: [upper]}}
  - {channel: sms, resource_id: 3, phone: P}
`

var alikeHeader = []string{"E", "P", "S", "D", "G"}

// alikeCells are the cells the alike tests combine: good, bad, empty and
// padded values of each column.
var alikeCells = [][]string{
	{"ivan@mail.ru", "Ivan.Petrov@Mail.RU", " a@b.c ", "", "not-an-email", "Иван@пример.рф", "a@b", `"q"@x.y`, "A@B.C\u00a0"},
	{"", "+7 916 123-45-67", "12"},
	{"", "x", " Анна ", `he said "hi"`, "\u2028"},
	{"", "22.02.1990", "31.02.1990", "29.02.2000", "29.02.1900", "00.01.2000", "01.13.2000", "1990-02-22", "02/22/1990",
		"19900222", "2.2.1990", "22.02.90", "22.02.1990 ", "22-02-1990", "01.01.0000", "31.12.9999", "+1.02.1990",
		"22.02.1990T", "２２.02.1990", "1990-02-22T10:00:00Z"},
	{"", "М", "Ж", "m", "M", "f", "F", "ж", "x"},
}

// TestFastPathsAlike maps every combination of alikeCells with and without
// the fast paths.
func TestFastPathsAlike(t *testing.T) {
	fast, ref := compilePair(t, alikeConfig, alikeHeader)
	row := int64(0)
	var walk func(fields []string)
	walk = func(fields []string) {
		if len(fields) == len(alikeCells) {
			row++
			sameMapping(t, fast, ref, &input.Record{Row: row, Line: row + 1, Fields: append([]string(nil), fields...)})
			return
		}
		for _, c := range alikeCells[len(fields)] {
			walk(append(fields, c))
		}
	}
	walk(nil)
	if row < 10000 {
		t.Fatalf("only %d combinations mapped", row)
	}
}

// TestAlikeLinks: the plans that convert the key's cell alike are tied to
// it, and the ones that do not are not.
func TestAlikeLinks(t *testing.T) {
	m := compileCSV(t, alikeConfig, alikeHeader...)
	for _, c := range []struct {
		what string
		p    *fieldPlan
		want int
	}{
		{"fields.email (type email, lower) and match.email (validate email, lower)", m.fields[0], 0},
		{"fields.plain", m.fields[3], -1},
		{"subscriptions[0].email (lower)", m.subs[0].addrs[0], 0},
		{"subscriptions[1].email (upper)", m.subs[1].addrs[0], -1},
		{"subscriptions[2].phone: the phone key's own spec is not linked to a subscription", m.subs[2].addrs[0], -1},
	} {
		if c.p.valueOfKey != c.want {
			t.Errorf("%s: valueOfKey = %d, want %d", c.what, c.p.valueOfKey, c.want)
		}
	}
	ref, err := compile(mustParse(t, alikeConfig), alikeHeader, true)
	if err != nil {
		t.Fatal(err)
	}
	if ref.subs[0].addrs[0].valueOfKey != -1 {
		t.Errorf("the reference mapper links subscriptions[0].email to a key")
	}
}

// FuzzFastPaths: any cells map alike with and without the fast paths.
func FuzzFastPaths(f *testing.F) {
	f.Add("Ivan@Mail.ru", "+7 916 123-45-67", "x", "22.02.1990", "М")
	f.Add("", "", "", "", "")
	f.Add(" a@b.c", "1", "\x00", "29.02.1900", "ж")
	f.Add("a@b.c", "", "", "19900222", "m")
	f.Add("a@b.c", "", "", "2000-02-29", "M")
	fast, ref := compilePair(f, alikeConfig, alikeHeader)
	f.Fuzz(func(t *testing.T, e, p, s, d, g string) {
		sameMapping(t, fast, ref, &input.Record{Row: 1, Line: 2, Fields: []string{e, p, s, d, g}})
	})
}

// TestRelease: a released request's memory is reused by a later Map, which
// then holds that row's mapping and nothing of the earlier one; a key kept
// from a released request stays as it was.
func TestRelease(t *testing.T) {
	fast, ref := compilePair(t, benchConfigMapped, crmHeader)
	rows := crmRows(64)
	var keys []string
	for _, rec := range rows {
		req, err := fast.Map(rec)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, req.Key)
		want, err := ref.Map(rec)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := singleBody(fast, req), singleBody(ref, want); !bytes.Equal(got, want) {
			t.Fatalf("row %d after earlier releases:\n%s\nwant\n%s", rec.Row, got, want)
		}
		req.Release()
	}
	for i, rec := range rows {
		want, _ := ref.Map(rec)
		if keys[i] != want.Key {
			t.Fatalf("row %d: key kept from a released request is %q, want %q", rec.Row, keys[i], want.Key)
		}
	}
}

// TestReleaseDropsHugeBuffer: a buffer grown by one huge row is not kept
// for every later row.
func TestReleaseDropsHugeBuffer(t *testing.T) {
	m := compileCSV(t, benchConfigMapped, crmHeader...)
	rec := crmRows(1)[0]
	rec.Fields[9] = string(bytes.Repeat([]byte("x"), 2*maxSizeHint))
	req, err := m.Map(rec)
	if err != nil {
		t.Fatal(err)
	}
	req.Release()
	if req.buf != nil {
		t.Fatalf("a released request keeps a buffer of %d bytes", cap(req.buf))
	}
}

// checkLowerEmail holds lowerEmailASCII to strings.ToLower then fastEmail.
func checkLowerEmail(tb testing.TB, s string) {
	tb.Helper()
	lower, fast, ascii := lowerEmailASCII(s)
	isASCII := true
	for i := 0; i < len(s); i++ {
		isASCII = isASCII && s[i] < 0x80
	}
	if ascii != isASCII {
		tb.Fatalf("lowerEmailASCII(%q): ascii = %v", s, ascii)
	}
	if !ascii {
		return
	}
	want := strings.ToLower(s)
	if lower != want || fast != fastEmail(want) {
		tb.Fatalf("lowerEmailASCII(%q) = %q, %v; ToLower + fastEmail give %q, %v", s, lower, fast, want, fastEmail(want))
	}
}

func TestLowerEmailASCII(t *testing.T) {
	for _, s := range []string{"", "@", "a@", "@b.c", "a@b", "a@b.c", "A@B.C", "Ivan.Petrov@Mail.RU", "a..b@c.d", ".a@b.c",
		"a.@b.c", "a@.b.c", "a@b.c.", "a@b..c", "a@@b.c", "a@b@c.d", "a b@c.d", "a@b_c.d", "{x}@y.z", "a@b.c\n", "я@b.c",
		"x+tag@sub.example.org", "o'brien@example.ie", strings.Repeat("a", 250) + "@b.cd", strings.Repeat("a", 249) + "@b.cd"} {
		checkLowerEmail(t, s)
	}
}

// FuzzLowerEmail: lowerEmailASCII is ToLower and fastEmail.
func FuzzLowerEmail(f *testing.F) {
	for _, s := range []string{"Ivan@Mail.RU", "a..b@c.d", "a@b", "@", "A.B@C.D."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkLowerEmail(t, s) })
}
