package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus/push"
)

// PushTimeout bounds one Push, whatever the caller's context: the end of
// a run must not wait on a Pushgateway that does not answer.
const PushTimeout = 5 * time.Second

// Push sends r to the Pushgateway at gatewayURL ("http://host:9091", an
// optional path prefix and user:password are allowed) with push-add
// semantics (HTTP POST): the group job=r.Job, config=r.Config,
// shard=r.Shard keeps every metric this push does not name. A failed run
// does not push importer_last_success_timestamp_seconds, so the
// Pushgateway goes on serving the last success.
//
// Push returns within PushTimeout, or sooner when ctx ends. Its error is
// for the caller to log; it names the gateway without credentials.
func Push(ctx context.Context, gatewayURL string, r Run) error {
	u, user, err := parseGateway(gatewayURL)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, PushTimeout)
	defer cancel()

	var last *float64
	if r.Success {
		v := unixSeconds(r.finished())
		last = &v
	}
	p := push.New(u.String(), r.job()).
		Gatherer(registry(r, nil, last)).
		Client(&http.Client{CheckRedirect: noRedirects})
	if user != nil {
		pw, _ := user.Password()
		p = p.BasicAuth(user.Username(), pw)
	}
	if r.Config != "" {
		p = p.Grouping("config", r.Config)
	}
	if r.Shard != "" {
		p = p.Grouping("shard", r.Shard)
	}
	if err := p.AddContext(ctx); err != nil {
		return fmt.Errorf("metrics: push to %s: %w", u.Redacted(), err)
	}
	return nil
}

// parseGateway checks the URL and takes the credentials out of it, so they
// travel as basic auth and never appear in an error text.
func parseGateway(raw string) (*url.URL, *url.Userinfo, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse quotes the whole input, credentials included.
		return nil, nil, errors.New("metrics: the Pushgateway URL does not parse")
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		// Without a scheme the URL may not parse into parts that Redacted
		// knows, so none of it is quoted.
		return nil, nil, errors.New("metrics: the Pushgateway URL must be http://host:port or https://host:port")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, nil, fmt.Errorf("metrics: Pushgateway URL %s://%s: a query or fragment cannot take the /metrics/job/... path", u.Scheme, u.Host)
	}
	user := u.User
	u.User = nil
	return u, user, nil
}

// noRedirects: a Pushgateway answers a push directly; a redirect is a
// misconfiguration to report, not to follow (it could carry the basic-auth
// credentials elsewhere).
func noRedirects(*http.Request, []*http.Request) error {
	return http.ErrUseLastResponse
}
