package sender

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// kind is what the pool does with an attempt's outcome. It follows one
// rule: once a request body was written in full, the attempt may have been
// applied unless the reply proves otherwise. The proofs are a failure before
// the body was sent, HTTP 401, 402, 403, 408, 413 and 429, and an API
// envelope whose error code is not 0. Everything else after the send (a
// timeout, a lost connection, HTTP 5xx or 3xx without an envelope, a 2xx
// reply that is not the envelope, a batch reply that cannot be matched to
// its items) is "maybe applied".
type kind uint8

const (
	kindOK       kind = iota // applied
	kindRow                  // not applied: the API rejected this row; Failed, never retried
	kindRetry                // not applied: safe to send again, whatever the row holds
	kindMaybe                // maybe applied: set-only rows are sent again, Risky rows end Unknown
	kindTooLarge             // not applied: the body is over the server's limit; a batch is split
	kindFatal                // the run stops; outcome.maybe says whether this attempt may have been applied
)

var kindNames = [...]string{"ok", "row", "retry", "maybe", "too large", "fatal"}

func (k kind) String() string { return kindNames[k] }

// outcome is the verdict on one attempt (or one batch item).
type outcome struct {
	kind      kind
	code      string        // Result.Code
	text      string        // Result.Error
	fatal     *FatalError   // set when kind is kindFatal
	maybe     bool          // kindFatal: the attempt may have been applied
	wait      time.Duration // Retry-After: how long the server asked us to wait
	throttled bool          // HTTP 429 or API error 429: lower the rate
	network   bool          // a transport failure (no HTTP reply)
	// sig identifies "the same error" for the circuit breaker: code and
	// text for replies, the kind of failure for the network (the addresses
	// in a dial error do not matter).
	sig string
}

// sigReplyCount marks a batch reply whose results cannot be matched to its
// items one to one.
const sigReplyCount = "reply:count"

// Hints a FatalError gives.
const (
	hintToken   = "check ALTCRAFT_TOKEN/--token-file"
	hintURL     = "check api.url / --api-url"
	hintDB      = "check request.db_id"
	hintAccount = "the account's limit is used up: raise it in Altcraft (or wait for it to renew), then run the same command with --resume"
)

// exchange is everything learned from one attempt: the raw facts that
// classify turns into an outcome.
type exchange struct {
	method, url string // for messages (the URL holds no token)
	err         error  // from Do or from reading the reply
	wrote       bool   // the request was written in full
	timedOut    bool   // the per-attempt timeout expired
	timeout     time.Duration
	status      int
	retryAfter  string // the Retry-After header
	contentType string
	size        int     // reply bytes read
	reply       *buffer // the reply body; rep points into it
	rep         reply   // the parsed envelope, when repErr is nil
	repErr      error
	parsed      bool // the body was parsed (every reply but 1xx and 3xx)
	items       int  // profiles in a batch request; 0 for a single one
}

// envelope reports whether the reply parsed as the API's envelope.
func (x *exchange) envelope() bool { return x.parsed && x.repErr == nil }

