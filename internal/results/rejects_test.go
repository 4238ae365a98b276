package results

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"importer/internal/golden"
)

type rejectIn struct {
	fields []string
	msg    string
}

func TestRejectsCSV(t *testing.T) {
	header := []string{"Email", "Phone", "Имя"}
	rows := []rejectIn{
		{[]string{"ivan@example.com", "8 (916) 12", "Иван"}, `column "Phone": value "8 (916) 12" is not a phone number`},
		{[]string{"short@example.com"}, "row has 1 field, want 3"},                                     // padded
		{[]string{"long@example.com", "1", "2", "extra", "more"}, "row has 5 fields, want 3"},          // extras kept
		{[]string{"a;b,c", "line1\nline2", `he said "hi"`}, "API error 404: Profile not found; \"x\""}, // quoting
		{[]string{"=SUM(A1:A2)", "+79161234567", "-5"}, "=formula in the error"},                       // formulas
		{[]string{"@cmd", "\tTabbed", "\rCR"}, "ok"},
		{[]string{"", " lead", "Ёлка"}, "API error 400: invalid data"},
	}
	tests := []struct {
		name       string
		header     []string
		delim      rune
		neutralise bool
		golden     string
		want       [][]string // records read back, BOM stripped
	}{
		{
			name: "CommaKeepData", header: header, delim: 0, golden: "rejects_comma.golden.csv",
			want: [][]string{
				{"Email", "Phone", "Имя", "_error"},
				{"ivan@example.com", "8 (916) 12", "Иван", rows[0].msg},
				{"short@example.com", "", "", rows[1].msg},
				{"long@example.com", "1", "2", "extra", "more", rows[2].msg},
				{"a;b,c", "line1\nline2", `he said "hi"`, rows[3].msg},
				{"=SUM(A1:A2)", "+79161234567", "-5", rows[4].msg},
				{"@cmd", "\tTabbed", "\rCR", "ok"},
				{"", " lead", "Ёлка", rows[6].msg},
			},
		},
		{
			name: "SemicolonNeutralise", header: header, delim: ';', neutralise: true, golden: "rejects_semicolon_neutralise.golden.csv",
			want: [][]string{
				{"Email", "Phone", "Имя", "_error"},
				{"ivan@example.com", "8 (916) 12", "Иван", rows[0].msg},
				{"short@example.com", "", "", rows[1].msg},
				{"long@example.com", "1", "2", "extra", "more", rows[2].msg},
				{"a;b,c", "line1\nline2", `he said "hi"`, rows[3].msg},
				{"'=SUM(A1:A2)", "'+79161234567", "'-5", "'=formula in the error"},
				{"'@cmd", "'\tTabbed", "'\rCR", "ok"},
				{"", " lead", "Ёлка", rows[6].msg},
			},
		},
		{
			name: "TabReimportedRejects", header: []string{"Email", "_error", "Phone"}, delim: '\t', golden: "rejects_tab_reimport.golden.csv",
			want: [][]string{
				{"Email", "_error", "Phone"}, // the old _error column is reused, not doubled
				{"ivan@example.com", rows[0].msg, "Иван"},
				{"short@example.com", rows[1].msg, ""},
				{"long@example.com", rows[2].msg, "2", "extra", "more"},
				{"a;b,c", rows[3].msg, `he said "hi"`},
				{"=SUM(A1:A2)", rows[4].msg, "-5"},
				{"@cmd", "ok", "\rCR"},
				{"", rows[6].msg, "Ёлка"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "rejects.csv")
			r, err := NewRejects(path, tt.header, tt.delim, tt.neutralise)
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range rows {
				if err := r.Write(in.fields, []byte("ignored for CSV"), in.msg); err != nil {
					t.Fatal(err)
				}
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			data := mustReadFile(t, path)
			golden.Check(t, "testdata/"+tt.golden, data)

			body, ok := bytes.CutPrefix(data, []byte(utf8BOM))
			if !ok {
				t.Fatalf("the file does not start with a UTF-8 BOM: %q", data[:min(len(data), 8)])
			}
			cr := csv.NewReader(bytes.NewReader(body))
			cr.Comma = ','
			if tt.delim != 0 {
				cr.Comma = tt.delim
			}
			cr.FieldsPerRecord = -1
			got, err := cr.ReadAll()
			if err != nil {
				t.Fatalf("reading the rejects file back: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("records read back differ (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRejectsCSVErrors(t *testing.T) {
	t.Run("BadDelimiter", func(t *testing.T) {
		for _, d := range []rune{'"', '\n', '\r', 0xFFFD, -1} {
			_, err := NewRejects(filepath.Join(t.TempDir(), "r.csv"), []string{"a"}, d, false)
			if err == nil || !strings.Contains(err.Error(), "delimiter") {
				t.Errorf("NewRejects(delim %q) = %v, want a delimiter error", d, err)
			}
		}
	})
	t.Run("DiskFull", func(t *testing.T) {
		if _, err := os.Stat("/dev/full"); err != nil {
			t.Skip("no /dev/full here")
		}
		r, err := NewRejects("/dev/full", []string{"a"}, ',', false)
		if err != nil {
			t.Fatal(err) // the header is still buffered
		}
		r.Write([]string{"x"}, nil, "m")
		err = r.Close()
		if err == nil || !strings.Contains(err.Error(), "write rejects /dev/full") {
			t.Errorf("Close() = %v, want the write error naming the file", err)
		}
		if err2 := r.Close(); err2 != err {
			t.Errorf("second Close() = %v, want the same %v", err2, err)
		}
		if err := r.Write([]string{"x"}, nil, "m"); err == nil {
			t.Error("Write after a failed Close = nil, want an error")
		}
	})
	t.Run("WriteAfterClose", func(t *testing.T) {
		r, err := NewJSONLRejects(filepath.Join(t.TempDir(), "r.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if err := r.Write(nil, []byte(`{}`), "m"); !errors.Is(err, os.ErrClosed) {
			t.Errorf("Write after Close = %v, want os.ErrClosed", err)
		}
	})
}

func TestRejectsJSONL(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		msg  string
		want map[string]any // the line decoded
	}{
		{"Object", `{"email":"ivan@example.com","n":1}`, "invalid phone",
			map[string]any{"email": "ivan@example.com", "n": 1.0, "_error": "invalid phone"}},
		{"Nested", `{"contact":{"email":"x"},"phones":["1","2"]}` + "\n", `API error 404: "Profile not found"`,
			map[string]any{"contact": map[string]any{"email": "x"}, "phones": []any{"1", "2"}, "_error": `API error 404: "Profile not found"`}},
		{"Empty", `{}`, "empty row", map[string]any{"_error": "empty row"}},
		{"EmptyWithSpace", " { } \r\n", "empty row", map[string]any{"_error": "empty row"}},
		{"SpaceBeforeBrace", `{"a":1 }`, "m", map[string]any{"a": 1.0, "_error": "m"}},
		{"MultiLineObject", "{\n  \"a\": \"x y\",\n  \"b\": 2\n}", "m", map[string]any{"a": "x y", "b": 2.0, "_error": "m"}},
		{"ReplacesOldError", `{"a":1,"_error":"old reason","b":2}`, "new reason",
			map[string]any{"a": 1.0, "b": 2.0, "_error": "new reason"}},
		{"ReplacesEscapedKey", `{"\u005ferror":{"old":true},"b":2}`, "new reason",
			map[string]any{"b": 2.0, "_error": "new reason"}},
		{"NestedErrorKept", `{"x":{"_error":"inner"}}`, "outer",
			map[string]any{"x": map[string]any{"_error": "inner"}, "_error": "outer"}},
		{"Array", `[1,2]`, "not an object", map[string]any{"_raw": "[1,2]", "_error": "not an object"}},
		{"Broken", `{"email":"ivan@`, "unexpected end of JSON", map[string]any{"_raw": `{"email":"ivan@`, "_error": "unexpected end of JSON"}},
		{"InvalidUTF8", "\xff\xfe{\"a\"", "bad bytes", map[string]any{"_raw": "\ufffd\ufffd{\"a\"", "_error": "bad bytes"}},
		{"EmptyRaw", "", "no line", map[string]any{"_raw": "", "_error": "no line"}},
		{"Cyrillic", `{"имя":"Иван"}`, "телефон: неверный номер", map[string]any{"имя": "Иван", "_error": "телефон: неверный номер"}},
	}
	path := filepath.Join(t.TempDir(), "rejects.jsonl")
	r, err := NewJSONLRejects(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		if err := r.Write([]string{"ignored for JSONL"}, []byte(tt.raw), tt.msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	data := mustReadFile(t, path)
	golden.Check(t, "testdata/"+"rejects.golden.jsonl", data)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != len(tests) {
		t.Fatalf("the file has %d lines, want %d:\n%s", len(lines), len(tests), data)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got map[string]any
			if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
				t.Fatalf("line %d is not JSON: %v\n%s", i+1, err, lines[i])
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("line %d differs (-want +got):\n%s", i+1, diff)
			}
			if keys := topKeys(t, []byte(lines[i])); countOf(keys, "_error") != 1 {
				t.Errorf("line %d has top-level keys %q, want _error exactly once", i+1, keys)
			}
		})
	}
}

// topKeys lists the top-level member names of a JSON object, repeats included
// (json.Unmarshal would hide a repeat).
func topKeys(t *testing.T, obj []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", obj)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func countOf(list []string, s string) (n int) {
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}
