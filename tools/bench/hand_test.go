package bench

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"importer/internal/fakeapi"
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

// recorder is a fake API that keeps the bodies it was sent.
type recorder struct {
	mu     sync.Mutex
	bodies [][]byte
	next   http.Handler
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.bodies = append(rc.bodies, b)
	rc.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(b))
	rc.next.ServeHTTP(w, r)
}

// items splits the recorded batch bodies into their envelopes (the body
// without its items) and their items, sorted.
func (rc *recorder) items(t *testing.T) (envelopes map[string]int, items []string) {
	envelopes = map[string]int{}
	for _, b := range rc.bodies {
		var body map[string]json.RawMessage
		if err := json.Unmarshal(b, &body); err != nil {
			t.Fatalf("body %.100s: %v", b, err)
		}
		var data []json.RawMessage
		if err := json.Unmarshal(body["data"], &data); err != nil {
			t.Fatal(err)
		}
		for _, d := range data {
			items = append(items, string(d))
		}
		i := bytes.Index(b, []byte(`"data":[`))
		envelopes[string(b[:i])]++
	}
	slices.Sort(items)
	return envelopes, items
}

// TestBareBatchSenderMatchesImporter: on a generated export, the bare
// batch sender sends the envelope and the items `importer run -c
// text.yaml --batch-size 1000` sends, and writes the journal lines the
// importer writes (profile ids aside: the fake numbers profiles in the
// order they arrive).
func TestBareBatchSenderMatchesImporter(t *testing.T) {
	const token = "batch-token"
	dir := t.TempDir()
	in := genFile(t, dir, 2500)
	cfgs, err := writeConfigs(dir)
	if err != nil {
		t.Fatal(err)
	}
	fakes := [2]*recorder{}
	urls := [2]string{}
	for i := range fakes {
		fakes[i] = &recorder{next: fakeapi.New(fakeapi.Options{Token: token})}
		srv := httptest.NewServer(fakes[i])
		t.Cleanup(srv.Close)
		urls[i] = srv.URL
	}
	batch, zero, conc := 1000, 0.0, 0
	o := importer.Options{Mode: importer.ModeRun, Config: cfgs[MapText], Input: in, APIURL: urls[0], Progress: "none", Stderr: io.Discard,
		Results: filepath.Join(dir, "importer.results.csv"), Rejects: "-", BatchSize: &batch, Rate: &zero, Concurrency: &conc,
		Getenv: func(k string) string {
			if k == importer.EnvToken {
				return token
			}
			return ""
		}}
	sum, err := importer.Run(context.Background(), o)
	if err != nil || sum.OK != 2500 {
		t.Fatalf("importer run: %v, %d ok of 2500", err, sum.OK)
	}
	var lines bytes.Buffer
	res, err := bareBatchSend(context.Background(), urls[1]+fakeapi.APIPrefix+"import_batch", token, in, 1000, 2, &lines)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 2500 || res.OK != 2500 || res.Requests != 3 {
		t.Errorf("bare batch sender: %+v, want 2500 rows ok in 3 requests", res)
	}
	envI, itemsI := fakes[0].items(t)
	envB, itemsB := fakes[1].items(t)
	if len(envB) != 1 || len(envI) != 1 || firstKey(envB) != firstKey(envI) {
		t.Errorf("envelopes: bare %v, importer %v", envB, envI)
	}
	if !slices.Equal(itemsB, itemsI) {
		t.Errorf("the bare sender's %d items differ from the importer's %d", len(itemsB), len(itemsI))
	}
	want, err := os.ReadFile(o.Results)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := journalSansIDs(t, lines.Bytes()), journalSansIDs(t, want); !slices.Equal(got, want) {
		t.Errorf("result lines differ from the importer's journal (profile ids aside):\n%s\nwant\n%s",
			strings.Join(got[:min(3, len(got))], "\n"), strings.Join(want[:min(3, len(want))], "\n"))
	}
	// A call the API refuses stops the sender with its reason.
	if _, err := bareBatchSend(context.Background(), urls[1]+fakeapi.APIPrefix+"import_batch", "wrong", in, 1000, 2, io.Discard); err == nil {
		t.Error("the bare sender took a refused token for success")
	}
}

func firstKey(m map[string]int) string {
	for k := range m {
		return k
	}
	return ""
}

// journalSansIDs is a journal's lines, sorted, each with its profile id
// replaced by whether it had one.
func journalSansIDs(t *testing.T, b []byte) []string {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(b))
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rec := range recs[1:] {
		rec[4] = fmt.Sprint(rec[4] != "")
		out = append(out, strings.Join(rec, ","))
	}
	slices.Sort(out)
	return out
}

// TestScanBatchReply: the bare batch sender takes what it needs from a
// batch reply and refuses a reply it cannot read as the importer would.
func TestScanBatchReply(t *testing.T) {
	type item struct {
		code int64
		id   string
	}
	tests := []struct {
		name  string
		reply string
		n     int
		want  []item
		err   string
	}{
		{"TwoOK", `{"error":0,"error_text":"Successful","result":[{"error":0,"error_text":"Successful","profile_id":"p1"},{"error":0,"error_text":"Successful","profile_id":"p2"}]}`,
			2, []item{{0, "p1"}, {0, "p2"}}, ""},
		{"ItemError", `{"error":0,"error_text":"Successful","result":[{"error":400,"error_text":"Bad e-mail"}]}`,
			1, nil, "row 1: API error 400"},
		{"CallError", `{"error":401,"error_text":"Invalid token"}`, 1, nil, "reply"},
		{"NoResults", `{"error":0,"error_text":"Successful"}`, 1, nil, "without results"},
		{"TooFew", `{"error":0,"error_text":"Successful","result":[{"error":0,"error_text":"Successful","profile_id":"p1"}]}`,
			2, []item{{0, "p1"}}, "1 results, want 2"},
		{"CutShort", `{"error":0,"error_text":"Successful","result":[{"error":0,"error_text":"Succ`, 1, nil, "cut short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []item
			err := scanBatchReply([]byte(tt.reply), tt.n, func(i int, code int64, id []byte) error {
				if code != 0 {
					return fmt.Errorf("row %d: API error %d", i+1, code)
				}
				got = append(got, item{code, string(id)})
				return nil
			})
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("items = %v, want %v", got, tt.want)
			}
		})
	}
}
