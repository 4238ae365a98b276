package sender

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strconv"
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
	hdrGzip      = []string{"gzip"}
	hdrUserAgent = []string{"importer (Altcraft bulk loader)"}
)

// process sends one unit until every job in it has a result or was handed
// to new units (u.handoff): retries with backoff, Retry-After pauses, AIMD,
// batch items settled one by one, 413 splits. It reports every job it
// settles exactly once on r.results.
func (r *run) process(u *unit) {
	r.send(u, u.jobs, u.batch, u.body)
}

// send is process for the jobs still live in u: one request, sent until
// each job is settled or handed off.
func (r *run) send(u *unit, live []Job, batch bool, b *body) {
	p, s := r.p, r.s
	defer func() {
		if b != nil {
			b.release()
		}
	}()
	var last outcome
	attempts, failures, throttles := 0, 0, 0
	for {
		if r.stop.Err() != nil {
			r.abandon(u, live, attempts, last)
			return
		}
		if b == nil {
			b = r.encode(live, batch)
		}
		if batch && len(live) > 1 && len(b.buf) > int(p.maxBytes.Load()) {
			// Formed before the server refused a smaller batch: split it
			// now rather than spend a request on another 413.
			half := len(live) / 2
			u.handoff = append(u.handoff, r.newUnit(live[:half], true), r.newUnit(live[half:], true))
			return
		}
		if err := p.pace.wait(r.stop, &p.gate); err != nil || r.stop.Err() != nil {
			r.abandon(u, live, attempts, last)
			return
		}
		if err := r.announce(live); err != nil {
			r.fatal(&FatalError{Reason: "cannot record the rows in flight: " + err.Error()})
			r.abandon(u, live, attempts, last)
			return
		}
		attempts++
		p.requests.Add(1)
		p.pace.sent.Add(1)
		if attempts > 1 {
			p.retries.Add(1)
		}
		items := 0
		if batch {
			items = len(live)
		}
		sentAt := time.Now()
		x := r.attempt(b, items)
		now := time.Now()
		o := s.scrub(classify(&x, now))
		seen := o
		var again []Job
		if o.kind == kindOK && batch {
			again, o, seen = r.settleItems(u, live, &x, attempts, now)
		}
		pid := ""
		if o.kind == kindOK && !batch {
			pid = x.rep.ProfileID()
		}
		x.reply.free() // outcomes hold copies of what they need
		if fe := p.breaker.observe(seen); fe != nil {
			r.fatal(fe)
		}
		switch o.kind {
		case kindOK:
			if !batch {
				u.deliver(live, Result{Status: OK, ProfileID: pid}, attempts)
			}
			r.settled(false, o)
			return
		case kindRow:
			u.deliver(live, Result{Status: Failed, Code: o.code, Error: o.text}, attempts)
			r.settled(false, o)
			return
		case kindFatal:
			r.stopWith(u, live, o, attempts)
			r.fatal(o.fatal)
			return
		case kindTooLarge:
			r.tooLarge(u, live, batch, len(b.buf), o, attempts)
			r.settled(false, o)
			return
		case kindMaybe:
			if batch && o.code == "reply" && o.sig == sigReplyCount {
				r.unmatched(u, live, o, attempts)
				r.settled(false, o)
				return
			}
			if safe := r.settleRisky(u, live, o, attempts); len(safe) < len(live) {
				if len(safe) == 0 {
					r.settled(false, o)
					return
				}
				again = safe // set-only rows may be sent again
			}
		}
		if again != nil && len(again) < len(live) { // some rows are settled: send the rest
			live = again
			b.release()
			b = nil
		}
		if o.throttled {
			throttles++
			p.throttled.Add(1)
		} else {
			failures++
		}
		if failures >= s.MaxAttempts || throttles >= maxThrottled {
			u.deliver(live, Result{Status: Failed, Code: o.code, Error: o.text}, attempts)
			r.settled(o.network, o)
			return
		}
		last = o
		if r.wait(o, sentAt, now, failures, throttles, live) != nil {
			r.abandon(u, live, attempts, last)
			return
		}
	}
}

