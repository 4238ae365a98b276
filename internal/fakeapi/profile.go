package fakeapi

import "encoding/json"

// Profile is a snapshot of one stored profile, as returned by
// [Server.Profiles] and dumped, one per line, by GET /fake/profiles.
// A snapshot shares no memory with the store: callers may keep and modify it.
type Profile struct {
	ID   string `json:"id"`    // 24 lower-case hex digits
	DBID int64  `json:"db_id"` // the database the profile lives in
	// Fields holds the profile fields (email, phones, _fname, custom fields).
	// Numbers are json.Number so that long ids keep every digit.
	Fields        map[string]any `json:"fields"`
	Subscriptions []Subscription `json:"subscriptions"` // in the order they were first stored
	Segments      []int64        `json:"segments"`      // ascending
	// Writes counts the writes applied to the profile (its creation
	// included) and IncrApplied those that carried an incr field function.
	// They are the fake's bookkeeping, not Altcraft data: they sit beside
	// "fields", never in it, under names with the fake_ prefix.
	Writes      int64 `json:"fake_writes"`
	IncrApplied int64 `json:"fake_incr_applied"`
}

// Subscription is one stored subscription of a profile. It is identified by
// (ResourceID, Channel, address), where the address is the e-mail (compared
// case-insensitively), the phone, the push provider and subscription id, or
// the cc_data id/phone, depending on the channel.
type Subscription struct {
	ResourceID     int64          `json:"resource_id"`
	Channel        string         `json:"channel"`
	Email          string         `json:"email,omitempty"`
	Phone          string         `json:"phone,omitempty"`
	Provider       string         `json:"provider,omitempty"`
	SubscriptionID string         `json:"subscription_id,omitempty"`
	CCData         map[string]any `json:"cc_data,omitempty"`
	// Status is subscribed, unsubscribed, suspended, or an integer status
	// as its decimal text. A new subscription sent without one is subscribed.
	Status       string         `json:"status,omitempty"`
	Priority     *int64         `json:"priority,omitempty"`
	CustomFields map[string]any `json:"custom_fields,omitempty"`
	Cats         []string       `json:"cats,omitempty"`
}

// clone returns a deep copy of sub.
func (sub *Subscription) clone() Subscription {
	c := *sub
	c.CCData = cloneMap(sub.CCData)
	c.CustomFields = cloneMap(sub.CustomFields)
	if sub.Priority != nil {
		p := *sub.Priority
		c.Priority = &p
	}
	if sub.Cats != nil {
		c.Cats = append([]string(nil), sub.Cats...)
	}
	return c
}

// cloneValue deep-copies a decoded JSON value (maps and slices; scalars are
// immutable and shared).
func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return cloneMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	default:
		return v
	}
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

// scalarText returns the text of a scalar value, the form in which custom
// matching compares values, so a 17-digit id sent as a number matches the
// same id stored as a string.
func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return string(x), true
	case bool:
		if x {
			return "true", true
		}
		return "false", true
	default:
		return "", false
	}
}
