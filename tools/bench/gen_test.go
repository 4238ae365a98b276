package bench

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

func generate(t *testing.T, opt GenOptions) ([]byte, GenStats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := Generate(&buf, opt)
	if err != nil {
		t.Fatalf("Generate(%+v): %v", opt, err)
	}
	if st.Bytes != int64(buf.Len()) {
		t.Fatalf("stats say %d bytes, wrote %d", st.Bytes, buf.Len())
	}
	return buf.Bytes(), st
}

func TestGenerateDeterministic(t *testing.T) {
	tests := []struct {
		name string
		opt  GenOptions
	}{
		{"CSV", GenOptions{Format: CSV, Rows: 3000, Seed: 1}},
		{"JSONL", GenOptions{Format: JSONL, Rows: 3000, Seed: 1}},
		{"CSVBySize", GenOptions{Format: CSV, MinBytes: 200_000, Seed: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, sa := generate(t, tt.opt)
			b, sb := generate(t, tt.opt)
			if !bytes.Equal(a, b) || sa != sb {
				t.Fatalf("two runs with %+v differ", tt.opt)
			}
			other := tt.opt
			other.Seed++
			if c, _ := generate(t, other); bytes.Equal(a, c) {
				t.Errorf("seed %d and %d gave the same bytes", tt.opt.Seed, other.Seed)
			}
		})
	}
}

// TestGeneratePrefix: a smaller file is the start of a larger one with the
// same seed, so the scenarios' files of different sizes hold the same rows.
func TestGeneratePrefix(t *testing.T) {
	small, _ := generate(t, GenOptions{Format: CSV, Rows: 100, Seed: 3})
	large, _ := generate(t, GenOptions{Format: CSV, Rows: 1000, Seed: 3})
	if !bytes.HasPrefix(large, small) {
		t.Error("the 100-row file is not the start of the 1000-row file")
	}
}

func TestGenerateCSV(t *testing.T) {
	const rows = 5000
	data, st := generate(t, GenOptions{Format: CSV, Rows: rows, Seed: 1})
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = len(Columns)
	header, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(header, Columns) {
		t.Fatalf("header = %q, want %q", header, Columns)
	}
	var records [][]string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("record %d: %v", len(records)+1, err)
		}
		records = append(records, rec)
	}
	if len(records) != rows || st.Rows != rows {
		t.Fatalf("read %d records, stats say %d, want %d", len(records), st.Rows, rows)
	}
	checkRealistic(t, records, st)
	if !bytes.Contains(data, []byte("\r\n")) {
		t.Error("no CRLF line ends: Excel writes them")
	}
}

func TestGenerateJSONL(t *testing.T) {
	const rows = 5000
	data, st := generate(t, GenOptions{Format: JSONL, Rows: rows, Seed: 1})
	var records [][]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			t.Fatalf("line %d: %v: %s", len(records)+1, err, sc.Bytes())
		}
		rec := make([]string, len(Columns))
		for k, v := range obj {
			i := slices.Index(Columns, k)
			if i < 0 {
				t.Fatalf("line %d: unknown key %q", len(records)+1, k)
			}
			switch v := v.(type) {
			case json.Number:
				if k != "crm_id" {
					t.Fatalf("line %d: %s is a number", len(records)+1, k)
				}
				rec[i] = v.String()
			case string:
				if v == "" {
					t.Errorf("line %d: %s is an empty string; empty cells are left out", len(records)+1, k)
				}
				rec[i] = v
			default:
				t.Fatalf("line %d: %s is %T", len(records)+1, k, v)
			}
		}
		if rec[0] == "" {
			t.Fatalf("line %d: no crm_id", len(records)+1)
		}
		records = append(records, rec)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(records) != rows {
		t.Fatalf("read %d lines, want %d", len(records), rows)
	}
	checkRealistic(t, records, st)
}

