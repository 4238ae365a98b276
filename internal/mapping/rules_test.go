package mapping

import (
	"encoding/json"
	"errors"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"time"

	"importer/internal/input"
)

// mapCell maps one CSV cell through the field spec `v: SPEC` (the row's
// key is a constant) and returns data.v as JSON ("" when left out), or the
// row's error text.
func mapCell(t *testing.T, spec, cell string) (value, errText string) {
	t.Helper()
	m := compileCSV(t, "request: {db_id: 1}\nmatch: {email: {value: k@example.com}}\nfields:\n  v: "+spec+"\n", "V")
	return dataMember(t, m, &input.Record{Row: 1, Fields: []string{cell}}, "v")
}

// mapObject maps one JSONL object through the given fields.
func mapObject(t *testing.T, fields, object string) (value, errText string) {
	t.Helper()
	m, err := Compile(mustParse(t, "input: {format: jsonl}\nrequest: {db_id: 1}\nmatch: {email: {value: k@example.com}}\nfields:\n"+fields), nil)
	if err != nil {
		t.Fatal(err)
	}
	recs := jsonlRecords(t, []byte(object))
	return dataMember(t, m, recs[0], "v")
}

func dataMember(t *testing.T, m *Mapper, rec *input.Record, name string) (value, errText string) {
	t.Helper()
	req, err := m.Map(rec)
	if err != nil {
		return "", err.Error()
	}
	var data map[string]json.RawMessage
	single := "{" + string(req.AppendSingle(nil)) + "}"
	var body struct{ Data json.RawMessage }
	if err := json.Unmarshal([]byte(single), &body); err != nil {
		t.Fatalf("%s: %v", single, err)
	}
	if err := json.Unmarshal(body.Data, &data); err != nil {
		t.Fatal(err)
	}
	return string(data[name]), ""
}

// ruleCase is one row of a rule table: the spec and cell, and either the
// JSON sent or a substring of the row's error.
type ruleCase struct {
	name, spec, cell string
	want             string // JSON of data.v, "" when left out
	err              string // substring of the error; "" when the row is valid
}

func runRules(t *testing.T, cases []ruleCase, do func(t *testing.T, spec, cell string) (string, string)) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			got, errText := do(t, tt.spec, tt.cell)
			switch {
			case tt.err != "" && !strings.Contains(errText, tt.err):
				t.Errorf("error = %q, want it to say %q (value %s)", errText, tt.err, got)
			case tt.err == "" && errText != "":
				t.Errorf("error %q, want %s", errText, tt.want)
			case tt.err == "" && got != tt.want:
				t.Errorf("sent %s, want %s", got, tt.want)
			}
		})
	}
}

