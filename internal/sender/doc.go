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
// in a Result, an error or a log line (replies quoting it are masked), and
// no redirect is ever followed (it would send the body, token and all, again).
//
// # Outcomes
//
// One function, classify, judges every attempt (its table is in classify.go,
// and docs/RELIABILITY.md repeats it). It follows one rule: once a request
// body was written in full, the attempt may have been applied unless the
// reply proves otherwise. The proofs are a failure before the body was
// sent; HTTP 401, 402, 403, 408, 413 and 429; and an API envelope whose
// error code is not 0. Everything else after the send (a timeout, a lost
// connection, HTTP 5xx or 3xx without an envelope, a 2xx reply that is not
// the envelope, a batch reply that cannot be matched to its items) is
// "maybe applied". The verdicts:
//
//   - ok: the API applied the row;
//   - row error: the API rejected the row (error ≠ 0 with a row-level code,
//     such as 400, 404, 409): Failed at once, never retried;
//   - retry: not applied and worth another try (HTTP 408, 429, API errors
//     429 and 500/502/503/504, nothing sent): retried, whatever the row holds;
//   - maybe applied: a set-only row is sent again; a Risky row (one using
//     incr/add/delete) ends Unknown and is never sent again;
//   - too large (HTTP 413, API error 413): a batch is split in halves, each
//     sent on its own, and later batches are kept below the refused size; a
//     single profile that is still too large is Failed;
//   - fatal: nothing can succeed: the token was rejected (401, 403), the
//     account's limit is spent (402), or the URL is wrong (HTTP 404/405
//     without an envelope, a redirect, which is never followed because it
//     would send the body again). The run stops at once, wherever it is: the
//     rows of the refused request, and every row not sent, are Canceled (a
//     resumed run sends them), except Risky rows of an attempt that may have
//     been applied, which end Unknown.
//
// A batch reply counts only when it has one result per item: then item i is
// judged by result i (an item without an error code may have been applied).
// Any other shape (fewer results, errors only, no result list) cannot be
// matched to the rows: its Risky rows end Unknown, its set-only rows go out
// again one per request, and so does every later row of the run (one log
// line says so; `importer probe` checks an installation's batch replies).
//
// Config.BeforeSend hears of every Risky row before the first request
// holding it leaves, so the caller can record it as in flight: a crash
// during that request then leaves the row Unknown rather than sent twice.
//
// # Pacing
//
// Every attempt, retries included, passes a gate and takes a token from one
// x/time/rate limiter shared by the pool. The gate is closed by Retry-After
// (seconds or an HTTP date): the whole pool waits until then. Waiters enter
// the limiter one at a time, so a rate change applies to the very next
// request instead of after a queue of reservations made at the old rate.
//
// HTTP 429 is the server throttling us only when it is one of many: at
// least 5% of the last second's requests, or any 429 when that second held
// fewer than 20 requests, or the third 429 in a row for one request. Then
// the rate halves (at most once a second, never below 1/s; an unlimited run
// starts from its observed rate) and grows back by 5% of its ceiling per
// second without a 429 (AIMD), and Retry-After pauses the pool. An
// occasional 429 only backs off its own request, and a 429 answering a
// request sent before the current pause began neither extends that pause
// nor starts another: with 1% of requests refused at random, pausing every
// worker for each would stop a fast run most of the time. One log line
// marks each decrease and one the full recovery.
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
