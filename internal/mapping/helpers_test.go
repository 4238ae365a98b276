package mapping

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"golang.org/x/text/encoding/htmlindex"

	"importer/internal/input"
)

// mustLoad loads a config file or fails the test.
func mustLoad(tb testing.TB, path string) *Config {
	tb.Helper()
	c, err := Load(path)
	if err != nil {
		tb.Fatalf("Load(%s): %v", path, err)
	}
	return c
}

// mustParse parses a config from a string or fails the test.
func mustParse(tb testing.TB, yml string) *Config {
	tb.Helper()
	c, err := Parse([]byte(yml), "test.yaml")
	if err != nil {
		tb.Fatalf("Parse:\n%s\nerror:\n%v", yml, err)
	}
	return c
}

// readRecords reads a test input the way the input package will: CSV with
// the config's delimiter and encoding (encoding/csv underneath), or JSONL
// decoded with UseNumber. It returns the header (nil for JSONL).
func readRecords(tb testing.TB, path string, cfg *Config) ([]string, []*input.Record) {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if strings.HasSuffix(path, ".jsonl") {
		return nil, jsonlRecords(tb, data)
	}
	if cfg.Input.Encoding != "" {
		enc, err := htmlindex.Get(cfg.Input.Encoding)
		if err != nil {
			tb.Fatal(err)
		}
		if data, err = enc.NewDecoder().Bytes(data); err != nil {
			tb.Fatal(err)
		}
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.Comma = ','
	if strings.HasSuffix(path, ".tsv") {
		r.Comma = '\t'
	}
	if d := cfg.InputOptions().Delimiter; d != 0 {
		r.Comma = d
	}
	var header []string
	if cfg.InputOptions().NoHeader {
		header = cfg.Input.Columns
	} else if header, err = r.Read(); err != nil {
		tb.Fatalf("read header of %s: %v", path, err)
	}
	var recs []*input.Record
	for row := int64(1); ; row++ {
		fields, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		line, _ := r.FieldPos(0)
		recs = append(recs, &input.Record{Row: row, Line: int64(line), Fields: fields})
	}
	return header, recs
}

func jsonlRecords(tb testing.TB, data []byte) []*input.Record {
	tb.Helper()
	var recs []*input.Record
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	var row, line int64
	for sc.Scan() {
		line++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		row++
		rec := &input.Record{Row: row, Line: line, Raw: append([]byte(nil), raw...)}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&rec.Object); err != nil || rec.Object == nil {
			rec.Err = &input.RowError{Row: row, Line: line, Err: input.ErrNotObject}
		}
		recs = append(recs, rec)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return recs
}

// singleBody composes a single-profile request as the sender does.
func singleBody(m *Mapper, r *Request) []byte {
	b := []byte(`{"token":"***",`)
	b = m.AppendEnvelope(b, false)
	b = append(b, ',')
	b = r.AppendSingle(b)
	return append(b, '}')
}

// batchBody composes a batch request as the sender does.
func batchBody(m *Mapper, reqs []*Request) []byte {
	b := []byte(`{"token":"***",`)
	b = m.AppendEnvelope(b, true)
	b = append(b, `,"data":[`...)
	for i, r := range reqs {
		if i > 0 {
			b = append(b, ',')
		}
		b = r.AppendItem(b)
	}
	return append(b, "]}"...)
}

// outcome is one row of a want.jsonl file.
type outcome struct {
	ok, invalid int
	lines       []byte
	reqs        []*Request
}

// mapAll maps every record and renders want.jsonl: one line per row with the
// single request and the batch item, or the error and its kind. It fails
// the test when any body is not valid JSON.
func mapAll(tb testing.TB, m *Mapper, recs []*input.Record) outcome {
	tb.Helper()
	var out outcome
	for _, rec := range recs {
		req, err := m.Map(rec)
		line := map[string]json.RawMessage{"row": mustJSON(tb, rec.Row)}
		if err != nil {
			out.invalid++
			line["error"] = mustJSON(tb, err.Error())
			var fe *FieldError
			var re RowErrors
			if errors.As(err, &re) {
				fe = re[0]
				line["kind"] = mustJSON(tb, fe.Kind)
				line["field"] = mustJSON(tb, fe.Field)
				for _, e := range re {
					if e.Row != rec.Row {
						tb.Errorf("row %d: FieldError.Row = %d", rec.Row, e.Row)
					}
				}
			} else {
				line["kind"] = mustJSON(tb, "input")
			}
			out.lines = append(out.lines, renderLine(tb, line, "row", "error", "kind", "field")...)
			if fe != nil && fe.Kind == "missing match key" {
				if key, ok := m.Key(rec); ok {
					tb.Errorf("row %d: Key = %q, ok although Map reports a missing key", rec.Row, key)
				}
			}
			continue
		}
		out.ok++
		out.reqs = append(out.reqs, req)
		single, item := singleBody(m, req), req.AppendItem(nil)
		for _, b := range [][]byte{single, item} {
			if !json.Valid(b) {
				tb.Fatalf("row %d: invalid JSON: %s", rec.Row, b)
			}
		}
		if req.Row != rec.Row || req.Line != rec.Line {
			tb.Errorf("row %d: Request.Row, Line = %d, %d; want %d, %d", rec.Row, req.Row, req.Line, rec.Row, rec.Line)
		}
		line["key"] = mustJSON(tb, req.Key)
		if key, ok := m.Key(rec); !ok || key != req.Key {
			tb.Errorf("row %d: Key = %q, %v; Map's key is %q", rec.Row, key, ok, req.Key)
		}
		if req.Risky {
			line["risky"] = json.RawMessage("true")
		}
		line["request"] = single
		line["item"] = item
		out.lines = append(out.lines, renderLine(tb, line, "row", "key", "risky", "request", "item")...)
	}
	if len(out.reqs) > 0 {
		if b := batchBody(m, out.reqs); !json.Valid(b) {
			tb.Fatalf("invalid batch JSON: %s", b)
		}
	}
	return out
}

func mustJSON(tb testing.TB, v any) json.RawMessage {
	tb.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		tb.Fatal(err)
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

// renderLine writes the members in the given order (encoding/json would
// sort them), skipping absent ones.
func renderLine(tb testing.TB, m map[string]json.RawMessage, order ...string) []byte {
	tb.Helper()
	b := []byte{'{'}
	for _, k := range order {
		v, ok := m[k]
		if !ok {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, mustJSON(tb, k)...)
		b = append(b, ':')
		b = append(b, v...)
	}
	return append(b, "}\n"...)
}

// readSample reads a sample through the real input reader, as the
// importer does: samples may rely on its tolerance (title lines, nameless
// columns, bare quotes) that encoding/csv lacks.
func readSample(tb testing.TB, path string, cfg *Config) ([]string, []*input.Record) {
	tb.Helper()
	if strings.HasSuffix(path, ".jsonl") {
		return readRecords(tb, path, cfg)
	}
	in, err := input.Open(path, cfg.InputOptions())
	if err != nil {
		tb.Fatal(err)
	}
	defer in.Close()
	var recs []*input.Record
	for {
		rec, err := in.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		recs = append(recs, rec)
	}
	return in.Header(), recs
}
