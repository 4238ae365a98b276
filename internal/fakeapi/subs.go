package fakeapi

import (
	"fmt"
	"strconv"
	"strings"
)

// The channels a subscription may name, and where each keeps its address.
var channels = [...]string{"email", "sms", "push", "telegram_bot", "whatsapp", "viber", "notify"}

// subOp is one validated subscription upsert.
type subOp struct {
	sub         Subscription // key fields plus the values given
	addr        string       // the channel address: see Subscription
	hasStatus   bool
	hasPriority bool
	hasCats     bool
}

// prepareSubs validates data.subscriptions. A bad entry fails the item
// unless skip_invalid_subscriptions is set, in which case it is dropped.
func prepareSubs(v any, c *call) ([]subOp, *apiError) {
	if c.xml {
		if s, ok := v.(string); ok && strings.TrimSpace(s) == "" {
			return nil, nil
		}
	}
	l, ok := v.([]any)
	if !ok {
		return nil, badRequest("subscriptions must be a list, got %s", describe(v))
	}
	out := make([]subOp, 0, len(l))
	for i, e := range l {
		op, err := prepareSub(e, c.xml)
		if err != "" {
			if c.skipInvalidSubs {
				continue
			}
			return nil, badRequest("invalid subscriptions[%d]: %s", i, err)
		}
		out = append(out, op)
	}
	return out, nil
}

// prepareSub validates one subscription; the error is a reason text.
func prepareSub(v any, isXML bool) (subOp, string) {
	var op subOp
	m, ok := v.(map[string]any)
	if !ok {
		return op, fmt.Sprintf("%s is not an object", describe(v))
	}
	rv, ok := m["resource_id"]
	if !ok {
		return op, "resource_id is required"
	}
	rid, ok := asInt(rv, isXML)
	if !ok || rid <= 0 {
		return op, fmt.Sprintf("resource_id %s is not a positive integer", describe(rv))
	}
	op.sub.ResourceID = rid
	cv, ok := m["channel"]
	if !ok {
		return op, "channel is required"
	}
	ch, _ := cv.(string)
	known := false
	for _, c := range channels {
		if c == ch {
			known = true
		}
	}
	if !known {
		return op, fmt.Sprintf("channel %s is not one of %s", describe(cv), strings.Join(channels[:], ", "))
	}
	op.sub.Channel = ch
	if why := channelAddress(&op, m, isXML); why != "" {
		return op, why
	}
	if sv, ok := m["status"]; ok {
		st, why := subStatus(sv, isXML)
		if why != "" {
			return op, why
		}
		if st != "-1" {
			op.sub.Status, op.hasStatus = st, true
		}
	}
	if pv, ok := m["priority"]; ok {
		p, ok := asInt(pv, isXML)
		if !ok {
			return op, fmt.Sprintf("priority %s is not an integer", describe(pv))
		}
		if p != -1 {
			op.sub.Priority, op.hasPriority = &p, true
		}
	}
	if fv, ok := m["custom_fields"]; ok {
		obj, ok := asObject(fv, isXML)
		if !ok {
			return op, fmt.Sprintf("custom_fields %s is not an object", describe(fv))
		}
		op.sub.CustomFields = obj
	}
	if cv, ok := m["cats"]; ok {
		if s, isStr := cv.(string); isXML && isStr && strings.TrimSpace(s) == "" {
			cv = []any{}
		}
		cats, ok := asStringList(cv)
		if !ok {
			return op, fmt.Sprintf("cats %s is not a list of strings", describe(cv))
		}
		op.sub.Cats, op.hasCats = cats, true
	}
	return op, ""
}

// channelAddress reads the channel's own fields into op and sets its address.
func channelAddress(op *subOp, m map[string]any, isXML bool) string {
	sub := &op.sub
	switch sub.Channel {
	case "email":
		v, ok := m["email"]
		if !ok {
			if ed, isObj := m["email_data"].(map[string]any); isObj {
				v, ok = ed["email"]
			}
		}
		if !ok {
			return "channel email needs email or email_data.email"
		}
		s, _ := v.(string)
		if !validEmail(s) {
			return fmt.Sprintf("email %s is not an e-mail address", describe(v))
		}
		sub.Email, op.addr = s, strings.ToLower(s)
	case "sms":
		v, ok := m["phone"]
		if !ok {
			return "channel sms needs phone"
		}
		s, _ := v.(string)
		if !validPhone(s) {
			return fmt.Sprintf("phone %s is not a phone (want + and 7 to 15 digits)", describe(v))
		}
		sub.Phone, op.addr = s, s
	case "push":
		pv, okP := m["provider"]
		iv, okI := m["subscription_id"]
		if !okP || !okI {
			return "channel push needs provider and subscription_id"
		}
		p, _ := scalarText(pv)
		id, _ := scalarText(iv)
		if p == "" || id == "" {
			return fmt.Sprintf("push provider %s and subscription_id %s must be non-empty strings", describe(pv), describe(iv))
		}
		sub.Provider, sub.SubscriptionID, op.addr = p, id, pushAddr(p, id)
	default: // telegram_bot: cc_data.id; whatsapp, viber, notify: cc_data.phone
		key := "phone"
		if sub.Channel == "telegram_bot" {
			key = "id"
		}
		cc, ok := asObject(m["cc_data"], isXML)
		if !ok {
			return fmt.Sprintf("channel %s needs cc_data.%s", sub.Channel, key)
		}
		v, ok := cc[key]
		if !ok {
			return fmt.Sprintf("channel %s needs cc_data.%s", sub.Channel, key)
		}
		t, ok := scalarText(v)
		if _, isBool := v.(bool); isBool || !ok || t == "" {
			return fmt.Sprintf("cc_data.%s %s is not a valid value", key, describe(v))
		}
		if key == "phone" && !validPhone(t) {
			return fmt.Sprintf("cc_data.phone %s is not a phone (want + and 7 to 15 digits)", describe(v))
		}
		sub.CCData, op.addr = cc, t
	}
	return ""
}

func pushAddr(provider, id string) string { return provider + "\x00" + id }

// subStatus reads a subscription status: a known name or an integer,
// returned as its decimal text; "-1" means "leave unchanged".
func subStatus(v any, isXML bool) (string, string) {
	if s, ok := v.(string); ok {
		switch s {
		case "subscribed", "unsubscribed", "suspended":
			return s, ""
		}
	}
	if n, ok := asInt(v, isXML); ok {
		return strconv.FormatInt(n, 10), ""
	}
	return "", fmt.Sprintf("status %s is not subscribed, unsubscribed, suspended or an integer", describe(v))
}
