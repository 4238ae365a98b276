// Package sender delivers mapped profile requests to the Altcraft API.
//
// It owns the HTTP client (request bodies, the token, reply parsing and the
// classification of every outcome) and the [Pool], which sends [Job]s and
// reports one [Result] per job. Row failures are results, never errors;
// [Pool.Run] returns an error only when the whole run must stop: the
// caller's context, or a [FatalError].
//
// # Requests
//
// One profile per request goes to POST {URL}/api/v1.1/profiles/{update|import}
// with the body of [AppendSingleBody]; with BatchSize > 1, up to BatchSize
// profiles and MaxBatchBytes go to {endpoint}_batch with the body of
// [AppendBatchBody], and result[i] of the reply goes back to the i-th row. The
// token travels in the body, or in "Authorization: Bearer"; it never appears
// in a Result, an error or a log line (replies quoting it are masked), and a
// redirect to another host, or off https, is never followed.
//
// # Outcomes
//
// One function, classify, judges every attempt (its table is in classify.go):
//
//   - ok: the API applied the row;
//   - row error: the API rejected the row (error ≠ 0 with a row-level code,
//     such as 400, 404, 409): Failed at once, never retried;
//   - transient: network errors, HTTP 5xx, HTTP 429, API errors 429 and
//     500/502/503/504, a reply that is not the JSON envelope, a batch reply
//     without one result per profile: retried;
//   - unknown: a timeout or a lost connection after the request was written
//     (httptrace WroteRequest): retried for plain rows, but a Risky row (one
//     using incr/add/delete) ends Unknown, and so does a batch holding one;
//   - fatal: the token was rejected (HTTP or API 401/403), or the URL is wrong
//     (HTTP 404/405 without an API envelope, a redirect): the run stops.
//
// # Pacing
//
// Every attempt, retries included, passes a gate and takes a token from one
// x/time/rate limiter shared by the pool. The gate is closed by Retry-After
// (seconds or an HTTP date): the whole pool waits until then. Waiters enter
// the limiter one at a time, so a rate change applies to the very next
// request instead of after a queue of reservations made at the old rate.
// After a 429 the rate halves (at most once a second, never below 1/s; an
// unlimited run starts from its observed rate) and then grows back by 5% of
// its ceiling per second without a 429: AIMD. One log line marks each
// decrease and one the full recovery.
//
// Retries back off exponentially with full jitter: a uniform wait in
// [0, min(10 s, 100 ms·2^(n-1))]. A request gives up after MaxAttempts
// attempts; 429 replies do not count against MaxAttempts (the row is not at
// fault) but are capped at 20.
//
// # Concurrency
//
// At most Concurrency requests are in flight. With Concurrency 0 the limit
// adapts, re-evaluated every 250 ms, within [1, MaxConcurrency]:
//
//   - with a rate limit, Little's law: to sustain r requests/s at a
//     round-trip time L, about r·L requests must be in flight; the limit is
//     ⌈r·L·1.25⌉+1, from the smoothed latency and the current (AIMD) rate;
//   - unlimited, hill climbing on throughput: every 500 ms in which jobs
//     waited for a slot, completions per second are compared with the best
//     seen; 5% better doubles the limit, otherwise the best limit is
//     restored and held for 10 s, then re-measured and probed 25% higher.
//
// # Order, batches, memory
//
// Jobs with the same Key are never in flight together and reach the API in
// the order they were submitted: a job whose key is busy waits in its key's
// queue while other keys go ahead, and a batch never holds two jobs of one
// key. A partial batch is sent after Linger, at once when the input closes,
// and when the window is full. Run holds at most Window jobs (waiting and in
// flight) and stops reading while full, so memory stays flat however long
// the input.
//
// # Stopping
//
// When the context is done, or a fatal condition arises, Run reads no more
// jobs and starts no new request; requests in flight finish, each bounded
// by its timeout on a context the caller's cancellation does not reach, and
// report their outcome; every other job gets a Canceled result. Fatal
// conditions besides a rejected token or a wrong URL: the first 20 requests
// all failing with the same error (the message says what to fix: the token,
// request.db_id, the URL, or quotes the error), and 20 requests in a row
// giving up on network errors ("API unreachable"), as does a shorter run
// whose every request gave up that way.
package sender
