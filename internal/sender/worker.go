package sender

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"slices"
	"sync/atomic"
	"time"
)

// maxThrottled bounds the HTTP 429 replies one request accepts. They do not
// use up MaxAttempts (the server asked us to wait; the row is not at fault)
// but a server that never stops throttling must not hold a row forever.
const maxThrottled = 20

// maxReply bounds a reply body; a batch of 10,000 results is far below.
const maxReply = 64 << 20

var errReplyTooLarge = errors.New("reply larger than 64 MiB")

// Header values shared by every request; http.Header values are only read.
var (
	hdrJSON      = []string{"application/json"}
	hdrUserAgent = []string{"importer (Altcraft bulk loader)"}
)

// process sends one unit until every job in it has a result: retries with
// backoff, Retry-After pauses, AIMD, partial batch retries. It reports every
// job exactly once on r.results.
func (r *run) process(u *unit) {
	p, s := r.p, r.s
	live := u.jobs
	b := u.body
	defer func() {
		if b != nil {
			b.release()
		}
	}()
	var last outcome
	attempts, failures, throttles := 0, 0, 0
	for {
		if r.stop.Err() != nil {
			r.abandon(live, attempts, last)
			return
		}
		if b == nil {
			b = r.encode(live, u.batch)
		}
		if err := p.pace.wait(r.stop, &p.gate); err != nil || r.stop.Err() != nil {
			r.abandon(live, attempts, last)
			return
		}
		attempts++
		p.requests.Add(1)
		p.pace.sent.Add(1)
		if attempts > 1 {
			p.retries.Add(1)
		}
		items := 0
		if u.batch {
			items = len(live)
		}
		x := r.attempt(b, items)
		now := time.Now()
		o := s.scrub(classify(&x, now))
		seen := o
		var again []Job
		if o.kind == kindOK && u.batch {
			again, o, seen = r.settleItems(live, &x, attempts, now)
		}
		pid := ""
		if o.kind == kindOK && !u.batch {
			pid = x.rep.ProfileID()
		}
		x.reply.free() // outcomes hold copies of what they need
		if fe := p.breaker.observe(seen); fe != nil {
			r.fatal(fe)
		}
		switch o.kind {
		case kindOK:
			if !u.batch {
				r.deliver(live, Result{Status: OK, ProfileID: pid}, attempts)
			}
			r.settled(false, o)
			return
		case kindRow:
			r.deliver(live, Result{Status: Failed, Code: o.code, Error: o.text}, attempts)
			r.settled(false, o)
			return
		case kindFatal:
			r.deliver(live, Result{Status: Failed, Code: o.code, Error: o.text}, attempts)
			r.fatal(o.fatal)
			return
		case kindUnknown:
			if anyRisky(live) {
				r.deliver(live, Result{Status: Unknown, Code: o.code, Error: o.text}, attempts)
				r.settled(false, o)
				return
			}
		}
		if again != nil && len(again) < len(live) { // some items are done: send the rest
			live = again
			b.release()
			b = nil
		}
		if o.throttled {
			throttles++
			p.throttled.Add(1)
			p.pace.throttled(now)
		} else {
			failures++
		}
		if failures >= s.MaxAttempts || throttles >= maxThrottled {
			r.deliver(live, Result{Status: Failed, Code: o.code, Error: o.text}, attempts)
			r.settled(o.network, o)
			return
		}
		last = o
		if o.wait > 0 {
			if p.gate.pause(now, o.wait) {
				s.Logger.Info("API asked to wait (Retry-After): pausing all requests",
					"for", o.wait.String(), "code", o.code)
			}
			continue
		}
		n := failures
		if o.throttled {
			n = throttles
		}
		d := backoff(n, s.randN)
		if s.Logger.Enabled(context.Background(), slog.LevelDebug) {
			s.Logger.Debug("retrying", "id", live[0].ID, "rows", len(live), "attempt", attempts,
				"code", o.code, "error", o.text, "after", d.String())
		}
		if sleep(r.stop, d) != nil {
			r.abandon(live, attempts, last)
			return
		}
	}
}

// settleItems delivers the finished items of a batch reply and returns the
// jobs to retry with the outcome that governs the retry. seen is what the
// breaker should learn: ok when any item was applied, else the items'
// common failure (a mix of failures never trips it).
func (r *run) settleItems(live []Job, x *exchange, attempts int, now time.Time) (again []Job, retry, seen outcome) {
	seen = outcome{kind: kindRow, sig: "\x00mixed"}
	for i := range live {
		st := &x.rep.items[i]
		o := r.s.scrub(classifyAPI(st, now, x.retryAfter))
		switch {
		case o.kind == kindOK:
			seen = outcome{kind: kindOK}
		case i == 0:
			seen = o
		case seen.kind != kindOK && o.sig != seen.sig:
			seen = outcome{kind: kindRow, sig: "\x00mixed"}
		}
		switch o.kind {
		case kindOK:
			r.deliver(live[i:i+1], Result{Status: OK, ProfileID: st.ProfileID()}, attempts)
		case kindRow:
			r.deliver(live[i:i+1], Result{Status: Failed, Code: o.code, Error: o.text}, attempts)
		case kindFatal:
			r.deliver(live[i:i+1], Result{Status: Failed, Code: o.code, Error: o.text}, attempts)
			r.fatal(o.fatal)
		default: // the API said this item was not applied: safe to resend
			if again == nil {
				retry = o
				again = make([]Job, 0, len(live)-i)
			}
			again = append(again, live[i])
		}
	}
	if again == nil {
		return nil, outcome{kind: kindOK}, seen
	}
	return again, retry, seen
}

