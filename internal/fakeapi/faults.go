package fakeapi

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// decision is the fault plan for one request.
type decision struct {
	limited, throttled, drop, fail, slow, apiErr, lose bool
	failStatus                                         int
	latency                                            time.Duration
}

var failStatuses = [3]int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}

// decide draws the same values for every request, whatever the options, so
// that turning one fault on does not move the others: six from rng for the
// original faults, two from rngLate for the faults added later (throttle,
// apply-then). Keeping the later ones on a stream of their own leaves the
// assignment of the original faults to a seed as it always was.
func (s *Server) decide(now time.Time) decision {
	s.mu.Lock()
	uDrop, uFail, uSlow, uErr, uJitter := s.rng.Float64(), s.rng.Float64(), s.rng.Float64(), s.rng.Float64(), s.rng.Float64()
	code := s.rng.IntN(len(failStatuses))
	uThrottle, uLose := s.rngLate.Float64(), s.rngLate.Float64()
	limited := s.opts.RateLimit > 0 && !s.bucket.allow(now)
	s.perSec.add(now)
	s.mu.Unlock()
	o := &s.opts
	d := decision{
		limited:    limited,
		throttled:  uThrottle < o.ThrottleRate,
		drop:       uDrop < o.DropRate,
		fail:       uFail < o.FailRate,
		slow:       uSlow < o.SlowRate,
		apiErr:     uErr < o.ErrorRate,
		lose:       uLose < o.ApplyThenRate,
		failStatus: failStatuses[code],
		latency:    o.Latency,
	}
	if o.Jitter > 0 {
		d.latency += time.Duration((2*uJitter - 1) * float64(o.Jitter))
	}
	d.latency = max(d.latency, 0)
	return d
}

// refuseEarly answers the faults that strike before the body is read:
// drop, rate limit, random throttle, injected 5xx. It reports whether it
// answered; nothing of such a request is applied.
func (s *Server) refuseEarly(ctx context.Context, w http.ResponseWriter, ep endpoint, d *decision) bool {
	switch {
	case d.drop:
		s.stats.add(ep, outDropped)
		abort(w)
	case d.limited:
		sleep(ctx, d.latency)
		s.stats.add(ep, outHTTP429)
		s.writeRateLimited(w)
	case d.throttled:
		sleep(ctx, d.latency)
		s.stats.add(ep, outThrottled)
		s.writeRateLimited(w)
	case d.fail:
		sleep(ctx, d.latency)
		s.stats.add(ep, outHTTP5xx)
		writeText(w, d.failStatus, strconv.Itoa(d.failStatus)+" "+http.StatusText(d.failStatus)+" (injected by fakeapi)\n")
	default:
		return false
	}
	return true
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

// writeText answers with an HTTP status and a text/plain body.
func writeText(w http.ResponseWriter, status int, text string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(text)))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, text) // the client may be gone; nothing to do about it
}

// HugeReplyPadding is the whitespace a LostHuge reply sends before the
// real reply: 64 MiB, so the body is larger than 64 MiB.
const HugeReplyPadding = 64 << 20

// htmlErrorPage is what a proxy in front of the API answers when the
// backend failed after taking the request, served with HTTP 200 by LostHTML.
const htmlErrorPage = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n" +
	"<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx (injected by fakeapi after applying the request)</center></body></html>\n"

// writeLost answers a request that was applied with the reply ApplyThen
// names instead of its own (reply, in the request's format, content type
// ct). LostTimeout is not handled here: its reply is the real one, late.
func (s *Server) writeLost(w http.ResponseWriter, r *http.Request, ct []string, reply []byte) {
	switch k := s.opts.ApplyThen; k {
	case Lost500, Lost502, Lost503, Lost504:
		st := k.status()
		writeText(w, st, strconv.Itoa(st)+" "+http.StatusText(st)+" (injected by fakeapi after applying the request)\n")
	case LostReset:
		reset(w)
	case LostHTML:
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Length", strconv.Itoa(len(htmlErrorPage)))
		_, _ = io.WriteString(w, htmlErrorPage)
	case LostHuge:
		// No Content-Length: the client learns the size only by reading,
		// as from a proxy streaming a runaway backend.
		w.Header()["Content-Type"] = ct
		writePadding(w, HugeReplyPadding)
		_, _ = w.Write(reply)
	case LostRedirect:
		h := w.Header()
		h.Set("Location", r.URL.RequestURI())
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusTemporaryRedirect)
	}
}

// writePadding streams n spaces from one small buffer: a huge reply costs
// no memory.
func writePadding(w io.Writer, n int64) {
	var chunk [32 << 10]byte
	for i := range chunk {
		chunk[i] = ' '
	}
	for n > 0 {
		m := min(n, int64(len(chunk)))
		if _, err := w.Write(chunk[:m]); err != nil {
			return // the client gave up reading
		}
		n -= m
	}
}

// reset closes the connection with a TCP reset where it can (SO_LINGER 0),
// else as abort does: the client sees its request written and the
// connection die.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // a plain close still loses the reply
	}
	_ = conn.Close()
}
