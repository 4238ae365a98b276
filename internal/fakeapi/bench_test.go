package fakeapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"importer/internal/fakeapi"
)

const benchKeys = 1024

// benchBodies are single-profile update bodies for benchKeys profiles.
func benchBodies() [][]byte {
	out := make([][]byte, benchKeys)
	for i := range out {
		out[i] = fmt.Appendf(nil, `{"token":%q,"db_id":1,"matching":"email","email":"user%d@example.com","skip_triggers":true,`+
			`"data":{"_fname":"Anna","_lname":"Ivanova","_bdate":"1990-02-22","phones":["+79001234567"],"loyalty":{"action":"incr","value":1},`+
			`"subscriptions":[{"resource_id":1,"channel":"email","email":"user%d@example.com","status":"subscribed"}]}}`, testToken, i, i)
	}
	return out
}

// seedBench imports every bench profile so the updates find them.
func seedBench(b *testing.B, h http.Handler, bodies [][]byte) {
	b.Helper()
	for _, body := range bodies {
		w := &discardWriter{h: http.Header{}}
		req := httptest.NewRequest(http.MethodPost, fakeapi.APIPrefix+"import", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(w, req)
		if w.status != 200 || !bytes.Contains(w.body, []byte(`"error":0`)) {
			b.Fatalf("seed: %d %s", w.status, w.body)
		}
	}
}

// discardWriter is the cheapest ResponseWriter, so the benchmark measures the handler.
type discardWriter struct {
	h      http.Header
	status int
	body   []byte
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(s int)   { w.status = s }
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	w.body = append(w.body[:0], p...)
	return len(p), nil
}

// BenchmarkServeHTTP measures the handler alone on single-profile updates.
func BenchmarkServeHTTP(b *testing.B) {
	api := fakeapi.New(fakeapi.Options{Token: testToken})
	bodies := benchBodies()
	seedBench(b, api, bodies)
	req := httptest.NewRequest(http.MethodPost, fakeapi.APIPrefix+"update", nil)
	req.Header.Set("Content-Type", "application/json")
	w := &discardWriter{h: http.Header{}}
	rd := bytes.NewReader(nil)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		body := bodies[i%benchKeys]
		i++
		rd.Reset(body)
		req.Body = readCloser{rd}
		req.ContentLength = int64(len(body))
		w.status = 0
		api.ServeHTTP(w, req)
		if w.status != 200 || !bytes.HasPrefix(w.body, []byte(`{"error":0,`)) {
			b.Fatalf("reply %d %s", w.status, w.body)
		}
	}
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// BenchmarkImportBatch measures one import_batch call of 1000 profiles, per call.
func BenchmarkImportBatch(b *testing.B) {
	api := fakeapi.New(fakeapi.Options{Token: testToken})
	var sb strings.Builder
	fmt.Fprintf(&sb, `{"token":%q,"db_id":1,"matching":"email","data":[`, testToken)
	for i := range 1000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"email":"user%d@example.com","_fname":"Anna","phones":["+79001234567"],"loyalty":{"action":"incr","value":1}}`, i)
	}
	sb.WriteString("]}")
	body := []byte(sb.String())
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, fakeapi.APIPrefix+"import_batch", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w.status = 0
		api.ServeHTTP(w, req)
		if w.status != 200 || bytes.Contains(w.body, []byte(`"error":4`)) {
			b.Fatalf("reply %d %.300s", w.status, w.body)
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "profiles/s")
}

// BenchmarkLoopback measures real HTTP over 127.0.0.1: keep-alive clients in
// parallel against the server, single-profile updates. The req/s metric is
// what a client can get from the fake on this machine.
func BenchmarkLoopback(b *testing.B) {
	api := fakeapi.New(fakeapi.Options{Token: testToken})
	bodies := benchBodies()
	seedBench(b, api, bodies)
	srv := httptest.NewServer(api)
	defer srv.Close()
	b.SetParallelism(4)
	conns := 4 * runtime.GOMAXPROCS(0)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, IdleConnTimeout: time.Minute}}
	defer client.CloseIdleConnections()
	url := srv.URL + fakeapi.APIPrefix + "update"
	var next, failed atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 512)
		for pb.Next() {
			body := bodies[next.Add(1)%benchKeys]
			req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
			if err != nil {
				failed.Add(1)
				continue
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				failed.Add(1)
				continue
			}
			n, _ := io.ReadFull(resp.Body, buf)
			_, _ = io.Copy(io.Discard, resp.Body) // drain, so the connection is reused
			resp.Body.Close()
			if resp.StatusCode != 200 || !bytes.HasPrefix(buf[:n], []byte(`{"error":0,`)) {
				failed.Add(1)
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d requests failed", f, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
}
