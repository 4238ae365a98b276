package fakeapi

import "sync"

// textQuota is the error text of a request refused by the tariff limit.
const textQuota = "Tariff limit reached"

var errQuota = &apiError{code: 402, text: textQuota}

// quota is the tariff limit on profile writes. A request reserves as many
// writes as it carries items before applying any, and settles the
// reservation with the number it applied, so concurrent requests never
// cross the limit together.
type quota struct {
	mu      sync.Mutex
	limit   int64 // 0: none
	used    int64 // writes applied since the limit was set
	pending int64 // writes reserved by requests in flight
}

// reserve books n writes, or reports false when the limit is reached or n
// more could cross it.
func (q *quota) reserve(n int64) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.limit > 0 && (q.used >= q.limit || q.used+q.pending+n > q.limit) {
		return false
	}
	q.pending += n
	return true
}

// settle ends a reservation of n writes of which applied were stored.
func (q *quota) settle(n, applied int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pending -= n
	q.used += applied
}

// set installs a new limit (0 or less: none) and restarts the count.
func (q *quota) set(limit int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.limit, q.used = max(limit, 0), 0
}

func (q *quota) state() (limit, used int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.limit, q.used
}

// SetQuota replaces the tariff limit at run time, as POST
// /fake/quota?profiles=N does: n > 0 allows n more profile writes, n <= 0
// lifts the limit. Either way the count of writes starts again from zero.
// [Server.Reset] restores Options.Quota.
func (s *Server) SetQuota(n int) { s.quota.set(int64(n)) }
