package sender

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults for the zero fields of [Config].
const (
	DefaultMaxBatchBytes  = 10_000_000 // the API's documented "10 MB" body limit, read as decimal; HTTP 413 splits a batch anyway
	DefaultLinger         = 50 * time.Millisecond
	DefaultMaxConcurrency = 256
	DefaultTimeout        = 30 * time.Second
	DefaultMaxAttempts    = 5
	DefaultBreakerSample  = 20
	// DefaultMaxWindow caps the derived Window: jobs held in memory at once.
	DefaultMaxWindow = 16384
)

// Config configures a [Pool]. Zero fields take the defaults named.
type Config struct {
	URL            string        // base URL, e.g. http://127.0.0.1:8080; /api/v1.1/profiles/<endpoint> is appended
	Endpoint       string        // "update" | "import"; batches use "<endpoint>_batch"
	BatchSize      int           // ≤ 1: one profile per request
	MaxBatchBytes  int           // most bytes in a batch request body, envelope and token included; 0 = DefaultMaxBatchBytes
	Linger         time.Duration // a partial batch is sent after this; 0 = DefaultLinger
	Rate           float64       // requests per second, shared by every attempt of every worker; 0 = unlimited
	Concurrency    int           // requests in flight; 0 = auto (see the package doc)
	MaxConcurrency int           // bound for auto; 0 = DefaultMaxConcurrency
	Timeout        time.Duration // per attempt; 0 = DefaultTimeout
	MaxAttempts    int           // per request, first try included; 0 = DefaultMaxAttempts
	Token          string        // the API token; required
	Bearer         bool          // token in "Authorization: Bearer" instead of the body
	Gzip           bool          // send bodies gzip-compressed (Content-Encoding: gzip); see gzip.go
	Envelope       []byte        // single-request members after the token, e.g. `"db_id":1,"matching":"email"`
	BatchEnvelope  []byte        // the same for batch requests
	// Window is the most jobs held at once (waiting + in flight); 0 = 2 ×
	// concurrency bound × batch size, within [64, DefaultMaxWindow] and at
	// least two batches.
	Window int
	Logger *slog.Logger // nil = discard
	// Client's Transport sends the requests; nil = one built here
	// (keep-alive, idle and per-host connections = the concurrency bound).
	// Only the Transport is used: each attempt has its own timeout, and no
	// redirect is ever followed (see roundTrip).
	Client *http.Client
	// BeforeSend, when set, is called with the IDs of Risky jobs just before
	// the first request holding them is sent, from the goroutine sending
	// it; the request waits for it. The caller records them as in flight,
	// so that a crash during the request leaves them Unknown instead of
	// sending them again. An error stops the run before the request.
	BeforeSend func(ids []int64) error
	// Observer, when set, hears every round trip and the events a run
	// report marks on its timeline.
	Observer Observer
	// BreakerSample is how many first requests failing alike stop the run
	// (and how many requests giving up on network errors in a row); 0 =
	// DefaultBreakerSample, < 0 disables the breaker.
	BreakerSample int
}

// Observer hears what a run report charts. Its methods are called from
// many goroutines, on the request path: they must be cheap and must not
// block.
type Observer interface {
	// ObserveLatency is called with the round trip of every attempt that
	// got a reply.
	ObserveLatency(d time.Duration)
	// Event marks a moment: kind is one of the Event* constants, text says
	// what happened ("rate lowered to 25/s").
	Event(at time.Time, kind, text string)
}

// The kinds of Observer events.
const (
	EventThrottled   = "429"       // a request was answered HTTP 429
	EventRetry       = "retry"     // a request is sent again
	EventRateLowered = "lowered"   // AIMD lowered the rate
	EventRecovered   = "recovered" // AIMD brought the rate back
)

// settings is a validated Config with defaults applied and derived values.
type settings struct {
	Config
	single, batch string // the request URLs as messages show them (no password)
	// Request templates: each attempt is a shallow copy with its own
	// context, header and body; the parsed URL is shared, read only.
	singleReq, batchReq *http.Request
	bound               int    // most requests in flight
	bodyToken           string // the token for the body; "" with Bearer
	auth                string // the Authorization header; "" without Bearer
	randN               func(int64) int64
	mask                *masker
	transport           http.RoundTripper // sends every attempt (Client's, or one built here)
	ownClient           bool              // the transport was built here: Run closes its idle connections
}

