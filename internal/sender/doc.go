// Package sender delivers mapped profile requests to the Altcraft API.
//
// It owns the HTTP client (request envelope, token, response parsing and
// classification of every outcome) and the [Pool]: one shared rate limit,
// bounded requests in flight, retries with backoff and Retry-After, AIMD
// after HTTP 429, batching into update_batch/import_batch, per-key order and
// a circuit breaker for runs that cannot succeed. Row failures are results,
// never errors; Run returns an error only when the whole run must stop.
package sender
