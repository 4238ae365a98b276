package source

import (
	"testing"

	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"importer/internal/source/s3test"
)

// The credentials the fake store accepts.
const (
	testKeyID  = s3test.KeyID
	testSecret = s3test.Secret
)

// fakeS3 is the test store (see s3test) with this package's helpers.
type fakeS3 struct {
	srv     *s3test.Server
	url     string
	backend *s3mem.Backend
}

func newFakeS3(t *testing.T) *fakeS3 {
	t.Helper()
	srv := s3test.New(t)
	return &fakeS3{srv: srv, url: srv.URL, backend: srv.Backend}
}

func useCredentials(t *testing.T, id, secret string) { s3test.UseCredentials(t, id, secret) }

func (f *fakeS3) opts() Options {
	return Options{S3: S3Options{Endpoint: f.url, Region: s3test.Region, PathStyle: true}}
}

func (f *fakeS3) bucket(t *testing.T, name string) { f.srv.Bucket(t, name) }

func (f *fakeS3) put(t *testing.T, bucket, key string, data []byte) { f.srv.Put(t, bucket, key, data) }
