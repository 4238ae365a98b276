package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"importer/internal/importer"
	"importer/internal/input"
	"importer/internal/mapping"
)

// genFile writes a generated export of n rows under dir.
func genFile(t testing.TB, dir string, n int64) string {
	t.Helper()
	p := filepath.Join(dir, "crm.csv")
	if _, _, err := ensureData(p, GenOptions{Format: CSV, Rows: n, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestHandValidateMatchesImporter: on a generated export, the hand loop
// writes byte for byte the journal and the payload dump of `importer
// validate -c mapped.yaml --payloads`, run in process.
func TestHandValidateMatchesImporter(t *testing.T) {
	dir := t.TempDir()
	in := genFile(t, dir, 6000)
	cfgs, err := writeConfigs(dir)
	if err != nil {
		t.Fatal(err)
	}
	o := importer.Options{Mode: importer.ModeValidate, Config: cfgs[MapMapped], Input: in, Progress: "none", Stderr: io.Discard,
		Results: filepath.Join(dir, "importer.results.csv"), Rejects: "-", Payloads: filepath.Join(dir, "importer.payloads.jsonl")}
	sum, err := importer.Run(context.Background(), o)
	if err != nil {
		t.Fatalf("importer validate: %v", err)
	}
	if sum.Valid != 6000 {
		t.Fatalf("importer: %d valid rows of 6000: the generated file has rows the hand loop cannot take", sum.Valid)
	}
	var journal, payloads bytes.Buffer
	st, err := handValidate(in, &journal, &payloads)
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows != 6000 {
		t.Errorf("hand loop read %d rows, want 6000", st.Rows)
	}
	for _, c := range []struct {
		name string
		got  []byte
		path string
	}{{"journal", journal.Bytes(), o.Results}, {"payloads", payloads.Bytes(), o.Payloads}} {
		want, err := os.ReadFile(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(c.got, want) {
			t.Errorf("hand %s differs from the importer's at line %d:\nhand:     %s\nimporter: %s", c.name, diffLine(c.got, want), lineAt(c.got, diffLine(c.got, want)), lineAt(want, diffLine(c.got, want)))
		}
	}
	// Without a payload writer the bodies are built all the same.
	var j2 bytes.Buffer
	st2, err := handValidate(in, &j2, nil)
	if err != nil || !bytes.Equal(j2.Bytes(), journal.Bytes()) || st2.PayloadBytes != st.PayloadBytes || st.PayloadBytes == 0 {
		t.Errorf("without payloads: %v, journal equal %v, %d payload bytes, want %d", err, bytes.Equal(j2.Bytes(), journal.Bytes()), st2.PayloadBytes, st.PayloadBytes)
	}
}

// TestHandValidateRefuses: a row the hand loop cannot take as the importer
// would stops it, naming the row.
func TestHandValidateRefuses(t *testing.T) {
	header := strings.Join(Columns, ",") + "\n"
	tests := []struct{ name, row, want string }{
		{"BadEmail", "1,A,B,not-an-email,1,01.01.2000,M,X,yes,\n", "row 1 (line 2): e-mail"},
		{"BadDate", "1,A,B,a@b.cd,1,31.02.2000,M,X,yes,\n", "date"},
		{"UnmappedGender", "1,A,B,a@b.cd,1,01.01.2000,x,X,yes,\n", "gender"},
		{"ShortRow", "1,A,B\n", "3 fields"},
		{"InvalidUTF8", "1,\xff,B,a@b.cd,1,01.01.2000,M,X,yes,\n", "line 2: invalid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "in.csv")
			if err := os.WriteFile(p, []byte(header+tt.row), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := handValidate(p, io.Discard, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestHandCSV(t *testing.T) {
	in := "a,b,c\r\n" + `1,"x, ""y""",` + "\r\n" + `"multi` + "\r\nline\",2,3\n" + "last,,\n" + `"q"` + ",,end"
	h := newHandCSV(strings.NewReader(in))
	var got []string
	for {
		line, err := h.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i, f := range h.fields {
			if i > 0 {
				b.WriteByte('|')
			}
			b.Write(f)
		}
		got = append(got, fmt.Sprintf("%d:%s", line, b.String()))
	}
	want := []string{"1:a|b|c", `2:1|x, "y"|`, "3:multi\r\nline|2|3", "5:last||", "6:q||end"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// diffLine is the 1-based line of the first difference of a and b.
func diffLine(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	return bytes.Count(a[:i], []byte{'\n'}) + 1
}

func lineAt(b []byte, n int) string {
	lines := bytes.Split(b, []byte{'\n'})
	if n-1 < len(lines) {
		return string(lines[n-1])
	}
	return "(end)"
}

// BenchmarkHandValidate is the yardstick's CPU per row on a generated
// file (BENCH_HAND_FILE, else 20000 generated rows).
func BenchmarkHandValidate(b *testing.B) {
	in := os.Getenv("BENCH_HAND_FILE")
	if in == "" {
		in = filepath.Join(b.TempDir(), "crm.csv")
		if _, _, err := ensureData(in, GenOptions{Format: CSV, Rows: 20000, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
	var rows int64
	for b.Loop() {
		st, err := handValidate(in, io.Discard, nil)
		if err != nil {
			b.Fatal(err)
		}
		rows += st.Rows
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows), "ns/row")
}

// BenchmarkMapVsHand maps the same generated rows with the importer's
// Mapper (mapped.yaml, each request released) and with handMapped: the
// mapping's share of the validate ratio.
func BenchmarkMapVsHand(b *testing.B) {
	dir := b.TempDir()
	in := genFile(b, dir, 2000)
	cfgs, err := writeConfigs(dir)
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := mapping.Load(cfgs[MapMapped])
	if err != nil {
		b.Fatal(err)
	}
	m, err := mapping.Compile(cfg, Columns)
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(in)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	h := newHandCSV(f)
	if err := h.header(); err != nil {
		b.Fatal(err)
	}
	var recs []*input.Record
	var fields [][][]byte
	for row := int64(1); ; row++ {
		line, err := h.next()
		if errors.Is(err, io.EOF) {
			break
		}
		rec := &input.Record{Row: row, Line: line}
		var fs [][]byte
		for _, c := range h.fields {
			rec.Fields = append(rec.Fields, string(c))
			fs = append(fs, bytes.Clone(c))
		}
		recs, fields = append(recs, rec), append(fields, fs)
	}
	b.Run("importer", func(b *testing.B) {
		i := 0
		for b.Loop() {
			req, err := m.Map(recs[i])
			if err != nil {
				b.Fatal(err)
			}
			req.Release()
			i = (i + 1) % len(recs)
		}
	})
	b.Run("hand", func(b *testing.B) {
		var body, email []byte
		i := 0
		for b.Loop() {
			var err error
			if body, email, err = handMapped(body[:0], email[:0], fields[i]); err != nil {
				b.Fatal(err)
			}
			i = (i + 1) % len(recs)
		}
	})
}
