package source

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// openHTTP starts a streamed GET. Plain http is refused unless the host is
// a loopback address; redirects are held to the same rule.
func openHTTP(ctx context.Context, location string, opts Options) (*Object, error) {
	u, err := url.Parse(location)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%w: %s is not a valid URL", ErrLocation, redact(location))
	}
	if err := checkScheme(u); err != nil {
		return nil, err
	}
	client := &http.Client{
		Transport: opts.transport(),
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("more than 10 redirects")
			}
			return checkScheme(req.URL)
		},
	}
	shown := redact(location)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrLocation, shown, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", shown, scrub(err, u))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		resp.Body.Close()
		return nil, statusError(shown, resp.StatusCode)
	}
	meta := Meta{
		Location: shown,
		Name:     path.Base(u.Path),
		Size:     resp.ContentLength,
		ETag:     unquote(resp.Header.Get("ETag")),
	}
	if resp.Header.Get("Content-Encoding") != "" {
		meta.Size = -1 // the transport decoded it: the length is not the body's
	}
	if t, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		meta.LastModified = t
	}
	return newObject(ctx, meta, resp.Body, httpVerifier(client, u, meta)), nil
}

// httpVerifier asks the server with a HEAD whether the resource still has
// the ETag, or else the Last-Modified date, it had at open. Without either
// there is nothing to compare and the check passes.
func httpVerifier(client *http.Client, u *url.URL, at Meta) func(context.Context) error {
	if at.ETag == "" && at.LastModified.IsZero() {
		return nil
	}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, u.String(), nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("check %s is unchanged: HEAD: %w", at.Location, scrub(err, u))
		}
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return fmt.Errorf("%w: %s: it answers %s now", ErrChanged, at.Location, resp.Status)
		}
		if etag := unquote(resp.Header.Get("ETag")); at.ETag != "" && etag != at.ETag {
			return fmt.Errorf("%w: %s: its ETag was %q at open and is %q now: run again to read the new version", ErrChanged, at.Location, at.ETag, etag)
		}
		if t, err := http.ParseTime(resp.Header.Get("Last-Modified")); at.ETag == "" && (err != nil || !t.Equal(at.LastModified)) {
			return fmt.Errorf("%w: %s: it was last modified %s at open, %s now: run again to read the new version", ErrChanged, at.Location, at.LastModified.Format(time.RFC3339), resp.Header.Get("Last-Modified"))
		}
		return nil
	}
}

// checkScheme allows https anywhere and http to loopback addresses only.
func checkScheme(u *url.URL) error {
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%w: %s: plain http is allowed only to a loopback address; use https://", ErrLocation, redact(u.String()))
	}
	return fmt.Errorf("%w: %s: want an https:// URL", ErrLocation, redact(u.String()))
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// statusError names the URL and the status, and what to check.
func statusError(shown string, code int) error {
	status := fmt.Sprintf("%d %s", code, http.StatusText(code))
	switch code {
	case http.StatusNotFound, http.StatusGone:
		return fmt.Errorf("%w: GET %s: %s: check the URL", ErrNotFound, shown, status)
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("%w: GET %s: %s: the server refused the request (an expired or wrong link or token?)", ErrAccess, shown, status)
	}
	return fmt.Errorf("GET %s: %s", shown, status)
}

// redact drops a URL's user info, query and fragment, where secrets hide.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an unparsable URL)"
	}
	u.User, u.RawQuery, u.Fragment, u.ForceQuery = nil, "", "", false
	return u.String()
}

// scrub drops the full URL a transport error carries (url.Error repeats
// it, query string and all): the caller names the redacted one.
func scrub(err error, u *url.URL) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if s := u.String(); strings.Contains(err.Error(), s) {
		return errors.New(strings.ReplaceAll(err.Error(), s, redact(s)))
	}
	return err
}
