package fakeapi

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults applied by [New] to zero [Options] fields.
const (
	DefaultNotFoundCode       = 404         // error code of update for a missing profile
	DefaultMaxBatch           = 10000       // items per batch call
	DefaultMaxBody      int64 = 10 << 20    // request body bytes (10 MB)
	DefaultRetryAfter         = time.Second // value sent in Retry-After
	DefaultErrorCode          = 500         // error code of an injected transient API error
)

// APIPrefix is the path prefix of the four profile methods.
const APIPrefix = "/api/v1.1/profiles/"

// Options configures a [Server]. The zero value serves any token holder
// with no faults; rates are shares in [0, 1].
type Options struct {
	// Token is the API token callers must present, in the body ("token") or
	// as "Authorization: Bearer". Empty: any non-empty token is accepted.
	Token string
	// DBs lists the accepted db_id values; empty accepts any positive id.
	DBs []int
	// NotFoundCode is the error code of update for a missing profile; 0 = 404.
	NotFoundCode int
	// MaxBatch is the largest batch; 0 = DefaultMaxBatch.
	MaxBatch int
	// MaxBody is the largest request body in bytes (HTTP 413 above it); 0 = DefaultMaxBody.
	MaxBody int64
	// Latency is added to every API reply, plus a uniform share of ±Jitter
	// (never below zero).
	Latency, Jitter time.Duration
	// RateLimit > 0 answers HTTP 429 with Retry-After to requests beyond this
	// many per second (a token bucket holding RateBurst requests).
	RateLimit float64
	// RateBurst is the token bucket size; 0 = one second's worth (at least 1).
	RateBurst int
	// RetryAfter is the value sent in Retry-After, in whole seconds rounded
	// up; 0 = DefaultRetryAfter.
	RetryAfter time.Duration
	// RetryAfterDate sends Retry-After as an HTTP date instead of seconds.
	RetryAfterDate bool
	// FailRate is the share of requests answered HTTP 500, 502 or 503
	// (chosen at random) before any processing.
	FailRate float64
	// DropRate is the share of requests whose connection is closed without
	// a reply, before any processing.
	DropRate float64
	// SlowRate is the share of requests answered only Slow after they were
	// processed: the client may time out although the change was stored.
	SlowRate float64
	// Slow is how long a slow reply is held back.
	Slow time.Duration
	// ErrorRate is the share of requests answered HTTP 200 with the transient
	// API error ErrorCode, after authentication and before any processing.
	ErrorRate float64
	// ErrorCode is the code of that error; 0 = DefaultErrorCode. Its text is
	// "Temporary error, try again later".
	ErrorCode int
	// Seed seeds the fault decisions. Every API request draws the same number
	// of values from one PRNG, in arrival order, so for a given seed the
	// same request order meets the same faults; concurrent clients may
	// arrive in a different order from run to run.
	Seed int64
}

// Server is the fake Altcraft API, an [http.Handler]. It is safe for
// concurrent use. Besides the profile methods it serves GET /fake/profiles,
// GET /fake/stats and POST /fake/reset (see doc.go).
type Server struct {
	opts     Options
	token    []byte
	dbs      map[int64]bool
	notFound *apiError
	store    *store
	stats    counters

	mu     sync.Mutex // guards rng, bucket and perSec
	rng    *rand.Rand
	bucket bucket
	perSec perSecond

	bufs sync.Pool // *[]byte: request bodies and replies
}

// New returns a Server configured by opts, with the defaults applied.
func New(opts Options) *Server {
	if opts.NotFoundCode == 0 {
		opts.NotFoundCode = DefaultNotFoundCode
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = DefaultRetryAfter
	}
	if opts.ErrorCode == 0 {
		opts.ErrorCode = DefaultErrorCode
	}
	if opts.RateBurst <= 0 {
		opts.RateBurst = max(1, int(math.Ceil(opts.RateLimit)))
	}
	s := &Server{
		opts:     opts,
		token:    []byte(opts.Token),
		notFound: &apiError{code: opts.NotFoundCode, text: textNotFound},
		store:    newStore(),
	}
	if len(opts.DBs) > 0 {
		s.dbs = make(map[int64]bool, len(opts.DBs))
		for _, id := range opts.DBs {
			s.dbs[int64(id)] = true
		}
	}
	s.resetFaults()
	return s
}

