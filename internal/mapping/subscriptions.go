package mapping

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"importer/internal/input"
	"importer/internal/jsonenc"
)

// subPlan is one compiled subscription entry.
type subPlan struct {
	head     []byte // `{"resource_id":7,"channel":"email"`
	addrs    []*fieldPlan
	ccData   bool // the address goes inside "cc_data":{...}
	status   *fieldPlan
	priority *fieldPlan
	custom   []*fieldPlan
	cats     *fieldPlan
}

var channels = []string{"email", "sms", "push", "telegram_bot", "whatsapp", "viber", "notify"}

// channelAddrs lists the address keys of each channel; the last one decides
// whether a row has the subscription at all.
var channelAddrs = map[string][]string{
	"email": {"email"}, "sms": {"phone"}, "push": {"provider", "subscription_id"},
	"telegram_bot": {"id"}, "whatsapp": {"phone"}, "viber": {"phone"}, "notify": {"phone"},
}

func (cc *compiler) subscription(i int, s *Subscription) {
	path := fmt.Sprintf("subscriptions[%d]", i)
	var sp subPlan
	if !slices.Contains(channels, s.Channel) {
		if s.Channel == "" {
			cc.addf(path+".channel", "is required: one of %s", strings.Join(channels, ", "))
		} else {
			cc.addf(path+".channel", "%q is not a channel; use one of %s", s.Channel, strings.Join(channels, ", "))
		}
	}
	if s.ResourceID <= 0 {
		cc.addf(path+".resource_id", "is required: the id of the subscription resource, a positive integer")
	}
	sp.addrs = cc.subscriptionAddrs(path, s)
	sp.ccData = s.Channel == "telegram_bot" || s.Channel == "whatsapp" || s.Channel == "viber" || s.Channel == "notify"
	sp.head = []byte(`{"resource_id":`)
	sp.head = strconv.AppendInt(sp.head, int64(s.ResourceID), 10)
	sp.head = append(sp.head, `,"channel":`...)
	sp.head = jsonenc.AppendString(sp.head, s.Channel)
	cc.subscriptionOptions(path, s, &sp)
	cc.subs = append(cc.subs, sp)
}

// subscriptionAddrs compiles the address specs the channel takes and
// reports the ones it does not.
func (cc *compiler) subscriptionAddrs(path string, s *Subscription) []*fieldPlan {
	addrs := map[string]*Field{"email": s.Email, "phone": s.Phone, "provider": s.Provider, "subscription_id": s.SubscriptionID, "id": s.ID}
	want := channelAddrs[s.Channel]
	for _, key := range []string{"email", "phone", "provider", "subscription_id", "id"} {
		if addrs[key] != nil && want != nil && !slices.Contains(want, key) {
			cc.addf(path+"."+key, "does not apply to channel %s, which takes %s", s.Channel, strings.Join(want, " and "))
		}
	}
	var plans []*fieldPlan
	for _, key := range want {
		f := addrs[key]
		if f == nil {
			cc.addf(path, "channel %s needs %s.%s: the address of the subscription", s.Channel, path, key)
			continue
		}
		r := role{path: path + "." + key, name: path + "." + key, member: key}
		switch key {
		case "email":
			r.defType, r.types = typeEmail, []valueType{typeEmail, typeString}
		case "phone":
			r.defType, r.types = typePhone, []valueType{typePhone}
		case "id":
			r.defType, r.types = typeInt, []valueType{typeInt, typeString}
		default:
			r.types = []valueType{typeString}
		}
		plans = append(plans, cc.field(f, r))
	}
	return plans
}

// subscriptionOptions compiles status, priority, custom_fields and cats.
func (cc *compiler) subscriptionOptions(path string, s *Subscription, sp *subPlan) {
	if s.Status != nil {
		sp.status = cc.field(s.Status, role{path: path + ".status", name: path + ".status", member: "status", types: []valueType{typeString}})
	}
	if s.Priority != nil {
		sp.priority = cc.field(s.Priority, role{path: path + ".priority", name: path + ".priority", member: "priority", defType: typeInt, types: []valueType{typeInt}})
	}
	for j := range s.CustomFields {
		nf := &s.CustomFields[j]
		p := path + ".custom_fields." + nf.Name
		if strings.TrimSpace(nf.Name) == "" {
			cc.addf(p, "a custom field needs a name")
			continue
		}
		sp.custom = append(sp.custom, cc.field(&nf.Field, role{path: p, name: p, member: nf.Name, actions: true, unset: true}))
	}
	if s.Cats != nil {
		sp.cats = cc.field(s.Cats, role{path: path + ".cats", name: path + ".cats", member: "cats", list: true, types: []valueType{typeString}})
	}
}

