package sender

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// flat is a reply in comparable form.
type flat struct {
	HasCode   bool
	Code      int64
	Text      string
	ProfileID string
	HasResult bool
	Items     []flat
}

func flatten(r *reply) flat {
	f := flat{HasCode: r.hasCode, Code: r.code, Text: r.Text(), ProfileID: r.ProfileID(), HasResult: r.hasResult}
	for i := range r.items {
		it := &r.items[i]
		f.Items = append(f.Items, flat{HasCode: it.hasCode, Code: it.code, Text: it.Text(), ProfileID: it.ProfileID()})
	}
	return f
}

func TestParseReply(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want flat
		err  error
	}{
		{name: "Single", in: `{"error":0,"error_text":"Successful operation","profile_id":"5f4fa1a5ce9448665fef548e"}`,
			want: flat{HasCode: true, Text: "Successful operation", ProfileID: "5f4fa1a5ce9448665fef548e"}},
		{name: "Whitespace", in: " \n{ \"error\" : 404 ,\t\"error_text\" : \"Profile not found\" }\r\n",
			want: flat{HasCode: true, Code: 404, Text: "Profile not found"}},
		{name: "StringCode", in: `{"error":"409"}`, want: flat{HasCode: true, Code: 409}},
		{name: "EscapedStringCode", in: `{"error":"\u0034\u0030\u0034"}`, want: flat{HasCode: true, Code: 404}},
		{name: "Escapes", in: `{"error":1,"error_text":"a\"b\\c\u00e9\n","profile_id":"\/x"}`,
			want: flat{HasCode: true, Code: 1, Text: "a\"b\\cé\n", ProfileID: "/x"}},
		{name: "Cyrillic", in: `{"error":404,"error_text":"Профиль не найден"}`,
			want: flat{HasCode: true, Code: 404, Text: "Профиль не найден"}},
		{name: "UnknownMembersSkipped", in: `{"x":[1,{"y":null},true,false,-1.5e3],"error":0,"z":{"error":7}}`,
			want: flat{HasCode: true}},
		{name: "DuplicateLastWins", in: `{"error":5,"error":0,"profile_id":"a","profile_id":"b"}`,
			want: flat{HasCode: true, ProfileID: "b"}},
		{name: "Batch", in: `{"error":0,"error_text":"Successful operation","result":[{"error":0,"profile_id":"p1"},{"error":404,"error_text":"nope"},{"error":0,"profile_id":"p3"}]}`,
			want: flat{HasCode: true, Text: "Successful operation", HasResult: true, Items: []flat{
				{HasCode: true, ProfileID: "p1"}, {HasCode: true, Code: 404, Text: "nope"}, {HasCode: true, ProfileID: "p3"}}}},
		{name: "BatchEmpty", in: `{"error":0,"result":[]}`, want: flat{HasCode: true, HasResult: true}},
		{name: "BatchOddItems", in: `{"error":0,"result":[null,{"profile_id":1},{"error":2.5}]}`,
			want: flat{HasCode: true, HasResult: true, Items: []flat{{}, {}, {}}}},
		{name: "ResultNotArray", in: `{"error":0,"result":{"a":1}}`, want: flat{HasCode: true}},
		{name: "NonStringText", in: `{"error":3,"error_text":42,"profile_id":null}`, want: flat{HasCode: true, Code: 3}},
		{name: "FloatCode", in: `{"error":0.0}`, err: errNoErrorCode},
		{name: "NoCode", in: `{"profile_id":"x"}`, err: errNoErrorCode},
		{name: "Empty", in: ``, err: errNotJSON},
		{name: "HTML", in: `<html>bad gateway</html>`, err: errNotJSON},
		{name: "Array", in: `[{"error":0}]`, err: errNotObject},
		{name: "Number", in: `0`, err: errNotObject},
		{name: "TrailingGarbage", in: `{"error":0}x`, err: errNotJSON},
		{name: "TwoObjects", in: `{"error":0}{"error":0}`, err: errNotJSON},
		{name: "Truncated", in: `{"error":0,"result":[{"error":0}`, err: errNotJSON},
		{name: "ControlInString", in: "{\"error\":0,\"error_text\":\"a\x01\"}", err: errNotJSON},
		{name: "BadEscape", in: `{"error":0,"error_text":"\x"}`, err: errNotJSON},
		{name: "LeadingZero", in: `{"error":01}`, err: errNotJSON},
		{name: "TrailingComma", in: `{"error":0,}`, err: errNotJSON},
		{name: "Deep", in: `{"error":0,"x":` + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + `}`, err: errDepth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r reply
			err := parseReply([]byte(tt.in), &r)
			if !errors.Is(err, tt.err) {
				t.Fatalf("parseReply(%.60q) error = %v, want %v", tt.in, err, tt.err)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tt.want, flatten(&r)); diff != "" {
				t.Errorf("parseReply(%.60q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestAtoi(t *testing.T) {
	for _, s := range []string{"0", "-0", "+7", "404", "-1", "9223372036854775807", "-9223372036854775808",
		"9223372036854775808", "-9223372036854775809", "", "-", "+", "1a", "99999999999999999999", "00012"} {
		want, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			want = 0 // ParseInt clamps out-of-range values; atoi reports 0
		}
		got, ok := atoi([]byte(s))
		if ok != (err == nil) || got != want {
			t.Errorf("atoi(%q) = %d, %v; want %d, %v", s, got, ok, want, err == nil)
		}
	}
}

// refStatus decodes a status object with encoding/json, the reference the
// hand-written scanner must agree with.
func refStatus(raw json.RawMessage) flat {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return flat{}
	}
	var f flat
	if v, ok := m["error"]; ok {
		var s string
		if json.Unmarshal(v, &s) == nil {
			f.Code, f.HasCode = atoi([]byte(s))
		} else if len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9') {
			f.Code, f.HasCode = atoi(v)
		}
	}
	if v, ok := m["error_text"]; ok {
		json.Unmarshal(v, &f.Text)
	}
	if v, ok := m["profile_id"]; ok {
		json.Unmarshal(v, &f.ProfileID)
	}
	return f
}

