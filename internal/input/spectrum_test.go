package input

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCSVSpectrum runs the csv-spectrum suite (testdata/csv-spectrum): every
// record of every case must come out as its JSON says, apart from the
// phone number of location_coordinates (see the README there).
func TestCSVSpectrum(t *testing.T) {
	csvs, err := filepath.Glob("testdata/csv-spectrum/csvs/*.csv")
	if err != nil || len(csvs) != 12 {
		t.Fatalf("csv-spectrum cases: %v, %v (want 12)", csvs, err)
	}
	for _, path := range csvs {
		name := strings.TrimSuffix(filepath.Base(path), ".csv")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want := spectrumWant(t, filepath.Join("testdata/csv-spectrum/json", name+".json"))
			f, recs := readAll(t, filepath.Base(path), data, Options{})
			if len(recs) != len(want) {
				t.Fatalf("read %d records, want %d", len(recs), len(want))
			}
			for i, rec := range recs {
				got := make(map[string]string, len(f.Header()))
				for j, col := range f.Header() {
					if j < len(rec.Fields) {
						got[col] = rec.Fields[j]
					}
				}
				w := want[i]
				if name == "location_coordinates" {
					// Upstream's JSON has another phone number than its CSV.
					w["Contact Phone Number"] = "2095257564"
				}
				if rec.Err != nil {
					t.Errorf("record %d: %v", i+1, rec.Err)
				}
				if diff := cmp.Diff(w, got); diff != "" {
					t.Errorf("record %d (-want +got):\n%s", i+1, diff)
				}
			}
		})
	}
}

// TestCSVSpectrumBareQuotes: the bare quotes of location_coordinates
// (37°36'37.8"N) read as encoding/csv with LazyQuotes reads them, cells
// exactly as in the file; strict mode keeps the same cells but makes the
// record a row error.
func TestCSVSpectrumBareQuotes(t *testing.T) {
	data, err := os.ReadFile("testdata/csv-spectrum/csvs/location_coordinates.csv")
	if err != nil {
		t.Fatal(err)
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.LazyQuotes = true
	lazy, err := cr.ReadAll()
	if err != nil || len(lazy) != 2 {
		t.Fatalf("encoding/csv with LazyQuotes: %d records, %v", len(lazy), err)
	}
	for _, tc := range []struct {
		name    string
		opts    Options
		wantErr error
	}{
		{"Lazy", Options{}, nil},
		{"Strict", Options{StrictQuotes: true}, ErrBareQuote},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, recs := readAll(t, "location_coordinates.csv", data, tc.opts)
			if diff := cmp.Diff(lazy[0], f.Header()); diff != "" {
				t.Errorf("header (-encoding/csv +got):\n%s", diff)
			}
			if len(recs) != 1 {
				t.Fatalf("read %d records, want 1", len(recs))
			}
			if diff := cmp.Diff(lazy[1], recs[0].Fields); diff != "" {
				t.Errorf("fields (-encoding/csv +got):\n%s", diff)
			}
			var kind error
			if recs[0].Err != nil {
				kind = recs[0].Err.Kind()
			}
			if kind != tc.wantErr || (kind != nil && recs[0].Err.Column != 2) {
				t.Errorf("Err = %v, want %v in column 2", recs[0].Err, tc.wantErr)
			}
		})
	}
}

// spectrumWant reads a case's expected records: a JSON array of objects, or
// (location_coordinates) a single object.
func spectrumWant(t *testing.T, path string) []map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want []map[string]string
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		var one map[string]string
		err = json.Unmarshal(data, &one)
		want = append(want, one)
	} else {
		err = json.Unmarshal(data, &want)
	}
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return want
}