// classify turns an attempt into an outcome. It is the one place that
// decides what is retried, what fails a row, what may have been applied and
// what stops the run; its table is tested row by row, and docs/RELIABILITY.md
// repeats it for users.
//
//	no complete reply, nothing sent            → retry   "timeout" / "network"
//	no complete reply, the body was sent       → maybe   "timeout" / "network"
//	redirect to another host refused           → fatal, maybe (check api.url)
//	HTTP 401, 403                              → fatal   (token)
//	HTTP 402                                   → fatal   (account limit)
//	HTTP 408                                   → retry
//	HTTP 413                                   → too large (split the batch)
//	HTTP 429                                   → retry, throttled, Retry-After
//	HTTP 3xx                                   → fatal, maybe (check api.url)
//	HTTP 404, 405 without an API envelope      → fatal, maybe (check api.url)
//	HTTP 4xx, 5xx with an API envelope ≠ 0     → by the envelope's code (below)
//	HTTP 5xx, other 4xx without one            → maybe   (Retry-After honoured)
//	HTTP 2xx, not the envelope                 → maybe   "reply"
//	API error 0                                → ok (batch: one verdict per item, below)
//	API error 401, 402, 403                    → fatal   (token / account limit)
//	API error 413                              → too large
//	API error 429                              → retry, throttled
//	API error 500, 502, 503, 504               → retry
//	API error anything else                    → row     (the API's code and text)
//	batch reply: a result per item             → each item by its own code; an
//	                                             item without one → maybe
//	batch reply: results not one per item      → maybe   "reply" (a top-level
//	                                             error ≠ 0 still proves nothing applied)
func classify(x *exchange, now time.Time) outcome {
	if x.err != nil {
		return classifyTransport(x)
	}
	st := x.status
	if st >= 200 && st < 300 {
		return classifyEnvelope(x, now)
	}
	hs := httpStatus(st)
	code := "HTTP " + strconv.Itoa(st)
	withText := func() string {
		if x.envelope() && len(x.rep.text) > 0 {
			return hs + ": " + x.rep.Text()
		}
		return hs
	}
	switch {
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		text := withText()
		return fatal(code, text, false, "the API rejected the token ("+text+")", hintToken)
	case st == http.StatusPaymentRequired:
		text := withText()
		return fatal(code, text, false, "the API refused the request: "+text, hintAccount)
	case st == http.StatusTooManyRequests:
		return outcome{kind: kindRetry, code: code, text: hs, throttled: true,
			wait: parseRetryAfter(x.retryAfter, now), sig: code}
	case st == http.StatusRequestTimeout:
		return outcome{kind: kindRetry, code: code, text: hs, sig: code,
			wait: parseRetryAfter(x.retryAfter, now)}
	case st == http.StatusRequestEntityTooLarge:
		return outcome{kind: kindTooLarge, code: code, text: withText(), sig: code}
	case st >= 300 && st < 400:
		return fatal(code, hs, true,
			x.method+" "+x.url+" answered "+hs+", a redirect not followed (the body holds the token)", hintURL)
	case st >= 400 && x.envelope() && x.rep.code != 0:
		o := classifyAPI(&x.rep.status, now, x.retryAfter)
		if st == http.StatusNotFound && o.kind == kindRow {
			// Also what a wrong api.url looks like behind some proxies:
			// name the URL, so "Not found" says what was not found.
			o.text += " (" + x.method + " " + x.url + " answered " + hs + ")"
		}
		return o
	case st == http.StatusNotFound || st == http.StatusMethodNotAllowed:
		return fatal(code, hs+" from "+x.url, true, x.method+" "+x.url+" answered "+hs, hintURL)
	}
	// HTTP 5xx, another 4xx without the API's envelope, or a 1xx final
	// status: not the API's word on the request, which may have been
	// applied (a proxy that lost the reply answers 502 or 504).
	return outcome{kind: kindMaybe, code: code, text: hs + " (the request was sent; it may have been applied)",
		sig: code, wait: parseRetryAfter(x.retryAfter, now)}
}

// classifyEnvelope judges a 2xx reply: the envelope decides.
func classifyEnvelope(x *exchange, now time.Time) outcome {
	if x.repErr != nil {
		hs := httpStatus(x.status)
		ct := x.contentType
		if ct == "" {
			ct = "no content type"
		}
		text := hs + " reply is not the API's JSON envelope (" + x.repErr.Error() + "; " + ct + ", " +
			strconv.Itoa(x.size) + " bytes; the request may have been applied)"
		return outcome{kind: kindMaybe, code: "reply", text: text, sig: "reply:" + x.repErr.Error()}
	}
	if x.items > 0 && x.rep.hasResult && len(x.rep.items) == x.items {
		return outcome{kind: kindOK} // one verdict per item: settleItems reads them
	}
	if x.rep.code != 0 {
		return classifyAPI(&x.rep.status, now, x.retryAfter)
	}
	if x.items > 0 {
		n := len(x.rep.items)
		results := " results for "
		if n == 1 {
			results = " result for "
		}
		text := "the batch reply had " + strconv.Itoa(n) + results + strconv.Itoa(x.items) +
			" profiles, so they cannot be matched to the rows"
		if !x.rep.hasResult {
			text = "the batch reply had no result list for " + strconv.Itoa(x.items) + " profiles"
		}
		return outcome{kind: kindMaybe, code: "reply", sig: sigReplyCount,
			text: text + " (the request may have been applied)"}
	}
	return outcome{kind: kindOK}
}

// classifyItem judges one result of a batch reply that has one per item.
func classifyItem(s *status, now time.Time, retryAfter string) outcome {
	if !s.hasCode {
		return outcome{kind: kindMaybe, code: "reply", sig: "reply:item",
			text: "the batch reply's result for this row has no integer \"error\" member (the row may have been applied)"}
	}
	return classifyAPI(s, now, retryAfter)
}

// classifyAPI judges an envelope (or batch item) by its error code.
func classifyAPI(s *status, now time.Time, retryAfter string) outcome {
	if s.code == 0 {
		return outcome{kind: kindOK}
	}
	code := strconv.FormatInt(s.code, 10)
	text := s.Text()
	if text == "" {
		text = "API error " + code
	}
	o := outcome{code: code, text: text, sig: code + "\x00" + text}
	switch s.code {
	case 401, 403:
		return fatal(code, text, false, "the API rejected the token (API error "+code+": "+text+")", hintToken)
	case 402:
		return fatal(code, text, false, "the API refused the request (API error 402: "+text+")", hintAccount)
	case 413:
		o.kind = kindTooLarge
	case 429:
		o.kind, o.throttled, o.wait = kindRetry, true, parseRetryAfter(retryAfter, now)
	case 500, 502, 503, 504:
		o.kind, o.wait = kindRetry, parseRetryAfter(retryAfter, now)
	default:
		o.kind = kindRow
	}
	return o
}