func anyRisky(jobs []Job) bool {
	for i := range jobs {
		if jobs[i].Risky {
			return true
		}
	}
	return false
}

// deliver sends one result per job, filled in from tmpl.
func (r *run) deliver(jobs []Job, tmpl Result, attempts int) {
	tmpl.Attempts = attempts
	for i := range jobs {
		tmpl.ID = jobs[i].ID
		r.results <- tmpl
	}
}

// abandon reports jobs the run stopped before they were done.
func (r *run) abandon(jobs []Job, attempts int, last outcome) {
	if attempts == 0 {
		r.cancel(jobs)
		return
	}
	r.cut.Store(true)
	r.deliver(jobs, Result{Status: Canceled, Code: last.code,
		Error: "not retried: the run stopped (last attempt: " + last.text + ")"}, attempts)
}

// settled tells the breaker a request finished; gaveUpNet: it exhausted its
// attempts on network errors.
func (r *run) settled(gaveUpNet bool, last outcome) {
	if fe := r.p.breaker.done(gaveUpNet, last); fe != nil {
		r.fatal(fe)
	}
}

// fatal stops the run; the first fatal error is the one Run returns.
func (r *run) fatal(fe *FatalError) {
	if r.stop.Err() == nil {
		r.s.Logger.Debug("stopping the run", "reason", fe.Error())
	}
	r.halt(fe)
}

// encode builds the request body for the live jobs of a unit.
func (r *run) encode(live []Job, batch bool) *body {
	s := r.s
	b := newBody()
	if !batch {
		b.buf = AppendSingleBody(b.buf, s.bodyToken, s.Envelope, live[0].Payload)
		return b
	}
	b.buf = appendBatchHead(b.buf, s.bodyToken, s.BatchEnvelope)
	for i := range live {
		if i > 0 {
			b.buf = append(b.buf, ',')
		}
		b.buf = live[i].Payload.AppendItem(b.buf)
	}
	b.buf = appendBatchTail(b.buf)
	return b
}

// attempt makes one HTTP request and gathers what classify needs. The
// request runs on a context the run's cancellation does not reach, bounded
// by the per-attempt timeout: a request once sent is let finish, so its
// outcome is known rather than guessed. The caller owns x.reply (which
// x.rep points into) and frees it.
func (r *run) attempt(b *body, items int) (x exchange) {
	s := r.s
	x = exchange{method: http.MethodPost, url: s.single, timeout: s.Timeout, items: items}
	tmpl := s.singleReq
	if items > 0 {
		x.url, tmpl = s.batch, s.batchReq
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), s.Timeout)
	defer cancel()
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				wrote.Store(true)
			}
		},
	})
	req := tmpl.WithContext(ctx)
	req.Body = b.reader()
	req.ContentLength = int64(len(b.buf))
	req.GetBody = func() (io.ReadCloser, error) { return b.reader(), nil }
	req.Header = make(http.Header, 4)
	req.Header["Content-Type"] = hdrJSON
	req.Header["Accept"] = hdrJSON
	req.Header["User-Agent"] = hdrUserAgent
	if s.auth != "" {
		req.Header["Authorization"] = []string{s.auth}
	}
	start := time.Now()
	resp, err := s.Client.Do(req)
	if err != nil {
		x.err, x.wrote = err, wrote.Load()
		x.timedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
		r.p.completed.Add(1)
		return x
	}
	x.status = resp.StatusCode
	x.retryAfter = resp.Header.Get("Retry-After")
	x.contentType = resp.Header.Get("Content-Type")
	x.reply = getBuffer()
	x.reply.b, err = readReply(resp, x.reply.b)
	resp.Body.Close()
	x.size = len(x.reply.b)
	r.p.completed.Add(1)
	switch {
	case errors.Is(err, errReplyTooLarge):
		x.parsed, x.repErr = true, err
	case err != nil:
		// The server answered, so it had the request: outcome unknown.
		x.err, x.wrote = err, true
		x.timedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
		return x
	default:
		r.p.recordLatency(time.Since(start))
		if x.status >= 200 && x.status < 300 || x.status >= 400 && x.status < 500 {
			x.parsed = true
			x.repErr = parseReply(x.reply.b, &x.rep)
		}
	}
	return x
}

// readReply reads a reply body to its end (so the connection is reused)
// into buf, up to maxReply.
func readReply(resp *http.Response, buf []byte) ([]byte, error) {
	if n := resp.ContentLength; n > 0 && n < maxReply {
		buf = slices.Grow(buf[:0], int(n)+1) // +1: the read that sees EOF needs room
	}
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= maxReply {
				return buf, errReplyTooLarge
			}
			buf = slices.Grow(buf, max(512, len(buf)))
		}
		n, err := resp.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
