package results

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gocarina/gocsv"
	"github.com/google/go-cmp/cmp"

	"importer/internal/jsonenc"
)

// fuzzResume checks the contract between the resume reader and the appending
// open on arbitrary file content: whatever ReadJournal accepts, appending
// keeps exactly (dropping only what ReadJournal ignored), and the new line
// reads back after it.
func fuzzResume(t *testing.T, ext string, data []byte) {
	path := filepath.Join(t.TempDir(), "f.results"+ext)
	mustWriteFile(t, path, data)
	var before []Row
	if err := readJournal(path, func(r *Row) { before = append(before, *r) }); err != nil {
		return // refusing is fine; panicking is not
	}
	j, err := OpenJournal(path, true)
	if err != nil {
		// Appending may refuse a header it would not write itself, never
		// anything else ReadJournal accepted.
		if !strings.Contains(err.Error(), errNotJournal.Error()) {
			t.Fatalf("ReadJournal accepted the file but OpenJournal(append) = %v", err)
		}
		return
	}
	added := Row{Row: 1 << 40, Line: 7, Key: "new", Status: StatusOK, ProfileID: "p", Attempts: 1}
	if err := j.Write(&added); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	var after []Row
	if err := readJournal(path, func(r *Row) { after = append(after, *r) }); err != nil {
		t.Fatalf("after appending one row the journal no longer reads: %v\nwas: %q\nnow: %q", err, data, mustReadFile(t, path))
	}
	if diff := cmp.Diff(append(before, added), after); diff != "" {
		t.Fatalf("appending changed the rows (-want +got):\n%s\nwas: %q\nnow: %q", diff, data, mustReadFile(t, path))
	}
}

