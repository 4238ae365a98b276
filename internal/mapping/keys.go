package mapping

import (
	"fmt"
	"slices"
	"strings"

	"importer/internal/input"
	"importer/internal/jsonenc"
)

// keyPlan is one compiled match key slot.
type keyPlan struct {
	slot     string // email phone profile_id provider subscription_id field_value
	single   []byte // `"email":` beside data in a single request
	item     []byte // `"email":` (or `"CRM_ID":` for custom) inside a batch element
	itemName string
	p        *fieldPlan
}

// keySpec is where one match key comes from.
type keySpec struct {
	slot    string
	f       *Field
	path    string // config path of the spec
	derived bool   // taken from fields or subscriptions, not written under match
}

// explicitKey returns the match: spec of a slot, or nil.
func (c *Config) explicitKey(slot string) *Field {
	m := &c.Match
	switch slot {
	case "email":
		return m.Email
	case "phone":
		return m.Phone
	case "profile_id":
		return m.ProfileID
	case "provider":
		return m.Provider
	case "subscription_id":
		return m.SubscriptionID
	case "field_value":
		return m.FieldValue
	}
	return nil
}

// keySpec finds the spec of a key slot: match.<slot>, else the obvious
// field or subscription (see doc.go).
func (c *Config) keySpec(slot string) keySpec {
	if f := c.explicitKey(slot); f != nil {
		return keySpec{slot: slot, f: f, path: "match." + slot}
	}
	ks := keySpec{slot: slot, derived: true}
	switch slot {
	case "email":
		ks.f, ks.path = c.fieldKey("email")
	case "phone":
		if ks.f, ks.path = c.fieldKey("phones"); ks.f == nil {
			ks.f, ks.path = c.subscriptionKey("sms", "phone")
		}
	case "provider", "subscription_id":
		ks.f, ks.path = c.subscriptionKey("push", slot)
	case "field_value":
		if c.Match.FieldName != "" {
			ks.f, ks.path = c.fieldKey(c.Match.FieldName)
		}
	}
	return ks
}

// fieldKey returns fields.<name> and its path, or nil.
func (c *Config) fieldKey(name string) (*Field, string) {
	if f := c.Fields.Get(name); f != nil {
		return f, "fields." + name
	}
	return nil, ""
}

// subscriptionKey returns the address spec of the first subscription of the
// channel that has one, and its path, or nil.
func (c *Config) subscriptionKey(channel, addr string) (*Field, string) {
	for i := range c.Subscriptions {
		s := &c.Subscriptions[i]
		if s.Channel != channel {
			continue
		}
		var f *Field
		switch addr {
		case "phone":
			f = s.Phone
		case "provider":
			f = s.Provider
		case "subscription_id":
			f = s.SubscriptionID
		}
		if f != nil {
			return f, fmt.Sprintf("subscriptions[%d].%s", i, addr)
		}
	}
	return nil, ""
}

// keySlots is every slot a match: section may name, in the order of the
// Match struct.
var keySlots = []string{"email", "phone", "profile_id", "provider", "subscription_id", "field_value"}

func (cc *compiler) checkUnusedKeys(mode string, slots []string) {
	known := slices.Contains(matchingModes, mode)
	for _, slot := range keySlots {
		if cc.cfg.explicitKey(slot) != nil && !slices.Contains(slots, slot) && known {
			cc.addf("match."+slot, "is not used by matching %q; remove it or change request.matching", mode)
		}
	}
	m := &cc.cfg.Match
	custom := mode == "custom" || mode == "custom_sub"
	if m.FieldName != "" && !custom && known {
		cc.addf("match.field_name", "is only used by custom and custom_sub matching, not %q", mode)
	}
	if !custom {
		return
	}
	switch {
	case m.FieldName == "" && cc.skipKeyCheck:
		// match: failed to decode; that problem says what to fix.
	case m.FieldName == "":
		cc.addf("request.matching", "%q needs match.field_name: the name of the custom field to match on, such as CRM_ID", mode)
	case m.FieldName == "subscriptions" || strings.TrimSpace(m.FieldName) != m.FieldName:
		cc.addf("match.field_name", "%q is not a usable field name", m.FieldName)
	}
}

// checkKeySpecs reports a mode whose keys cannot be supplied, saying what to
// add. It reports whether the keys are complete.
func (cc *compiler) checkKeySpecs(mode string, specs []keySpec) bool {
	have := 0
	for _, ks := range specs {
		if ks.f != nil {
			have++
		}
	}
	if have == len(specs) || (eitherKey(mode) && have > 0) {
		return true
	}
	if !cc.skipKeyCheck {
		cc.reportMissingKeys(mode, specs)
	}
	return false
}

