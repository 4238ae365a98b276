package fakeapi

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
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
	// Slow is how long a slow reply is held back (SlowRate, and ApplyThen
	// LostTimeout).
	Slow time.Duration
	// ErrorRate is the share of requests answered HTTP 200 with the transient
	// API error ErrorCode, after authentication and before any processing.
	ErrorRate float64
	// ErrorCode is the code of that error; 0 = DefaultErrorCode. Its text is
	// "Temporary error, try again later".
	ErrorCode int
	// ThrottleRate is the share of requests answered HTTP 429 with
	// Retry-After, as the rate limiter answers, at random and whatever the
	// rate: nothing in them is applied.
	ThrottleRate float64
	// ApplyThenRate is the share of requests that are processed and stored
	// as usual and whose reply is then replaced by ApplyThen: the client
	// cannot tell whether its request was applied.
	ApplyThenRate float64
	// ApplyThen is how those replies are lost; the zero value is Lost502.
	ApplyThen LostReply
	// BatchReply is the shape of a successful batch reply; the zero value
	// is BatchOrdered, result[i] answering data[i].
	BatchReply BatchReply
	// Quota > 0 is a tariff limit: once that many profile writes (single
	// calls and batch items applied) were stored since New, Reset or
	// SetQuota, every further request is refused with error 402 and nothing
	// in it is applied; a batch that would cross the limit is refused whole.
	Quota int
	// QuotaHTTP answers a request refused by Quota with HTTP 402 instead of
	// HTTP 200, with the same JSON envelope.
	QuotaHTTP bool
	// Seed seeds the fault decisions. Every API request draws the same number
	// of values from one PRNG, in arrival order, so for a given seed the
	// same request order meets the same faults; concurrent clients may
	// arrive in a different order from run to run.
	Seed int64
}

// Server is the fake Altcraft API, an [http.Handler]. It is safe for
// concurrent use. Besides the profile methods it serves GET /fake/profiles,
// GET /fake/stats, POST /fake/reset and POST /fake/quota (see doc.go).
type Server struct {
	opts     Options
	token    []byte
	dbs      map[int64]bool
	notFound *apiError
	store    *store
	stats    counters

	quota quota

	mu      sync.Mutex // guards rng, rngLate, bucket and perSec
	rng     *rand.Rand // the original faults' draws
	rngLate *rand.Rand // the draws of faults added later: see decide
	bucket  bucket
	perSec  perSecond

	bufs sync.Pool // *[]byte: request bodies and replies
}

// New returns a Server configured by opts, with the defaults applied. It
// panics on a BatchReply or ApplyThen that is none of the declared
// constants: a test that asks for a fault the fake cannot produce would
// otherwise pass without meeting it.
func New(opts Options) *Server {
	if opts.BatchReply >= numBatchReplies || opts.ApplyThen >= numLostReplies {
		panic(fmt.Sprintf("fakeapi: Options.BatchReply %v or ApplyThen %v is not a declared constant", opts.BatchReply, opts.ApplyThen))
	}
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

// Reset empties the store, zeroes the statistics, restarts the fault
// PRNGs and the rate limiter and restores Options.Quota with a count of
// zero: the server is as New left it.
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
	s.rngLate = rand.New(rand.NewPCG(seed, seed^0xbb67ae8584caa73b))
	s.quota.set(int64(s.opts.Quota))
	s.bucket = bucket{rate: s.opts.RateLimit, burst: float64(s.opts.RateBurst)}
	s.perSec.reset(time.Now())
}

// Profiles returns a snapshot of the store, ordered by creation.
func (s *Server) Profiles() []Profile { return s.store.snapshot() }

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
	if s.refuseEarly(ctx, w, ep, &d) {
		return
	}
	raw, plain := s.getBuf(), s.getBuf()
	defer s.putBuf(raw)
	defer s.putBuf(plain)
	body, state, aerr := s.readBody(w, r, raw, plain)
	switch state {
	case bodyTooLarge:
		s.stats.add(ep, outHTTP4xx)
		writeStatus(w, http.StatusRequestEntityTooLarge, s.tooLargeText())
		return
	case bodyGone:
		s.stats.add(ep, outDropped)
		abort(w) // the client went away mid-body: nobody is left to answer
		return
	}
	if state == bodyOK {
		s.stats.wireBytes[ep].Add(int64(len(*raw)))
		s.stats.bodyBytes[ep].Add(int64(len(body)))
	}
	isXML, known := contentKind(r.Header.Get("Content-Type"))
	var rep reply
	switch {
	case state == bodyBad:
		rep.err = aerr
	case known:
		rep = s.process(ep, r, body, isXML, d.apiErr)
	default:
		rep.err = badRequest("Content-Type %s is not supported: send application/json or application/xml", strconv.Quote(r.Header.Get("Content-Type")))
	}
	s.answer(ctx, w, r, ep, &d, &rep, isXML)
}

// answer counts and sends the reply of a processed request, after the
// faults that strike once it was applied: slow, latency, apply-then.
func (s *Server) answer(ctx context.Context, w http.ResponseWriter, r *http.Request, ep endpoint, d *decision, rep *reply, isXML bool) {
	o := outOK
	switch {
	case d.lose:
		o = outApplyThen
	case rep.err == errQuota:
		o = outQuota
	case rep.err != nil:
		o = outAPIError
	}
	s.stats.add(ep, o)
	if d.slow {
		s.stats.slow[ep].Add(1)
		sleep(ctx, s.opts.Slow)
	}
	// A timeout is the real reply, late; the other kinds replace it.
	lost := d.lose && s.opts.ApplyThen != LostTimeout
	if d.lose && !lost {
		sleep(ctx, s.opts.Slow)
	}
	sleep(ctx, d.latency)
	if rep.err == errQuota && s.opts.QuotaHTTP && !lost {
		writeStatus(w, http.StatusPaymentRequired, textQuota)
		return
	}
	out := s.getBuf()
	defer s.putBuf(out)
	ct := ctJSON
	if isXML {
		*out = appendXMLReply((*out)[:0], rep, s.opts.BatchReply)
		ct = ctXML
	} else {
		*out = appendJSONReply((*out)[:0], rep, s.opts.BatchReply)
	}
	if lost {
		s.writeLost(w, r, ct, *out)
		return
	}
	w.Header()["Content-Type"] = ct
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
		if !s.quota.reserve(1) {
			return reply{err: errQuota}
		}
		id, aerr := s.processItem(c, top, data, false)
		s.quota.settle(1, b2i(aerr == nil))
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
	if !s.quota.reserve(int64(len(list))) {
		return reply{err: errQuota}
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
	s.quota.settle(int64(len(list)), int64(len(list))-failed)
	s.stats.items[ep].Add(int64(len(list)))
	s.stats.itemErrors[ep].Add(failed)
	return rep
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
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

func writeOK(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"error":0,"error_text":"Successful operation"}` + "\n"))
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
	case "/fake/reset", "/fake/quota":
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
		writeOK(w)
	case "/fake/quota":
		n, err := strconv.Atoi(r.URL.Query().Get("profiles"))
		if err != nil || n < 0 {
			writeStatus(w, http.StatusBadRequest, "profiles="+strconv.Quote(r.URL.Query().Get("profiles"))+" is not a count: want ?profiles=N, N >= 0 (0 = no limit)")
			return
		}
		s.SetQuota(n)
		writeOK(w)
	}
}