func fatal(code, text string, maybe bool, reason, hint string) outcome {
	return outcome{kind: kindFatal, code: code, text: text, maybe: maybe, sig: code + "\x00" + text,
		fatal: &FatalError{Reason: reason, Hint: hint, Code: code}}
}

// httpStatus reads like "HTTP 503 Service Unavailable". The reason phrase
// is Go's, not the server's, so nothing the server wrote is echoed.
func httpStatus(code int) string {
	s := "HTTP " + strconv.Itoa(code)
	if t := http.StatusText(code); t != "" {
		s += " " + t
	}
	return s
}

// errRedirect is wrapped by roundTrip's refusal of a redirect: no redirect
// is ever followed (see roundTrip).
var errRedirect = errors.New("redirect not followed")

// redirectError carries where the API tried to send us.
type redirectError struct {
	to        string
	otherHost bool // another host, or off https: the token would leave
}

func (e *redirectError) Error() string { return "redirect to " + e.to + " not followed" }
func (e *redirectError) Unwrap() error { return errRedirect }

// classifyTransport judges an attempt that got no complete HTTP reply.
func classifyTransport(x *exchange) outcome {
	var re *redirectError
	if errors.As(x.err, &re) {
		if re.otherHost {
			return fatal("redirect", "the API redirected to another host ("+re.to+")", true,
				"the API redirected to another host ("+re.to+"); the token is not sent there",
				"set api.url / --api-url to the final address")
		}
		return fatal("redirect", "the API redirected to "+re.to, true,
			x.method+" "+x.url+" redirected to "+re.to+"; redirects are not followed, because the request would be sent again",
			"set api.url / --api-url to the final address")
	}
	if x.timedOut || errors.Is(x.err, context.DeadlineExceeded) || isTimeout(x.err) {
		o := outcome{code: "timeout", network: true, sig: "timeout"}
		within := "no reply within " + x.timeout.String()
		if x.wrote {
			o.kind, o.text = kindMaybe, within+" (the request was sent; it may have been applied)"
		} else {
			o.kind, o.text = kindRetry, within+" (nothing was sent)"
		}
		return o
	}
	what, sig, hint := describeNetErr(x.err)
	o := outcome{code: "network", network: true, sig: "network:" + sig}
	switch {
	case hint != "":
		// Certificate problems never heal by retrying; the breaker and the
		// exhaustion rule stop the run with this text.
		o.kind, o.text = kindRetry, what+" ("+hint+")"
	case x.wrote:
		o.kind, o.text = kindMaybe, what+" (the request was sent; it may have been applied)"
	default:
		o.kind, o.text = kindRetry, what+" (nothing was sent)"
	}
	return o
}

// describeNetErr names a transport error without the URL: "connection
// refused by 127.0.0.1:8080", "DNS lookup of api.example.com failed: no
// such host". sig is the kind of failure, for the breaker; hint is set for
// failures no retry can mend.
func describeNetErr(err error) (what, sig, hint string) {
	inner := err
	var ue *url.Error
	if errors.As(err, &ue) { // it repeats the method and URL
		inner = ue.Err
	}
	var dns *net.DNSError
	var op *net.OpError
	var cert *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case errors.As(inner, &dns):
		return "DNS lookup of " + dns.Name + " failed: " + dns.Err, "dns", ""
	case errors.Is(inner, syscall.ECONNREFUSED):
		what = "connection refused"
		if errors.As(inner, &op) && op.Addr != nil {
			what += " by " + op.Addr.String()
		}
		return what, "refused", ""
	case errors.As(inner, &cert), errors.As(inner, &unknownAuth), errors.As(inner, &hostErr):
		return "TLS certificate rejected: " + inner.Error(), "tls", "check api.url / --api-url and the server's certificate"
	case errors.Is(inner, syscall.ECONNRESET):
		return "connection reset by the server", "reset", ""
	case errors.Is(inner, io.EOF), errors.Is(inner, io.ErrUnexpectedEOF):
		return "connection closed by the server before a reply", "eof", ""
	case errors.Is(inner, syscall.EPIPE):
		return "connection closed by the server while sending", "epipe", ""
	case errors.Is(inner, syscall.EHOSTUNREACH), errors.Is(inner, syscall.ENETUNREACH):
		return "host unreachable: " + inner.Error(), "unreachable", ""
	}
	return "network error: " + inner.Error(), "other", ""
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// maxPause bounds a Retry-After pause: a server asking for hours is more
// likely broken than busy, and the run would look hung.
const maxPause = 10 * time.Minute

// parseRetryAfter reads a Retry-After value, delay-seconds or an HTTP date,
// as the time to wait from now. Anything unreadable, negative or in the
// past is 0; the wait is capped at maxPause.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if v[0] >= '0' && v[0] <= '9' {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			// All digits but too big: as long as we allow.
			if allDigits(v) {
				return maxPause
			}
			return 0
		}
		if n > uint64(maxPause/time.Second) {
			return maxPause
		}
		return time.Duration(n) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	d := t.Sub(now)
	switch {
	case d <= 0:
		return 0
	case d > maxPause:
		return maxPause
	}
	return d
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
