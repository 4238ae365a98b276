package fakeapi

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeXML(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]any
		err  string
	}{
		{"Scalars", `<xml><a>1</a><b> x </b><c/></xml>`, map[string]any{"a": "1", "b": " x ", "c": ""}, ""},
		{"Object", `<xml><o><p>1</p></o></xml>`, map[string]any{"o": map[string]any{"p": "1"}}, ""},
		{"ArrayAnyChildNames", `<xml><l array='true'><item>1</item><x>2</x></l></xml>`, map[string]any{"l": []any{"1", "2"}}, ""},
		{"ArrayOfObjects", `<xml><l array="TRUE"><item><a>1</a></item></l></xml>`, map[string]any{"l": []any{map[string]any{"a": "1"}}}, ""},
		{"EmptyArray", `<xml><l array='true'/></xml>`, map[string]any{"l": []any{}}, ""},
		{"ArrayOfOneObject", `<xml><subscriptions array='true'><resource_id>1</resource_id><channel>email</channel><email>a@b.c</email></subscriptions></xml>`,
			map[string]any{"subscriptions": []any{map[string]any{"resource_id": "1", "channel": "email", "email": "a@b.c"}}}, ""},
		{"ArrayOfOneNestedObject", `<xml><l array='true'><a><x>1</x></a><b array='true'><item>2</item></b></l></xml>`,
			map[string]any{"l": []any{map[string]any{"a": map[string]any{"x": "1"}, "b": []any{"2"}}}}, ""},
		{"ArrayOneChildIsList", `<xml><phones array='true'><phone>+79001234567</phone></phones></xml>`, map[string]any{"phones": []any{"+79001234567"}}, ""},
		{"ArraySameNamesIsList", `<xml><l array='true'><tag>a</tag><tag>b</tag></l></xml>`, map[string]any{"l": []any{"a", "b"}}, ""},
		{"ArrayItemAmongOthersIsList", `<xml><l array='true'><a>1</a><item>2</item></l></xml>`, map[string]any{"l": []any{"1", "2"}}, ""},
		{"ArrayNameRepeatedLaterIsList", `<xml><l array='true'><a>1</a><b>2</b><a>3</a></l></xml>`, map[string]any{"l": []any{"1", "2", "3"}}, ""},
		{"ArrayFalseIsObject", `<xml><l array='false'><a>1</a></l></xml>`, map[string]any{"l": map[string]any{"a": "1"}}, ""},
		{"Entities", `<xml><a>&lt;b&gt; &amp; &#1046;</a></xml>`, map[string]any{"a": "<b> & Ж"}, ""},
		{"CDATA", `<xml><a><![CDATA[<x>]]></a></xml>`, map[string]any{"a": "<x>"}, ""},
		{"Prolog", "<?xml version=\"1.0\"?>\n<!-- c -->\n<xml></xml>\n", map[string]any{}, ""},
		{"Mixed", `<xml><a>t<b/></a></xml>`, nil, "text mixed with elements inside <a>"},
		{"TextInArray", `<xml><l array='true'>t</l></xml>`, nil, "text inside array <l>"},
		{"RootText", `<xml>hello</xml>`, nil, "must hold elements"},
		{"Empty", ``, nil, "no <xml> root element"},
		{"TextFirst", `x<xml/>`, nil, "text before the <xml> root"},
		{"Mismatch", `<xml><a></b></xml>`, nil, "element <a> closed by </b>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeXML([]byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("decodeXML(%q) error = %v, want %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("decodeXML(%q) = %#v, %v, want %#v", tt.in, got, err, tt.want)
			}
		})
	}
}

