package sender

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"importer/internal/golden"
)

// rawPayload is a Payload with fixed members, for edge cases.
type rawPayload struct{ single, item string }

func (p rawPayload) AppendSingle(dst []byte) []byte { return append(dst, p.single...) }
func (p rawPayload) AppendItem(dst []byte) []byte   { return append(dst, p.item...) }

// TestBodies pins the exact request bodies: the token rule, the envelope
// placement and every separator. Each body must also be valid JSON.
func TestBodies(t *testing.T) {
	env := []byte(`"db_id":1,"matching":"email","skip_triggers":true`)
	p1 := payload{email: "a@example.com", n: 1}
	p2 := payload{email: "ivan@пример.рф", n: 2}
	odd := rawPayload{}
	cases := []struct {
		name string
		body []byte
	}{
		{"single", AppendSingleBody(nil, testToken, env, p1)},
		{"single/bearer (no token member)", AppendSingleBody(nil, "", env, p1)},
		{"single/dump", AppendSingleBody(nil, "***", env, p2)},
		{"single/no envelope", AppendSingleBody(nil, testToken, nil, p1)},
		{"single/nothing but the payload", AppendSingleBody(nil, "", nil, p1)},
		{"single/empty payload", AppendSingleBody(nil, testToken, env, odd)},
		{"single/all empty", AppendSingleBody(nil, "", nil, odd)},
		{"single/token escapes", AppendSingleBody(nil, "q\"b\\s\n\x01\xffé", env, p1)},
		{"single/appends to dst", AppendSingleBody([]byte("prefix:"), testToken, env, p1)},
		{"batch", AppendBatchBody(nil, testToken, env, []Payload{p1, p2})},
		{"batch/bearer", AppendBatchBody(nil, "", env, []Payload{p1})},
		{"batch/no envelope", AppendBatchBody(nil, testToken, nil, []Payload{p1, p2})},
		{"batch/empty", AppendBatchBody(nil, testToken, env, nil)},
		{"batch/bare", AppendBatchBody(nil, "", nil, []Payload{p2})},
	}
	var out bytes.Buffer
	for _, c := range cases {
		body := c.body
		if strings.HasSuffix(c.name, "appends to dst") {
			if !bytes.HasPrefix(body, []byte("prefix:")) {
				t.Errorf("%s: dst prefix lost: %q", c.name, body)
			}
			body = body[len("prefix:"):]
		}
		if !json.Valid(body) {
			t.Errorf("%s: not valid JSON: %s", c.name, body)
		}
		out.WriteString("# " + c.name + "\n")
		out.Write(c.body)
		out.WriteString("\n")
	}
	golden.Check(t, "testdata/"+"bodies.golden", out.Bytes())
}

// TestBodyRefcount: the body goes back to the pool only after the owner
// and every reader let go, whatever the order and however often Close is
// called. (refs reaching 0 is when it is returned.)
func TestBodyRefcount(t *testing.T) {
	b := newBody()
	b.buf = append(b.buf, "abc"...)
	r1, r2 := b.reader(b.buf), b.reader(b.buf)
	b.release() // owner done first, as when the transport still writes
	if n := b.refs.Load(); n != 2 {
		t.Fatalf("refs = %d after the owner let go, want 2 (the readers)", n)
	}
	got := make([]byte, 3)
	if n, _ := r2.Read(got); string(got[:n]) != "abc" {
		t.Errorf("reader read %q", got[:n])
	}
	r1.Close()
	r1.Close() // a second Close must not release twice
	if n := b.refs.Load(); n != 1 {
		t.Fatalf("refs = %d, want 1 (one reader open)", n)
	}
	r2.Close()
	if n := b.refs.Load(); n != 0 {
		t.Errorf("refs = %d after the last reader, want 0 (returned)", n)
	}
}

func BenchmarkAppendSingleBody(b *testing.B) {
	env := []byte(`"db_id":1,"matching":"email","skip_triggers":true`)
	p := rawPayload{single: `"email":"ivan.petrov@example.com","data":{"_fname":"Иван","_lname":"Петров","phones":["+79161234567"],"_bdate":"1990-02-22","loyalty":42,"vip":true,"subscriptions":[{"resource_id":2,"channel":"email","email":"ivan.petrov@example.com","status":"subscribed"}]}`}
	b.ReportAllocs()
	buf := make([]byte, 0, 1024)
	for b.Loop() {
		buf = AppendSingleBody(buf[:0], testToken, env, p)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkAppendBatchBody(b *testing.B) {
	env := []byte(`"db_id":1,"matching":"email"`)
	item := rawPayload{item: `{"email":"ivan.petrov@example.com","_fname":"Иван","_lname":"Петров","phones":["+79161234567"],"_bdate":"1990-02-22","loyalty":42}`}
	items := make([]Payload, 1000)
	for i := range items {
		items[i] = item
	}
	b.Run("1000", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 256<<10)
		for b.Loop() {
			buf = AppendBatchBody(buf[:0], testToken, env, items)
		}
		b.SetBytes(int64(len(buf)))
	})
}

// countingConn counts the writes a client makes on a connection.
type countingConn struct {
	net.Conn
	writes *atomic.Int32
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestSingleRequestOneWrite: a single-profile request leaves in one write
// (headers and body together): one syscall, one packet, per request.
func TestSingleRequestOneWrite(t *testing.T) {
	srv := startLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := decodeRequest(r)
		writeOK(w, req.Items[0].N)
	}))
	var writes atomic.Int32
	var d net.Dialer
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{c, &writes}, nil
	}}}
	cfg := testConfig(srv.URL, client)
	cfg.Concurrency = 1
	p := mustPool(t, cfg)
	got, err := runAll(t, context.Background(), p, manyJobs(5))
	if err != nil {
		t.Fatal(err)
	}
	allOK(t, got, 5)
	if n := writes.Load(); n != 5 {
		t.Errorf("%d writes for 5 requests, want one each", n)
	}
}