func (c Config) settle() (*settings, error) {
	s := &settings{Config: c, randN: defaultRandN}
	u, err := url.Parse(strings.TrimSpace(c.URL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("api url %q: want an absolute http:// or https:// URL", redact(c.URL))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("api url %q: want no query or fragment (the token travels in the body)", u.Redacted())
	}
	switch c.Endpoint {
	case "update", "import":
	default:
		return nil, fmt.Errorf("api endpoint %q: want update or import", c.Endpoint)
	}
	base := apiBase(u.String()) + "/api/v1.1/profiles/" + c.Endpoint
	if s.singleReq, err = http.NewRequest(http.MethodPost, base, nil); err != nil {
		return nil, fmt.Errorf("api url %q: %w", u.Redacted(), err)
	}
	if s.batchReq, err = http.NewRequest(http.MethodPost, base+"_batch", nil); err != nil {
		return nil, fmt.Errorf("api url %q: %w", u.Redacted(), err)
	}
	// For messages: a password in the URL is not shown.
	s.single, s.batch = s.singleReq.URL.Redacted(), s.batchReq.URL.Redacted()
	if c.Token == "" {
		return nil, errors.New("no API token: set ALTCRAFT_TOKEN or --token-file")
	}
	if len(c.Token) < MinTokenLength {
		return nil, fmt.Errorf("the API token has %d characters, want at least %d (check ALTCRAFT_TOKEN/--token-file)",
			len(c.Token), MinTokenLength)
	}
	s.mask = newMasker(c.Token)
	if c.Bearer {
		s.auth = "Bearer " + c.Token
	} else {
		s.bodyToken = c.Token
	}
	for _, e := range []struct {
		name string
		v    []byte
	}{{"request envelope", c.Envelope}, {"batch request envelope", c.BatchEnvelope}} {
		if len(e.v) > 0 && !json.Valid(append(append([]byte{'{'}, e.v...), '}')) {
			return nil, fmt.Errorf("%s: not valid JSON object members: %.80q", e.name, e.v)
		}
	}
	if c.MaxBatchBytes == 0 {
		s.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if c.Linger == 0 {
		s.Linger = DefaultLinger
	}
	if c.MaxConcurrency == 0 {
		s.MaxConcurrency = DefaultMaxConcurrency
	}
	if c.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	if c.MaxAttempts == 0 {
		s.MaxAttempts = DefaultMaxAttempts
	}
	switch {
	case c.BreakerSample == 0:
		s.BreakerSample = DefaultBreakerSample
	case c.BreakerSample < 0:
		s.BreakerSample = 0
	}
	switch {
	case c.MaxBatchBytes < 0:
		return nil, fmt.Errorf("max batch bytes %d: want > 0", c.MaxBatchBytes)
	case c.Linger < 0:
		return nil, fmt.Errorf("batch linger %v: want ≥ 0", c.Linger)
	case c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0):
		return nil, fmt.Errorf("rate %v: want requests per second ≥ 0 (0 = unlimited)", c.Rate)
	case c.Concurrency < 0:
		return nil, fmt.Errorf("concurrency %d: want ≥ 0 (0 = auto)", c.Concurrency)
	case c.MaxConcurrency < 0:
		return nil, fmt.Errorf("max concurrency %d: want > 0", c.MaxConcurrency)
	case c.Timeout < 0:
		return nil, fmt.Errorf("timeout %v: want > 0", c.Timeout)
	case c.MaxAttempts < 0:
		return nil, fmt.Errorf("max attempts %d: want ≥ 1", c.MaxAttempts)
	case c.Window < 0:
		return nil, fmt.Errorf("window %d: want > 0", c.Window)
	}
	if s.BatchSize < 1 {
		s.BatchSize = 1
	}
	s.bound = s.MaxConcurrency
	if c.Concurrency > 0 {
		s.bound = c.Concurrency
	}
	if s.Window == 0 {
		w := min(max(2*s.bound*s.BatchSize, 64), DefaultMaxWindow)
		s.Window = max(w, 2*s.BatchSize)
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	s.transport = transportOf(c.Client, s.bound)
	s.ownClient = c.Client == nil
	return s, nil
}

// apiBase is the API URL without a trailing slash, and without the
// /api/v1.1 (or /api/v1.1/profiles) a user may copy from the docs: the
// importer appends the method's whole path itself.
func apiBase(u string) string {
	u = strings.TrimRight(u, "/")
	for _, suffix := range []string{"/api/v1.1/profiles", "/api/v1.1"} {
		if strings.HasSuffix(u, suffix) {
			return strings.TrimSuffix(u, suffix)
		}
	}
	return u
}

// redact hides userinfo in a URL that did not parse.
func redact(raw string) string {
	if i := strings.LastIndex(raw, "@"); i >= 0 {
		if j := strings.Index(raw, "//"); j >= 0 && j < i {
			return raw[:j+2] + "…" + raw[i:]
		}
	}
	return raw
}

// transportOf returns the round tripper of c, or a keep-alive transport
// for bound connections when c is nil. Attempts call it directly rather than
// through http.Client.Do, which would clone the headers and the URL of every
// request for the redirects this package never follows (see roundTrip).
func transportOf(c *http.Client, bound int) http.RoundTripper {
	if c != nil {
		if c.Transport != nil {
			return c.Transport
		}
		return http.DefaultTransport
	}
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   30 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          bound,
		MaxIdleConnsPerHost:   bound,
		MaxConnsPerHost:       bound,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// closeIdle closes the transport's idle keep-alive connections.
func (s *settings) closeIdle() {
	if t, ok := s.transport.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
}

// scrub removes the token from an outcome's texts, in every form a server
// may echo it (see masker). Replies are the API's to word, and an
// error_text may quote what it was sent.
func (s *settings) scrub(o outcome) outcome {
	o.text = s.mask.mask(o.text)
	o.sig = s.mask.mask(o.sig)
	if o.fatal != nil {
		fe := *o.fatal
		fe.Reason = s.mask.mask(fe.Reason)
		o.fatal = &fe
	}
	return o
}

// defaultRandN draws backoff jitter; tests replace settings.randN.
var defaultRandN = rand.Int64N
