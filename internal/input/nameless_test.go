package input

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNamelessColumns: a header cell left empty (Excel's trailing delimiter,
// or a gap in the middle) names no column. The column is ignored: Header and
// Fields leave it out, the file says so once, and a row that holds a value
// there is a row error naming its position and the value.
func TestNamelessColumns(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		wantHeader  []string
		wantIgnored []int
		wantWarning string
		want        []view
	}{
		{
			name:        "ExcelTrailingDelimiter",
			in:          "Имя;Email;\r\nИван;i@example.ru;\r\nПётр;p@example.ru;\r\n",
			wantHeader:  []string{"Имя", "Email"},
			wantIgnored: []int{3},
			wantWarning: "column 3 of the header (line 1) has no name: ignored (a row with a value there is an error)",
			want:        []view{ok(1, 2, "Иван", "i@example.ru"), ok(2, 3, "Пётр", "p@example.ru")},
		},
		{
			name:        "ValueInTrailingNamelessColumn",
			in:          "a;b;\n1;2;\n3;4;x\n5;6; \n",
			wantHeader:  []string{"a", "b"},
			wantIgnored: []int{3},
			wantWarning: "column 3 of the header (line 1) has no name: ignored (a row with a value there is an error)",
			want:        []view{ok(1, 2, "1", "2"), bad(2, 3, ErrNamelessValue, 3, 3, "", "3", "4"), ok(3, 4, "5", "6")},
		},
		{
			name:        "MiddleAndTrailing",
			in:          "a,,b, ,\n1,,2,,\n1,z,2,,\n",
			wantHeader:  []string{"a", "b"},
			wantIgnored: []int{2, 4, 5},
			wantWarning: "columns 2, 4, 5 of the header (line 1) have no name: ignored (a row with a value there is an error)",
			want:        []view{ok(1, 2, "1", "2"), bad(2, 3, ErrNamelessValue, 3, 2, "", "1", "2")},
		},
		{
			name:        "RowWithoutTheTrailingDelimiter",
			in:          "a;b;;\n1;2\n1;2;\n1;2;;\n",
			wantHeader:  []string{"a", "b"},
			wantIgnored: []int{3, 4},
			wantWarning: "columns 3, 4 of the header (line 1) have no name: ignored (a row with a value there is an error)",
			want:        []view{ok(1, 2, "1", "2"), ok(2, 3, "1", "2"), ok(3, 4, "1", "2")},
		},
		{
			name:        "WrongFieldCountsStillRowErrors",
			in:          "a;b;\n1\n1;2;;\n",
			wantHeader:  []string{"a", "b"},
			wantIgnored: []int{3},
			wantWarning: "column 3 of the header (line 1) has no name: ignored (a row with a value there is an error)",
			want: []view{
				bad(1, 2, ErrFieldCount, 2, 2, "b", "1"),
				bad(2, 3, ErrFieldCount, 3, 4, "", "1", "2", ""),
			},
		},
		{
			name:       "QuotedNamesAreNamed",
			in:         "\"a\";\"\";\"b\"\n1;;2\n",
			wantHeader: []string{"a", "b"}, wantIgnored: []int{2},
			wantWarning: "column 2 of the header (line 1) has no name: ignored (a row with a value there is an error)",
			want:        []view{ok(1, 2, "1", "2")},
		},
		{
			name:       "NoneNameless",
			in:         "a;b\n1;2\n",
			wantHeader: []string{"a", "b"},
			want:       []view{ok(1, 2, "1", "2")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, recs := openAll(t, writeTemp(t, "export.csv", []byte(tt.in)), Options{})
			if diff := cmp.Diff(tt.wantHeader, f.Header()); diff != "" {
				t.Errorf("Header() (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantIgnored, f.Ignored()); diff != "" {
				t.Errorf("Ignored() (-want +got):\n%s", diff)
			}
			var want []string
			if tt.wantWarning != "" {
				want = []string{tt.wantWarning}
			}
			if diff := cmp.Diff(want, f.Warnings()); diff != "" {
				t.Errorf("Warnings() (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, views(recs)); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNamelessRejectsReadBack: a rejected row's Fields line up with Header,
// so a rejects file made of Header and Fields (as the importer writes it)
// reads back under the same options with the row's cells where they were.
func TestNamelessRejectsReadBack(t *testing.T) {
	f, recs := readAll(t, "in.csv", []byte("a;;b;\n1;x;2;\n3;;4;\n"), Options{})
	// What a rejects file holds: the header, and the cells of the bad row.
	var rejects []byte
	rejects = append(rejects, "a;b\n"...)
	rejects = append(rejects, recs[0].Fields[0]+";"+recs[0].Fields[1]+"\n"...)
	if recs[0].Err == nil || recs[0].Err.Kind() != ErrNamelessValue {
		t.Fatalf("record 1: Err = %v, want ErrNamelessValue", recs[0].Err)
	}
	g, again := readAll(t, "in.rejects.csv", rejects, Options{})
	if diff := cmp.Diff(f.Header(), g.Header()); diff != "" {
		t.Errorf("header read back (-first +again):\n%s", diff)
	}
	if len(again) != 1 || again[0].Err != nil || cmp.Diff(recs[0].Fields, again[0].Fields) != "" {
		t.Errorf("rejected row read back as %+v, want %q", views(again), recs[0].Fields)
	}
}