// Reset empties the store, zeroes the statistics and restarts the fault
// PRNG and the rate limiter: the server is as New left it.
func (s *Server) Reset() {
	s.store.reset()
	s.stats.reset()
	s.resetFaults()
}

func (s *Server) resetFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	seed := uint64(s.opts.Seed)
	s.rng = rand.New(rand.NewPCG(seed, seed^0x6a09e667f3bcc909))
	s.bucket = bucket{rate: s.opts.RateLimit, burst: float64(s.opts.RateBurst)}
	s.perSec.reset(time.Now())
}

// Profiles returns a snapshot of the store, ordered by creation.
func (s *Server) Profiles() []Profile { return s.store.snapshot() }

// decision is the fault plan for one request.
type decision struct {
	limited, drop, fail, slow, apiErr bool
	failStatus                        int
	latency                           time.Duration
}

var failStatuses = [3]int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}

// decide draws the same six values for every request, whatever the options,
// so that turning one fault on does not move the others.
func (s *Server) decide(now time.Time) decision {
	s.mu.Lock()
	uDrop, uFail, uSlow, uErr, uJitter := s.rng.Float64(), s.rng.Float64(), s.rng.Float64(), s.rng.Float64(), s.rng.Float64()
	code := s.rng.IntN(len(failStatuses))
	limited := s.opts.RateLimit > 0 && !s.bucket.allow(now)
	s.perSec.add(now)
	s.mu.Unlock()
	o := &s.opts
	d := decision{
		limited:    limited,
		drop:       uDrop < o.DropRate,
		fail:       uFail < o.FailRate,
		slow:       uSlow < o.SlowRate,
		apiErr:     uErr < o.ErrorRate,
		failStatus: failStatuses[code],
		latency:    o.Latency,
	}
	if o.Jitter > 0 {
		d.latency += time.Duration((2*uJitter - 1) * float64(o.Jitter))
	}
	d.latency = max(d.latency, 0)
	return d
}

// bucket is a token bucket: rate tokens a second, at most burst saved.
type bucket struct {
	rate, burst, tokens float64
	last                time.Time
	started             bool
}

func (b *bucket) allow(now time.Time) bool {
	if !b.started {
		b.tokens, b.last, b.started = b.burst, now, true
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(b.burst, b.tokens+el*b.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// ServeHTTP answers one request; see doc.go for the routes and replies.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if strings.HasPrefix(path, "/fake/") {
		s.serveFake(w, r)
		return
	}
	ep := route(path)
	if ep == epOther {
		s.stats.add(epOther, outHTTP4xx)
		writeStatus(w, http.StatusNotFound, "unknown method "+strconv.Quote(path))
		return
	}
	if r.Method != http.MethodPost {
		s.stats.add(ep, outHTTP4xx)
		w.Header().Set("Allow", http.MethodPost)
		writeStatus(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed: use POST")
		return
	}
	ctx := r.Context()
	d := s.decide(time.Now())
	if d.drop {
		s.stats.add(ep, outDropped)
		abort(w)
		return
	}
	if d.limited {
		sleep(ctx, d.latency)
		s.stats.add(ep, outHTTP429)
		s.writeRateLimited(w)
		return
	}
	if d.fail {
		sleep(ctx, d.latency)
		s.stats.add(ep, outHTTP5xx)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(d.failStatus)
		_, _ = w.Write([]byte(strconv.Itoa(d.failStatus) + " " + http.StatusText(d.failStatus) + " (injected by fakeapi)\n"))
		return
	}
	if r.ContentLength > s.opts.MaxBody {
		s.stats.add(ep, outHTTP4xx)
		writeStatus(w, http.StatusRequestEntityTooLarge, "request body larger than "+itoa(s.opts.MaxBody)+" bytes")
		return
	}
	body := s.getBuf()
	defer s.putBuf(body)
	rd := bytes.NewBuffer((*body)[:0])
	if _, err := rd.ReadFrom(http.MaxBytesReader(w, r.Body, s.opts.MaxBody)); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.stats.add(ep, outHTTP4xx)
			writeStatus(w, http.StatusRequestEntityTooLarge, "request body larger than "+itoa(s.opts.MaxBody)+" bytes")
			return
		}
		s.stats.add(ep, outDropped)
		abort(w) // the client went away mid-body: nobody is left to answer
		return
	}
	*body = rd.Bytes()
	isXML, known := contentKind(r.Header.Get("Content-Type"))
	var rep reply
	if known {
		rep = s.process(ep, r, *body, isXML, d.apiErr)
	} else {
		rep.err = badRequest("Content-Type %s is not supported: send application/json or application/xml", strconv.Quote(r.Header.Get("Content-Type")))
	}
	if rep.err != nil {
		s.stats.add(ep, outAPIError)
	} else {
		s.stats.add(ep, outOK)
	}
	if d.slow {
		s.stats.slow[ep].Add(1)
		sleep(ctx, s.opts.Slow)
	}
	sleep(ctx, d.latency)
	out := s.getBuf()
	defer s.putBuf(out)
	if isXML {
		*out = appendXMLReply((*out)[:0], &rep)
		w.Header()["Content-Type"] = ctXML
	} else {
		*out = appendJSONReply((*out)[:0], &rep)
		w.Header()["Content-Type"] = ctJSON
	}
	w.Header()["Content-Length"] = []string{strconv.Itoa(len(*out))}
	_, _ = w.Write(*out) // the client may be gone; nothing to do about it
}

