package fakeapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"importer/internal/fakeapi"
)

const testToken = "tok-5ecret-value"

// reply is the API envelope as a client sees it.
type reply struct {
	Error     int     `json:"error"`
	ErrorText string  `json:"error_text"`
	ProfileID string  `json:"profile_id"`
	Result    []reply `json:"result"`
	status    int     // HTTP status
	raw       []byte  // the body as received
	header    http.Header
}

// env is one fake server on a real loopback port.
type env struct {
	t   testing.TB
	api *fakeapi.Server
	url string
	c   *http.Client
}

// newEnv starts a server; opts.Token defaults to testToken.
func newEnv(t testing.TB, opts fakeapi.Options) *env {
	t.Helper()
	if opts.Token == "" {
		opts.Token = testToken
	}
	api := fakeapi.New(opts)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &env{t: t, api: api, url: srv.URL, c: srv.Client()}
}

// call POSTs body (a map gets the token added) as JSON to the method.
func (e *env) call(method string, body map[string]any) reply {
	e.t.Helper()
	if _, ok := body["token"]; !ok {
		body["token"] = testToken
	}
	b, err := json.Marshal(body)
	if err != nil {
		e.t.Fatalf("marshal: %v", err)
	}
	return e.raw(method, "application/json", b, nil)
}

// raw POSTs bytes with a content type and extra headers.
func (e *env) raw(method, contentType string, body []byte, hdr map[string]string) reply {
	e.t.Helper()
	r, err := e.do(http.MethodPost, fakeapi.APIPrefix+method, contentType, body, hdr)
	if err != nil {
		e.t.Fatalf("POST %s: %v", method, err)
	}
	return r
}

func (e *env) do(httpMethod, path, contentType string, body []byte, hdr map[string]string) (reply, error) {
	req, err := http.NewRequest(httpMethod, e.url+path, bytes.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return doRequest(e.c, req)
}

func doRequest(c *http.Client, req *http.Request) (reply, error) {
	resp, err := c.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	r := reply{status: resp.StatusCode, raw: b, header: resp.Header}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &r); err != nil {
			return r, err
		}
	}
	return r, nil
}

// mustOK fails unless r is HTTP 200 with error 0 and returns its profile id.
func mustOK(t testing.TB, r reply) string {
	t.Helper()
	if r.status != http.StatusOK || r.Error != 0 {
		t.Fatalf("reply = HTTP %d %s, want HTTP 200 error 0", r.status, r.raw)
	}
	return r.ProfileID
}

// wantErr fails unless r is HTTP 200 with the error code and a text containing each part.
func wantErr(t testing.TB, r reply, code int, parts ...string) {
	t.Helper()
	if r.status != http.StatusOK || r.Error != code {
		t.Fatalf("reply = HTTP %d %s, want HTTP 200 error %d", r.status, r.raw, code)
	}
	for _, p := range parts {
		if !strings.Contains(r.ErrorText, p) {
			t.Errorf("error_text = %q, want it to contain %q", r.ErrorText, p)
		}
	}
}

// profile returns the stored profile with the id.
func (e *env) profile(id string) fakeapi.Profile {
	e.t.Helper()
	for _, p := range e.api.Profiles() {
		if p.ID == id {
			return p
		}
	}
	e.t.Fatalf("profile %s not in the store", id)
	return fakeapi.Profile{}
}

// obj is shorthand for a JSON object literal.
type obj = map[string]any

// list is shorthand for a JSON array literal.
type list = []any

// pipeListener serves HTTP over in-memory pipes, so a server and client
// started inside a testing/synctest bubble block durably and fake time can
// advance (a real socket would not let it).
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// bubbleEnv is an env over pipes, for use inside synctest.Test only.
func bubbleEnv(t *testing.T, opts fakeapi.Options) *env {
	t.Helper()
	if opts.Token == "" {
		opts.Token = testToken
	}
	api := fakeapi.New(opts)
	l := newPipeListener()
	srv := &http.Server{Handler: api}
	go func() { _ = srv.Serve(l) }() // returns ErrServerClosed at cleanup
	tr := &http.Transport{DialContext: l.dial}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		_ = srv.Close()
	})
	return &env{t: t, api: api, url: "http://fakeapi.test", c: &http.Client{Transport: tr}}
}

// equalJSON compares two decoded values by their JSON encoding.
func equalJSON(a, b any) bool {
	x, errX := json.Marshal(a)
	y, errY := json.Marshal(b)
	return errX == nil && errY == nil && bytes.Equal(x, y)
}

// dump reads the store back through GET /fake/profiles, as a client of the
// fake would.
func (e *env) dump() []fakeapi.Profile {
	e.t.Helper()
	r, err := e.do(http.MethodGet, "/fake/profiles", "", nil, nil)
	if err != nil || r.status != http.StatusOK {
		e.t.Fatalf("GET /fake/profiles = %d %s, %v", r.status, r.raw, err)
	}
	var out []fakeapi.Profile
	dec := json.NewDecoder(bytes.NewReader(r.raw))
	dec.UseNumber()
	for dec.More() {
		var p fakeapi.Profile
		if err := dec.Decode(&p); err != nil {
			e.t.Fatalf("/fake/profiles line %d: %v", len(out)+1, err)
		}
		out = append(out, p)
	}
	return out
}

// stats reads GET /fake/stats.
func (e *env) stats() fakeapi.Stats {
	e.t.Helper()
	r, err := e.do(http.MethodGet, "/fake/stats", "", nil, nil)
	if err != nil || r.status != http.StatusOK {
		e.t.Fatalf("GET /fake/stats = %d %s, %v", r.status, r.raw, err)
	}
	var st fakeapi.Stats
	if err := json.Unmarshal(r.raw, &st); err != nil {
		e.t.Fatalf("/fake/stats %s: %v", r.raw, err)
	}
	return st
}

// byEmail indexes a dump by the profiles' e-mail.
func byEmail(ps []fakeapi.Profile) map[string]fakeapi.Profile {
	m := make(map[string]fakeapi.Profile, len(ps))
	for _, p := range ps {
		if s, ok := p.Fields["email"].(string); ok {
			m[s] = p
		}
	}
	return m
}

func jsonNumber(n int64) json.Number { return json.Number(strconv.FormatInt(n, 10)) }

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return b
}
