package results

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"importer/internal/golden"
)

// runSummary is a run with three error kinds, added out of row order as
// concurrent workers finish them.
func runSummary() *Summary {
	s := NewSummary()
	for row := int64(1000); row >= 1; row-- {
		r := Row{Row: row, Status: StatusOK}
		kind, col := "", ""
		switch {
		case row%31 == 0:
			r.Status, kind, col = StatusInvalid, "invalid phone", "Phone"
		case row%97 == 0:
			r.Status, r.ErrorCode, r.Error = StatusFailed, "404", "Profile not found"
		case row == 500:
			r.Status, r.ErrorCode, r.Error = StatusUnknown, "timeout", "no reply\nafter 30s"
		case row == 7 || row == 3:
			r.Status, kind, col = StatusInvalid, "invalid date", "Birthday"
		}
		s.Add(&r, kind, col)
	}
	s.Requests, s.Retries = 972, 12
	s.Duration = 12300 * time.Millisecond
	return s
}

func TestSummaryGroups(t *testing.T) {
	s := runSummary()
	want := []Group{
		{Error: "invalid phone", Column: "Phone", Count: 32, Rows: []int64{31, 62, 93, 124, 155, 186, 217, 248, 279, 310}},
		{Error: "404 Profile not found", Count: 10, Rows: []int64{97, 194, 291, 388, 485, 582, 679, 776, 873, 970}},
		{Error: "invalid date", Column: "Birthday", Count: 2, Rows: []int64{3, 7}},
		{Error: "timeout no reply\nafter 30s", Count: 1, Rows: []int64{500}},
	}
	if diff := cmp.Diff(want, s.Groups()); diff != "" {
		t.Errorf("Groups() differ (-want +got):\n%s", diff)
	}
	if s.Rows != 1000 || s.OK != 1000-32-10-2-1 || s.Invalid != 34 || s.Failed != 10 || s.Unknown != 1 {
		t.Errorf("counts = rows %d ok %d invalid %d failed %d unknown %d", s.Rows, s.OK, s.Invalid, s.Failed, s.Unknown)
	}
}

func TestSummaryOrderTies(t *testing.T) {
	s := NewSummary()
	// Equal counts: the group whose first row comes first in the file leads.
	s.Add(&Row{Row: 9, Status: StatusFailed}, "b", "")
	s.Add(&Row{Row: 5, Status: StatusFailed}, "a", "X")
	s.Add(&Row{Row: 2, Status: StatusFailed}, "b", "")
	s.Add(&Row{Row: 8, Status: StatusFailed}, "a", "X")
	s.Add(&Row{Row: 8, Status: StatusFailed}, "a", "Y")
	var got []string
	for _, g := range s.Groups() {
		got = append(got, fmt.Sprintf("%s/%s %d %v", g.Error, g.Column, g.Count, g.Rows))
	}
	want := []string{"b/ 2 [2 9]", "a/X 2 [5 8]", "a/Y 1 [8]"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Groups() order (-want +got):\n%s", diff)
	}
}

func TestSummaryGroupCap(t *testing.T) {
	s := NewSummary()
	for row := int64(1); row <= SummaryMaxGroups+50; row++ {
		s.Add(&Row{Row: row, Status: StatusFailed, ErrorCode: "400", Error: fmt.Sprintf("bad value %d", row)}, "", "")
	}
	groups := s.Groups()
	if len(groups) != SummaryMaxGroups+1 {
		t.Fatalf("%d groups, want %d plus one for the rest", len(groups), SummaryMaxGroups)
	}
	if g := groups[0]; g.Error != SummaryOtherGroup || g.Count != 50 || g.Rows[0] != SummaryMaxGroups+1 {
		t.Errorf("first group = %+v, want %q with 50 rows from %d", g, SummaryOtherGroup, SummaryMaxGroups+1)
	}
}

func TestSummaryOutput(t *testing.T) {
	empty := NewSummary()
	validate := NewSummary()
	validate.Validate = true
	validate.Duration = 800 * time.Millisecond
	for row := int64(1); row <= 5; row++ {
		r := Row{Row: row, Status: StatusValid}
		if row == 4 {
			r.Status, r.Error = StatusInvalid, `column "Email": value "x@" is not an e-mail address`
		}
		validate.Add(&r, "", "")
	}
	resumed := runSummary()
	resumed.Skipped, resumed.NotSent = 4000, 17
	resumed.Duration = 2*time.Hour + 3*time.Minute + 4*time.Second + 600*time.Millisecond
	inferred := NewSummary() // Validate unset: valid rows and no requests say it
	inferred.Add(&Row{Row: 1, Status: StatusValid}, "", "")
	inferred.Add(&Row{Row: 2, Status: StatusInvalid}, "invalid date", "Birthday")
	one := NewSummary()
	one.Add(&Row{Row: 42, Status: StatusFailed, ErrorCode: "429"}, "", "")
	one.Requests, one.Retries = 5, 4
	one.Duration = 3 * time.Second

	tests := []struct {
		name string
		s    *Summary
	}{
		{"run", runSummary()},
		{"empty", empty},
		{"validate", validate},
		{"resumed", resumed},
		{"one", one},
		{"validate_inferred", inferred},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var text, js bytes.Buffer
			if err := tt.s.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, "testdata/"+"summary_"+tt.name+".golden.txt", text.Bytes())
			if err := tt.s.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, "testdata/"+"summary_"+tt.name+".golden.json", js.Bytes())
			var back map[string]any
			if err := json.Unmarshal(js.Bytes(), &back); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"rows", "ok", "failed", "invalid", "unknown", "valid", "skipped", "not_sent",
				"requests", "retries", "duration_seconds", "rows_per_second", "error_groups"} {
				if _, ok := back[k]; !ok {
					t.Errorf("summary JSON lacks %q", k)
				}
			}
			if back["error_groups"] == nil {
				t.Error("error_groups is null, want a list")
			}
		})
	}
}
