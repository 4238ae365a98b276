package sender

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchServer answers like the API: it reads the body and writes a fixed
// envelope (one result per item for batches, found by counting items).
func benchServer(b *testing.B) *httptest.Server {
	single := []byte(`{"error":0,"error_text":"Successful operation","profile_id":"5f4fa1a5ce9448665fef548e"}`)
	item := []byte(`{"error":0,"error_text":"Successful operation","profile_id":"5f4fa1a5ce9448665fef548e"}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if !strings.HasSuffix(r.URL.Path, "_batch") {
			w.Write(single)
			return
		}
		n := bytes.Count(body, []byte(`{"email"`))
		var out bytes.Buffer
		out.WriteString(`{"error":0,"error_text":"Successful operation","result":[`)
		for i := range n {
			if i > 0 {
				out.WriteByte(',')
			}
			out.Write(item)
		}
		out.WriteString("]}")
		w.Write(out.Bytes())
	}))
	b.Cleanup(srv.Close)
	return srv
}

// feed runs p over n jobs and counts the ok results.
func feed(b *testing.B, p *Pool, n int) int {
	in := make(chan []Job, 4)
	out := make(chan []Result, 256)
	errc := make(chan error, 1)
	go func() { errc <- p.Run(context.Background(), in, out) }()
	go func() {
		defer close(in)
		chunk := make([]Job, 0, 64) // the pipeline's chunk size
		for i := range n {
			key := "p" + strconv.Itoa(i) + "@example.com" // unique, as e-mails in a file mostly are
			chunk = append(chunk, Job{ID: int64(i), Key: key, Payload: payload{email: key, n: i}})
			if len(chunk) == cap(chunk) || i == n-1 {
				in <- chunk
				chunk = make([]Job, 0, 64)
			}
		}
	}()
	ok := 0
	for got := 0; got < n; {
		rs := <-out
		got += len(rs)
		for _, r := range rs {
			if r.Status == OK {
				ok++
			}
		}
	}
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	return ok
}

// BenchmarkPoolLoopback measures rows/s against a loopback server: a bare
// keep-alive client (the yardstick of docs/ARCHITECTURE.md's targets), the pool one profile per
// request (fixed and auto concurrency), and batches of 1000.
func BenchmarkPoolLoopback(b *testing.B) {
	srv := benchServer(b)
	body := AppendSingleBody(nil, testToken, []byte(`"db_id":1`), payload{email: "ivan.petrov@example.com", n: 1})

	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		tr := &http.Transport{MaxIdleConnsPerHost: 8}
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr}
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range 8 {
			wg.Go(func() {
				for next.Add(1) <= int64(b.N) {
					resp, err := c.Post(srv.URL+"/api/v1.1/profiles/update", "application/json", bytes.NewReader(body))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
		wg.Wait()
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rows/s")
	})
	for _, bc := range []struct {
		name        string
		concurrency int
		batch       int
	}{{"pool", 8, 1}, {"pool-auto", 0, 1}, {"batch1000", 8, 1000}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			cfg := testConfig(srv.URL, nil)
			cfg.Concurrency, cfg.BatchSize, cfg.MaxConcurrency = bc.concurrency, bc.batch, 64
			p, err := NewPool(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer p.s.closeIdle()
			start := time.Now()
			if ok := feed(b, p, b.N); ok != b.N {
				b.Fatalf("%d of %d rows ok", ok, b.N)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rows/s")
			b.ReportMetric(float64(p.Stats().Requests)/time.Since(start).Seconds(), "req/s")
		})
	}
}

// cannedTransport answers every request in memory, so the pool's own
// per-row cost (coordination, encoding, parsing, classification) shows
// without a network.
type cannedTransport struct{ reply []byte }

func (c cannedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	io.Copy(io.Discard, req.Body)
	req.Body.Close()
	return &http.Response{
		StatusCode:    200,
		Header:        http.Header{"Content-Type": hdrJSON},
		Body:          io.NopCloser(bytes.NewReader(c.reply)),
		ContentLength: int64(len(c.reply)),
		Request:       req,
	}, nil
}

func BenchmarkPoolOverhead(b *testing.B) {
	b.ReportAllocs()
	cfg := testConfig("http://api.test", &http.Client{Transport: cannedTransport{
		reply: []byte(`{"error":0,"error_text":"Successful operation","profile_id":"5f4fa1a5ce9448665fef548e"}`)}})
	cfg.Concurrency = 8
	p, err := NewPool(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if ok := feed(b, p, b.N); ok != b.N {
		b.Fatalf("%d of %d rows ok", ok, b.N)
	}
}

func BenchmarkParseReply(b *testing.B) {
	single := []byte(`{"error":0,"error_text":"Successful operation","profile_id":"5f4fa1a5ce9448665fef548e"}`)
	var batch bytes.Buffer
	batch.WriteString(`{"error":0,"error_text":"Successful operation","result":[`)
	for i := range 1000 {
		if i > 0 {
			batch.WriteByte(',')
		}
		batch.Write(single)
	}
	batch.WriteString("]}")
	for _, bc := range []struct {
		name string
		in   []byte
	}{{"single", single}, {"batch1000", batch.Bytes()}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.in)))
			var r reply
			for b.Loop() {
				if err := parseReply(bc.in, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
		// The yardstick: encoding/json into the envelope's struct, as a
		// replacement for the scanner would do.
		b.Run(bc.name+"/encoding-json", func(b *testing.B) {
			type item struct {
				Error     json.Number `json:"error"`
				ErrorText string      `json:"error_text"`
				ProfileID string      `json:"profile_id"`
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.in)))
			for b.Loop() {
				var r struct {
					item
					Result []item `json:"result"`
				}
				if err := json.Unmarshal(bc.in, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkClassify(b *testing.B) {
	x := replyX(200, `{"error":0,"error_text":"Successful operation","profile_id":"5f4fa1a5ce9448665fef548e"}`, 0)
	b.ReportAllocs()
	for b.Loop() {
		if o := classify(&x, testNow); o.kind != kindOK {
			b.Fatal(o)
		}
	}
}
