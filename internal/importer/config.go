package importer

import (
	"errors"
	"fmt"
	"net"
	"net/url"

	"importer/internal/mapping"
)

// loadConfig loads the config and applies the command line and environment
// over it, then validates the result once more.
func loadConfig(o *Options) (*mapping.Config, error) {
	if o.Config == "" {
		return nil, errors.New("no config: pass -c CONFIG")
	}
	cfg, err := mapping.Load(o.Config)
	if err != nil {
		return nil, err
	}
	// An overriding URL is checked here, so that its problems name the flag
	// or the variable rather than the config's api.url line.
	for _, src := range []struct{ name, val string }{{"--api-url", o.APIURL}, {EnvAPIURL, o.getenv(EnvAPIURL)}} {
		if src.val == "" {
			continue
		}
		if err := urlProblem(src.val); err != nil {
			return nil, fmt.Errorf("%s: %w", src.name, err)
		}
		cfg.API.URL = src.val
		break
	}
	flags := map[string]string{} // config key → the flag that set it
	if o.Rate != nil {
		cfg.API.Rate = *o.Rate
		flags["api.rate"] = fmt.Sprintf("--rate %g", *o.Rate)
	}
	if o.Concurrency != nil {
		cfg.API.Concurrency = *o.Concurrency
		flags["api.concurrency"] = fmt.Sprintf("--concurrency %d", *o.Concurrency)
	}
	if o.BatchSize != nil {
		cfg.API.BatchSize = *o.BatchSize
		flags["api.batch_size"] = fmt.Sprintf("--batch-size %d", *o.BatchSize)
	}
	if err := cfg.Validate(); err != nil {
		return nil, blameFlags(err, flags)
	}
	// Settings a flag or the config may give: the flag wins.
	if o.State == "" {
		o.State = cfg.State.Path
	}
	if o.MetricsPush == "" {
		o.MetricsPush = cfg.Metrics.Push
	}
	if o.MetricsFile == "" {
		o.MetricsFile = cfg.Metrics.File
	}
	return cfg, nil
}

// blameFlags rewords the problems of config keys that a flag set, so they
// name the flag rather than a line of the config that said something else:
// "--batch-size 20000: 20000 is out of range …".
func blameFlags(err error, flags map[string]string) error {
	var ce *mapping.ConfigError
	if len(flags) == 0 || !errors.As(err, &ce) {
		return err
	}
	out := &mapping.ConfigError{Problems: make([]mapping.Problem, len(ce.Problems))}
	for i, p := range ce.Problems {
		if flag, ok := flags[p.Path]; ok {
			p = mapping.Problem{Path: flag, Msg: p.Msg}
		}
		out.Problems[i] = p
	}
	return out
}

// urlProblem says what is wrong with an API URL, or nil.
func urlProblem(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("API URL %q: want http(s)://host[:port]", redactURL(raw))
	}
	if u.User != nil {
		return fmt.Errorf("API URL %q carries credentials: pass the token with %s or --token-file, never in the URL", redactURL(raw), EnvToken)
	}
	if u.RawQuery != "" {
		return fmt.Errorf("API URL %q has a query: the token travels in the request body, never in the URL", redactURL(raw))
	}
	return nil
}

// checkURL refuses a missing or malformed API URL and warns when the token
// would cross the network in clear text.
func checkURL(raw string, log interface{ Warn(string, ...any) }) error {
	if raw == "" {
		return errors.New("no API URL: set api.url in the config, " + EnvAPIURL + " or --api-url")
	}
	if err := urlProblem(raw); err != nil {
		return err
	}
	if u, _ := url.Parse(raw); u.Scheme == "http" && !isLoopback(u.Hostname()) {
		log.Warn("the API URL is plain http to a non-loopback host: the token travels unencrypted", "url", redactURL(raw))
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redactURL drops user info and the query, where secrets hide.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	u.RawQuery = ""
	return u.String()
}