// TestDateTimeRules: what date and datetime accept, by default and with the
// number layouts.
func TestDateTimeRules(t *testing.T) {
	const (
		date     = "{column: V, type: date}"
		datetime = "{column: V, type: datetime}"
		moscow   = "{column: V, type: datetime, timezone: Europe/Moscow"
	)
	runRules(t, []ruleCase{
		{"DateISO", date, "2006-01-02", `"2006-01-02"`, ""},
		{"DateTakesTheDayOfAnISODatetimeWithoutZone", date, "2006-01-02T15:04:05", `"2006-01-02"`, ""},
		{"DateTakesTheDayOfASpacedDatetime", date, "2006-01-02 15:04:05", `"2006-01-02"`, ""},
		{"DateRussian", date, "02.01.2006", `"2006-01-02"`, ""},
		{"DateWithTrailingTextIsNotADate", date, "2006-01-02X", "", "is not a date in any of the layouts"},
		{"DateOutOfRangeSaysWhy", date, "2006-02-30", "", "is not a valid date: day out of range"},
		{"DatetimeISOWithoutZoneIsUTC", datetime, "2006-01-02T15:04:05", `"2006-01-02T15:04:05Z"`, ""},
		{"DatetimeTakesABareDateAsMidnight", datetime, "2006-01-02", `"2006-01-02T00:00:00Z"`, ""},
		{"DatetimeWithoutZoneInTheTimezone", moscow + "}", "2006-01-02T15:04:05", `"2006-01-02T15:04:05+03:00"`, ""},

		{"ExcelSerial", "{column: V, type: date, layout: excel}", "45000", `"2023-03-15"`, ""},
		{"ExcelFractionIsTimeOfDay", "{column: V, type: datetime, layout: excel}", "45000.75", `"2023-03-15T18:00:00Z"`, ""},
		{"ExcelDecimalComma", "{column: V, type: datetime, layout: excel}", "45000,5", `"2023-03-15T12:00:00Z"`, ""},
		{"ExcelRoundsToTheSecond", "{column: V, type: datetime, layout: excel}", "45000.604166666664", `"2023-03-15T14:30:00Z"`, ""},
		{"ExcelDateIgnoresTheTime", "{column: V, type: date, layout: excel}", "45000.99", `"2023-03-15"`, ""},
		{"ExcelWallClockInTheTimezone", moscow + ", layout: excel}", "45000.5", `"2023-03-15T12:00:00+03:00"`, ""},
		{"ExcelSerial1Is1900-01-01", "{column: V, type: date, layout: excel}", "1", `"1900-01-01"`, ""},
		{"ExcelSerial59Is1900-02-28", "{column: V, type: date, layout: excel}", "59", `"1900-02-28"`, ""},
		{"ExcelSerial60NeverWas", "{column: V, type: date, layout: excel}", "60", "", "Excel serial 60 is 29 February 1900, a day that never was"},
		{"ExcelSerial61Is1900-03-01", "{column: V, type: date, layout: excel}", "61", `"1900-03-01"`, ""},
		{"ExcelSerial0", "{column: V, type: date, layout: excel}", "0", "", "Excel serial 0 is no date"},
		{"ExcelLastDay", "{column: V, type: date, layout: excel}", "2958465", `"9999-12-31"`, ""},
		{"ExcelPastTheLastDay", "{column: V, type: date, layout: excel}", "2958466", "", "past 31 December 9999"},
		{"ExcelNegative", "{column: V, type: date, layout: excel}", "-1", "", "cannot be negative"},
		{"ExcelNotANumber", "{column: V, type: date, layout: excel}", "15.03.2023", "", "is not a date in the layout excel (serial day numbers)"},

		{"UnixSeconds", "{column: V, type: datetime, layout: unix}", "1700000000", `"2023-11-14T22:13:20Z"`, ""},
		{"UnixFractionalSeconds", "{column: V, type: datetime, layout: unix}", "1700000000.75", `"2023-11-14T22:13:20Z"`, ""},
		{"UnixBefore1970", "{column: V, type: datetime, layout: unix}", "-86400", `"1969-12-31T00:00:00Z"`, ""},
		{"UnixDateIsTheUTCDay", "{column: V, type: date, layout: unix}", "1700000000", `"2023-11-14"`, ""},
		{"UnixShownInTheTimezone", moscow + ", layout: unix}", "1700000000", `"2023-11-15T01:13:20+03:00"`, ""},
		{"UnixMilliseconds", "{column: V, type: datetime, layout: unix_ms}", "1700000000250", `"2023-11-14T22:13:20Z"`, ""},
		{"UnixSecondsThatLookLikeMilliseconds", "{column: V, type: datetime, layout: unix}", "1700000000250", "", "milliseconds? use layout unix_ms"},
		{"UnixOutOfAnyRange", "{column: V, type: datetime, layout: unix_ms}", "999999999999999999999", "", "outside the years 1 to 9999"},

		{"MixedLayoutsNumber", `{column: V, type: date, layout: ["02.01.2006", excel]}`, "45000", `"2023-03-15"`, ""},
		{"MixedLayoutsText", `{column: V, type: date, layout: ["02.01.2006", excel]}`, "15.03.2023", `"2023-03-15"`, ""},
		{"MixedExcelOutOfRangeThenALayout", `{column: V, type: date, layout: [excel, "20060102"]}`, "20230315", `"2023-03-15"`, ""},
		{"MixedNothingFitsNamesEveryLayout", `{column: V, type: date, layout: [excel, unix]}`, "x", "", "in any of the layouts excel (serial day numbers), unix (seconds since 1970)"},
	}, mapCell)
}

