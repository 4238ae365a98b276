// Package s3test serves a real S3 protocol server for tests, in process
// and on loopback: gofakes3 over its in-memory backend, wrapped in a check
// of each request's AWS Signature V4 (gofakes3 checks none), which answers
// InvalidAccessKeyId or SignatureDoesNotMatch as S3 does. It is imported
// only by tests.
package s3test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// The credentials the fake store accepts.
const (
	KeyID  = "AKIAIMPORTERTEST"
	Secret = "s3cr3t/Do-Not-Print+42"
)

// Server is a fake S3 store on a loopback address.
type Server struct {
	URL     string         // the endpoint, http://127.0.0.1:port (path-style addressing)
	Backend *s3mem.Backend // the objects, for tests that change them behind the server's back
	clock   gofakes3.TimeSourceAdvancer
}

// New starts a store and sets the environment's AWS credentials to the
// ones it accepts (KeyID, Secret), for the test's duration.
func New(t testing.TB) *Server {
	t.Helper()
	clock := gofakes3.FixedTimeSource(time.Date(2024, 3, 1, 2, 0, 0, 0, time.UTC))
	backend := s3mem.New(s3mem.WithTimeSource(clock))
	faker := gofakes3.New(backend)
	srv := httptest.NewServer(signatureCheck(faker.Server()))
	t.Cleanup(srv.Close)
	UseCredentials(t, KeyID, Secret)
	return &Server{URL: srv.URL, Backend: backend, clock: clock}
}

// UseCredentials sets the AWS credentials of the environment, for the
// test's duration, and points the shared credentials file at nothing.
func UseCredentials(t testing.TB, id, secret string) {
	t.Setenv("AWS_ACCESS_KEY_ID", id)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	for _, v := range []string{"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY", "AWS_SECRET_KEY"} {
		t.Setenv(v, "")
	}
}

// Region is the region tests configure for the store.
const Region = "us-east-1"

// Bucket creates a bucket.
func (f *Server) Bucket(t testing.TB, name string) {
	t.Helper()
	if err := f.Backend.CreateBucket(name); err != nil {
		t.Fatal(err)
	}
}

// Put stores an object, its LastModified one minute after the previous.
// The Last-Modified header is metadata that gofakes3's own PUT handler
// would add: the backend stores what it is given.
func (f *Server) Put(t testing.TB, bucket, key string, data []byte) {
	t.Helper()
	f.clock.Advance(time.Minute)
	meta := map[string]string{"Last-Modified": f.clock.Now().Format(http.TimeFormat)}
	if _, err := f.Backend.PutObject(bucket, key, meta, bytes.NewReader(data), int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
}

// signatureCheck rejects a request whose SigV4 signature is not that of
// KeyID/Secret, with S3's error codes.
func signatureCheck(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if code := checkSigV4(r); code != "" {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			if r.Method != http.MethodHead {
				w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>` + code + `</Code><Message>refused by the test's signature check</Message></Error>`))
			}
			return
		}
		next.ServeHTTP(w, r)
	})
}

// checkSigV4 recomputes the request's signature: "" when it matches.
func checkSigV4(r *http.Request) string {
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ")
	if !ok {
		return "AccessDenied"
	}
	fields := map[string]string{}
	for _, part := range strings.Split(auth, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/") // id/date/region/service/aws4_request
	if len(scope) != 5 {
		return "AccessDenied"
	}
	if scope[0] != KeyID {
		return "InvalidAccessKeyId"
	}
	var headers strings.Builder
	for _, h := range strings.Split(fields["SignedHeaders"], ";") {
		var v string
		switch h {
		case "host":
			v = r.Host
		case "content-length":
			v = strconv.FormatInt(r.ContentLength, 10)
		default:
			v = strings.Join(strings.Fields(strings.Join(r.Header.Values(h), ",")), " ")
		}
		headers.WriteString(h + ":" + v + "\n")
	}
	canonical := strings.Join([]string{
		r.Method, r.URL.EscapedPath(), strings.ReplaceAll(r.URL.Query().Encode(), "+", "%20"),
		headers.String(), fields["SignedHeaders"], r.Header.Get("X-Amz-Content-Sha256"),
	}, "\n")
	sum := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + r.Header.Get("X-Amz-Date") + "\n" + strings.Join(scope[1:], "/") + "\n" + hex.EncodeToString(sum[:])
	key := []byte("AWS4" + Secret)
	for _, s := range scope[1:] {
		key = hmacSHA256(key, s)
	}
	if !hmac.Equal([]byte(hex.EncodeToString(hmacSHA256(key, toSign))), []byte(fields["Signature"])) {
		return "SignatureDoesNotMatch"
	}
	return ""
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
