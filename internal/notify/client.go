package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Defaults of a zero Client.
const (
	// DefaultTimeout bounds one Ping or Notify, retries included.
	DefaultTimeout = 5 * time.Second
	// DefaultAttempts is how many times a request is sent at most.
	DefaultAttempts = 3
)

// maxRedirects bounds same-host redirects.
const maxRedirects = 3

// Client sends pings and webhooks. The zero value is ready to use; a Client
// is safe for concurrent use.
type Client struct {
	// Timeout bounds each call, retries and backoff included; 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// Attempts is the most times one request is sent; 0 means
	// DefaultAttempts.
	Attempts int
	// Transport carries the requests; nil means http.DefaultTransport.
	// Tests put an in-memory network here.
	Transport http.RoundTripper
}

func (c *Client) timeout() time.Duration {
	if c == nil || c.Timeout <= 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

func (c *Client) attempts() int {
	if c == nil || c.Attempts <= 0 {
		return DefaultAttempts
	}
	return c.Attempts
}

func (c *Client) httpClient() *http.Client {
	var tr http.RoundTripper
	if c != nil {
		tr = c.Transport
	}
	return &http.Client{Transport: tr, CheckRedirect: sameHost}
}

// sameHost follows a redirect only to the host of the first request and
// never from https to http: a redirect elsewhere would hand the secret body
// (and the secret URL in the Referer) to a host nobody configured.
func sameHost(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return redirectError(fmt.Sprintf("stopped after %d redirects", len(via)))
	}
	first := via[0].URL
	if req.URL.Host != first.Host || first.Scheme == "https" && req.URL.Scheme != "https" {
		return redirectError(fmt.Sprintf("redirect to %s not followed: another host", Redact(req.URL.String())))
	}
	return nil
}

// redirectError is a redirect sameHost refused: trying again would meet it
// again.
type redirectError string

func (e redirectError) Error() string { return string(e) }

// post sends body to target within the timeout, retrying what may pass on
// a second try. The error names the target only as Redact shows it.
func (c *Client) post(ctx context.Context, what string, target *url.URL, contentType string, body []byte) error {
	timeout := c.timeout()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	attempts := c.attempts()
	perAttempt := timeout / time.Duration(attempts)
	hc := c.httpClient()
	var err error
	for i := range attempts {
		if i > 0 && !sleep(ctx, backoff(i)) {
			break
		}
		var retry bool
		retry, err = c.once(ctx, hc, perAttempt, target, contentType, body)
		if err == nil {
			return nil
		}
		if !retry || ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("notify: %s %s: %w", what, Redact(target.String()), err)
}

// backoff is the pause before attempt i+1: 100 ms, 200 ms, 400 ms…
func backoff(i int) time.Duration {
	return 100 * time.Millisecond << (i - 1)
}

// sleep waits d unless ctx ends first; it reports whether the wait was whole.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// once sends one attempt, bounded by perAttempt. retry reports whether
// another attempt could succeed.
func (c *Client) once(ctx context.Context, hc *http.Client, perAttempt time.Duration, target *url.URL, contentType string, body []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, perAttempt)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), bytes.NewReader(body))
	if err != nil {
		return false, errors.New("cannot build the request")
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "importer")
	resp, err := hc.Do(req)
	if err != nil {
		// url.Error quotes the whole URL; keep only what went wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		var re redirectError
		return !errors.As(err, &re), err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	err = fmt.Errorf("HTTP %d", resp.StatusCode)
	if s := maskReply(string(snippet), target); s != "" {
		err = fmt.Errorf("HTTP %d: %s", resp.StatusCode, s)
	}
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500, err
}
