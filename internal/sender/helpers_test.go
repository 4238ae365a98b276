package sender

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"importer/internal/jsonenc"
)

// testToken is the token every test uses; it must never show up in a
// Result, a log line or an error.
const testToken = "SECRET-t0ken-4f1d"

// payload is a test Payload: a profile matched by email with one field.
type payload struct {
	email string
	n     int
}

func (p payload) AppendSingle(dst []byte) []byte {
	dst = append(dst, `"email":`...)
	dst = jsonenc.AppendString(dst, p.email)
	dst = append(dst, `,"data":{"n":`...)
	dst = strconv.AppendInt(dst, int64(p.n), 10)
	return append(dst, '}')
}

func (p payload) AppendItem(dst []byte) []byte {
	dst = append(dst, `{"email":`...)
	dst = jsonenc.AppendString(dst, p.email)
	dst = append(dst, `,"n":`...)
	dst = strconv.AppendInt(dst, int64(p.n), 10)
	return append(dst, '}')
}

// job builds job n for key k (the e-mail is the key).
func job(n int, key string) Job {
	return Job{ID: int64(n), Key: key, Payload: payload{email: key, n: n}}
}

// profile is what a test server reads from a request: one profile of a
// single request, or one item of a batch.
type profile struct {
	Email string `json:"email"`
	N     int    `json:"n"`
}

// request is a decoded request body.
type request struct {
	Token string
	Batch bool
	Items []profile // one for a single request
	Raw   []byte
}

func decodeRequest(r *http.Request) (request, error) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return request{}, err
	}
	var body struct {
		Token string          `json:"token"`
		DBID  int             `json:"db_id"`
		Data  json.RawMessage `json:"data"`
		profile
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return request{}, fmt.Errorf("decode %q: %w", raw, err)
	}
	req := request{Token: body.Token, Raw: raw, Batch: strings.HasSuffix(r.URL.Path, "_batch")}
	if req.Batch {
		if err := json.Unmarshal(body.Data, &req.Items); err != nil {
			return request{}, fmt.Errorf("decode batch data %q: %w", body.Data, err)
		}
		return req, nil
	}
	p := body.profile
	var data struct {
		N int `json:"n"`
	}
	if err := json.Unmarshal(body.Data, &data); err != nil {
		return request{}, fmt.Errorf("decode data %q: %w", body.Data, err)
	}
	p.N = data.N
	req.Items = []profile{p}
	return req, nil
}

