package sender

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// FatalError is a condition no row can succeed under: the token was
// rejected, the URL is wrong, the API is unreachable, or the first requests
// all failed the same way. [Pool.Run] returns it after draining; the
// importer exits 1 with its message.
type FatalError struct {
	// Reason says what happened, e.g. "the API rejected the token (HTTP 401 Unauthorized)".
	Reason string
	// Hint says what to fix, e.g. "check ALTCRAFT_TOKEN/--token-file"; "" when
	// the reason says it all.
	Hint string
	// Code is the Result.Code of the failure that caused it.
	Code string
}

// Error returns one line: the reason, then the hint.
func (e *FatalError) Error() string {
	if e.Hint == "" {
		return e.Reason
	}
	return e.Reason + ": " + e.Hint
}

// breaker stops runs that cannot succeed, before they burn the whole file:
//
//   - sample rule: when the first `sample` attempts (HTTP 429 aside: being
//     throttled says nothing about the request) all failed with the same
//     error, the run stops with a hint derived from that error;
//   - reachability rule: when `sample` requests in a row gave up on network
//     errors, the API is unreachable.
//
// Safe for concurrent use.
type breaker struct {
	disarmed atomic.Bool // the sample rule is settled: observe has nothing to do
	mu       sync.Mutex
	sample   int // 0 = disabled
	seen     int
	first    outcome
	sampling bool
	streak   int     // requests in a row that exhausted their attempts on network errors
	finished int     // requests finished in all
	last     outcome // the final outcome of the latest request that gave up on the network
	attempts int     // MaxAttempts, for the message
}

func newBreaker(sample, attempts int) *breaker {
	b := &breaker{sample: sample, sampling: sample > 0, attempts: attempts}
	b.disarmed.Store(sample <= 0)
	return b
}

// observe records one attempt and returns a FatalError when the sample rule
// trips.
func (b *breaker) observe(o outcome) *FatalError {
	if o.throttled || b.disarmed.Load() {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.sampling {
		return nil
	}
	if o.kind == kindOK || (b.seen > 0 && o.sig != b.first.sig) {
		b.sampling = false
		b.disarmed.Store(true)
		return nil
	}
	if b.seen == 0 {
		b.first = o
	}
	b.seen++
	if b.seen < b.sample {
		return nil
	}
	b.sampling = false
	b.disarmed.Store(true)
	return sampleFatal(b.sample, b.first)
}

// done records a finished request: gaveUpNet says it exhausted its attempts
// on network errors (last is its final outcome).
func (b *breaker) done(gaveUpNet bool, last outcome) *FatalError {
	if b.sample == 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.finished++
	if !gaveUpNet {
		b.streak = 0
		return nil
	}
	b.streak++
	b.last = last
	if b.streak != b.sample {
		return nil
	}
	return b.unreachable()
}

// atEnd is the reachability rule for a run that ended before it made
// `sample` requests: when every request it made gave up on network errors,
// the API was never reached, and a cron job should hear exit 1, not "some
// rows failed".
func (b *breaker) atEnd() *FatalError {
	if b.sample == 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished == 0 || b.streak != b.finished || b.streak >= b.sample {
		return nil // reached at least once, or the streak rule already spoke
	}
	return b.unreachable()
}

// unreachable words the reachability verdict. Caller holds mu.
func (b *breaker) unreachable() *FatalError {
	what := strconv.Itoa(b.streak) + " requests in a row"
	if b.streak == b.finished {
		what = "every request (" + strconv.Itoa(b.streak) + ")"
	}
	return &FatalError{
		Reason: "API unreachable: " + what + " gave up after " +
			strconv.Itoa(b.attempts) + " attempts (last: " + b.last.text + ")",
		Hint: hintURL + " and the network",
		Code: b.last.code,
	}
}

// sampleFatal words the sample rule's verdict with what to fix.
func sampleFatal(n int, o outcome) *FatalError {
	e := &FatalError{
		Reason: "the first " + strconv.Itoa(n) + " requests all failed with the same error: ",
		Code:   o.code,
	}
	if o.network || o.code == "reply" || strings.HasPrefix(o.code, "HTTP ") {
		e.Reason += o.text
	} else {
		e.Reason += "API error " + o.code + " " + strconv.Quote(o.text)
	}
	low := strings.ToLower(o.text)
	switch {
	case o.code == "401" || o.code == "403" || o.code == "HTTP 401" || o.code == "HTTP 403":
		e.Hint = hintToken
	case strings.Contains(low, "db_id") || strings.Contains(low, "database"):
		e.Hint = hintDB
	case o.sig == "network:refused" || o.sig == "network:dns" || o.code == "HTTP 404" || o.code == "HTTP 405":
		e.Hint = hintURL
	}
	return e
}