func (cc *compiler) reportMissingKeys(mode string, specs []keySpec) {
	switch mode {
	case "email", "email_profile", "email_sub":
		cc.addf("request.matching", "%q needs the e-mail of each row: add match.email (or a fields.email)", mode)
	case "phone", "phone_sub":
		cc.addf("request.matching", "%q needs the phone of each row: add match.phone (or a fields.phones, or an sms subscription with a phone)", mode)
	case "profile_id":
		cc.addf("request.matching", "%q needs the profile id of each row: add match.profile_id", mode)
	case "push_sub":
		for _, ks := range specs {
			if ks.f == nil {
				cc.addf("request.matching", "%q needs match.%s (or a push subscription with %s)", mode, ks.slot, ks.slot)
			}
		}
	case "custom", "custom_sub":
		if name := cc.cfg.Match.FieldName; name != "" {
			cc.addf("request.matching", "%q needs the value of %s for each row: add match.field_value (or a fields.%s)", mode, name, name)
		}
	case "email_phone", "email_phone_sub":
		cc.addf("request.matching", "%q needs the e-mail or the phone of each row: add match.email or match.phone (or a fields.email or fields.phones)", mode)
	}
}

// key compiles a match key slot.
func (cc *compiler) key(ks keySpec) keyPlan {
	kp := keyPlan{slot: ks.slot, itemName: ks.slot}
	if ks.slot == "field_value" {
		kp.itemName = cc.cfg.Match.FieldName
	}
	kp.single = append(jsonenc.AppendString(nil, ks.slot), ':')
	kp.item = append(jsonenc.AppendString(nil, kp.itemName), ':')
	r := role{path: ks.path, name: kp.itemName, key: true}
	switch ks.slot {
	case "phone":
		r.defType, r.types = typePhone, []valueType{typePhone}
	case "field_value":
		// custom fields may be numbers: any type
	case "email":
		r.defType, r.types = typeString, []valueType{typeString, typeEmail}
	default:
		r.types = []valueType{typeString, typeEmail}
	}
	// phones is a list: as the key, its first number.
	r.list = ks.path == "fields.phones"
	f := ks.f
	if ks.derived {
		// A spec borrowed from fields or subscriptions was checked there; as
		// a key it sends its plain value (no action, no unset), the phone
		// always in E.164.
		cp := *f
		cp.Action, cp.Submatch, cp.Empty, cp.Required = "", "", "", false
		if ks.slot == "phone" {
			cp.Type = "phone"
		}
		f = &cp
		cc.quiet++
		defer func() { cc.quiet-- }()
	}
	kp.p = cc.field(f, r)
	return kp
}

// compileKeys compiles the mode's key slots. Explicit match specs come
// first (Columns() follows the file's order, and match: is written above
// fields: in every example); derived ones wait for linkKeys.
func (cc *compiler) compileKeys(specs []keySpec) {
	for _, ks := range specs {
		if ks.f != nil && !ks.derived {
			cc.keys = append(cc.keys, cc.key(ks))
		}
	}
}

// linkKeys compiles the derived keys once the fields are known good, puts
// the keys in the mode's slot order and ties each data field to the key it
// duplicates.
func (cc *compiler) linkKeys(slots []string, specs []keySpec) {
	for _, ks := range specs {
		if ks.f != nil && ks.derived {
			cc.keys = append(cc.keys, cc.key(ks))
		}
	}
	slices.SortStableFunc(cc.keys, func(a, b keyPlan) int {
		return slices.Index(slots, a.slot) - slices.Index(slots, b.slot)
	})
	for _, p := range cc.fields {
		for i, k := range cc.keys {
			if k.itemName == p.name {
				p.replacedByKey = i
			}
		}
	}
	// A data field that is a derived key's own spec sends the key's value,
	// unless it is a list or has an action (then they differ).
	for i, k := range cc.keys {
		ks := specs[slices.IndexFunc(specs, func(s keySpec) bool { return s.slot == k.slot })]
		if !ks.derived || k.p.list {
			continue
		}
		for _, p := range cc.fields {
			if p.spec == ks.f && !p.list && p.actOpen == nil && !p.hasConst {
				p.valueOfKey = i
			}
		}
	}
	cc.linkAlikes()
}

// linkAlikes ties data fields and subscription addresses that convert a key's
// cell exactly as the key does (an e-mail column lower-cased and checked
// for the key, the data and the e-mail subscription) to that key, so the
// row converts and encodes the value once.
func (cc *compiler) linkAlikes() {
	if cc.reference {
		return
	}
	for i := range cc.keys {
		k := cc.keys[i].p
		for _, p := range cc.fields {
			if p.valueOfKey < 0 && (p.replacedByKey < 0 || p.replacedByKey == i) && convertsAlike(k, p) {
				p.valueOfKey = i
			}
		}
		for s := range cc.subs {
			for _, a := range cc.subs[s].addrs {
				if a.valueOfKey < 0 && convertsAlike(k, a) {
					a.valueOfKey = i
				}
			}
		}
	}
}

