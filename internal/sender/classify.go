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

// kind is what the pool does with an attempt's outcome.
type kind uint8

const (
	kindOK      kind = iota // applied
	kindRow                 // the API rejected this row: Failed, never retried
	kindRetry               // not applied (or safe to resend): retried
	kindUnknown             // sent without a reply: retried, unless a Risky row is in it (then Unknown)
	kindFatal               // nothing can succeed: the run stops
)

var kindNames = [...]string{"ok", "row", "retry", "unknown", "fatal"}

func (k kind) String() string { return kindNames[k] }

// outcome is the verdict on one attempt (or one batch item).
type outcome struct {
	kind      kind
	code      string        // Result.Code
	text      string        // Result.Error
	fatal     *FatalError   // set when kind is kindFatal
	wait      time.Duration // Retry-After: pause the whole pool this long
	throttled bool          // HTTP 429 or API error 429: lower the rate
	network   bool          // a transport failure (no HTTP reply)
	// sig identifies "the same error" for the circuit breaker: code and
	// text for replies, the kind of failure for the network (the addresses
	// in a dial error do not matter).
	sig string
}

// Hints a FatalError gives; DESIGN.md §7 names them.
const (
	hintToken = "check ALTCRAFT_TOKEN/--token-file"
	hintURL   = "check api.url / --api-url"
	hintDB    = "check request.db_id"
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
	parsed      bool // the body was parsed (2xx and 4xx replies)
	items       int  // profiles in a batch request; 0 for a single one
}

// classify turns an attempt into an outcome. It is the one place that
// decides what is retried, what fails a row and what stops the run; its
// table is tested row by row.
//
//	transport error, timed out, not sent   → retry   "timeout"
//	transport error, timed out, sent       → unknown "timeout"
//	connection refused, DNS, other unsent  → retry   "network"
//	connection lost after sending          → unknown "network"
//	redirect to another host refused       → fatal   (check api.url)
//	HTTP 401, 403                          → fatal   (token)
//	HTTP 404, 405 without an API envelope  → fatal   (check api.url)
//	HTTP 429                               → retry, throttled, Retry-After
//	HTTP 408, 5xx                          → retry   (Retry-After honoured)
//	HTTP 3xx                               → fatal   (check api.url)
//	other HTTP 4xx with an envelope        → by the envelope's code (below)
//	other HTTP 4xx without                 → row
//	HTTP 2xx, not the envelope             → retry   "reply"
//	API error 0                            → ok (batch: one verdict per item)
//	API error 401, 403                     → fatal   (token)
//	API error 429                          → retry, throttled
//	API error 500, 502, 503, 504           → retry
//	API error anything else                → row     (the API's code and text)
//	batch reply without one result per item→ retry   "reply"
func classify(x *exchange, now time.Time) outcome {
	if x.err != nil {
		return classifyTransport(x)
	}
	st := x.status
	if st >= 200 && st < 300 {
		return classifyEnvelope(x, now)
	}
	hs := httpStatus(st)
	switch {
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		text := hs
		if x.parsed && x.repErr == nil && len(x.rep.text) > 0 {
			text = hs + ": " + x.rep.Text()
		}
		return fatal("HTTP "+strconv.Itoa(st), text, "the API rejected the token ("+text+")", hintToken)
	case st == http.StatusTooManyRequests:
		return outcome{kind: kindRetry, code: "HTTP 429", text: hs, throttled: true,
			wait: parseRetryAfter(x.retryAfter, now), sig: "HTTP 429"}
	case st == http.StatusRequestTimeout || st >= 500:
		o := outcome{kind: kindRetry, code: "HTTP " + strconv.Itoa(st), text: hs,
			wait: parseRetryAfter(x.retryAfter, now)}
		o.sig = o.code
		return o
	case st >= 300 && st < 400:
		return fatal("HTTP "+strconv.Itoa(st), hs,
			x.method+" "+x.url+" answered "+hs+", a redirect not followed (the body holds the token)", hintURL)
	case st >= 400:
		if x.parsed && x.repErr == nil && x.rep.code != 0 {
			return classifyAPI(&x.rep.status, now, x.retryAfter)
		}
		if st == http.StatusNotFound || st == http.StatusMethodNotAllowed {
			return fatal("HTTP "+strconv.Itoa(st), hs, x.method+" "+x.url+" answered "+hs, hintURL)
		}
		o := outcome{kind: kindRow, code: "HTTP " + strconv.Itoa(st), text: hs}
		o.sig = o.code
		return o
	}
	// 1xx as a final status: not the API talking.
	o := outcome{kind: kindRetry, code: "HTTP " + strconv.Itoa(st), text: hs}
	o.sig = o.code
	return o
}