func FuzzDecodeXML(f *testing.F) {
	for _, s := range []string{
		`<xml><a>1</a></xml>`,
		`<xml><l array='true'><item><a>1</a></item><item/></l></xml>`,
		`<xml><s array='true'><resource_id>1</resource_id><channel>email</channel></s></xml>`,
		`<xml><a><b><c>x</c></b></a></xml>`,
		`<?xml version="1.0"?><xml/>`,
		`<xml><a>&amp;</a>`,
		`<x/>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := decodeXML(in)
		if err == nil && m == nil {
			t.Fatalf("decodeXML(%q) = nil map without an error", in)
		}
		if err == nil {
			if depth(m) > maxXMLDepth+1 {
				t.Fatalf("decodeXML(%q) nested deeper than the limit", in)
			}
		}
	})
}

func depth(v any) int {
	d := 0
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			d = max(d, depth(e))
		}
		return d + 1
	case []any:
		for _, e := range x {
			d = max(d, depth(e))
		}
		return d + 1
	}
	return 0
}

// FuzzIsJSONNumber checks the hand-written number syntax against encoding/json.
func FuzzIsJSONNumber(f *testing.F) {
	for _, s := range []string{"0", "-1", "1.5e10", "01", "1.", ".5", "0x10", "NaN", "Inf", "1e", "-", "12345678901234567890", " 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var n json.Number
		want := json.Unmarshal([]byte(s), &n) == nil && len(s) > 0 && s[0] != '"' && s[0] != ' ' && s[len(s)-1] != ' ' &&
			strings.TrimSpace(s) == s && !strings.ContainsAny(s, "\t\r\n")
		if got := isJSONNumber(s); got != want {
			t.Errorf("isJSONNumber(%q) = %v, encoding/json says %v", s, got, want)
		}
	})
}

func TestNewIDStableAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for seq := uint64(1); seq <= 100000; seq++ {
		id := newID(seq)
		if !validProfileID(id) || strings.ToLower(id) != id {
			t.Fatalf("newID(%d) = %q, want 24 lower-case hex digits", seq, id)
		}
		if seen[id] {
			t.Fatalf("newID(%d) = %q repeats", seq, id)
		}
		seen[id] = true
	}
	if a, b := newID(7), newID(7); a != b || a != "63cbe1e459320dd700000007" {
		t.Errorf("newID(7) = %s then %s, want 63cbe1e459320dd700000007 both times: ids must be stable", a, b)
	}
}

func TestValidators(t *testing.T) {
	tests := []struct {
		name string
		fn   func(string) bool
		in   string
		want bool
	}{
		{"phone ok", validPhone, "+79001234567", true},
		{"phone 7 digits", validPhone, "+1234567", true},
		{"phone 15 digits", validPhone, "+123456789012345", true},
		{"phone 16 digits", validPhone, "+1234567890123456", false},
		{"phone no plus", validPhone, "79001234567", false},
		{"phone spaces", validPhone, "+7 900 123 45 67", false},
		{"email ok", validEmail, "a.b+c@mail.example.com", true},
		{"email idn", validEmail, "иван@пример.рф", true},
		{"email two at", validEmail, "a@b@example.com", false},
		{"email empty label", validEmail, "a@example..com", false},
		{"email trailing dot", validEmail, "a@example.com.", false},
		{"email space", validEmail, "a b@example.com", false},
		{"email display name", validEmail, "A <a@example.com>", false},
		{"date", validDate, "2024-02-29", true},
		{"date bad day", validDate, "2023-02-29", false},
		{"date rfc3339", validDate, "2024-04-08T10:48:05.418Z", true},
		{"date no seconds", validDate, "2001-12-31T00:00+03:00", true},
		{"date russian", validDate, "22.02.1990", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.fn(tt.in); got != tt.want {
				t.Errorf("%s(%q) = %v, want %v", tt.name, tt.in, got, tt.want)
			}
		})
	}
}

func TestAddNumbers(t *testing.T) {
	tests := []struct{ a, b, want json.Number }{
		{"1", "2", "3"},
		{"9007199254740993", "1", "9007199254740994"},
		{"9223372036854775807", "1", "9223372036854775808"},
		{"1.5", "0.25", "1.75"},
		{"-3", "1", "-2"},
		{"1e308", "1e308", "1.7976931348623157e+308"},
		{"123456789012345678901234567890", "-1", "123456789012345678901234567889"},
	}
	for _, tt := range tests {
		if got := addNumbers(tt.a, tt.b); got != tt.want {
			t.Errorf("addNumbers(%s, %s) = %s, want %s", tt.a, tt.b, got, tt.want)
		}
	}
}
