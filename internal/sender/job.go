package sender

import "strconv"

// Payload is one mapped row, ready to be encoded into a request body.
// *mapping.Request implements it. Both methods append to dst and return the
// extended slice; they must not keep dst, and they may be called more than
// once and from any goroutine (a retried batch is encoded again).
type Payload interface {
	// AppendSingle appends the members of a single-profile request, without
	// braces: the top-level match fields, then "data":{...}.
	AppendSingle(dst []byte) []byte
	// AppendItem appends one complete batch element {...}.
	AppendItem(dst []byte) []byte
}

// Job is one row handed to [Pool.Run].
type Job struct {
	// ID is the caller's id for the job, echoed in the Result and passed to
	// Config.BeforeSend; it must be unique among the jobs in flight (the
	// importer uses a reused slot number, not the row number).
	ID int64
	// Key orders rows: jobs with equal Key are never in flight together and
	// reach the API in submission order. The empty Key imposes no order.
	Key string
	// Risky marks a row that uses incr/add/delete: once an attempt may have
	// been applied (sent, then no reply that proves otherwise) it is never
	// sent again and ends Unknown.
	Risky bool
	// Payload is the row's request content.
	Payload Payload

	announced bool   // a Risky job that Config.BeforeSend was told about
	keyHash   uint64 // Key's hash in the run's map of keys in flight, set when admitted
}

// Status is the final state of one job.
type Status int

// The final states of a job.
const (
	OK       Status = iota // the API applied the row; Result.ProfileID is set when the API returned one
	Failed                 // the API rejected the row, or every attempt failed
	Unknown                // a Risky row whose request may have been applied: nobody knows, it is not sent again
	Canceled               // the run stopped before the row was done: not sent, not applied, or a set-only row (sending it again is safe)
)

var statusNames = [...]string{OK: "ok", Failed: "failed", Unknown: "unknown", Canceled: "canceled"}

// String returns the lower-case name used in the results journal: ok,
// failed, unknown or canceled.
func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// Result is the outcome of one job. Run sends exactly one per job received.
type Result struct {
	ID        int64
	Status    Status
	ProfileID string
	// Code is the API's error code ("404"), or "HTTP 503", "timeout",
	// "network", "reply" (a reply that is not the API's envelope, or a batch
	// reply without one result per profile), "redirect"; "" when ok, and for
	// a row canceled before it was sent.
	Code string
	// Error is for humans: the API's error_text, or what happened
	// ("HTTP 503 Service Unavailable", "no reply within 30s (the request was
	// sent; outcome unknown)"). It never holds the token or reply bodies.
	Error string
	// Attempts counts the requests made for this row; a batch attempt counts
	// for every row in it.
	Attempts int
}