// convertsAlike reports whether a and b turn every cell into the same
// value, or both refuse it: the same CSV column, the same transform, no
// map, constant, default, list or action, and the same check: none, or
// an e-mail's (type email and validate: email check alike). JSONL values
// are not compared: a JSON number is a string field's raw number but an
// e-mail field's invalid value.
func convertsAlike(a, b *fieldPlan) bool {
	switch {
	case a.src.jsonl || b.src.jsonl || a.src.idx < 0 || a.src.idx != b.src.idx:
		return false
	case a.hasConst || b.hasConst || a.hasDef || b.hasDef || a.list || b.list || a.actOpen != nil || b.actOpen != nil:
		return false
	case a.conv.mapped || b.conv.mapped || a.conv.lower != b.conv.lower || a.conv.upper != b.conv.upper:
		return false
	}
	ka, kb := textCheck(&a.conv), textCheck(&b.conv)
	return ka >= 0 && ka == kb
}

// textCheck is what a conversion of text checks: 0 for nothing, 1 for an
// e-mail; -1 for any other conversion.
func textCheck(c *conv) int {
	switch {
	case c.typ == typeString && c.check == typeString:
		return 0
	case c.typ == typeString && c.check == typeEmail, c.typ == typeEmail && c.check == typeString:
		return 1
	}
	return -1
}

// rowKeys holds a row's converted key values, by slot index.
type rowKeys struct {
	vals    [2]val
	present [2]bool
	// js is where appendKeys encoded each present key's value in the
	// request buffer: [start, end). The item keys, the data field that is
	// the key and a subscription address converting the same cell alike
	// copy these bytes rather than encode the value again.
	js [2][2]int
}

// appendJSON appends the JSON of present key i, copied from where
// appendKeys encoded it in buf (which dst extends).
func (k *rowKeys) appendJSON(dst []byte, i int) []byte {
	return append(dst, dst[k.js[i][0]:k.js[i][1]]...)
}

// Key returns the row's match key as Map would set Request.Key, without
// mapping the rest of the row; ok is false when the key is missing or
// invalid (Map then reports why). It lets --shard skip other shards' rows
// before paying for their phones and dates. Safe for concurrent use.
func (m *Mapper) Key(rec *input.Record) (key string, ok bool) {
	if rec.Err != nil {
		return "", false
	}
	var keys rowKeys
	var errs RowErrors
	if !m.matchKeys(rec, &keys, &errs) {
		return "", false
	}
	return m.keyText(&keys), true
}

// matchKeys converts the row's match key cells into keys. It reports false,
// adding to errs why, when a key is invalid or the mode's keys are missing.
func (m *Mapper) matchKeys(rec *input.Record, keys *rowKeys, errs *RowErrors) bool {
	present, invalid := 0, 0
	var failed [2]bool
	for i := range m.keys {
		ok, fe := m.keys[i].p.keyValue(&keys.vals[i], rec)
		if fe != nil {
			errs.add(fe)
			failed[i] = true
			invalid++
			continue
		}
		keys.present[i] = ok
		if ok {
			present++
		}
	}
	if m.either {
		if present == 0 && invalid == 0 {
			errs.add(m.missingKey(rec, 0)) // one message: both are empty
		}
		return present > 0 && invalid == 0
	}
	for i := range m.keys {
		if !keys.present[i] && !failed[i] {
			errs.add(m.missingKey(rec, i))
		}
	}
	return present == len(m.keys)
}

// keyText is Request.Key: the key values joined.
func (m *Mapper) keyText(keys *rowKeys) string {
	switch len(m.keys) {
	case 1:
		return keys.vals[0].text()
	case 2:
		a, b := "", ""
		if keys.present[0] {
			a = keys.vals[0].text()
		}
		if keys.present[1] {
			b = keys.vals[1].text()
		}
		sep := "|"
		if m.matching == "push_sub" {
			sep = "/"
		}
		return a + sep + b
	}
	return ""
}

// missingKey is the problem of the empty key i.
func (m *Mapper) missingKey(rec *input.Record, i int) *FieldError {
	p := m.keys[i].p
	reason := fmt.Sprintf("is empty, but matching %q needs it", m.matching)
	if m.either {
		reason = fmt.Sprintf("is empty, and so is the other key: matching %q needs an e-mail or a phone", m.matching)
	}
	return &FieldError{Row: rec.Row, Column: p.column, Field: p.name, Kind: "missing match key", Reason: reason, Err: ErrMissingValue}
}

// appendKeys appends the single key members, then the item key members
// (see Request.buf), and sets req.itemAt and req.dataAt.
func (m *Mapper) appendKeys(buf []byte, req *Request, keys *rowKeys) []byte {
	for i := range m.keys {
		if keys.present[i] {
			if len(buf) > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, m.keys[i].single...)
			keys.js[i][0] = len(buf)
			buf = keys.vals[i].appendJSON(buf)
			keys.js[i][1] = len(buf)
		}
	}
	req.itemAt = len(buf)
	for i := range m.keys {
		if keys.present[i] {
			if len(buf) > req.itemAt {
				buf = append(buf, ',')
			}
			buf = append(buf, m.keys[i].item...)
			buf = keys.appendJSON(buf, i)
		}
	}
	req.dataAt = len(buf)
	return buf
}