// FuzzParseReply checks the envelope scanner against encoding/json: it
// accepts what json.Valid accepts (bar the depth limit), rejects the rest,
// and reads the same values.
func FuzzParseReply(f *testing.F) {
	for _, s := range []string{
		`{"error":0,"error_text":"Successful operation","profile_id":"5f4fa1a5ce9448665fef548e"}`,
		`{"error":404,"error_text":"\u041f\u0440\u043e\u0444\u0438\u043b\u044c"}`,
		`{"error":"0","result":[{"error":0,"profile_id":"a"},{"error":409,"error_text":"x"},null]}`,
		`{"error":0,"x":{"y":[1,2.5e-3,true,false,null,"s"]},"error":1}`,
		`[{"error":0}]`, `{"error":0}x`, `{"error":-0}`, "{\"error\":0,\"error_text\":\"\xff\"}",
		`<html></html>`, ``, `{"error":1e3}`, `{"\u0065rror":7}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r reply
		err := parseReply(b, &r)
		if errors.Is(err, errDepth) {
			return
		}
		valid := json.Valid(b)
		if valid != !errors.Is(err, errNotJSON) {
			t.Fatalf("parseReply(%q) = %v, json.Valid = %v", b, err, valid)
		}
		if !valid {
			return
		}
		var top map[string]json.RawMessage
		// "null" unmarshals into a map without error, leaving it nil: it is
		// still not an object.
		if json.Unmarshal(b, &top) != nil || top == nil {
			if !errors.Is(err, errNotObject) {
				t.Fatalf("parseReply(%q) = %v, want errNotObject", b, err)
			}
			return
		}
		want := refStatus(b)
		if !want.HasCode {
			if !errors.Is(err, errNoErrorCode) {
				t.Fatalf("parseReply(%q) = %v, want errNoErrorCode", b, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("parseReply(%q) = %v, want success", b, err)
		}
		if v, ok := top["result"]; ok {
			var items []json.RawMessage
			if json.Unmarshal(v, &items) == nil && v[0] == '[' {
				want.HasResult = true
				for _, it := range items {
					want.Items = append(want.Items, refStatus(it))
				}
			}
		}
		if diff := cmp.Diff(want, flatten(&r)); diff != "" {
			t.Fatalf("parseReply(%q) mismatch (-encoding/json +scanner):\n%s", b, diff)
		}
	})
}
