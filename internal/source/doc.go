// Package source opens an input where the user keeps it: a local file, an
// https:// URL, or an object of an S3-compatible store (s3://bucket/key),
// and gives a stream with what a resume fingerprint needs.
//
// [Open] returns an [Object]: an io.ReadCloser with the input's [Meta]
// (name, size, ETag, last-modified), the SHA-256 of the bytes read so far
// ([Object.Sum], the whole input's once Read has returned io.EOF), and an
// end-of-input check: an input that changed while it was read is an error,
// not a silent mix of two versions. For S3 the read is pinned to the ETag
// seen at open (a conditional GET) and, when the stream ends, the object is
// asked for again: a different ETag or size makes Read return [ErrChanged]
// instead of io.EOF. For https the same check runs when the server gave an
// ETag or a Last-Modified date. [Stamp] does the same for a local file, by
// size and modification time.
//
// [Pick] chooses one object under an S3 prefix (s3://bucket/exports/) or
// among the keys matching a glob in the key (s3://bucket/exports/*.csv.gz):
// the newest (or the oldest) for which the caller's skip function is false,
// so that a cron job takes the next export it has not imported yet.
//
// S3 settings come from [S3Options] (endpoint, region, path-style
// addressing), falling back to AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL,
// AWS_REGION and AWS_DEFAULT_REGION. Credentials come only from the
// environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)
// or the shared credentials file (AWS_SHARED_CREDENTIALS_FILE or
// ~/.aws/credentials, profile AWS_PROFILE), never from a config value;
// without any the requests go unsigned, which a public bucket accepts.
// Errors name the bucket and key (a URL without its query string, where
// presigned URLs keep their signature) and what to check, never a secret.
//
// Plain http:// is accepted only to a loopback address (a test server, a
// local proxy): anywhere else the bytes and any token in the URL would
// cross the network in clear. An S3 endpoint may be http:// (an in-cluster
// MinIO); Options.Warn is told so.
package source
