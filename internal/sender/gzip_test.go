package sender

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// TestGzipBodies: with Gzip, every request says Content-Encoding: gzip and
// its body decompresses to exactly the body sent without it; a retry sends
// the same compressed bytes again. Without Gzip nothing is compressed.
func TestGzipBodies(t *testing.T) {
	tests := []struct {
		name  string
		batch int
	}{
		{"Single", 1},
		{"Batch", 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			capture := func(gz bool) (plain [][]byte, wire map[string][][]byte) {
				var mu sync.Mutex
				wire = map[string][][]byte{}
				var n atomic.Int32
				srv := startLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					raw, err := io.ReadAll(r.Body)
					if err != nil {
						t.Error(err)
						return
					}
					enc := r.Header.Get("Content-Encoding")
					if (enc == "gzip") != gz {
						t.Errorf("Content-Encoding = %q with Gzip %v", enc, gz)
					}
					body := raw
					if enc == "gzip" {
						zr, err := gzip.NewReader(bytes.NewReader(raw))
						if err != nil {
							t.Errorf("body is not gzip: %v", err)
							return
						}
						if body, err = io.ReadAll(zr); err != nil {
							t.Errorf("body is not gzip: %v", err)
							return
						}
					}
					mu.Lock()
					wire[string(body)] = append(wire[string(body)], raw)
					if len(wire[string(body)]) == 1 {
						plain = append(plain, body)
					}
					mu.Unlock()
					if n.Add(1) == 1 {
						w.WriteHeader(http.StatusServiceUnavailable) // not applied: retried
						return
					}
					r.Body = io.NopCloser(bytes.NewReader(body))
					req, err := decodeRequest(r)
					if err != nil {
						t.Error(err)
						return
					}
					if req.Batch {
						writeBatch(w, req.Items, func(int, profile) int { return 0 })
						return
					}
					writeOK(w, req.Items[0].N)
				}))
				cfg := testConfig(srv.URL, nil)
				cfg.Gzip, cfg.BatchSize, cfg.Concurrency = gz, tt.batch, 1
				p := noJitter(mustPool(t, cfg))
				got, err := runAll(t, context.Background(), p, manyJobs(20))
				if err != nil {
					t.Fatal(err)
				}
				for id, r := range got {
					if r.Status != OK {
						t.Fatalf("job %d = %+v, want ok", id, r)
					}
				}
				return plain, wire
			}
			plainBodies, _ := capture(false)
			gzBodies, wire := capture(true)
			slices.SortFunc(plainBodies, bytes.Compare)
			slices.SortFunc(gzBodies, bytes.Compare)
			if !slices.EqualFunc(plainBodies, gzBodies, bytes.Equal) {
				t.Fatalf("decompressed bodies differ from the plain ones:\n%q\n%q", gzBodies, plainBodies)
			}
			retried := 0
			for body, sent := range wire {
				for _, w := range sent[1:] {
					retried++
					if !bytes.Equal(w, sent[0]) {
						t.Errorf("a retry of %q sent other compressed bytes", body)
					}
				}
				if len(sent[0]) >= len(body) && len(body) > 200 {
					t.Errorf("a %d-byte body went as %d compressed bytes", len(body), len(sent[0]))
				}
			}
			if retried != 1 {
				t.Errorf("%d retries seen, want the one after the 503", retried)
			}
		})
	}
}
