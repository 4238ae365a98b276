package results

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"importer/internal/golden"
)

func TestPayloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "payloads.jsonl")
	p, err := NewPayloads(path)
	if err != nil {
		t.Fatal(err)
	}
	bodies := []struct {
		row  int64
		body string
		want string // the "request" member as written
	}{
		{1, `{"token":"***","db_id":1,"matching":"email","email":"ivan@example.com","data":{"_fname":"Иван"}}`,
			`{"token":"***","db_id":1,"matching":"email","email":"ivan@example.com","data":{"_fname":"Иван"}}`},
		// A caller that forgot to mask: the dump masks the token itself.
		{2, `{"db_id":1,"token":"s3cr3t-token-value","email":"a@b.c"}`, `{"db_id":1,"token":"***","email":"a@b.c"}`},
		{3, "{\n  \"db_id\": 1,\n  \"data\": {\"note\": \"<b>&</b>\"}\n}\n", `{"db_id":1,"data":{"note":"<b>&</b>"}}`},
		{4, `{"data":{"token":"a profile field, not the API token"}}`, `{"data":{"token":"a profile field, not the API token"}}`},
		{5, `{"\u0074oken":"escaped-key-secret","x":1}`, `{"\u0074oken":"***","x":1}`},
	}
	for _, b := range bodies {
		if err := p.Write(b.row, []byte(b.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Write(6, []byte(`{"db_id":1,`)); err == nil || !strings.Contains(err.Error(), "row 6") {
		t.Errorf("Write(invalid JSON) = %v, want an error naming row 6", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
	if err := p.Write(7, []byte(`{}`)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close = %v, want os.ErrClosed", err)
	}
	data := mustReadFile(t, path)
	golden.Check(t, "testdata/"+"payloads.golden.jsonl", data)
	if strings.Contains(string(data), "s3cr3t") || strings.Contains(string(data), "escaped-key-secret") {
		t.Errorf("the dump holds a token:\n%s", data)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != len(bodies) {
		t.Fatalf("%d lines, want %d (the invalid body must not be written):\n%s", len(lines), len(bodies), data)
	}
	for i, b := range bodies {
		var got struct {
			Row     int64           `json:"row"`
			Request json.RawMessage `json:"request"`
		}
		if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if diff := cmp.Diff(b.want, string(got.Request)); got.Row != b.row || diff != "" {
			t.Errorf("line %d: row %d, request differs (-want +got):\n%s", i+1, got.Row, diff)
		}
	}
}
