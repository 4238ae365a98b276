package input

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// obj builds the view of a valid JSONL record.
func obj(row, line int64, o map[string]any) view {
	return view{Row: row, Line: line, Object: o}
}

// badLine builds the view of a malformed JSONL line.
func badLine(row, line int64, kind error) view {
	return view{Row: row, Line: line, Err: kind.Error(), ErrLine: line}
}

func TestJSONLRecords(t *testing.T) {
	n := func(s string) json.Number { return json.Number(s) }
	tests := []struct {
		name string
		in   string
		opts Options
		want []view
	}{
		{"Objects", "{\"a\":1}\n{\"a\":2}\n", Options{},
			[]view{obj(1, 1, map[string]any{"a": n("1")}), obj(2, 2, map[string]any{"a": n("2")})}},
		{"LongIDStaysExact", `{"id":12345678901234567,"amount":1234.50}` + "\n", Options{},
			[]view{obj(1, 1, map[string]any{"id": n("12345678901234567"), "amount": n("1234.50")})}},
		{"Nested", `{"contact":{"email":"a@b.ru"},"phones":["+7916",8],"vip":true,"x":null}`, Options{},
			[]view{obj(1, 1, map[string]any{"contact": map[string]any{"email": "a@b.ru"}, "phones": []any{"+7916", n("8")}, "vip": true, "x": nil})}},
		{"BlankLinesSkipped", "\n  \t\n{\"a\":1}\r\n\r\n\n{\"a\":2}", Options{},
			[]view{obj(1, 3, map[string]any{"a": n("1")}), obj(2, 6, map[string]any{"a": n("2")})}},
		{"SpacesAround", "  {\"a\":1}  \n", Options{}, []view{obj(1, 1, map[string]any{"a": n("1")})}},
		{"EmptyObject", "{}\n", Options{}, []view{obj(1, 1, map[string]any{})}},
		{"EmptyFile", "", Options{}, nil},
		{"Array", "[1,2]\n{\"a\":1}\n", Options{Format: FormatJSONL},
			[]view{badLine(1, 1, ErrNotObject), obj(2, 2, map[string]any{"a": n("1")})}},
		{"Scalars", "{\"a\":1}\n\"s\"\n42\ntrue\nnull\n", Options{}, []view{
			obj(1, 1, map[string]any{"a": n("1")}), badLine(2, 2, ErrNotObject), badLine(3, 3, ErrNotObject),
			badLine(4, 4, ErrNotObject), badLine(5, 5, ErrNotObject)}},
		{"Broken", "{\"a\":}\n{\"a\":1\n{\"a\":1}}\n{\"a\":1} {\"b\":2}\n{\"a\":3}\n", Options{}, []view{
			badLine(1, 1, ErrNotObject), badLine(2, 2, ErrNotObject), badLine(3, 3, ErrNotObject),
			badLine(4, 4, ErrNotObject), obj(5, 5, map[string]any{"a": n("3")})}},
		{"LineTooLong", "{\"a\":\"0123456789\"}\n{\"a\":1}\n", Options{MaxFieldSize: 12},
			[]view{badLine(1, 1, ErrFieldTooLong), obj(2, 2, map[string]any{"a": n("1")})}},
		{"InvalidUTF8", "{\"a\":\"\xc8\xe2\"}\n{\"a\":1}\n", Options{Encoding: "utf-8"},
			[]view{badLine(1, 1, ErrInvalidUTF8), obj(2, 2, map[string]any{"a": n("1")})}},
		{"NUL", "{\"a\":\"x\x00\"}\n{\"a\":1}\n", Options{},
			[]view{badLine(1, 1, ErrNUL), obj(2, 2, map[string]any{"a": n("1")})}},
		{"LoneCRIsSpace", "{\"a\":\r1}\n", Options{}, []view{obj(1, 1, map[string]any{"a": n("1")})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, recs := readAll(t, "in.jsonl", []byte(tt.in), tt.opts)
			if f.Format() != FormatJSONL || f.Header() != nil || f.Delimiter() != 0 {
				t.Errorf("Format, Header, Delimiter = %q, %q, %q; want jsonl, nil, 0", f.Format(), f.Header(), f.Delimiter())
			}
			if diff := cmp.Diff(tt.want, views(recs)); diff != "" {
				t.Errorf("records of %q (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestJSONLRawAndMessages(t *testing.T) {
	in := "{\"a\": 1}\r\n[1]\n{\"a\":}\n{\"a\":1} x\n{\"a\":\"x\x00\"}\n"
	_, recs := readAll(t, "in.ndjson", []byte(in), Options{})
	want := []struct{ raw, msg string }{
		{`{"a": 1}`, ""},
		{`[1]`, `line 2: line is not a JSON object: it is an array`},
		{`{"a":}`, `line 3: line is not a JSON object: invalid character '}' looking for beginning of value at byte 6`},
		{`{"a":1} x`, `line 4: line is not a JSON object: text after the object at byte 9: "x"`},
		{"{\"a\":\"x\x00\"}", `line 5: NUL byte at byte 8`},
	}
	if len(recs) != len(want) {
		t.Fatalf("read %d records, want %d", len(recs), len(want))
	}
	for i, r := range recs {
		if string(r.Raw) != want[i].raw {
			t.Errorf("record %d: Raw = %q, want %q", i+1, r.Raw, want[i].raw)
		}
		var msg string
		if r.Err != nil {
			msg = r.Err.Error()
		}
		if msg != want[i].msg {
			t.Errorf("record %d: Err = %q, want %q", i+1, msg, want[i].msg)
		}
	}
}

func TestJSONLOpenErrors(t *testing.T) {
	tests := []struct {
		name, file, in string
		want           error
	}{
		{"JSONArrayFile", "in.json", "[\n {\"a\":1},\n {\"a\":2}\n]\n", ErrFormat},
		{"JSONArrayConfigured", "in.txt", "  [{\"a\":1}]", ErrFormat},
		{"OneLineArray", "in.jsonl", "[{\"a\":1},{\"a\":2}]\n\n", ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{}
			if tt.file == "in.txt" {
				opts.Format = FormatJSONL
			}
			_, err := NewReader(strings.NewReader(tt.in), tt.file, opts)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), "JSON Lines") {
				t.Errorf("NewReader = %v, want %v explaining JSON Lines", err, tt.want)
			}
		})
	}
}