// appendSubscriptions appends `"subscriptions":[...]` to the data object
// opened at objAt, or nothing when no entry has an address in this row.
func (m *Mapper) appendSubscriptions(buf []byte, objAt int, rec *input.Record, keys *rowKeys, st *rowState) []byte {
	if len(m.subs) == 0 {
		return buf
	}
	start := len(buf)
	if len(buf) > objAt+1 {
		buf = append(buf, ',')
	}
	buf = append(buf, `"subscriptions":[`...)
	listAt := len(buf)
	for i := range m.subs {
		buf = m.subs[i].appendEntry(buf, listAt, rec, keys, st)
	}
	if len(buf) == listAt {
		return buf[:start]
	}
	return append(buf, ']')
}

// appendEntry appends one subscription object to the list opened at listAt,
// or nothing when the row has no address for it (or a bad one: the problem
// goes to st.errs).
func (s *subPlan) appendEntry(buf []byte, listAt int, rec *input.Record, keys *rowKeys, st *rowState) []byte {
	entryAt := len(buf)
	if len(buf) > listAt {
		buf = append(buf, ',')
	}
	headAt := len(buf)
	buf = append(buf, s.head...)
	buf, keep := s.appendAddrs(buf, rec, keys, st)
	if !keep {
		return buf[:entryAt]
	}
	for _, p := range []*fieldPlan{s.status, s.priority} {
		if p != nil {
			buf = appendMember(buf, headAt, p, false, rec, st)
		}
	}
	buf = s.appendCustomFields(buf, rec, st)
	if s.cats != nil {
		buf = appendMember(buf, headAt, s.cats, false, rec, st)
	}
	return append(buf, '}')
}

// appendAddrs appends the address members. keep is false when the last
// address (for push: the subscription id) is empty: no subscription in this
// row; and when an address is refused, or an earlier one is empty while the
// last is not (the problem goes to st.errs).
func (s *subPlan) appendAddrs(buf []byte, rec *input.Record, keys *rowKeys, st *rowState) (_ []byte, keep bool) {
	var missing *fieldPlan
	for j, a := range s.addrs {
		buf = append(buf, ',')
		if s.ccData {
			buf = append(buf, `"cc_data":{`...)
		}
		buf = append(buf, a.prefix...)
		var ok bool
		var fe *FieldError
		if a.valueOfKey >= 0 && keys.present[a.valueOfKey] {
			// The key's own cell, converted alike: its bytes, once more.
			buf, ok = keys.appendJSON(buf, a.valueOfKey), true
		} else if buf, ok, fe = a.appendOwn(buf, rec); fe != nil {
			st.errs.add(fe)
			return buf, false
		}
		if !ok {
			if j == len(s.addrs)-1 {
				return buf, false
			}
			missing = a
		}
		if s.ccData {
			buf = append(buf, '}')
		}
	}
	if missing != nil {
		st.errs.add(&FieldError{Row: rec.Row, Column: missing.column, Field: missing.name, Kind: "missing value",
			Reason: "is empty, but the subscription's address needs it", Err: ErrMissingValue})
		return buf, false
	}
	return buf, true
}

// appendCustomFields appends `,"custom_fields":{...}`, or nothing when every
// custom field is empty in this row.
func (s *subPlan) appendCustomFields(buf []byte, rec *input.Record, st *rowState) []byte {
	if len(s.custom) == 0 {
		return buf
	}
	start := len(buf)
	buf = append(buf, `,"custom_fields":`...)
	objAt := len(buf)
	buf = append(buf, '{')
	for _, p := range s.custom {
		buf = appendMember(buf, objAt, p, false, rec, st)
	}
	if len(buf) == objAt+1 {
		return buf[:start]
	}
	return append(buf, '}')
}
