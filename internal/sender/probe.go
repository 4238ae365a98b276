package sender

import (
	"net/http"
	"strconv"
	"time"
)

// ReplyKind is what the pool does with the rows of a batch, judging the
// reply to it as a whole. See [CheckBatchReply].
type ReplyKind uint8

// The ways the pool reads a batch reply.
const (
	// ReplyMatched: one result per item; each row is settled by its own
	// result (BatchCheck.Items), in order.
	ReplyMatched ReplyKind = iota
	// ReplyUnmatched: the API's envelope, but not one result per item: set-only
	// rows go out again one per request, and so does every later row of the
	// run; rows using incr/add/delete end Unknown.
	ReplyUnmatched
	// ReplyMaybe: not the API's word on the batch (a 2xx reply that is not
	// the envelope, HTTP 5xx or another 4xx without one): the batch may have
	// been applied; set-only rows are sent again, rows using incr/add/delete
	// end Unknown.
	ReplyMaybe
	// ReplyRefused: an API error for the whole batch: nothing was applied,
	// and every row of the batch is Failed with that error.
	ReplyRefused
	// ReplyRetry: nothing was applied and the batch is sent again (HTTP
	// 408 or 429, a transient API error), or split when it was too large.
	ReplyRetry
	// ReplyFatal: the run stops at once (the token or the account was
	// refused, or the URL is wrong: a redirect, HTTP 404 or 405 without the
	// envelope).
	ReplyFatal
)

var replyKindNames = [...]string{"matched", "unmatched", "maybe", "refused", "retry", "fatal"}

// String returns the kind's name: matched, unmatched, maybe, refused,
// retry or fatal.
func (k ReplyKind) String() string {
	if int(k) < len(replyKindNames) {
		return replyKindNames[k]
	}
	return "ReplyKind(" + strconv.Itoa(int(k)) + ")"
}

// BatchCheck is the pool's reading of one batch reply.
type BatchCheck struct {
	Kind ReplyKind
	// Code is, unless Kind is ReplyMatched, the rows' error code in the
	// journal: the API's code ("400"), "HTTP 502", "reply", "redirect".
	Code string
	// Why says, unless Kind is ReplyMatched, what the rows would be told
	// (their journal error) or, for ReplyFatal, why the run stops and what
	// to check. It may quote the reply's error_text: mask the token in it.
	Why string
	// Results is the length of the reply's result list, -1 when it has
	// none (or the reply is not the envelope).
	Results int
	// Items holds, for ReplyMatched, the result of each item, in order.
	Items []BatchItem
}

// BatchItem is one result of a batch reply, as the pool reads it.
type BatchItem struct {
	OK        bool   // error 0: the row was applied
	HasCode   bool   // the result has an integer "error" member; without one the row may have been applied
	Code      int64  // the API's error code, when HasCode
	Text      string // error_text
	ProfileID string // profile_id
}

// CheckBatchReply judges the reply to a batch request of items profiles
// exactly as the pool judges it: the same parser, the same rules. resp
// gives the status and headers (its body is not read: pass it as body);
// resp.Request, when set, names the request in messages. It exists for
// `importer probe`, which shows users whether their Altcraft installation
// answers batches the way the pool assumes.
func CheckBatchReply(resp *http.Response, body []byte, items int) BatchCheck {
	x := exchange{method: http.MethodPost, items: items, status: resp.StatusCode, size: len(body),
		contentType: resp.Header.Get("Content-Type"), retryAfter: resp.Header.Get("Retry-After")}
	if req := resp.Request; req != nil {
		x.method = req.Method
		if req.URL != nil {
			x.url = req.URL.Redacted()
		}
	}
	if x.status >= 200 && (x.status < 300 || x.status >= 400) { // as attempt parses
		x.parsed = true
		x.repErr = parseReply(body, &x.rep)
	}
	c := BatchCheck{Results: -1}
	if x.envelope() && x.rep.hasResult {
		c.Results = len(x.rep.items)
	}
	o := classify(&x, time.Now())
	switch o.kind {
	case kindOK:
		c.Kind = ReplyMatched
		c.Items = make([]BatchItem, len(x.rep.items))
		for i := range x.rep.items {
			st := &x.rep.items[i]
			c.Items[i] = BatchItem{OK: st.hasCode && st.code == 0, HasCode: st.hasCode, Code: st.code,
				Text: st.Text(), ProfileID: st.ProfileID()}
		}
		return c
	case kindMaybe:
		c.Kind = ReplyMaybe
		if x.items > 0 && o.sig == sigReplyCount {
			c.Kind = ReplyUnmatched
		}
	case kindRow:
		c.Kind = ReplyRefused
	case kindRetry, kindTooLarge:
		c.Kind = ReplyRetry
	case kindFatal:
		c.Kind = ReplyFatal
		c.Code, c.Why = o.code, o.fatal.Error()
		return c
	}
	c.Code, c.Why = o.code, o.text
	return c
}
