package source

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// exportServer serves one export at /exports/clients.csv with an ETag that
// the test can change, and a few failures.
type exportServer struct {
	body    []byte
	etag    atomic.Value // string
	noValid bool         // serve no ETag and no Last-Modified
}

func (s *exportServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/exports/clients.csv":
		if !s.noValid {
			w.Header().Set("ETag", `"`+s.etag.Load().(string)+`"`)
			w.Header().Set("Last-Modified", time.Date(2024, 3, 1, 2, 0, 0, 0, time.UTC).Format(http.TimeFormat))
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(s.body))
	case "/forbidden":
		w.WriteHeader(http.StatusForbidden)
	case "/short":
		w.Header().Set("Content-Length", "1000")
		w.Write([]byte("only this"))
	case "/redirect-out":
		http.Redirect(w, r, "http://example.invalid/x.csv", http.StatusFound)
	default:
		http.NotFound(w, r)
	}
}

func newExportServer(tls bool) (*exportServer, *httptest.Server) {
	s := &exportServer{body: bytes.Repeat([]byte("email\nann@example.com\n"), 5000)}
	s.etag.Store("v1")
	if tls {
		return s, httptest.NewTLSServer(s)
	}
	return s, httptest.NewServer(s)
}

func TestHTTPSRead(t *testing.T) {
	s, srv := newExportServer(true)
	defer srv.Close()
	opts := Options{Transport: srv.Client().Transport}
	o, err := Open(context.Background(), srv.URL+"/exports/clients.csv?X-Amz-Signature=topsecret", opts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, o)
	if err != nil || !bytes.Equal(got, s.body) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	m := o.Meta()
	if m.Location != srv.URL+"/exports/clients.csv" || m.Name != "clients.csv" || m.Size != int64(len(s.body)) || m.ETag != "v1" ||
		!m.LastModified.Equal(time.Date(2024, 3, 1, 2, 0, 0, 0, time.UTC)) {
		t.Errorf("Meta = %+v", m)
	}
	if sha := sha256.Sum256(s.body); !bytes.Equal(o.Sum(), sha[:]) {
		t.Errorf("Sum = %x, want %x", o.Sum(), sha)
	}
}

func TestHTTPErrors(t *testing.T) {
	_, tlsSrv := newExportServer(true)
	defer tlsSrv.Close()
	_, plain := newExportServer(false)
	defer plain.Close()
	tlsOpts := Options{Transport: tlsSrv.Client().Transport}
	cases := []struct {
		name, url string
		opts      Options
		err       error
		msg       string
	}{
		{"not found, query hidden", tlsSrv.URL + "/nope.csv?token=topsecret", tlsOpts, ErrNotFound, "404 Not Found"},
		{"forbidden", tlsSrv.URL + "/forbidden", tlsOpts, ErrAccess, "403 Forbidden"},
		{"user info hidden", strings.Replace(tlsSrv.URL, "https://", "https://user:topsecret@", 1) + "/nope.csv", tlsOpts, ErrNotFound, "404"},
		{"untrusted certificate", tlsSrv.URL + "/exports/clients.csv", Options{}, nil, "certificate"},
		{"plain http elsewhere than loopback", "http://example.invalid/x.csv?k=topsecret", Options{}, ErrLocation, "use https://"},
		{"redirect from loopback to plain http elsewhere", plain.URL + "/redirect-out", Options{}, ErrLocation, "loopback"},
		{"not a URL for this package", "ftp://example.invalid/x", Options{}, ErrLocation, "not an s3:// or https://"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, err := Open(context.Background(), c.url, c.opts)
			if err == nil {
				o.Close()
				t.Fatal("Open succeeded")
			}
			if (c.err != nil && !errors.Is(err, c.err)) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("err = %v, want %v saying %q", err, c.err, c.msg)
			}
			if strings.Contains(err.Error(), "topsecret") {
				t.Errorf("err %q shows the URL's secret", err)
			}
		})
	}
}

// TestHTTPChanged: a resource whose ETag changes during the read ends it
// with ErrChanged; a truncated body is an error; plain http to loopback
// works, and without validators there is nothing to check.
func TestHTTPChanged(t *testing.T) {
	s, srv := newExportServer(false)
	defer srv.Close()
	read := func(change func()) error {
		o, err := Open(context.Background(), srv.URL+"/exports/clients.csv", Options{})
		if err != nil {
			return err
		}
		defer o.Close()
		if _, err := io.ReadFull(o, make([]byte, 100)); err != nil {
			return err
		}
		change()
		_, err = io.ReadAll(o)
		return err
	}
	if err := read(func() {}); err != nil {
		t.Fatalf("unchanged: %v", err)
	}
	if err := read(func() { s.etag.Store("v2") }); !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), `"v1" at open and is "v2" now`) {
		t.Fatalf("changed: err = %v, want ErrChanged", err)
	}
	s.noValid = true
	if err := read(func() { s.etag.Store("v3") }); err != nil {
		t.Fatalf("without validators: %v", err)
	}
	o, err := Open(context.Background(), srv.URL+"/short", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readAll(t, o); err == nil || !strings.Contains(err.Error(), "unexpected EOF") {
		t.Fatalf("truncated body: err = %v", err)
	}
}

func TestStamp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "export.csv")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Date(2024, 3, 1, 2, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		change func()
		err    error
	}{
		{"untouched", func() {}, nil},
		{"appended to", func() { write("a,b\n1,2\n3,4\n") }, ErrChanged},
		{"rewritten, same size", func() { write("a,b\n9,9\n"); os.Chtimes(path, at, at.Add(time.Second)) }, ErrChanged},
		{"removed", func() { os.Remove(path) }, ErrChanged},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			write("a,b\n1,2\n")
			os.Chtimes(path, at, at)
			st, err := StampFile(path)
			if err != nil {
				t.Fatal(err)
			}
			c.change()
			if err := st.Verify(); !errors.Is(err, c.err) || (c.err == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, c.err)
			}
		})
	}
}

func TestIsRemote(t *testing.T) {
	for loc, want := range map[string]bool{
		"s3://b/k": true, "S3://b/k": true, "https://x/y": true, "http://127.0.0.1/x": true,
		"export.csv": false, "-": false, "/data/s3://odd": false, "C:\\x.csv": false,
	} {
		if IsRemote(loc) != want {
			t.Errorf("IsRemote(%q) = %v", loc, !want)
		}
	}
}