var (
	ctJSON = []string{"application/json; charset=utf-8"}
	ctXML  = []string{"application/xml; charset=utf-8"}
)

// route maps a path to its profile method; a trailing slash is allowed.
func route(path string) endpoint {
	rest, ok := strings.CutPrefix(path, APIPrefix)
	if !ok {
		return epOther
	}
	rest = strings.TrimSuffix(rest, "/")
	for _, ep := range [...]endpoint{epImport, epUpdate, epImportBatch, epUpdateBatch} {
		if rest == endpointNames[ep] {
			return ep
		}
	}
	return epOther
}

// contentKind reads the body format from Content-Type.
func contentKind(ct string) (isXML, ok bool) {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	switch {
	case strings.EqualFold(ct, "application/json"):
		return false, true
	case strings.EqualFold(ct, "application/xml"), strings.EqualFold(ct, "text/xml"):
		return true, true
	}
	return false, false
}

// process runs one parsed API call: body, auth, options, then the items.
func (s *Server) process(ep endpoint, r *http.Request, body []byte, isXML, injectErr bool) reply {
	var top map[string]any
	var err error
	if isXML {
		top, err = decodeXML(body)
	} else {
		top, err = decodeJSON(body)
	}
	if err != nil {
		kind := "JSON"
		if isXML {
			kind = "XML"
		}
		return reply{err: badRequest("invalid %s body: %v", kind, err)}
	}
	if aerr := s.authorize(r, top); aerr != nil {
		return reply{err: aerr}
	}
	if injectErr {
		return reply{err: &apiError{code: s.opts.ErrorCode, text: textTransient}}
	}
	c, aerr := s.parseCall(top, ep, isXML)
	if aerr != nil {
		return reply{err: aerr}
	}
	dv, ok := top["data"]
	if !ok {
		return reply{err: badRequest("data is required")}
	}
	if !ep.batch() {
		data, ok := asObject(dv, isXML)
		if !ok {
			return reply{err: badRequest("data must be an object, got %s", describe(dv))}
		}
		id, aerr := s.processItem(c, top, data, false)
		s.stats.items[ep].Add(1)
		if aerr != nil {
			s.stats.itemErrors[ep].Add(1)
			return reply{err: aerr}
		}
		return reply{profileID: id}
	}
	if sv, isStr := dv.(string); isXML && isStr && strings.TrimSpace(sv) == "" {
		dv = []any{}
	}
	list, ok := dv.([]any)
	if !ok {
		return reply{err: badRequest("data must be a list of profiles, got %s", describe(dv))}
	}
	if len(list) > s.opts.MaxBatch {
		return reply{err: badRequest("too many profiles in one request (%d > %d)", len(list), s.opts.MaxBatch)}
	}
	rep := reply{batch: true, results: make([]itemResult, len(list))}
	var failed int64
	for i, v := range list {
		res := &rep.results[i]
		data, ok := asObject(v, isXML)
		if !ok {
			res.err = badRequest("data[%d] must be an object, got %s", i, describe(v))
		} else {
			res.profileID, res.err = s.processItem(c, data, data, true)
		}
		if res.err != nil {
			failed++
		}
	}
	s.stats.items[ep].Add(int64(len(list)))
	s.stats.itemErrors[ep].Add(failed)
	return rep
}

