package importer

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"importer/internal/fakeapi"
	"importer/internal/results"
)

const testToken = "tok-SECRET-0123456789abcdef"

// syncBuffer is a bytes.Buffer safe for the logger and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startFake serves a fake Altcraft API on 127.0.0.1 for the test.
func startFake(t testing.TB, opts fakeapi.Options) (*fakeapi.Server, string) {
	t.Helper()
	if opts.Token == "" {
		opts.Token = testToken
	}
	fake := fakeapi.New(opts)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fake, srv.URL
}

// run is one importer invocation and what it left behind.
type run struct {
	sum    *results.Summary
	err    error
	code   int
	stderr string
}

// baseOptions returns options for a run over input with config, writing
// every artefact in dir, with the token in a fake environment.
func baseOptions(mode Mode, config, input, dir string) Options {
	return Options{
		Mode:     mode,
		Config:   config,
		Input:    input,
		Results:  filepath.Join(dir, "results.csv"),
		Rejects:  filepath.Join(dir, "rejects.csv"),
		Progress: "none",
		Getenv: func(k string) string {
			if k == EnvToken {
				return testToken
			}
			return ""
		},
	}
}

// runImporter runs Run with o, capturing stderr and logs together.
func runImporter(t testing.TB, ctx context.Context, o Options) run {
	t.Helper()
	var errBuf syncBuffer
	o.Stderr = &errBuf
	o.Logger = slog.New(slog.NewTextHandler(&errBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sum, err := Run(ctx, o)
	return run{sum: sum, err: err, code: ExitCode(err), stderr: errBuf.String()}
}

// readJournal returns the journal's rows as maps keyed by the header.
func readJournal(t testing.TB, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open journal: %v", err)
	}
	defer f.Close()
	return readCSVMaps(t, f)
}

func readCSVMaps(t testing.TB, r io.Reader) []map[string]string {
	t.Helper()
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		t.Fatalf("parse CSV: %v", err)
	}
	if len(recs) == 0 {
		return nil
	}
	head := recs[0]
	head[0] = strings.TrimPrefix(head[0], "\ufeff")
	var out []map[string]string
	for _, rec := range recs[1:] {
		m := make(map[string]string, len(head))
		for i, h := range head {
			if i < len(rec) {
				m[h] = rec[i]
			}
		}
		out = append(out, m)
	}
	return out
}

// lastStatus folds a journal into the last status of each row.
func lastStatus(rows []map[string]string) map[string]string {
	out := make(map[string]string)
	for _, r := range rows {
		out[r["row"]] = r["status"]
	}
	return out
}

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// repoPath is a path from the repository root.
func repoPath(p string) string { return filepath.Join("..", "..", p) }

// finalRows keeps the last line of each row (a row using incr/add/delete
// has an in-flight line before its final one), in the order rows first
// appear.
func finalRows(lines []map[string]string) []map[string]string {
	at := map[string]int{}
	var out []map[string]string
	for _, l := range lines {
		if i, seen := at[l["row"]]; seen {
			out[i] = l
			continue
		}
		at[l["row"]] = len(out)
		out = append(out, l)
	}
	return out
}