// checkRealistic checks what makes the rows a fair test of an importer:
// the mix the generator promises, and the counts its stats report.
func checkRealistic(t *testing.T, records [][]string, st GenStats) {
	t.Helper()
	var cyrillic, latin, multiline, commas, quotes, dups, bad int64
	seen := map[string]bool{}
	shapes := map[string]bool{}
	digitRun := regexp.MustCompile(`[0-9]+`)
	date := regexp.MustCompile(`^[0-3][0-9]\.[01][0-9]\.(19[5-9][0-9]|200[0-5])$`)
	for i, rec := range records {
		if strings.IndexFunc(rec[1], func(r rune) bool { return unicode.Is(unicode.Cyrillic, r) }) >= 0 {
			cyrillic++
		} else {
			latin++
		}
		if strings.Contains(rec[9], "\n") {
			multiline++
		}
		for _, f := range rec {
			if strings.Contains(f, ",") {
				commas++
				break
			}
		}
		if strings.Contains(rec[9], `"`) {
			quotes++
		}
		email := strings.ToLower(rec[3])
		if seen[email] {
			dups++
		}
		seen[email] = true
		if !strings.Contains(email, "@") {
			t.Errorf("row %d: e-mail %q", i+1, rec[3])
		}
		shapes[digitRun.ReplaceAllString(rec[4], "9")] = true
		if digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, rec[4]); len(digits) < 10 {
			bad++
		}
		if rec[5] != "" && !date.MatchString(rec[5]) {
			t.Errorf("row %d: birthday %q is not DD.MM.YYYY", i+1, rec[5])
		}
	}
	n := int64(len(records))
	tests := []struct {
		name    string
		got     int64
		atLeast int64
	}{
		{"Cyrillic names", cyrillic, n / 2},
		{"Latin names", latin, n / 20},
		{"multi-line comments", multiline, n / 100},
		{"cells with commas", commas, n / 100},
		{"comments with quotes", quotes, n / 100},
		{"duplicate e-mails", dups, n / 100},
		{"phones too short", bad, n / 1000},
	}
	for _, tt := range tests {
		if tt.got < tt.atLeast {
			t.Errorf("%s: %d of %d rows, want at least %d", tt.name, tt.got, n, tt.atLeast)
		}
	}
	if len(shapes) < 8 {
		t.Errorf("phones come in %d shapes, want at least 8: %v", len(shapes), shapes)
	}
	if dups != st.Duplicates || multiline != st.Multiline || bad != st.BadPhones {
		t.Errorf("counted %d duplicates, %d multi-line, %d bad phones; stats say %d, %d, %d",
			dups, multiline, bad, st.Duplicates, st.Multiline, st.BadPhones)
	}
}

func TestGenerateMinBytes(t *testing.T) {
	const want = 300_000
	data, st := generate(t, GenOptions{Format: CSV, MinBytes: want, Rows: 5, Seed: 1})
	if len(data) < want || len(data) > want+1024 {
		t.Fatalf("%d bytes, want at least %d and at most one row more", len(data), want)
	}
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(recs)-1) != st.Rows || st.Rows < 1000 {
		t.Errorf("%d records, stats say %d rows", len(recs)-1, st.Rows)
	}
}

// TestGenerateFlatMemory: generating allocates the same whatever the row
// count, so a 1 GiB file needs no more memory than a small one.
func TestGenerateFlatMemory(t *testing.T) {
	for _, f := range []Format{CSV, JSONL} {
		t.Run(string(f), func(t *testing.T) {
			allocs := func(rows int64) float64 {
				return testing.AllocsPerRun(3, func() {
					if _, err := Generate(io.Discard, GenOptions{Format: f, Rows: rows, Seed: 1}); err != nil {
						t.Fatal(err)
					}
				})
			}
			// The first 1024 unique e-mails fill the duplicate ring once.
			small, large := allocs(2000), allocs(50_000)
			if large > small {
				t.Errorf("%.0f allocations for 2000 rows, %.0f for 50000: want no more", small, large)
			}
		})
	}
}

func TestGenerateErrors(t *testing.T) {
	tests := []struct {
		name string
		opt  GenOptions
		want string
	}{
		{"Format", GenOptions{Format: "xml", Rows: 1}, `format "xml"`},
		{"NegativeRows", GenOptions{Format: CSV, Rows: -1}, "rows -1"},
		{"NegativeBytes", GenOptions{Format: CSV, MinBytes: -1}, "min bytes -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Generate(io.Discard, tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Generate(%+v) = %v, want an error with %q", tt.opt, err, tt.want)
			}
		})
	}
	t.Run("WriteError", func(t *testing.T) {
		_, err := Generate(failWriter{}, GenOptions{Format: CSV, Rows: 10})
		if !errors.Is(err, errDiskFull) {
			t.Errorf("err = %v, want the writer's error", err)
		}
	})
}

var errDiskFull = errors.New("disk full")

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errDiskFull }

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"1024", 1024, false},
		{"1GiB", 1 << 30, false},
		{"1 GiB", 1 << 30, false},
		{"200MB", 200e6, false},
		{"64kib", 64 << 10, false},
		{"5B", 5, false},
		{"", 0, true},
		{"GiB", 0, true},
		{"1.5GiB", 0, true},
		{"1TB", 0, true},
		{"-1", 0, true},
		{"99999999999GiB", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSize(tt.in)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("ParseSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestFormatOf(t *testing.T) {
	tests := []struct {
		name string
		want Format
	}{
		{"a.jsonl", JSONL},
		{"dir/a.NDJSON", JSONL},
		{"a.csv", CSV},
		{"a", CSV},
		{"-", CSV},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatOf(tt.name); got != tt.want {
				t.Errorf("FormatOf(%q) = %s, want %s", tt.name, got, tt.want)
			}
		})
	}
}