// classifyEnvelope judges a 2xx reply: the envelope decides.
func classifyEnvelope(x *exchange, now time.Time) outcome {
	if x.repErr != nil {
		hs := httpStatus(x.status)
		ct := x.contentType
		if ct == "" {
			ct = "no content type"
		}
		text := hs + " reply is not the API's JSON envelope (" + x.repErr.Error() + "; " + ct + ", " + strconv.Itoa(x.size) + " bytes)"
		return outcome{kind: kindRetry, code: "reply", text: text, sig: "reply:" + x.repErr.Error()}
	}
	if x.rep.code != 0 {
		return classifyAPI(&x.rep.status, now, x.retryAfter)
	}
	if x.items > 0 {
		if !x.rep.hasResult || len(x.rep.items) != x.items {
			text := "reply had " + strconv.Itoa(len(x.rep.items)) + " results for " + strconv.Itoa(x.items) + " profiles"
			if !x.rep.hasResult {
				text = "reply had no result list for " + strconv.Itoa(x.items) + " profiles"
			}
			return outcome{kind: kindRetry, code: "reply", text: text, sig: "reply:count"}
		}
		for i := range x.rep.items {
			if !x.rep.items[i].hasCode {
				return outcome{kind: kindRetry, code: "reply", sig: "reply:item",
					text: "reply result " + strconv.Itoa(i+1) + " has no integer \"error\" member"}
			}
		}
	}
	return outcome{kind: kindOK}
}

// classifyAPI judges an envelope (or batch item) whose error code is set.
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
		return fatal(code, text, "the API rejected the token (API error "+code+": "+text+")", hintToken)
	case 429:
		o.kind, o.throttled, o.wait = kindRetry, true, parseRetryAfter(retryAfter, now)
	case 500, 502, 503, 504:
		o.kind, o.wait = kindRetry, parseRetryAfter(retryAfter, now)
	default:
		o.kind = kindRow
	}
	return o
}

func fatal(code, text, reason, hint string) outcome {
	return outcome{kind: kindFatal, code: code, text: text, sig: code + "\x00" + text,
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

// errRedirect is returned by the client's CheckRedirect: the body holds the
// token, so it never follows the API to another host.
var errRedirect = errors.New("redirect to another host refused")

// redirectError carries where the API tried to send us.
type redirectError struct{ to string }

func (e *redirectError) Error() string { return "redirect to " + e.to + " refused" }
func (e *redirectError) Unwrap() error { return errRedirect }

// classifyTransport judges an attempt that got no complete HTTP reply.
func classifyTransport(x *exchange) outcome {
	var re *redirectError
	if errors.As(x.err, &re) {
		return fatal("redirect", "the API redirected to another host ("+re.to+")",
			"the API redirected to another host ("+re.to+"); the token is not sent there",
			"set api.url / --api-url to the final address")
	}
	if x.timedOut || errors.Is(x.err, context.DeadlineExceeded) || isTimeout(x.err) {
		o := outcome{code: "timeout", network: true, sig: "timeout"}
		within := "no reply within " + x.timeout.String()
		if x.wrote {
			o.kind, o.text = kindUnknown, within+" (the request was sent; outcome unknown)"
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
		o.kind, o.text = kindUnknown, what+" (the request was sent; outcome unknown)"
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
