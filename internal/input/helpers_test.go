package input

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// view is what the tests compare of a Record: the error by its sentinel's
// text, so that cmp can diff it and the details may be reworded.
type view struct {
	Row     int64          `json:"row"`
	Line    int64          `json:"line"`
	Offset  int64          `json:"offset"`
	Fields  []string       `json:"fields,omitempty"`
	Object  map[string]any `json:"object,omitempty"`
	Raw     string         `json:"raw,omitempty"`
	Err     string         `json:"err,omitempty"`      // the sentinel, RowError.Kind
	ErrLine int64          `json:"err_line,omitempty"` // RowError.Line
	Col     int            `json:"col,omitempty"`
	Name    string         `json:"name,omitempty"`
	Msg     string         `json:"msg,omitempty"` // the full RowError text, golden files only
}

func viewOf(r *Record) view {
	v := view{Row: r.Row, Line: r.Line, Offset: r.Offset, Fields: r.Fields, Object: r.Object, Raw: string(r.Raw)}
	if r.Err != nil {
		v.Err = r.Err.Kind().Error()
		v.ErrLine, v.Col, v.Name, v.Msg = r.Err.Line, r.Err.Column, r.Err.Name, r.Err.Error()
	}
	return v
}

// readAll opens data under name and reads every record; it fails the test
// on an Open or Read error.
func readAll(t testing.TB, name string, data []byte, opts Options) (*File, []*Record) {
	t.Helper()
	f, err := NewReader(bytes.NewReader(data), name, opts)
	if err != nil {
		t.Fatalf("NewReader(%q) = %v", name, err)
	}
	recs, err := drain(f)
	if err != nil {
		t.Fatalf("Read(%q) = %v", name, err)
	}
	return f, recs
}

// openAll opens the file at path with Open and reads every record; it fails
// the test on an Open or Read error and closes the file when the test ends.
func openAll(t testing.TB, path string, opts Options) (*File, []*Record) {
	t.Helper()
	f, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%q) = %v", path, err)
	}
	t.Cleanup(func() { f.Close() })
	recs, err := drain(f)
	if err != nil {
		t.Fatalf("Read(%q) = %v", path, err)
	}
	return f, recs
}

// drain reads f to the end.
func drain(f *File) ([]*Record, error) {
	var recs []*Record
	for {
		rec, err := f.Read()
		if errors.Is(err, io.EOF) {
			return recs, nil
		}
		if err != nil {
			return recs, err
		}
		recs = append(recs, rec)
	}
}

// views maps viewOf over recs, leaving out what a table case does not state:
// offsets, raw lines and full messages.
func views(recs []*Record) []view {
	if len(recs) == 0 {
		return nil
	}
	out := make([]view, len(recs))
	for i, r := range recs {
		v := viewOf(r)
		v.Offset, v.Raw, v.Msg = 0, "", ""
		out[i] = v
	}
	return out
}

// writeTemp writes data to a file named name in a fresh directory.
func writeTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// ok builds the view of a valid CSV record.
func ok(row, line int64, fields ...string) view {
	return view{Row: row, Line: line, Fields: fields}
}

// bad builds the view of a malformed CSV record.
func bad(row, line int64, kind error, errLine int64, col int, name string, fields ...string) view {
	return view{Row: row, Line: line, Fields: fields, Err: kind.Error(), ErrLine: errLine, Col: col, Name: name}
}
