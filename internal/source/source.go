package source

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
	"time"
)

// Errors to tell apart with errors.Is; the messages say which input and
// what to check.
var (
	// ErrChanged: the input was replaced or modified while it was read.
	ErrChanged = errors.New("input changed while it was read")
	// ErrNotFound: no such object, bucket, URL or file, or nothing to pick.
	ErrNotFound = errors.New("input not found")
	// ErrAccess: the credentials were refused or do not allow the read.
	ErrAccess = errors.New("access denied")
	// ErrLocation: a location the package cannot open as written.
	ErrLocation = errors.New("unusable input location")
)

// Options says how to reach remote inputs. The zero value uses the
// environment and the default HTTP transport.
type Options struct {
	// S3 is the object store's address; empty fields fall back to the AWS
	// environment variables.
	S3 S3Options
	// Transport carries the HTTP requests (https inputs and S3); nil is
	// http.DefaultTransport. Tests pass one that trusts their server.
	Transport http.RoundTripper
	// Warn receives warnings (an S3 endpoint over plain http); nil drops
	// them.
	Warn func(msg string)
}

// S3Options locate an S3-compatible store.
type S3Options struct {
	// Endpoint: a URL (https://minio.example:9000) or a host; "" =
	// AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, else AWS's own.
	Endpoint string
	// Region: "" = AWS_REGION, else AWS_DEFAULT_REGION, else asked of the
	// store.
	Region string
	// PathStyle addresses buckets as endpoint/bucket/key rather than
	// bucket.endpoint/key, as most self-hosted stores need.
	PathStyle bool
}

// Meta describes one input, for messages and for the resume fingerprint.
type Meta struct {
	// Location is the input as given, without a URL's user info and query
	// string (where a presigned URL keeps its signature).
	Location string
	// Name is the last segment of the key or path: its extension tells the
	// reader the format (.csv.gz, .xlsx).
	Name string
	// Size in bytes; -1 when the server does not say.
	Size int64
	// ETag as the server gave it, quotes removed; "" when it gave none.
	ETag string
	// LastModified; zero when unknown.
	LastModified time.Time
}

// Object is an opened input: read it to the end, then Sum is the SHA-256 of
// its bytes. When the stream ends, Read checks that the input was not
// replaced meanwhile and returns ErrChanged instead of io.EOF if it was.
// An Object is not safe for concurrent use.
type Object struct {
	ctx    context.Context
	meta   Meta
	body   io.ReadCloser
	sha    hash.Hash
	n      int64
	verify func(ctx context.Context) error // nil: nothing to check against
	eof    bool                            // the body has been read to its end
	err    error                           // sticky end of stream
}

// Read reads from the input, hashing what it returns.
func (o *Object) Read(p []byte) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	n, err := o.body.Read(p)
	o.sha.Write(p[:n])
	o.n += int64(n)
	switch {
	case errors.Is(err, io.EOF):
		o.eof = true
		if verr := o.Verify(o.ctx); verr != nil {
			err = verr
		}
		o.err = err
	case err != nil:
		err = fmt.Errorf("read %s: %w", o.meta.Location, err)
		o.err = err
	}
	return n, err
}

// Close releases the connection.
func (o *Object) Close() error { return o.body.Close() }

// Meta describes the input as it was at open.
func (o *Object) Meta() Meta { return o.meta }

// Size is Meta().Size, so that a reader taking an io.Reader with a size
// can show progress.
func (o *Object) Size() int64 { return o.meta.Size }

// Sum is the SHA-256 of the bytes read so far: the input's once Read has
// returned io.EOF.
func (o *Object) Sum() []byte { return o.sha.Sum(nil) }

// Verify checks that the input is still the one opened: the same ETag (or
// last-modified date) and size and, once the stream has ended, as many
// bytes read as it held. Read calls it when the stream ends; a caller may
// call it again (each call asks the server).
func (o *Object) Verify(ctx context.Context) error {
	if o.eof && o.meta.Size >= 0 && o.n != o.meta.Size {
		return fmt.Errorf("%w: %s: read %d bytes, the input had %d at open", ErrChanged, o.meta.Location, o.n, o.meta.Size)
	}
	if o.verify == nil {
		return nil
	}
	return o.verify(ctx)
}

func newObject(ctx context.Context, meta Meta, body io.ReadCloser, verify func(context.Context) error) *Object {
	return &Object{ctx: ctx, meta: meta, body: body, sha: sha256.New(), verify: verify}
}

// IsRemote reports whether location is opened by this package rather than
// as a local path: an s3://, https:// or http:// URL.
func IsRemote(location string) bool {
	l := strings.ToLower(location)
	return strings.HasPrefix(l, "s3://") || strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://")
}

// Open opens a remote input (see IsRemote). An S3 location must name one
// object: use Pick for a prefix or a glob.
func Open(ctx context.Context, location string, opts Options) (*Object, error) {
	l := strings.ToLower(location)
	switch {
	case strings.HasPrefix(l, "s3://"):
		return openS3(ctx, location, opts)
	case strings.HasPrefix(l, "https://"), strings.HasPrefix(l, "http://"):
		return openHTTP(ctx, location, opts)
	}
	return nil, fmt.Errorf("%w: %q is not an s3:// or https:// URL", ErrLocation, location)
}

// unquote strips the quotes of an ETag header value.
func unquote(etag string) string {
	return strings.Trim(strings.TrimPrefix(etag, "W/"), `"`)
}

// transport is the options' transport or the default one.
func (o Options) transport() http.RoundTripper {
	if o.Transport != nil {
		return o.Transport
	}
	return http.DefaultTransport
}

func (o Options) warn(msg string) {
	if o.Warn != nil {
		o.Warn(msg)
	}
}
