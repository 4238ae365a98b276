package mapping

import (
	"strings"
	"sync"

	"importer/internal/phone"
)

// phoneCache remembers the E.164 form (or the rejection) of recently seen
// raw phone values: parsing costs ~0.5–1 µs (internal/phone; 14–21 µs through
// libphonenumber's own Parse), and the same number is often read
// two or three times per row (profile phones, match key, sms subscription)
// and repeated across rows. It is bounded by keeping two generations of at
// most phoneCacheSize/2 entries each. Safe for concurrent use.
type phoneCache struct {
	region string
	max    int // entries over both generations
	mu     sync.RWMutex
	cur    map[string]phoneEntry
	old    map[string]phoneEntry
}

const phoneCacheSize = 8192

type phoneEntry struct {
	e164 string
	ok   bool
}

func newPhoneCache(region string) *phoneCache {
	return &phoneCache{region: region, max: phoneCacheSize, cur: make(map[string]phoneEntry)}
}

// normalize returns the E.164 form of s, or false when s is not a valid
// number for the cache's region.
func (c *phoneCache) normalize(s string) (string, bool) {
	c.mu.RLock()
	e, hit := c.cur[s]
	if !hit {
		e, hit = c.old[s]
	}
	c.mu.RUnlock()
	if hit {
		return e.e164, e.ok
	}
	e = parsePhone(s, c.region)
	c.mu.Lock()
	if len(c.cur) >= c.max/2 {
		c.old, c.cur = c.cur, make(map[string]phoneEntry, c.max/2)
	}
	// Clone: s may be a slice of a whole input record.
	c.cur[strings.Clone(s)] = e
	c.mu.Unlock()
	return e.e164, e.ok
}

func (c *phoneCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.cur) + len(c.old)
}

func parsePhone(s, region string) phoneEntry {
	e, ok := phone.Normalize(s, region)
	return phoneEntry{e164: e, ok: ok}
}

// invalid is the refusal of a number that is not valid for the region.
func (c *phoneCache) invalid() *convErr {
	return &convErr{kind: "invalid phone", reason: "is not a valid phone number for region " + c.region}
}