// wait holds a request between attempts. A 429 that is one of many (the
// server is throttling us) lowers the rate and, with Retry-After, pauses
// the whole pool; a 429 for a request sent before the current pause began
// adds nothing to it, and an occasional 429 only backs off its own request.
func (r *run) wait(o outcome, sentAt, now time.Time, failures, throttles int, live []Job) error {
	p, s := r.p, r.s
	if s.Observer != nil {
		if o.throttled {
			s.Observer.Event(now, EventThrottled, o.code)
		}
		s.Observer.Event(now, EventRetry, o.code)
	}
	n := failures
	if o.throttled {
		n = throttles
		if p.pace.throttled(sentAt, now, throttles) && o.wait > 0 {
			if p.gate.pause(sentAt, now, o.wait) {
				s.Logger.Info("API asked to wait (Retry-After): pausing all requests",
					"for", o.wait.String(), "code", o.code)
			}
			return nil // the gate holds this request too
		}
	} else if o.wait > 0 {
		if p.gate.pause(sentAt, now, o.wait) {
			s.Logger.Info("API asked to wait (Retry-After): pausing all requests",
				"for", o.wait.String(), "code", o.code)
		}
		return nil
	}
	d := backoff(n, s.randN)
	if s.Logger.Enabled(context.Background(), slog.LevelDebug) {
		s.Logger.Debug("retrying", "id", live[0].ID, "rows", len(live), "code", o.code,
			"error", o.text, "after", d.String())
	}
	return sleep(r.stop, d)
}