// TestIntRules: int takes any number whose value is whole.
func TestIntRules(t *testing.T) {
	const spec = "{column: V, type: int}"
	runRules(t, []ruleCase{
		{"Integer", spec, "42", "42", ""},
		{"ZeroFraction", spec, "3.0", "3", ""},
		{"ZeroFractionDecimalComma", spec, "3,00", "3", ""},
		{"Exponent", spec, "1e3", "1000", ""},
		{"NegativeExponentForm", spec, "-2.50e1", "-25", ""},
		{"ExplicitPlus", spec, "+7", "7", ""},
		{"NegativeZero", spec, "-0.0", "0", ""},
		{"LargestInt64", spec, "9223372036854775807", "9223372036854775807", ""},
		{"Fraction", spec, "3.5", "", `"3.5" is not a whole number`},
		{"SmallFractionByExponent", spec, "1e-1", "", "is not a whole number"},
		{"PastInt64", spec, "9223372036854775808", "", "is out of range for an integer"},
		{"PastInt64ByExponent", spec, "1e19", "", "is out of range for an integer"},
		{"NotANumber", spec, "ten", "", `"ten" is not an integer`},
		{"TwoSigns", spec, "+-3", "", "is not an integer"},
		{"HexIsNotANumberHere", spec, "0x10", "", "is not an integer"},
	}, mapCell)
}

