package fakeapi

import "sync/atomic"

// outcome is how one API request ended; outcomes partition the requests.
type outcome uint8

const (
	outOK        outcome = iota // HTTP 200, error 0 (a batch may still hold failed items)
	outAPIError                 // HTTP 200, error ≠ 0
	outHTTP429                  // rate limited
	outHTTP5xx                  // injected 500/502/503
	outDropped                  // connection closed without a reply: injected, or the body could not be read
	outHTTP4xx                  // 404 unknown method, 405, 413
	outThrottled                // HTTP 429 drawn by ThrottleRate
	outApplyThen                // processed, then the reply replaced by ApplyThen
	outQuota                    // refused by the tariff limit (error or HTTP 402)
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"ok", "api_error", "http_429", "http_5xx", "dropped", "http_4xx", "throttled_random", "apply_then", "quota"}

// Stats counts the API requests served since New or Reset.
type Stats struct {
	Requests int64 `json:"requests"` // all API requests
	Profiles int   `json:"profiles"` // profiles in the store
	// Writes counts the profile writes applied (a single call or a batch
	// item that changed or created a profile); IncrWrites those among them
	// that carried an incr field function; IncrAppliedTwice the profiles
	// that had such a write applied more than once. With one incr row per
	// key in the input, IncrAppliedTwice > 0 means a row was applied twice.
	Writes           int64 `json:"writes_applied"`
	IncrWrites       int64 `json:"incr_applied"`
	IncrAppliedTwice int64 `json:"incr_applied_twice"`
	// QuotaLimit is the tariff limit in force (0: none) and QuotaUsed the
	// writes counted against it since it was set.
	QuotaLimit int64                    `json:"quota_limit"`
	QuotaUsed  int64                    `json:"quota_used"`
	Endpoints  map[string]EndpointStats `json:"endpoints"` // by method: import, update, import_batch, update_batch, other
	// PerSecond is [Server.PerSecond]: filled only by GET
	// /fake/stats?per_second=1, left nil by [Server.Stats].
	PerSecond []int64 `json:"per_second,omitempty"`
}

// EndpointStats counts the requests of one method. Outcomes partition
// Requests by what the client was sent: ok, api_error, http_429 (rate
// limit), http_5xx (FailRate), dropped, http_4xx, throttled_random
// (ThrottleRate), apply_then (ApplyThenRate, whatever the lost reply's
// kind), quota (refused by the tariff limit); zero counts are left out.
// Slow counts replies held back by SlowRate, whatever their outcome. Items
// counts the profiles that reached validation (one per single call,
// len(data) per batch) and ItemErrors those that failed. WireBytes counts
// the request body bytes as sent and BodyBytes as read after any gzip
// layer (equal for uncompressed bodies), over the bodies read whole.
type EndpointStats struct {
	Requests   int64            `json:"requests"`
	Outcomes   map[string]int64 `json:"outcomes"`
	Slow       int64            `json:"slow"`
	Items      int64            `json:"items"`
	ItemErrors int64            `json:"item_errors"`
	WireBytes  int64            `json:"wire_bytes"`
	BodyBytes  int64            `json:"body_bytes"`
}

// counters are lock-free so counting never contends with the store.
type counters struct {
	requests   [numEndpoints][numOutcomes]atomic.Int64
	slow       [numEndpoints]atomic.Int64
	items      [numEndpoints]atomic.Int64
	itemErrors [numEndpoints]atomic.Int64
	wireBytes  [numEndpoints]atomic.Int64
	bodyBytes  [numEndpoints]atomic.Int64
}

func (c *counters) add(ep endpoint, o outcome) { c.requests[ep][o].Add(1) }

func (c *counters) reset() {
	for ep := range numEndpoints {
		for o := range numOutcomes {
			c.requests[ep][o].Store(0)
		}
		c.slow[ep].Store(0)
		c.items[ep].Store(0)
		c.itemErrors[ep].Store(0)
		c.wireBytes[ep].Store(0)
		c.bodyBytes[ep].Store(0)
	}
}

// Stats returns the request counts. Methods that got no request are left
// out. Counts taken while requests are in flight are each exact but need
// not add up with one another.
func (s *Server) Stats() Stats {
	st := Stats{Endpoints: map[string]EndpointStats{}}
	st.Profiles, st.Writes, st.IncrWrites, st.IncrAppliedTwice = s.store.counts()
	st.QuotaLimit, st.QuotaUsed = s.quota.state()
	for ep := range numEndpoints {
		es := EndpointStats{
			Outcomes:   map[string]int64{},
			Slow:       s.stats.slow[ep].Load(),
			Items:      s.stats.items[ep].Load(),
			ItemErrors: s.stats.itemErrors[ep].Load(),
			WireBytes:  s.stats.wireBytes[ep].Load(),
			BodyBytes:  s.stats.bodyBytes[ep].Load(),
		}
		for o := range numOutcomes {
			if n := s.stats.requests[ep][o].Load(); n > 0 {
				es.Outcomes[outcomeNames[o]] = n
				es.Requests += n
			}
		}
		if es.Requests > 0 {
			st.Endpoints[endpointNames[ep]] = es
			st.Requests += es.Requests
		}
	}
	return st
}