// announce tells the caller which Risky rows are about to be sent for the
// first time (Config.BeforeSend), so a crash during the request leaves a
// record that they may have been applied.
func (r *run) announce(live []Job) error {
	if r.s.BeforeSend == nil {
		return nil
	}
	var ids []int64
	for i := range live {
		if live[i].Risky && !live[i].announced {
			ids = append(ids, live[i].ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if err := r.s.BeforeSend(ids); err != nil {
		return err
	}
	for i := range live {
		if live[i].Risky {
			live[i].announced = true
		}
	}
	return nil
}

// settleRisky ends the Risky rows of a maybe-applied attempt Unknown and
// returns the others, which may be sent again.
func (r *run) settleRisky(u *unit, live []Job, o outcome, attempts int) (safe []Job) {
	if !anyRisky(live) {
		return live
	}
	for i := range live {
		if live[i].Risky {
			u.deliver(live[i:i+1], Result{Status: Unknown, Code: o.code, Error: o.text}, attempts)
		} else {
			safe = append(safe, live[i])
		}
	}
	return safe
}

// stopWith settles the jobs of a request that met a fatal condition: Risky
// rows of an attempt that may have been applied end Unknown; every other
// row was not applied (or is safe to send again) and is Canceled, so that
// --resume sends it.
func (r *run) stopWith(u *unit, live []Job, o outcome, attempts int) {
	r.cut.Store(true)
	for i := range live {
		if o.maybe && live[i].Risky {
			u.deliver(live[i:i+1], Result{Status: Unknown, Code: o.code, Error: o.text}, attempts)
			continue
		}
		u.deliver(live[i:i+1], Result{Status: Canceled, Code: o.code,
			Error: "not applied: the run stopped (" + o.text + ")"}, attempts)
	}
}

// tooLarge handles HTTP 413: a batch is split in halves, each sent as a
// batch of its own (and later batches are kept below the size that failed);
// a single profile that is too large fails.
func (r *run) tooLarge(u *unit, live []Job, batch bool, size int, o outcome, attempts int) {
	if batch && len(live) > 1 {
		r.p.lowerMaxBytes(size, r.s.Logger)
		half := len(live) / 2
		u.handoff = append(u.handoff, r.newUnit(live[:half], true), r.newUnit(live[half:], true))
		return
	}
	u.deliver(live, Result{Status: Failed, Code: o.code, Error: "the request for this row alone is " +
		strconv.Itoa(size) + " bytes, more than the API accepts (" + o.text + "): shorten its fields"}, attempts)
}

// unmatched handles a batch reply whose results cannot be matched to its
// items: Risky rows end Unknown; the others go out again one per request,
// whose replies are unambiguous, and so does every later row of the run.
func (r *run) unmatched(u *unit, live []Job, o outcome, attempts int) {
	if r.p.singleOnly.CompareAndSwap(false, true) {
		r.s.Logger.Warn("the API's batch reply cannot be matched to the rows of the batch: "+
			"sending one profile per request from now on (rows using incr/add/delete in the batches "+
			"already sent end unknown); run 'importer probe' to check this installation's batch replies",
			"reply", o.text)
	}
	for i := range live {
		if live[i].Risky {
			u.deliver(live[i:i+1], Result{Status: Unknown, Code: o.code, Error: o.text}, attempts)
			continue
		}
		u.handoff = append(u.handoff, r.newUnit(live[i:i+1], false))
	}
}

// settleItems delivers the settled items of a batch reply that has one
// result per item, hands off those that must go out alone, and returns the
// jobs to retry in a batch with the outcome that governs the retry. seen is
// what the breaker should learn: ok when any item was applied, else the
// items' common failure (a mix of failures never trips it).
func (r *run) settleItems(u *unit, live []Job, x *exchange, attempts int, now time.Time) (again []Job, retry, seen outcome) {
	seen = outcome{kind: kindRow, sig: "\x00mixed"}
	var stop *outcome
	for i := range live {
		st := &x.rep.items[i]
		o := r.s.scrub(classifyItem(st, now, x.retryAfter))
		switch {
		case o.kind == kindOK:
			seen = outcome{kind: kindOK}
		case i == 0:
			seen = o
		case seen.kind != kindOK && o.sig != seen.sig:
			seen = outcome{kind: kindRow, sig: "\x00mixed"}
		}
		one := live[i : i+1]
		switch o.kind {
		case kindOK:
			u.deliver(one, Result{Status: OK, ProfileID: st.ProfileID()}, attempts)
		case kindRow, kindTooLarge:
			u.deliver(one, Result{Status: Failed, Code: o.code, Error: o.text}, attempts)
		case kindFatal:
			r.stopWith(u, one, o, attempts)
			if stop == nil {
				stop = &o
			}
		case kindMaybe:
			if live[i].Risky {
				u.deliver(one, Result{Status: Unknown, Code: o.code, Error: o.text}, attempts)
			} else {
				u.handoff = append(u.handoff, r.newUnit(one, false))
			}
		default: // the API said this item was not applied: safe to send again
			if again == nil {
				retry = o
				again = make([]Job, 0, len(live)-i)
			}
			again = append(again, live[i])
		}
	}
	if stop != nil {
		r.fatal(stop.fatal)
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

// deliver records one result per job of u, filled in from tmpl; the work
// loop hands u's results over in one send when u is done (one channel
// hand-off a request, not a row).
func (u *unit) deliver(jobs []Job, tmpl Result, attempts int) {
	tmpl.Attempts = attempts
	if u.out == nil {
		u.out = make([]Result, 0, len(u.jobs))
	}
	for i := range jobs {
		tmpl.ID = jobs[i].ID
		u.out = append(u.out, tmpl)
	}
}

// abandon reports jobs the run stopped before they were done.
func (r *run) abandon(u *unit, jobs []Job, attempts int, last outcome) {
	r.cut.Store(true)
	if attempts == 0 {
		u.deliver(jobs, r.canceledResult(), 0)
		return
	}
	u.deliver(jobs, Result{Status: Canceled, Code: last.code,
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

// newUnit makes a unit of jobs handed off from another: they keep their
// keys, so per-key order holds.
func (r *run) newUnit(jobs []Job, batch bool) *unit {
	u := &unit{batch: batch}
	if len(jobs) == 1 {
		u.one[0] = jobs[0]
		u.jobs = u.one[:]
	} else {
		u.jobs = slices.Clone(jobs)
	}
	return u
}

// encode builds the request body for the live jobs of a unit.
func (r *run) encode(live []Job, batch bool) *body {
	s := r.s
	if !batch {
		b := newPlainBody(512 + len(s.Envelope))
		b.buf = AppendSingleBody(b.buf, s.bodyToken, s.Envelope, live[0].Payload)
		return b
	}
	b := newBody()
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
	wire := b.buf
	req.Header = make(http.Header, 5)
	if s.Gzip {
		wire = b.gzipped()
		req.Header["Content-Encoding"] = hdrGzip
	}
	req.Body = b.reader(wire)
	req.ContentLength = int64(len(wire))
	req.GetBody = func() (io.ReadCloser, error) { return b.reader(wire), nil }
	req.Header["Content-Type"] = hdrJSON
	req.Header["Accept"] = hdrJSON
	req.Header["User-Agent"] = hdrUserAgent
	if s.auth != "" {
		req.Header["Authorization"] = []string{s.auth}
	}
	start := time.Now()
	resp, err := roundTrip(s.transport, req)
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
		rtt := time.Since(start)
		r.p.recordLatency(rtt)
		if s.Observer != nil {
			s.Observer.ObserveLatency(rtt)
		}
		if x.status >= 200 && (x.status < 300 || x.status >= 400) {
			// 4xx and 5xx too: an API envelope with an error code proves
			// the request was not applied.
			x.parsed = true
			x.repErr = parseReply(x.reply.b, &x.rep)
		}
	}
	return x
}

// roundTrip sends req once. A redirect is never followed: following one
// sends the body again (the first POST may already have been applied, and a
// 307 to the same URL would send it ten times), and the body holds the
// token, which must never reach another host. A 3xx reply that names a
// Location is therefore an error (*redirectError) with the reply closed.
func roundTrip(t http.RoundTripper, req *http.Request) (*http.Response, error) {
	resp, err := t.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return resp, nil
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return resp, nil // nowhere to go: an answer like any other
	}
	resp.Body.Close()
	to, perr := req.URL.Parse(loc)
	if perr != nil {
		return nil, fmt.Errorf("reply %d with a bad Location %q: %w", resp.StatusCode, loc, perr)
	}
	first := req.URL
	return nil, &redirectError{to: to.Redacted(),
		otherHost: to.Host != first.Host || (first.Scheme == "https" && to.Scheme != "https")}
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
