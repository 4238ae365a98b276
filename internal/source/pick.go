package source

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/minio/minio-go/v7"
)

// Pick rules.
const (
	PickNewest = "newest" // the most recently modified object (the default)
	PickOldest = "oldest" // the least recently modified: a backlog in order
)

// Pick chooses one object of an S3 location that names several: a prefix
// (a key ending in "/", or empty: the objects directly under it) or a glob
// in the key (s3://bucket/exports/*.csv.gz, as path.Match has it: * and ?
// stop at a "/"). Of the objects for which skip is false (skip may be
// nil), rule "newest" (or "") takes the last modified, "oldest" the first;
// equal times go by key. It returns the chosen object's Meta, whose
// Location Open takes. A location naming one object is returned as it is,
// after a HEAD, unless skipped.
func Pick(ctx context.Context, location, rule string, opts Options, skip func(Meta) bool) (Meta, error) {
	if !strings.HasPrefix(strings.ToLower(location), "s3://") {
		return Meta{}, fmt.Errorf("%w: %s: picking among objects needs an s3:// prefix or pattern", ErrLocation, redact(location))
	}
	newest := true
	switch rule {
	case "", PickNewest:
	case PickOldest:
		newest = false
	default:
		return Meta{}, fmt.Errorf("%w: pick rule %q: want %q or %q", ErrLocation, rule, PickNewest, PickOldest)
	}
	loc, err := parseS3(location)
	if err != nil {
		return Meta{}, err
	}
	c, err := s3Client(opts)
	if err != nil {
		return Meta{}, err
	}
	if loc.key != "" && !strings.HasSuffix(loc.key, "/") && !hasGlob(loc.key) {
		info, err := c.StatObject(ctx, loc.bucket, loc.key, minio.StatObjectOptions{})
		if err != nil {
			return Meta{}, statError(ctx, c, loc, err)
		}
		m := metaOf(loc.bucket, info)
		if skip != nil && skip(m) {
			return Meta{}, fmt.Errorf("%w: %s is the only candidate and it is skipped (already imported)", ErrNotFound, loc)
		}
		return m, nil
	}
	return pickListed(ctx, c, loc, newest, skip)
}

// pickListed lists the candidates and keeps the best one.
func pickListed(ctx context.Context, c *minio.Client, loc s3Loc, newest bool, skip func(Meta) bool) (Meta, error) {
	prefix, pattern := loc.key, ""
	if i := strings.IndexAny(loc.key, "*?[\\"); i >= 0 {
		prefix, pattern = loc.key[:i], loc.key
		if _, err := path.Match(pattern, ""); err != nil {
			return Meta{}, fmt.Errorf("%w: %s: bad pattern: %v", ErrLocation, loc, err)
		}
	}
	recursive := pattern != "" && strings.Contains(pattern[len(prefix):], "/")
	var best Meta
	found, seen, skipped := false, 0, 0
	for info := range c.ListObjects(ctx, loc.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: recursive}) {
		if info.Err != nil {
			return Meta{}, s3Error(loc, info.Err)
		}
		if strings.HasSuffix(info.Key, "/") {
			continue // a "directory" of the listing, or a folder marker
		}
		if pattern != "" {
			if ok, _ := path.Match(pattern, info.Key); !ok {
				continue
			}
		}
		seen++
		m := metaOf(loc.bucket, info)
		if skip != nil && skip(m) {
			skipped++
			continue
		}
		if !found || better(m, best, newest) {
			best, found = m, true
		}
	}
	if !found {
		what := "no object"
		if seen > 0 {
			what = fmt.Sprintf("all %d objects are skipped (already imported); no new object", seen)
		}
		return Meta{}, fmt.Errorf("%w: %s: %s matches", ErrNotFound, loc, what)
	}
	return best, nil
}

// better reports whether a comes before b in the pick order.
func better(a, b Meta, newest bool) bool {
	if !a.LastModified.Equal(b.LastModified) {
		return a.LastModified.After(b.LastModified) == newest
	}
	return (a.Location > b.Location) == newest
}