func FuzzReadJournalCSV(f *testing.F) {
	good := csvHeaderLine + "1,2,k1,ok,p1,,,1\n2,3,k2,failed,,404,\"not found,\n\"\"x\"\"\",1\n"
	for _, s := range []string{
		"", good, good + "3,4,k3,o", good + "3,4,k3,ok,,,,\"", good + "3,4,\"k\n", good + "x\n", good + "\n\n",
		good + "3,4,k\"3,ok,,,,1\n", "row,li", "status,row\nok,1\n", "\ufeff" + good, good + "3,4,k3,ok,,,,1\r\n",
		csvHeaderLine + "\"\n", good + "1,2,k1,bogus,,,,1\n\"\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzResume(t, ".csv", data) })
}

func FuzzReadJournalJSONL(f *testing.F) {
	good := `{"row":1,"line":2,"key":"k","status":"ok","profile_id":"p","error_code":"","error":"","attempts":1}` + "\n" +
		`{"row":2,"status":"failed","error":"a\nb"}` + "\n"
	for _, s := range []string{
		"", good, good + `{"row":3,"sta`, good + "{\n", good + "  \n\n", good + `{"row":0,"status":"ok"}` + "\n",
		good + `[1]` + "\n" + good, "\n\n", good + `{"row":3,"status":"ok"}` + "\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzResume(t, ".jsonl", data) })
}

func FuzzRejectsJSONL(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{}`, ` { } `, `{"_error":"x","b":[1,{"_error":2}]}`, `{"\u005ferror":1}`, `[1]`, `"s"`, `{"a":`, "\xff", "{\n\"a\"\n:\n1}\n", ""} {
		f.Add([]byte(s), "reason")
	}
	f.Fuzz(func(t *testing.T, raw []byte, msg string) {
		line := appendRejectJSON(nil, raw, msg)
		if !json.Valid(line) || bytes.ContainsAny(line, "\n\r") {
			t.Fatalf("appendRejectJSON(%q) = %q: not one line of JSON", raw, line)
		}
		var got map[string]json.RawMessage
		if err := json.Unmarshal(line, &got); err != nil {
			t.Fatalf("appendRejectJSON(%q) = %s: not an object: %v", raw, line, err)
		}
		var gotMsg, wantMsg string
		json.Unmarshal(got["_error"], &gotMsg)
		json.Unmarshal(jsonenc.AppendString(nil, msg), &wantMsg)
		if gotMsg != wantMsg {
			t.Fatalf("_error = %q, want %q (line %s)", gotMsg, wantMsg, line)
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.Token()
		n := 0
		for dec.More() {
			k, _ := dec.Token()
			if k == RejectsErrorColumn {
				n++
			}
			var v json.RawMessage
			dec.Decode(&v)
		}
		if n != 1 {
			t.Fatalf("line %s has _error %d times, want once", line, n)
		}
		var orig map[string]json.RawMessage
		if json.Unmarshal(raw, &orig) == nil && orig != nil {
			delete(orig, RejectsErrorColumn)
			delete(got, RejectsErrorColumn)
			if len(orig) != len(got) {
				t.Fatalf("members changed: %q → %s", raw, line)
			}
			for k, v := range orig {
				var c1, c2 bytes.Buffer
				json.Compact(&c1, v)
				json.Compact(&c2, got[k])
				if c1.String() != c2.String() {
					t.Fatalf("member %q changed: %s → %s", k, v, got[k])
				}
			}
		} else if _, ok := got["_raw"]; !ok {
			t.Fatalf("raw %q is not an object but the line has no _raw: %s", raw, line)
		}
	})
}

func FuzzRejectsCSV(f *testing.F) {
	f.Add("a", "b,c", "line\nbreak", "=1+1", uint8(0), false, uint8(3))
	f.Add("\"q\"", " lead", "", "-5", uint8(1), true, uint8(1))
	f.Add("\t", "\r\n", `\.`, "", uint8(2), true, uint8(5))
	f.Fuzz(func(t *testing.T, a, b, c, msg string, delimIdx uint8, neutralise bool, n uint8) {
		delims := []rune{',', ';', '\t', '|'}
		delim := delims[int(delimIdx)%len(delims)]
		header := []string{"A", "B", "C"}
		fields := []string{a, b, c, a + b, c + a}[:int(n)%6]
		path := filepath.Join(t.TempDir(), "r.csv")
		r, err := NewRejects(path, header, delim, neutralise)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Write(fields, nil, msg); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		body, ok := bytes.CutPrefix(mustReadFile(t, path), []byte(utf8BOM))
		if !ok {
			t.Fatal("no BOM")
		}
		cr := csv.NewReader(bytes.NewReader(body))
		cr.Comma = delim
		cr.FieldsPerRecord = -1
		recs, err := cr.ReadAll()
		if err != nil {
			t.Fatalf("the rejects file does not read back: %v\n%q", err, body)
		}
		cell := func(s string) string {
			if neutralise && s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
				s = "'" + s
			}
			// encoding/csv folds CR and CRLF inside quoted fields; input cells
			// come through the same reader, so they never hold what it folds.
			return strings.ReplaceAll(s, "\r", "")
		}
		want := []string{}
		for _, s := range fields {
			want = append(want, cell(s))
		}
		for len(want) < len(header) {
			want = append(want, "")
		}
		want = append(want, cell(msg))
		if len(recs) != 2 {
			t.Fatalf("read %d records, want header and one row: %q", len(recs), body)
		}
		for i := range recs[1] {
			recs[1][i] = strings.ReplaceAll(recs[1][i], "\r", "")
		}
		if diff := cmp.Diff(want, recs[1]); diff != "" {
			t.Fatalf("row read back differs (-want +got):\n%s\nfile: %q", diff, body)
		}
	})
}

func FuzzPayloads(f *testing.F) {
	for _, s := range []string{`{"token":"secret","a":1}`, `{"a":{"token":"x"}}`, `[1,2]`, `"s"`, "{\n\"token\"\n:\n\"t\"\n}", `{"\u0074oken":"x","token":"y"}`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		path := filepath.Join(t.TempDir(), "p.jsonl")
		p, err := NewPayloads(path)
		if err != nil {
			t.Fatal(err)
		}
		werr := p.Write(9, body)
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		data := mustReadFile(t, path)
		if !json.Valid(bytes.TrimSpace(body)) {
			if werr == nil || len(data) != 0 {
				t.Fatalf("invalid body %q: Write = %v, file %q; want an error and nothing written", body, werr, data)
			}
			return
		}
		if werr != nil {
			t.Fatalf("Write(%q) = %v", body, werr)
		}
		line, ok := bytes.CutSuffix(data, []byte("\n"))
		if !ok || bytes.ContainsAny(line, "\n\r") {
			t.Fatalf("not exactly one line: %q", data)
		}
		var got struct {
			Row     int64           `json:"row"`
			Request json.RawMessage `json:"request"`
		}
		if err := json.Unmarshal(line, &got); err != nil || got.Row != 9 {
			t.Fatalf("line %s: row %d, %v", line, got.Row, err)
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(got.Request, &obj) == nil && obj != nil {
			if tok, ok := obj["token"]; ok && string(tok) != maskedToken {
				t.Fatalf("token not masked: %s", line)
			}
		}
	})
}

// findMemberRef is findMember done with encoding/json's decoder: slower, and
// the reference the fast scanner must agree with.
func findMemberRef(obj []byte, key string) (start, end int, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return 0, 0, false
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return 0, 0, false
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return 0, 0, false
		}
		if k == key {
			end = int(dec.InputOffset())
			start, ok = end-len(v), true
		}
	}
	return start, end, ok
}

func FuzzFindMember(f *testing.F) {
	for _, s := range []string{`{"token":"x"}`, ` { "a" : [1, {"token":2}] , "token" : { "b" : "}" } } `, `{"\u0074oken":1,"token":2}`,
		`{"a":"\"token\"","token":null}`, `{}`, `[{"token":1}]`, `{"token":-1.5e3}`, `{"token":true }`} {
		f.Add([]byte(s), "token")
	}
	f.Fuzz(func(t *testing.T, obj []byte, key string) {
		if !json.Valid(obj) {
			return // callers check first
		}
		s1, e1, ok1 := findMember(obj, key)
		s2, e2, ok2 := findMemberRef(obj, key)
		if ok1 != ok2 || (ok1 && (s1 != s2 || e1 != e2)) {
			t.Fatalf("findMember(%q, %q) = %d, %d, %v; the decoder says %d, %d, %v", obj, key, s1, e1, ok1, s2, e2, ok2)
		}
	})
}

// FuzzJournalCSVLine: the hand-written CSV line is byte for byte what gocsv
// writes for the same row, whatever the texts hold.
func FuzzJournalCSVLine(f *testing.F) {
	f.Add(int64(1), int64(2), "a@b.c", "ok", "5f4fa1a5ce9448665fef548e", "", "", 1)
	f.Add(int64(7), int64(9), " lead", "invalid", "", "invalid_phone", "column \"Телефон\": \"12,345\"\r\nx", 0)
	f.Add(int64(0), int64(0), `\.`, "failed", "", "HTTP 503", "\t", -1)
	f.Add(int64(3), int64(4), "\v", "\u0085x", "\u00a0", "\f", "\x1c\x08", 2)
	f.Fuzz(func(t *testing.T, row, line int64, key, status, pid, code, msg string, attempts int) {
		r := Row{Row: row, Line: line, Key: key, Status: Status(status), ProfileID: pid, ErrorCode: code, Error: msg, Attempts: attempts}
		var buf bytes.Buffer
		if err := gocsv.MarshalCSVWithoutHeaders(&[]Row{r}, gocsv.NewSafeCSVWriter(csv.NewWriter(&buf))); err != nil {
			t.Skip(err)
		}
		if got := appendCSVRow(nil, &r); string(got) != buf.String() {
			t.Fatalf("appendCSVRow = %q, gocsv writes %q", got, buf.String())
		}
	})
}
