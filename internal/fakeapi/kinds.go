package fakeapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// BatchReply is the shape of a successful batch reply (Options.BatchReply).
// The only documented batch reply says its result "holds occurring errors
// and profile IDs"; the shapes are the readings of that a client must survive.
type BatchReply uint8

// The batch reply shapes. Items are applied or fail alone in every shape;
// only what the reply says about them differs.
const (
	// BatchOrdered: result[i] answers data[i] with error, error_text and,
	// on success, profile_id.
	BatchOrdered BatchReply = iota
	// BatchErrorsOnly: result lists only the failed items' {error,
	// error_text}, in order, with no position and no profile_id.
	BatchErrorsOnly
	// BatchBare: no result at all.
	BatchBare
	numBatchReplies
)

var batchReplyNames = [numBatchReplies]string{"ordered", "errors-only", "bare"}

// String returns the shape's name: ordered, errors-only or bare.
func (b BatchReply) String() string { return nameOf(uint8(b), batchReplyNames[:], "BatchReply") }

// MarshalText returns the shape's name, for flag.TextVar.
func (b BatchReply) MarshalText() ([]byte, error) {
	return marshalName(uint8(b), batchReplyNames[:], "batch reply shape")
}

// UnmarshalText parses a shape's name.
func (b *BatchReply) UnmarshalText(text []byte) error {
	return parseName(text, batchReplyNames[:], "batch reply shape", b)
}

// LostReply is how the reply of an applied request is lost (Options.ApplyThen).
type LostReply uint8

// The lost-reply kinds. In every kind the request was processed and stored
// before the reply was replaced.
const (
	Lost502      LostReply = iota // HTTP 502, a text/plain body
	Lost503                       // HTTP 503, a text/plain body
	Lost504                       // HTTP 504, a text/plain body
	Lost500                       // HTTP 500, a text/plain body
	LostReset                     // the connection closed (TCP reset) without a reply
	LostHTML                      // HTTP 200, Content-Type text/html, an HTML error page
	LostHuge                      // HTTP 200, HugeReplyPadding bytes of whitespace, then the real reply
	LostRedirect                  // HTTP 307, Location the request's own path
	LostTimeout                   // the real reply, held for Options.Slow
	numLostReplies
)

var lostReplyNames = [numLostReplies]string{"502", "503", "504", "500", "reset", "html", "huge", "redirect", "timeout"}

// String returns the kind's name: 502, 503, 504, 500, reset, html, huge,
// redirect or timeout.
func (k LostReply) String() string { return nameOf(uint8(k), lostReplyNames[:], "LostReply") }

// MarshalText returns the kind's name, for flag.TextVar.
func (k LostReply) MarshalText() ([]byte, error) {
	return marshalName(uint8(k), lostReplyNames[:], "lost reply kind")
}

// UnmarshalText parses a kind's name.
func (k *LostReply) UnmarshalText(text []byte) error {
	return parseName(text, lostReplyNames[:], "lost reply kind", k)
}

// status is the HTTP status of the 5xx kinds.
func (k LostReply) status() int {
	switch k {
	case Lost500:
		return http.StatusInternalServerError
	case Lost503:
		return http.StatusServiceUnavailable
	case Lost504:
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// nameOf, marshalName and parseName serve both enumerations: names[i] is
// the name of value i.
func nameOf(v uint8, names []string, typ string) string {
	if int(v) < len(names) {
		return names[v]
	}
	return typ + "(" + strconv.Itoa(int(v)) + ")"
}

func marshalName(v uint8, names []string, what string) ([]byte, error) {
	if int(v) >= len(names) {
		return nil, fmt.Errorf("unknown %s %d", what, v)
	}
	return []byte(names[v]), nil
}

func parseName[T ~uint8](text []byte, names []string, what string, dst *T) error {
	for i, n := range names {
		if n == string(text) {
			*dst = T(i)
			return nil
		}
	}
	return fmt.Errorf("unknown %s %q (want %s)", what, text, strings.Join(names, ", "))
}