// ok writes a successful single reply with a profile id derived from n.
func writeOK(w http.ResponseWriter, n int) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"error":0,"error_text":"Successful operation","profile_id":"pid-%d"}`, n)
}

// writeBatch writes a batch reply with one result per item, from code(i).
func writeBatch(w http.ResponseWriter, items []profile, code func(i int, p profile) int) {
	var b bytes.Buffer
	b.WriteString(`{"error":0,"error_text":"Successful operation","result":[`)
	for i, p := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		if c := code(i, p); c != 0 {
			fmt.Fprintf(&b, `{"error":%d,"error_text":"item %d failed"}`, c, p.N)
		} else {
			fmt.Fprintf(&b, `{"error":0,"error_text":"Successful operation","profile_id":"pid-%d"}`, p.N)
		}
	}
	b.WriteString("]}")
	w.Header().Set("Content-Type", "application/json")
	w.Write(b.Bytes())
}

// pipeNet is an in-memory network for tests inside a synctest bubble: the
// real http.Server and http.Transport, over net.Pipe connections, which
// block durably (real sockets do not, so httptest cannot run in a bubble).
type pipeNet struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
	// refuse, when it returns true, makes a dial fail as a closed port does.
	refuse func() bool
}

func newPipeNet() *pipeNet {
	return &pipeNet{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *pipeNet) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeNet) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *pipeNet) Addr() net.Addr { return pipeAddr{} }

func (l *pipeNet) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	if l.refuse != nil && l.refuse() {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: pipeAddr{},
			Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	}
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-l.closed:
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// fakeServer is an HTTP server on a pipeNet, for tests inside a bubble.
type fakeServer struct {
	URL      string
	Client   *http.Client
	net      *pipeNet
	srv      *http.Server
	done     chan struct{}
	handlers sync.WaitGroup
}

// startFake serves h on an in-memory network. Call it inside the bubble;
// Close before the bubble ends.
func startFake(h http.Handler) *fakeServer {
	pn := newPipeNet()
	f := &fakeServer{
		URL: "http://api.test",
		net: pn,
		srv: &http.Server{ErrorLog: log.New(io.Discard, "", 0)},
		Client: &http.Client{Transport: &http.Transport{
			DialContext:         pn.DialContext,
			MaxIdleConnsPerHost: 1024,
		}},
		done: make(chan struct{}),
	}
	f.srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.handlers.Add(1)
		defer f.handlers.Done()
		h.ServeHTTP(w, r)
	})
	go func() {
		defer close(f.done)
		f.srv.Serve(pn)
	}()
	return f
}

// Close stops the server and waits for its handlers (slow ones sleep on
// the fake clock, which runs on while Close waits), so the bubble ends clean.
func (f *fakeServer) Close() {
	f.srv.Close()
	f.Client.Transport.(*http.Transport).CloseIdleConnections()
	<-f.done
	f.handlers.Wait()
}

// startLoopback serves h on 127.0.0.1 with httptest.
func startLoopback(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// testConfig is a Config aimed at url with the test token.
func testConfig(url string, client *http.Client) Config {
	return Config{
		URL:           url,
		Endpoint:      "update",
		Token:         testToken,
		Client:        client,
		Envelope:      []byte(`"db_id":1,"matching":"email"`),
		BatchEnvelope: []byte(`"db_id":1,"matching":"email"`),
	}
}

// runAll runs a pool over jobs (closing the input after them) and returns
// the results by ID and Run's error. It fails the test when a job gets no
// result or two.
func runAll(t testing.TB, ctx context.Context, p *Pool, jobs []Job) (map[int64]Result, error) {
	t.Helper()
	in := make(chan []Job)
	out := make(chan []Result, 16)
	errc := make(chan error, 1)
	stopped := make(chan struct{}) // closed when Run has returned
	go func() { errc <- p.Run(ctx, in, out) }()
	var sent atomic.Int64 // jobs Run took
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		defer close(in)
		// Slices of different sizes, as a caller's chunks end where its
		// input does.
		for i, size := 0, 1; i < len(jobs); size = size%5 + 1 {
			chunk := jobs[i:min(i+size, len(jobs))]
			select {
			case in <- chunk:
				sent.Add(int64(len(chunk)))
				i += len(chunk)
			case <-ctx.Done():
				return
			case <-stopped:
				return // Run stopped reading (a fatal error)
			}
		}
	}()
	got := make(map[int64]Result, len(jobs))
	take := func(rs []Result) {
		for _, r := range rs {
			if prev, dup := got[r.ID]; dup {
				t.Errorf("job %d got two results: %+v and %+v", r.ID, prev, r)
			}
			got[r.ID] = r
		}
	}
	var runErr error
	for running := true; running; {
		select {
		case rs := <-out:
			take(rs)
		case runErr = <-errc:
			close(stopped)
			running = false
		}
	}
	for {
		select {
		case rs := <-out:
			take(rs)
			continue
		default:
		}
		break
	}
	<-fed
	if int64(len(got)) != sent.Load() {
		t.Errorf("Run took %d jobs and sent %d results, want one each", sent.Load(), len(got))
	}
	return got, runErr
}

// runSingles runs p with the jobs of in handed over one at a time and the
// results flattened onto out, for tests that watch Run take jobs one by
// one. It returns Run's error once every result is on out.
func runSingles(ctx context.Context, p *Pool, in <-chan Job, out chan<- Result) error {
	jin := make(chan []Job)
	jout := make(chan []Result, 16)
	done := make(chan struct{})
	go func() {
		defer close(jin)
		for {
			select {
			case j, ok := <-in:
				if !ok {
					return
				}
				select {
				case jin <- []Job{j}:
				case <-done:
					return
				}
			case <-done:
				return
			}
		}
	}()
	flat := make(chan struct{})
	go func() {
		defer close(flat)
		for rs := range jout {
			for _, r := range rs {
				out <- r
			}
		}
	}()
	err := p.Run(ctx, jin, jout)
	close(done)
	close(jout)
	<-flat
	return err
}

// logBuffer captures a pool's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// assertNoToken fails when the token appears in any result or text.
func assertNoToken(t testing.TB, results map[int64]Result, texts ...string) {
	t.Helper()
	for id, r := range results {
		if strings.Contains(fmt.Sprintf("%+v", r), testToken) {
			t.Errorf("result %d holds the token: %+v", id, r)
		}
	}
	for _, s := range texts {
		if strings.Contains(s, testToken) {
			t.Errorf("text holds the token: %q", s)
		}
	}
}