// processItem validates and applies one profile. keySrc holds its matching
// key: the request body for single calls, the item itself in batches.
func (s *Server) processItem(c *call, keySrc, data map[string]any, inBatch bool) (string, *apiError) {
	var it item
	var err *apiError
	if it.key, err = extractKey(keySrc, c, inBatch); err != nil {
		return "", err
	}
	if err = prepareItem(data, c, inBatch, &it); err != nil {
		return "", err
	}
	return s.store.apply(c, &it, s.notFound)
}

// authorize checks the Bearer header, else the body's token. The token is
// compared in constant time and never echoed.
func (s *Server) authorize(r *http.Request, top map[string]any) *apiError {
	tok := ""
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		tok = strings.TrimSpace(h[7:])
	}
	if tok == "" {
		tok, _ = top["token"].(string)
	}
	if tok == "" {
		return errTokenMissing
	}
	if len(s.token) > 0 && subtle.ConstantTimeCompare([]byte(tok), s.token) != 1 {
		return errTokenWrong
	}
	return nil
}

func (s *Server) writeRateLimited(w http.ResponseWriter) {
	h := w.Header()
	secs := int64(math.Ceil(s.opts.RetryAfter.Seconds()))
	if s.opts.RetryAfterDate {
		// Round the instant up to a whole second: an HTTP date has no
		// fraction, and truncating would ask for less than RetryAfter.
		at := time.Now().Add(s.opts.RetryAfter)
		if t := at.Truncate(time.Second); !t.Equal(at) {
			at = t.Add(time.Second)
		}
		h.Set("Retry-After", at.UTC().Format(http.TimeFormat))
	} else {
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	writeStatus(w, http.StatusTooManyRequests, textRateLimited)
}

// writeStatus answers with an HTTP error status and the JSON envelope
// {"error": status, "error_text": text}.
func writeStatus(w http.ResponseWriter, status int, text string) {
	b := appendJSONEnvelope(nil, &apiError{code: status, text: text}, "")
	b = append(b, '}', '\n')
	h := w.Header()
	h["Content-Type"] = ctJSON
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// abort closes the connection without a reply. Where the connection cannot
// be taken over (HTTP/2, a recorder), it uses http.ErrAbortHandler, the
// net/http way to abort a reply, which the server recovers silently.
func abort(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close() // the point is to close it; an error changes nothing
}

// sleep waits d, or less if ctx ends first (client gone, server shutting down).
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

const maxPooledBuf = 1 << 20

func (s *Server) getBuf() *[]byte {
	if b, ok := s.bufs.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 4096)
	return &b
}

func (s *Server) putBuf(b *[]byte) {
	if cap(*b) > maxPooledBuf {
		return // keep one 10 MB batch from pinning memory
	}
	*b = (*b)[:0]
	s.bufs.Put(b)
}

// serveFake serves the inspection routes under /fake/.
func (s *Server) serveFake(w http.ResponseWriter, r *http.Request) {
	var method string
	switch r.URL.Path {
	case "/fake/profiles", "/fake/stats":
		method = http.MethodGet
	case "/fake/reset":
		method = http.MethodPost
	default:
		writeStatus(w, http.StatusNotFound, "unknown path "+strconv.Quote(r.URL.Path))
		return
	}
	if r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead) {
		w.Header().Set("Allow", method)
		writeStatus(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed: use "+method)
		return
	}
	switch r.URL.Path {
	case "/fake/profiles":
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, p := range s.Profiles() {
			if err := enc.Encode(p); err != nil {
				return // the client went away
			}
		}
	case "/fake/stats":
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		st := s.Stats()
		if v := r.URL.Query().Get("per_second"); v != "" && v != "0" && v != "false" {
			st.PerSecond = s.PerSecond()
		}
		_ = enc.Encode(st) // a write error means the client left
	case "/fake/reset":
		s.Reset()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"error":0,"error_text":"Successful operation"}` + "\n"))
	}
}