// TestJSONValueRules: a JSON object or list where one value is expected
// makes the row invalid (never sent as an object); null elements of a list
// are dropped, like the empty elements of a split cell.
func TestJSONValueRules(t *testing.T) {
	runRules(t, []ruleCase{
		{"ObjectForAString", "  v: a\n", `{"a":{"x":1}}`, "", `column "a": "{\"x\":1}" is an object, not a single string`},
		{"ListForAString", "  v: a\n", `{"a":["x","y"]}`, "", `is a list, not a single string (add split: to send it as a list)`},
		{"ListForAnInt", "  v: {column: a, type: int}\n", `{"a":[1]}`, "", "is a list, not a single int"},
		{"ListWithSplitIsAList", "  v: {column: a, split: \",\"}\n", `{"a":["x","y"]}`, `["x","y"]`, ""},
		{"ObjectInAList", "  v: {column: a, split: \",\"}\n", `{"a":["x",{"k":1}]}`, "", `"{\"k\":1}" is an object, not a string`},
		{"ListInAList", "  v: {column: a, split: \",\"}\n", `{"a":[["x"]]}`, "", "is a list, not a string"},
		{"NullElementsDropped", "  v: {column: a, split: \",\"}\n", `{"a":[null,"x",null]}`, `["x"]`, ""},
		{"OnlyNullElementsIsEmpty", "  v: {column: a, split: \",\"}\n", `{"a":[null]}`, "", ""},
		{"NullIsEmpty", "  v: {column: a, default: d}\n", `{"a":null}`, `"d"`, ""},
		{"IntegralJSONNumber", "  v: {column: a, type: int}\n", `{"a":3.0}`, "3", ""},
		{"FractionalJSONNumber", "  v: {column: a, type: int}\n", `{"a":3.5}`, "", `column "a": "3.5" is not a whole number`},
		{"StringIsAString", "  v: a\n", `{"a":"x"}`, `"x"`, ""},
	}, mapObject)

	// The same rule for split cells: empty elements are dropped.
	runRules(t, []ruleCase{
		{"SplitCellEmptyElementsDropped", `{column: V, split: ","}`, "a, ,,b", `["a","b"]`, ""},
	}, mapCell)

	t.Run("ObjectForTheMatchKey", func(t *testing.T) {
		m, err := Compile(mustParse(t, "input: {format: jsonl}\nrequest: {db_id: 1}\nfields: {email: contact}\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = m.Map(jsonlRecords(t, []byte(`{"contact":{"email":"a@b.cd"}}`))[0])
		if !errors.Is(err, ErrWrongJSON) || !strings.Contains(err.Error(), "is an object") {
			t.Errorf("Map = %v, want the key refused as an object", err)
		}
	})
	t.Run("PhonesListIsThePhoneKey", func(t *testing.T) {
		m, err := Compile(mustParse(t, "input: {format: jsonl}\nrequest: {db_id: 1, matching: phone}\nfields: {phones: p}\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		req, err := m.Map(jsonlRecords(t, []byte(`{"p":[null,"8 916 123-45-67","+79001234567"]}`))[0])
		if err != nil || req.Key != "+79161234567" {
			t.Errorf("Map = %v, %v; want the first number as the key", req, err)
		}
	})
}

// TestMatchKeyForms: every match: key takes the spec forms of a field.
func TestMatchKeyForms(t *testing.T) {
	tests := []struct {
		name, matching, match string
		row                   []string // cells of columns A, B
		wantKey               string
		wantSingle            string // the key members of a single request
	}{
		{"EmailShorthand", "email", "email: A", []string{"a@b.cd", ""}, "a@b.cd", `"email":"a@b.cd"`},
		{"EmailSpec", "email", "email: {column: A, transform: [lower], validate: email}", []string{"A@B.CD", ""}, "a@b.cd", `"email":"a@b.cd"`},
		{"EmailConstant", "email", "email: {value: c@d.ef}", []string{"", ""}, "c@d.ef", `"email":"c@d.ef"`},
		{"EmailDefault", "email", "email: {column: A, default: d@e.fg}", []string{"", ""}, "d@e.fg", `"email":"d@e.fg"`},
		{"EmailMap", "email", "email: {column: A, map: {x: x@y.zz}}", []string{"x", ""}, "x@y.zz", `"email":"x@y.zz"`},
		{"EmailSplitFirst", "email", "email: {column: A, split: \";\"}", []string{" ;a@b.cd;c@d.ef", ""}, "a@b.cd", `"email":"a@b.cd"`},
		{"PhoneShorthand", "phone", "phone: A", []string{"8 916 123-45-67", ""}, "+79161234567", `"phone":"+79161234567"`},
		{"PhoneConstant", "phone", "phone: {value: \"+79161234567\"}", []string{"", ""}, "+79161234567", `"phone":"+79161234567"`},
		{"ProfileIDShorthand", "profile_id", "profile_id: A", []string{"p-1", ""}, "p-1", `"profile_id":"p-1"`},
		{"ProfileIDTransform", "profile_id", "profile_id: {column: A, transform: [lower]}", []string{"P-1", ""}, "p-1", `"profile_id":"p-1"`},
		{"PushShorthands", "push_sub", "provider: A\n  subscription_id: B", []string{"fcm", "s1"}, "fcm/s1", `"provider":"fcm","subscription_id":"s1"`},
		{"PushProviderConstant", "push_sub", "provider: {value: android-firebase}\n  subscription_id: B", []string{"", "s1"}, "android-firebase/s1", `"provider":"android-firebase","subscription_id":"s1"`},
		{"CustomNames", "custom", "field_name: CRM\n  field_value: A", []string{"c1", ""}, "c1", `"field_value":"c1"`},
		{"CustomFieldNameConstantSpec", "custom", "field_name: {value: CRM}\n  field_value: {column: A, type: int}", []string{"7", ""}, "7", `"field_value":7`},
		{"CustomFieldValueConstant", "custom", "field_name: CRM\n  field_value: {value: 5}", []string{"", ""}, "5", `"field_value":5`},
		{"EmailPhoneOnlyPhone", "email_phone", "email: A\n  phone: B", []string{"", "+79161234567"}, "|+79161234567", `"phone":"+79161234567"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := compileCSV(t, "request: {db_id: 1, matching: "+tt.matching+"}\nmatch:\n  "+tt.match+"\n", "A", "B")
			req, err := m.Map(&input.Record{Row: 1, Fields: tt.row})
			if err != nil {
				t.Fatal(err)
			}
			single := string(req.AppendSingle(nil))
			if req.Key != tt.wantKey || !strings.HasPrefix(single, tt.wantSingle+`,"data":`) {
				t.Errorf("Key %q, single %s; want %q, %s", req.Key, single, tt.wantKey, tt.wantSingle)
			}
		})
	}
}

// FuzzLayout checks the number layouts against a reference computed with
// exact rationals: parseExcel against days since 1899-12-30 (31 before
// serial 60), parseUnix against seconds since 1970.
func FuzzLayout(f *testing.F) {
	for _, s := range []string{"45000", "45000.75", "45000,5", "60", "59.999999", "0.5", "2958465.99999", "00000000000000000000001",
		"1700000000", "-1.5", "1700000000250", "0.00015625", "12.", ".5", "1e3", "-0", "253402300799.9999999999"} {
		f.Add(s)
	}
	plain := regexp.MustCompile(`^(-?)([0-9]+)(?:[.,]([0-9]+))?$`)
	f.Fuzz(func(t *testing.T, s string) {
		m := plain.FindStringSubmatch(s)
		t1, _, ok1 := parseExcel(s, time.UTC)
		want, okWant := refExcel(m)
		if ok1 != okWant || (ok1 && !t1.Equal(want)) {
			t.Fatalf("parseExcel(%q) = %v, %v; reference %v, %v", s, t1, ok1, want, okWant)
		}
		for _, ms := range []bool{false, true} {
			t2, _, ok2 := parseUnix(s, ms, time.UTC)
			want, okWant := refUnix(m, ms)
			if ok2 != okWant || (ok2 && !t2.Equal(want)) {
				t.Fatalf("parseUnix(%q, ms=%v) = %v, %v; reference %v, %v", s, ms, t2, ok2, want, okWant)
			}
		}
	})
}

// refExcel: serial s (fraction cut to 13 digits) × 86400 s, rounded half
// up, from the right epoch.
func refExcel(m []string) (time.Time, bool) {
	if m == nil || m[1] == "-" {
		return time.Time{}, false
	}
	days, _ := new(big.Int).SetString(m[2], 10)
	if days.Sign() == 0 || days.Cmp(big.NewInt(60)) == 0 || days.Cmp(big.NewInt(2958465)) > 0 {
		return time.Time{}, false
	}
	frac := m[3][:min(len(m[3]), 13)]
	secs := new(big.Rat)
	if frac != "" {
		secs.SetString("0." + frac)
	}
	secs.Mul(secs, big.NewRat(86400, 1)).Add(secs, big.NewRat(1, 2))
	whole := new(big.Int).Quo(secs.Num(), secs.Denom()).Int64()
	epoch := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	if days.Int64() < 60 {
		epoch = epoch.AddDate(0, 0, 1)
	}
	return epoch.AddDate(0, 0, int(days.Int64())).Add(time.Duration(whole) * time.Second), true
}

// refUnix: s seconds (or ms) since 1970, the fraction cut below the
// nanosecond, in years 1 to 9999.
func refUnix(m []string, ms bool) (time.Time, bool) {
	if m == nil {
		return time.Time{}, false
	}
	digits := 9
	unit := int64(1e9)
	if ms {
		digits, unit = 6, 1e6
	}
	r, _ := new(big.Rat).SetString(m[2] + "." + m[3][:min(len(m[3]), digits)] + "0")
	r.Mul(r, big.NewRat(unit, 1))
	ns := new(big.Int).Quo(r.Num(), r.Denom()) // nanoseconds, exact
	if m[1] == "-" {
		ns.Neg(ns)
	}
	sec, nsec := new(big.Int).QuoRem(ns, big.NewInt(1e9), new(big.Int))
	if !sec.IsInt64() {
		return time.Time{}, false
	}
	t := time.Unix(sec.Int64(), nsec.Int64()).UTC()
	if sec.Int64() < -62135596800 || sec.Int64() > 253402300799 || t.Year() < 1 || t.Year() > 9999 {
		return time.Time{}, false
	}
	return t, true
}

// FuzzWholeNumber checks wholeNumber against big.Rat on the same text.
func FuzzWholeNumber(f *testing.F) {
	for _, s := range []string{"3", "3.0", "3,5", "1e3", "-2.50e1", "1e-1", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
		"1e19", "0e999999999999", "+-1", "00.000e+0", "1e", "e1", "1.e1"} {
		f.Add(s)
	}
	num := regexp.MustCompile(`^([+-]?)([0-9]+)(?:[.,]([0-9]+))?(?:[eE]([+-]?[0-9]+))?$`)
	f.Fuzz(func(t *testing.T, s string) {
		i, isNumber, whole, fits := wholeNumber(s)
		m := num.FindStringSubmatch(s)
		if isNumber != (m != nil) {
			t.Fatalf("wholeNumber(%q) isNumber = %v", s, isNumber)
		}
		if m == nil || len(m[4]) > 4 { // huge exponents: big.Rat would take forever
			return
		}
		r, ok := new(big.Rat).SetString(m[1] + m[2] + "." + m[3] + "0e" + strings.TrimPrefix(m[4], "+") + map[bool]string{true: "", false: "0"}[m[4] != ""])
		if !ok {
			t.Fatalf("reference cannot read %q", s)
		}
		switch {
		case whole != r.IsInt():
			t.Fatalf("wholeNumber(%q) whole = %v, want %v", s, whole, r.IsInt())
		case whole && fits != r.Num().IsInt64():
			t.Fatalf("wholeNumber(%q) fits = %v", s, fits)
		case whole && fits && i != r.Num().Int64():
			t.Fatalf("wholeNumber(%q) = %d, want %s", s, i, r.Num())
		}
	})
}

// TestMissingPaths: the JSONL counterpart of the header check.
func TestMissingPaths(t *testing.T) {
	const objects = `{"profile":{"name":{"first":"A","last":null}},"phones":["1","2"],"odd.key":1,"tags":[]}
{"profile":{"email":"a@b.cd"},"orders":[{"id":1}]}
not an object
`
	tests := []struct {
		name, fields string
		want         string // "" = nothing missing
	}{
		{"AllSeen", "  email: profile.email\n  a: profile.name.first\n  b: phones.1\n  c: odd.key\n  d: orders.0.id\n  e: profile.name\n  f: tags\n", ""},
		{"SeenOnlyAsNull", "  email: profile.email\n  a: profile.name.last\n", ""},
		{"Typo", "  email: profile.email\n  _fname: profile.name.frist\n",
			`column "profile.name.frist" (fields._fname) is in none of the first 2 objects; closest: "profile.name.first"`},
		{"EveryUseNamed", "  email: profile.email\n  a: profile.mail\n  b: {column: profile.mail, transform: [lower]}\n  c: phones.2\n",
			`column "profile.mail" (fields.a, fields.b) is in none of the first 2 objects; closest: "profile.email"` + "\n" +
				`column "phones.2" (fields.c) is in none of the first 2 objects; closest: "phones.0"`},
		{"MatchKey", "  _fname: profile.name.first\nmatch:\n  email: contact.email\n",
			`column "contact.email" (match.email) is in none of the first 2 objects; closest: "profile.email"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Compile(mustParse(t, "input: {format: jsonl}\nrequest: {db_id: 1}\nfields:\n"+tt.fields), nil)
			if err != nil {
				t.Fatal(err)
			}
			var seen PathSet
			for _, rec := range jsonlRecords(t, []byte(objects)) {
				if rec.Err == nil {
					seen.Add(rec.Object)
				}
			}
			err = m.MissingPaths(&seen)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("MissingPaths = %v, want nil", err)
			case tt.want != "":
				var he *HeaderError
				if !errors.As(err, &he) || err.Error() != tt.want || he.Objects != 2 {
					t.Errorf("MissingPaths = %v\nwant %s", err, tt.want)
				}
			}
		})
	}
	t.Run("NoObjectsNoVerdict", func(t *testing.T) {
		m, err := Compile(mustParse(t, "input: {format: jsonl}\nrequest: {db_id: 1}\nfields: {email: e}\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.MissingPaths(&PathSet{}); err != nil {
			t.Errorf("MissingPaths(empty) = %v, want nil", err)
		}
	})
}
