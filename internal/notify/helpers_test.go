package notify

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// request is what a test server saw.
type request struct {
	Method, Path, Query, ContentType, Body string
}

// server is an httptest server that records every request and answers
// with the statuses given in turn (the last one repeats; none = 200) and
// the reply text, where {uri} stands for the request's path and query.
type server struct {
	*httptest.Server
	mu       sync.Mutex
	seen     []request
	statuses []int
	reply    string
}

func newServer(t *testing.T, statuses ...int) *server {
	t.Helper()
	s := &server{statuses: statuses}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.seen = append(s.seen, request{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"), string(body)})
	status := http.StatusOK
	if n := len(s.seen); len(s.statuses) > 0 {
		status = s.statuses[min(n, len(s.statuses))-1]
	}
	reply := strings.ReplaceAll(s.reply, "{uri}", r.URL.RequestURI())
	s.mu.Unlock()
	w.WriteHeader(status)
	io.WriteString(w, reply)
}

func (s *server) requests() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.seen...)
}

// memNet is an in-memory network for testing/synctest: an http.Server
// reads connections made by net.Pipe, whose blocking is visible to the
// fake clock (a loopback socket's is not).
type memNet struct {
	srv   *http.Server
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

// newMemNet serves h; call it inside the bubble, and close the returned
// net before the bubble ends.
func newMemNet(h http.Handler) *memNet {
	m := &memNet{srv: &http.Server{Handler: h}, conns: make(chan net.Conn), done: make(chan struct{})}
	go m.srv.Serve(m)
	return m
}

// Transport dials the in-memory server whatever the URL's host.
func (m *memNet) Transport() *http.Transport {
	return &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		client, server := net.Pipe()
		select {
		case m.conns <- server:
			return client, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-m.done:
			return nil, net.ErrClosed
		}
	}}
}

// Accept, Close and Addr make memNet the server's net.Listener.
func (m *memNet) Accept() (net.Conn, error) {
	select {
	case c := <-m.conns:
		return c, nil
	case <-m.done:
		return nil, net.ErrClosed
	}
}

func (m *memNet) Close() error {
	m.once.Do(func() { close(m.done) })
	return nil
}

func (m *memNet) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80} }

// shutdown stops the server and its connections.
func (m *memNet) shutdown() {
	if err := m.srv.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		panic(err)
	}
}
