package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// s3Loc is a parsed s3://bucket/key.
type s3Loc struct {
	bucket, key string
}

func (l s3Loc) String() string { return "s3://" + l.bucket + "/" + l.key }

// parseS3 splits s3://bucket/key; the key may be empty (the whole bucket).
func parseS3(location string) (s3Loc, error) {
	rest := location[len("s3://"):]
	bucket, key, _ := strings.Cut(rest, "/")
	if bucket == "" || strings.ContainsAny(bucket, "?#") {
		return s3Loc{}, fmt.Errorf("%w: %q: want s3://bucket/key", ErrLocation, redact(location))
	}
	return s3Loc{bucket: bucket, key: key}, nil
}

// s3Client builds a client from the options and the environment.
func s3Client(opts Options) (*minio.Client, error) {
	endpoint := firstOf(opts.S3.Endpoint, os.Getenv("AWS_ENDPOINT_URL_S3"), os.Getenv("AWS_ENDPOINT_URL"), "s3.amazonaws.com")
	secure := true
	host := endpoint
	if strings.Contains(endpoint, "://") {
		u, err := url.Parse(endpoint)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("%w: S3 endpoint %q is not a URL or a host", ErrLocation, redact(endpoint))
		}
		switch strings.ToLower(u.Scheme) {
		case "https":
		case "http":
			secure = false
			opts.warn("the S3 endpoint " + u.Host + " is plain http: the data and the request signatures cross the network unencrypted")
		default:
			return nil, fmt.Errorf("%w: S3 endpoint %q: want https:// or http://", ErrLocation, redact(endpoint))
		}
		host = u.Host
	}
	lookup := minio.BucketLookupAuto
	if opts.S3.PathStyle {
		lookup = minio.BucketLookupPath
	}
	creds := credentials.NewChainCredentials([]credentials.Provider{
		&credentials.EnvAWS{},
		&credentials.FileAWSCredentials{}, // AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, AWS_PROFILE
	})
	c, err := minio.New(host, &minio.Options{
		Creds:        creds,
		Secure:       secure,
		Region:       firstOf(opts.S3.Region, os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION")),
		BucketLookup: lookup,
		Transport:    opts.transport(),
	})
	if err != nil {
		return nil, fmt.Errorf("%w: S3 endpoint %q: %v", ErrLocation, host, err)
	}
	return c, nil
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// hasGlob reports whether a key holds glob metacharacters.
func hasGlob(key string) bool { return strings.ContainsAny(key, "*?[") }

// openS3 reads one object: a HEAD for its metadata, then a GET pinned to
// the ETag seen, and at the end of the stream another HEAD to see that the
// object was not replaced while it was read.
func openS3(ctx context.Context, location string, opts Options) (*Object, error) {
	loc, err := parseS3(location)
	if err != nil {
		return nil, err
	}
	if loc.key == "" || strings.HasSuffix(loc.key, "/") || hasGlob(loc.key) {
		return nil, fmt.Errorf("%w: %s names a prefix or a pattern, not one object: pick one (newest or oldest) first", ErrLocation, loc)
	}
	c, err := s3Client(opts)
	if err != nil {
		return nil, err
	}
	info, err := c.StatObject(ctx, loc.bucket, loc.key, minio.StatObjectOptions{})
	if err != nil {
		return nil, statError(ctx, c, loc, err)
	}
	meta := metaOf(loc.bucket, info)
	get := minio.GetObjectOptions{}
	if meta.ETag != "" {
		get.SetMatchETag(meta.ETag)
	}
	obj, err := c.GetObject(ctx, loc.bucket, loc.key, get)
	if err != nil {
		return nil, s3Error(loc, err)
	}
	// GetObject is lazy: Stat sends the GET, so that a refusal or a
	// replaced object shows here rather than at the first Read.
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		return nil, s3Error(loc, err)
	}
	verify := func(ctx context.Context) error {
		now, err := c.StatObject(ctx, loc.bucket, loc.key, minio.StatObjectOptions{})
		if err != nil {
			if errors.Is(s3Error(loc, err), ErrNotFound) {
				return fmt.Errorf("%w: %s was deleted while it was read", ErrChanged, loc)
			}
			return fmt.Errorf("check %s is unchanged: %w", loc, s3Error(loc, err))
		}
		if n := metaOf(loc.bucket, now); n.ETag != meta.ETag || n.Size != meta.Size {
			return fmt.Errorf("%w: %s was replaced while it was read (ETag %q, %d bytes at open; ETag %q, %d bytes now): run again to read the new version", ErrChanged, loc, meta.ETag, meta.Size, n.ETag, n.Size)
		}
		return nil
	}
	return newObject(ctx, meta, s3Body{obj, loc}, verify), nil
}

// s3Body turns the store's errors met while streaming into this package's.
type s3Body struct {
	obj *minio.Object
	loc s3Loc
}

func (b s3Body) Read(p []byte) (int, error) {
	n, err := b.obj.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = s3Error(b.loc, err)
	}
	return n, err
}

func (b s3Body) Close() error { return b.obj.Close() }

func metaOf(bucket string, info minio.ObjectInfo) Meta {
	return Meta{
		Location:     s3Loc{bucket: bucket, key: info.Key}.String(),
		Name:         path.Base(info.Key),
		Size:         info.Size,
		ETag:         unquote(info.ETag),
		LastModified: info.LastModified,
	}
}

// statError is s3Error for a HEAD, whose 404 has no body to tell a missing
// key from a missing bucket: the bucket is asked for.
func statError(ctx context.Context, c *minio.Client, loc s3Loc, err error) error {
	err = s3Error(loc, err)
	if errors.Is(err, ErrNotFound) {
		if ok, berr := c.BucketExists(ctx, loc.bucket); berr == nil && !ok {
			return s3Error(loc, minio.ErrorResponse{Code: "NoSuchBucket", Message: "The specified bucket does not exist"})
		}
	}
	return err
}

// s3Error turns a store's answer into an error naming the bucket and key
// and what to check. The store's own message is kept (it holds no secret);
// the request, which is signed, is not.
func s3Error(loc s3Loc, err error) error {
	resp := minio.ToErrorResponse(err)
	why := resp.Code
	if resp.Message != "" {
		why += ": " + resp.Message
	}
	switch resp.Code {
	case "NoSuchKey", "NotFound":
		return fmt.Errorf("%w: %s: no such object (%s): check the key", ErrNotFound, loc, why)
	case "NoSuchBucket":
		return fmt.Errorf("%w: %s: no such bucket %q (%s): check the bucket name, the endpoint and the region", ErrNotFound, loc, loc.bucket, why)
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "TokenRefreshRequired", "AllAccessDisabled":
		return fmt.Errorf("%w: %s: the store refused the credentials or the read (%s): check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (or AWS_PROFILE and the credentials file) and the bucket's policy", ErrAccess, loc, why)
	case "PreconditionFailed":
		return fmt.Errorf("%w: %s was replaced between its HEAD and its GET: run again", ErrChanged, loc)
	}
	if resp.StatusCode == http.StatusForbidden {
		return fmt.Errorf("%w: %s: %s", ErrAccess, loc, why)
	}
	if resp.Code == "" {
		return fmt.Errorf("%s: %w", loc, err)
	}
	return fmt.Errorf("%s: %s", loc, why)
}
