package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"importer/internal/mapping"
)

// TestCheckColumns: `importer check` refuses a config that reads a column
// the file does not have, CSV header or JSONL paths alike, naming the
// column, the config paths that read it and the closest column seen.
func TestCheckColumns(t *testing.T) {
	const jsonl = `{"profile":{"email":"a@x.com","name":{"first":"Anna","last":null}},"phones":["+79161234567"]}
{"profile":{"email":"b@x.com","name":{"first":"Boris"}}}
not json
{"profile":{"email":"c@x.com"},"phones":[]}
`
	// 1,500 objects; the key "late" only in the last one, past the sample.
	var long strings.Builder
	for i := range 1500 {
		late := ""
		if i == 1499 {
			late = `,"late":"x"`
		}
		fmt.Fprintf(&long, `{"email":"p%d@x.com"%s}`+"\n", i, late)
	}
	tests := []struct {
		name, file, data, fields string
		want                     []string // in the output or the error
		missing                  bool     // the error is a *mapping.HeaderError
	}{
		{name: "JSONLTypo", file: "in.jsonl", data: jsonl,
			fields:  "  email: profile.email\n  _fname: profile.name.frist\n  _lname: profile.name.last\n",
			want:    []string{`column "profile.name.frist" (fields._fname) is in none of the first 3 objects; closest: "profile.name.first"`},
			missing: true},
		{name: "JSONLAllPresent", file: "in.jsonl", data: jsonl,
			fields: "  email: profile.email\n  _fname: profile.name.first\n  _lname: profile.name.last\n  phones: phones\n",
			want: []string{"mapped columns all present: 4 (paths seen in the first 3 objects)",
				`row 1 (line 1), key "a@x.com"`, `"_fname": "Anna"`, `row 2 (line 2), key "b@x.com"`, "row 3 (line 3): invalid: line 3:"}},
		{name: "JSONLOnlyTheFirst1000Lines", file: "long.jsonl", data: long.String(),
			fields:  "  email: email\n  late: late\n",
			want:    []string{`column "late" (fields.late) is in none of the first 1000 objects; closest: "email"`},
			missing: true},
		{name: "CSVHeader", file: "in.csv", data: "Email,Name\na@x.com,Anna\n",
			fields:  "  email: Emial\n  _fname: Name\n",
			want:    []string{`column "Emial" (fields.email) is not in the file's header; closest: "Email"`},
			missing: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeFile(t, dir, "c.yaml", "request: {db_id: 1}\nfields:\n"+tt.fields)
			in := writeFile(t, dir, tt.file, tt.data)
			var out bytes.Buffer
			err := Check(context.Background(), Options{Config: cfg, Input: in}, &out)
			var he *mapping.HeaderError
			if errors.As(err, &he) != tt.missing {
				t.Fatalf("Check error = %v; want a HeaderError: %v\n%s", err, tt.missing, out.String())
			}
			if !tt.missing && err != nil {
				t.Fatalf("Check: %v\n%s", err, out.String())
			}
			text := out.String() + fmt.Sprint(err)
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("check says:\n%s\nwant it to say %q", text, w)
				}
			}
			if tt.missing && strings.Contains(out.String(), "all present") {
				t.Errorf("check says the columns are all present:\n%s", out.String())
			}
		})
	}
}
