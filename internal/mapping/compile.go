package mapping

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // timezone: works on hosts without a zoneinfo database (slim containers)

	"importer/internal/jsonenc"
)

// compileMode says what the compiler binds columns to.
type compileMode uint8

const (
	modeCheck compileMode = iota // no file: check the config only
	modeCSV                      // columns are header names
	modeJSONL                    // columns are dotted paths into objects
)

// compiler checks a config and builds the plans of a Mapper in one pass, so
// that Validate and Compile can never disagree about what is valid.
type compiler struct {
	cfg      *Config
	pos      *positions
	mode     compileMode
	header   map[string]int
	names    []string
	problems []Problem
	quiet    int // >0: problems are dropped (a spec compiled a second time)
	// skipKeyCheck: the sections that supply match keys failed to decode.
	skipKeyCheck bool
	phones       *phoneCache

	columns []string
	colSeen map[string]bool
	missing []MissingColumn

	keys   []keyPlan
	fields []*fieldPlan
	subs   []subPlan
}

func newCompiler(c *Config, mode compileMode, header []string) *compiler {
	cc := &compiler{cfg: c, pos: c.pos, mode: mode, colSeen: make(map[string]bool)}
	if mode == modeCSV {
		cc.names = header
		cc.header = make(map[string]int, 2*len(header))
		for i, h := range header {
			if i == 0 {
				h = strings.TrimPrefix(h, "\ufeff")
			}
			if _, dup := cc.header[h]; !dup {
				cc.header[h] = i
			}
		}
		// Excel exports pad names with spaces now and then; an exact name
		// always wins over a trimmed one.
		for i, h := range header {
			if t := strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")); t != h {
				if _, dup := cc.header[t]; !dup {
					cc.header[t] = i
				}
			}
		}
	}
	return cc
}

func (cc *compiler) addf(path, format string, args ...any) {
	if cc.quiet > 0 {
		return
	}
	cc.problems = append(cc.problems, cc.pos.problem(path, fmt.Sprintf(format, args...)))
}

// role is where a spec sits in the config, which decides its defaults and
// what it may use.
type role struct {
	path    string // config path of the spec, for messages
	name    string // FieldError.Field
	member  string // JSON member name
	list    bool   // always sent as a list
	def     kind   // kind when type is empty
	kinds   []kind // allowed kinds; nil = any
	actions bool   // action: allowed
	unset   bool   // empty: unset allowed
	key     bool   // a match key
}

// source is where a field's input comes from.
type source struct {
	idx   int      // CSV column index; -1 when unbound
	jsonl bool     // read from the JSONL object
	whole string   // JSONL: the column as one top-level key
	path  []string // JSONL: the dotted path's segments
	index []int    // JSONL: each segment as an array index, -1 if not a number
}

// fieldPlan is one compiled field spec.
type fieldPlan struct {
	name     string // FieldError.Field
	column   string // FieldError.Column, "" for a constant
	src      source
	c        conv
	list     bool
	split    string
	prefix   []byte // `"name":`
	hasConst bool
	konst    []byte // the constant's JSON, action included
	konstVal val    // its first scalar, for a key
	hasDef   bool
	def      []byte // the default's JSON, action included
	defVal   val
	required bool
	unset    bool
	actOpen  []byte // `{"action":"incr","value":`
	actClose []byte // `}` or `,"submatch":"..."}`
	risky    bool   // incr, add or delete: not safe to resend blindly
	cutSlot  int    // index of the item key this data member duplicates, -1 none
	keySlot  int    // index of the key whose value this data member is, -1 none
	plain    bool   // a string with no transform, map or check: sent as read
	spec     *Field // the spec it was compiled from
}

// keyPlan is one match key slot.
type keyPlan struct {
	slot     string // email phone profile_id provider subscription_id field_value
	single   []byte // `"email":` beside data in a single request
	item     []byte // `"email":` (or `"CRM_ID":` for custom) inside a batch element
	itemName string
	p        *fieldPlan
}

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

// build checks everything and fills the plans; in modeCheck the plans have
// no columns bound and serve only to find problems.
func (cc *compiler) build() {
	cc.checkAPI()
	cc.checkRequest()
	cc.checkInput()
	cc.phones = newPhoneCache(strings.ToUpper(cc.cfg.Input.PhoneRegion))

	mode := cc.cfg.Request.Matching
	slots := modeKeys[mode]
	cc.checkUnusedKeys(mode, slots)
	specs := make([]keySpec, 0, len(slots))
	for _, s := range slots {
		specs = append(specs, cc.cfg.keySpec(s))
	}
	if cc.checkKeySpecs(mode, specs) {
		// Explicit match specs first: Columns() follows the file's order,
		// and match: is written above fields: in every example.
		for _, ks := range specs {
			if ks.f != nil && !ks.derived {
				cc.keys = append(cc.keys, cc.key(ks))
			}
		}
	}
	for i := range cc.cfg.Fields {
		cc.dataField(&cc.cfg.Fields[i])
	}
	for i := range cc.cfg.Subscriptions {
		cc.subscription(i, &cc.cfg.Subscriptions[i])
	}
	if len(cc.problems) == 0 {
		for _, ks := range specs {
			if ks.f != nil && ks.derived {
				cc.keys = append(cc.keys, cc.key(ks))
			}
		}
		// Keep the mode's slot order whatever the compile order was.
		slices.SortStableFunc(cc.keys, func(a, b keyPlan) int {
			return slices.Index(slots, a.slot) - slices.Index(slots, b.slot)
		})
		for _, p := range cc.fields {
			for i, k := range cc.keys {
				if k.itemName == p.name {
					p.cutSlot = i
				}
			}
		}
		// A data field that is a derived key's own spec sends the key's
		// value, unless it is a list or has an action (then they differ).
		for i, k := range cc.keys {
			ks := specs[slices.IndexFunc(specs, func(s keySpec) bool { return s.slot == k.slot })]
			if !ks.derived || k.p.list {
				continue
			}
			for _, p := range cc.fields {
				if p.spec == ks.f && !p.list && p.actOpen == nil && !p.hasConst {
					p.keySlot = i
				}
			}
		}
	}
}

// keySpec is where one match key comes from.
type keySpec struct {
	slot    string
	f       *Field
	path    string // config path of the spec
	derived bool   // taken from fields or subscriptions, not written under match
}

// keySpec finds the spec of a key slot: match.<slot>, else the obvious
// field or subscription (DESIGN.md §4).
func (c *Config) keySpec(slot string) keySpec {
	ks := keySpec{slot: slot}
	explicit := map[string]*Field{"email": c.Match.Email, "phone": c.Match.Phone, "profile_id": c.Match.ProfileID,
		"provider": c.Match.Provider, "subscription_id": c.Match.SubscriptionID, "field_value": c.Match.FieldValue}[slot]
	if explicit != nil {
		ks.f, ks.path = explicit, "match."+slot
		return ks
	}
	ks.derived = true
	field := func(name string) bool {
		if f := c.Fields.Get(name); f != nil {
			ks.f, ks.path = f, "fields."+name
			return true
		}
		return false
	}
	sub := func(channel string, pick func(*Subscription) (*Field, string)) bool {
		for i := range c.Subscriptions {
			s := &c.Subscriptions[i]
			if s.Channel != channel {
				continue
			}
			if f, key := pick(s); f != nil {
				ks.f, ks.path = f, fmt.Sprintf("subscriptions[%d].%s", i, key)
				return true
			}
		}
		return false
	}
	switch slot {
	case "email":
		field("email")
	case "phone":
		_ = field("phones") || sub("sms", func(s *Subscription) (*Field, string) { return s.Phone, "phone" })
	case "provider":
		sub("push", func(s *Subscription) (*Field, string) { return s.Provider, "provider" })
	case "subscription_id":
		sub("push", func(s *Subscription) (*Field, string) { return s.SubscriptionID, "subscription_id" })
	case "field_value":
		if c.Match.FieldName != "" {
			field(c.Match.FieldName)
		}
	}
	return ks
}

func (cc *compiler) checkUnusedKeys(mode string, slots []string) {
	m := &cc.cfg.Match
	for _, k := range []struct {
		slot string
		f    *Field
	}{{"email", m.Email}, {"phone", m.Phone}, {"profile_id", m.ProfileID}, {"provider", m.Provider},
		{"subscription_id", m.SubscriptionID}, {"field_value", m.FieldValue}} {
		if k.f != nil && !slices.Contains(slots, k.slot) && slices.Contains(matchingModes, mode) {
			cc.addf("match."+k.slot, "is not used by matching %q; remove it or change request.matching", mode)
		}
	}
	custom := mode == "custom" || mode == "custom_sub"
	if m.FieldName != "" && !custom && slices.Contains(matchingModes, mode) {
		cc.addf("match.field_name", "is only used by custom and custom_sub matching, not %q", mode)
	}
	if custom {
		switch {
		case m.FieldName == "":
			cc.addf("request.matching", "%q needs match.field_name: the name of the custom field to match on, such as CRM_ID", mode)
		case m.FieldName == "subscriptions" || strings.TrimSpace(m.FieldName) != m.FieldName:
			cc.addf("match.field_name", "%q is not a usable field name", m.FieldName)
		}
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
	if cc.skipKeyCheck {
		return false
	}
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
		if cc.cfg.Match.FieldName != "" {
			cc.addf("request.matching", "%q needs the value of %s for each row: add match.field_value (or a fields.%s)", mode, cc.cfg.Match.FieldName, cc.cfg.Match.FieldName)
		}
	case "email_phone", "email_phone_sub":
		cc.addf("request.matching", "%q needs the e-mail or the phone of each row: add match.email or match.phone (or a fields.email or fields.phones)", mode)
	}
	return false
}

// key compiles a match key slot.
func (cc *compiler) key(ks keySpec) keyPlan {
	kp := keyPlan{slot: ks.slot, itemName: ks.slot}
	name := ks.slot
	if ks.slot == "field_value" {
		kp.itemName = cc.cfg.Match.FieldName
		name = cc.cfg.Match.FieldName
	}
	kp.single = append(jsonenc.AppendString(nil, ks.slot), ':')
	kp.item = append(jsonenc.AppendString(nil, kp.itemName), ':')
	r := role{path: ks.path, name: name, key: true}
	switch ks.slot {
	case "phone":
		r.def, r.kinds = kindPhone, []kind{kindPhone}
	case "field_value":
		// custom fields may be numbers: any type
	default:
		r.kinds = []kind{kindString, kindEmail}
		if ks.slot == "email" {
			r.def = kindString
		}
	}
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

func (cc *compiler) dataField(nf *NamedField) {
	path := "fields." + nf.Name
	switch {
	case strings.TrimSpace(nf.Name) == "":
		cc.addf(path, "a field needs a name")
		return
	case nf.Name == "subscriptions":
		cc.addf(path, "subscriptions is not a field; write them in the subscriptions section")
		return
	}
	r := role{path: path, name: nf.Name, member: nf.Name, actions: true, unset: nf.Name != "email"}
	if nf.Name == "phones" {
		// The API's phones field is a list of international numbers.
		r.list, r.def, r.kinds = true, kindPhone, []kind{kindPhone}
	}
	p := cc.field(&nf.Field, r)
	cc.fields = append(cc.fields, p)
}

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
	addrs := []struct {
		key string
		f   *Field
	}{{"email", s.Email}, {"phone", s.Phone}, {"provider", s.Provider}, {"subscription_id", s.SubscriptionID}, {"id", s.ID}}
	want := channelAddrs[s.Channel]
	for _, a := range addrs {
		if a.f != nil && want != nil && !slices.Contains(want, a.key) {
			cc.addf(path+"."+a.key, "does not apply to channel %s, which takes %s", s.Channel, strings.Join(want, " and "))
		}
	}
	for _, key := range want {
		var f *Field
		for _, a := range addrs {
			if a.key == key {
				f = a.f
			}
		}
		if f == nil {
			cc.addf(path, "channel %s needs %s.%s: the address of the subscription", s.Channel, path, key)
			continue
		}
		r := role{path: path + "." + key, name: path + "." + key, member: key}
		switch key {
		case "email":
			r.def, r.kinds = kindEmail, []kind{kindEmail, kindString}
		case "phone":
			r.def, r.kinds = kindPhone, []kind{kindPhone}
		case "id":
			r.def, r.kinds = kindInt, []kind{kindInt, kindString}
		default:
			r.kinds = []kind{kindString}
		}
		sp.addrs = append(sp.addrs, cc.field(f, r))
	}
	sp.ccData = s.Channel == "telegram_bot" || s.Channel == "whatsapp" || s.Channel == "viber" || s.Channel == "notify"
	sp.head = []byte(`{"resource_id":`)
	sp.head = strconv.AppendInt(sp.head, int64(s.ResourceID), 10)
	sp.head = append(sp.head, `,"channel":`...)
	sp.head = jsonenc.AppendString(sp.head, s.Channel)

	if s.Status != nil {
		sp.status = cc.field(s.Status, role{path: path + ".status", name: path + ".status", member: "status", kinds: []kind{kindString}})
	}
	if s.Priority != nil {
		sp.priority = cc.field(s.Priority, role{path: path + ".priority", name: path + ".priority", member: "priority", def: kindInt, kinds: []kind{kindInt}})
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
		sp.cats = cc.field(s.Cats, role{path: path + ".cats", name: path + ".cats", member: "cats", list: true, kinds: []kind{kindString}})
	}
	cc.subs = append(cc.subs, sp)
}

var actions = []string{"set", "incr", "add", "delete", "upsert"}

// field compiles one spec for its role.
func (cc *compiler) field(f *Field, r role) *fieldPlan {
	at := func(key string) string { return r.path + "." + key }
	p := &fieldPlan{name: r.name, column: f.Column, list: r.list, cutSlot: -1, keySlot: -1, src: source{idx: -1}, spec: f}
	if r.member != "" {
		p.prefix = append(jsonenc.AppendString(nil, r.member), ':')
	}

	k, ok := kindByName[strings.ToLower(f.Type)]
	if !ok {
		cc.addf(at("type"), "%q is not a type; use one of %s", f.Type, typeNames)
	}
	if f.Type == "" {
		k = r.def
	}
	if ok && r.kinds != nil && !slices.Contains(r.kinds, k) {
		names := make([]string, len(r.kinds))
		for i, rk := range r.kinds {
			names[i] = kindName(rk)
		}
		cc.addf(at("type"), "%s here must be of type %s", kindName(k), strings.Join(names, " or "))
	}
	p.c.kind = k
	p.c.phones = cc.phones

	for i, t := range f.Transform {
		switch strings.ToLower(t) {
		case "lower":
			p.c.lower = true
		case "upper":
			p.c.upper = true
		case "trim":
			// Values are always trimmed; accepted so configs can say so.
		default:
			cc.addf(fmt.Sprintf("%s[%d]", at("transform"), i), "%q is not a transform; use lower, upper or trim", t)
		}
	}
	if p.c.lower && p.c.upper {
		cc.addf(at("transform"), "lower and upper exclude each other")
	}

	cc.timeOptions(f, p, at)

	switch strings.ToLower(f.Validate) {
	case "":
	case "email":
		p.c.check = kindEmail
	case "phone":
		p.c.check = kindPhone
	case "ip":
		p.c.check = kindIP
	default:
		cc.addf(at("validate"), "%q is not a check; use email, phone or ip", f.Validate)
	}
	if p.c.check != kindString && k != kindString {
		cc.addf(at("validate"), "applies to string fields; type %s already checks its values", kindName(k))
	}

	if f.Split != "" {
		p.split, p.list = f.Split, true
	}
	if f.Split != "" && r.key {
		// A list as a key: the first element is the key.
		p.list = true
	}

	cc.action(f, r, p, at)
	cc.emptyOptions(f, r, p, at)
	cc.valueMap(f, p, at)

	switch {
	case f.Value != nil && f.Column != "":
		cc.addf(at("value"), "a field takes a column or a constant value, not both")
	case f.Value != nil:
		for _, bad := range []struct {
			set  bool
			name string
		}{{f.Required, "required"}, {f.Default != nil, "default"}, {f.Empty != "", "empty"}, {f.Split != "", "split"}, {len(f.Map) > 0, "map"}} {
			if bad.set {
				cc.addf(at(bad.name), "does not apply to a constant value")
			}
		}
		if f.Value.IsList {
			p.list = true
		}
		p.hasConst = true
		p.konst, p.konstVal = cc.constant(f.Value, p, f.Type != "" || k != kindString, at("value"))
	case strings.TrimSpace(f.Column) == "":
		cc.addf(r.path, "needs a column (or a constant value:)")
	default:
		p.src = cc.source(f.Column, r.path)
	}
	p.plain = k == kindString && !p.c.lower && !p.c.upper && !p.c.mapped && p.c.check == kindString
	if f.Default != nil {
		if f.Default.IsList && !p.list {
			cc.addf(at("default"), "is a list, but the field is not (add split: to make it one)")
		}
		p.hasDef = true
		p.def, p.defVal = cc.constant(f.Default, p, f.Type != "" || k != kindString, at("default"))
	}
	return p
}

// timeOptions checks layout and timezone and sets the time parsing of p.
func (cc *compiler) timeOptions(f *Field, p *fieldPlan, at func(string) string) {
	k := p.c.kind
	isTime := k == kindDate || k == kindDatetime
	if len(f.Layout) > 0 && !isTime {
		cc.addf(at("layout"), "applies to type date or datetime only")
	}
	if f.Timezone != "" {
		if k != kindDatetime {
			cc.addf(at("timezone"), "applies to type datetime only")
		}
		loc, err := time.LoadLocation(f.Timezone)
		if err != nil || f.Timezone == "Local" {
			cc.addf(at("timezone"), "%q is not an IANA time zone such as Europe/Moscow", f.Timezone)
		} else {
			p.c.loc = loc
		}
	}
	if !isTime {
		return
	}
	layouts := []string(f.Layout)
	switch {
	case len(layouts) > 0:
		layouts = slices.Clone(layouts)
		for i, l := range layouts {
			if named, ok := namedLayouts[l]; ok {
				layouts[i] = named
				continue
			}
			if !dateLayout(l) {
				cc.addf(fmt.Sprintf("%s[%d]", at("layout"), i), "%q is not a Go time layout: write the date 2 January 2006 (15:04:05 for times) the way the file does, e.g. \"02.01.2006\" for 22.02.1990", l)
			}
		}
	case k == kindDate:
		layouts = defaultDateLayouts
	default:
		layouts = defaultDatetimeLayouts
	}
	p.c.layouts = layouts
	names := make([]string, len(layouts))
	for i, l := range layouts {
		names[i] = l
		if l == time.RFC3339 {
			names[i] = "RFC 3339"
		}
	}
	if len(names) == 1 {
		p.c.layDesc = "in the layout " + names[0]
	} else {
		p.c.layDesc = "in any of the layouts " + strings.Join(names, ", ")
	}
}

var namedLayouts = map[string]string{
	"RFC3339": time.RFC3339, "RFC3339Nano": time.RFC3339Nano, "DateOnly": time.DateOnly, "DateTime": time.DateTime,
}

// dateLayout reports whether l can carry a full date: formatting the
// reference time with it and parsing the result back must give the day.
func dateLayout(l string) bool {
	ref := time.Date(2006, time.January, 2, 15, 4, 5, 0, time.UTC)
	t, err := time.Parse(l, ref.Format(l))
	return err == nil && t.Year() == 2006 && t.Month() == time.January && t.Day() == 2
}

func (cc *compiler) action(f *Field, r role, p *fieldPlan, at func(string) string) {
	if f.Action == "" {
		if f.Submatch != "" {
			cc.addf(at("submatch"), "applies to action: upsert only")
		}
		return
	}
	if !r.actions {
		cc.addf(at("action"), "applies to profile fields and subscription custom_fields only")
		return
	}
	if !slices.Contains(actions, f.Action) {
		cc.addf(at("action"), "%q is not an action; use one of %s", f.Action, strings.Join(actions, ", "))
		return
	}
	switch f.Action {
	case "incr":
		numeric := p.c.kind == kindInt || p.c.kind == kindFloat
		if !numeric && !(f.Value != nil && (f.Value.Tag == "!!int" || f.Value.Tag == "!!float")) {
			cc.addf(at("action"), "incr needs a number: add type: int or type: float")
		}
		p.risky = true
	case "add", "delete":
		// The API takes the tags to add or delete as a list.
		p.list = true
		p.risky = true
	case "upsert":
		if f.Submatch == "" {
			cc.addf(at("action"), "upsert needs submatch: the property path of the object to set")
		}
	}
	if f.Submatch != "" && f.Action != "upsert" {
		cc.addf(at("submatch"), "applies to action: upsert only")
	}
	p.actOpen = append([]byte(`{"action":`), jsonenc.AppendString(nil, f.Action)...)
	p.actOpen = append(p.actOpen, `,"value":`...)
	if f.Action == "upsert" {
		p.actClose = append(jsonenc.AppendString([]byte(`,"submatch":`), f.Submatch), '}')
	} else {
		p.actClose = []byte{'}'}
	}
}

func (cc *compiler) emptyOptions(f *Field, r role, p *fieldPlan, at func(string) string) {
	switch f.Empty {
	case "":
	case "unset":
		switch {
		case !r.unset && r.name == "email":
			cc.addf(at("empty"), "the API cannot unset email")
		case !r.unset:
			cc.addf(at("empty"), "unset applies to profile fields and subscription custom_fields only")
		case f.Required:
			cc.addf(at("empty"), "unset and required exclude each other")
		case f.Default != nil:
			cc.addf(at("empty"), "unset and default exclude each other")
		}
		p.unset = true
	default:
		cc.addf(at("empty"), "%q is not an empty-cell rule; use unset, or leave it out to skip empty cells", f.Empty)
	}
	if f.Required && f.Default != nil {
		cc.addf(at("default"), "a required field with a default can never be missing; drop one of them")
	}
	if r.key && f.Required {
		// Keys are always required; nothing to say.
		return
	}
	p.required = f.Required
}

func (cc *compiler) valueMap(f *Field, p *fieldPlan, at func(string) string) {
	if f.MapDefault != nil && len(f.Map) == 0 {
		cc.addf(at("map_default"), "applies with map: only")
	}
	if len(f.Map) == 0 {
		return
	}
	typed := f.Type != "" || p.c.kind != kindString
	c := &p.c
	c.mapExact = make(map[string]int, len(f.Map))
	allowed := make([]string, 0, 5)
	for _, e := range f.Map {
		from := e.From
		switch {
		case c.lower:
			from = strings.ToLower(from)
		case c.upper:
			from = strings.ToUpper(from)
		}
		if e.To.IsList {
			cc.addf(at("map."+e.From), "a map value must be a scalar")
			continue
		}
		v := cc.scalarConst(e.To, c, typed, at("map."+e.From))
		c.mapExact[from] = len(c.mapVals)
		c.mapKeys = append(c.mapKeys, from)
		c.mapVals = append(c.mapVals, v)
		if len(allowed) < 5 {
			allowed = append(allowed, strconv.Quote(e.From))
		}
	}
	c.mapAllowed = strings.Join(allowed, ", ")
	if len(f.Map) > 5 {
		c.mapAllowed += ", …"
	}
	if f.MapDefault != nil {
		if f.MapDefault.IsList {
			cc.addf(at("map_default"), "must be a scalar")
		} else {
			v := cc.scalarConst(*f.MapDefault, c, typed, at("map_default"))
			c.mapDefault = &v
		}
	}
	c.mapped = true
}

// constant encodes a value: or default: constant, the action included.
func (cc *compiler) constant(k *Const, p *fieldPlan, typed bool, path string) ([]byte, val) {
	var js []byte
	var first val
	js = append(js, p.actOpen...)
	if k.IsList || p.list {
		elems := k.List
		if !k.IsList {
			elems = []Const{*k}
		}
		js = append(js, '[')
		for i, e := range elems {
			v := cc.scalarConst(e, &p.c, typed, fmt.Sprintf("%s[%d]", path, i))
			if i == 0 {
				first = v
			} else {
				js = append(js, ',')
			}
			js = v.appendJSON(js)
		}
		js = append(js, ']')
	} else {
		first = cc.scalarConst(*k, &p.c, typed, path)
		js = first.appendJSON(js)
	}
	js = append(js, p.actClose...)
	return js, first
}

// scalarConst converts one constant: through the field's type when the field
// has one (but never through its map), else keeping the YAML type.
func (cc *compiler) scalarConst(k Const, c *conv, typed bool, path string) val {
	if k.Tag == "!!null" {
		cc.addf(path, "is empty; write a value (to clear a field use empty: unset)")
		return val{}
	}
	if typed {
		plain := *c
		plain.mapped = false
		plain.lower, plain.upper = false, false
		var v val
		empty, e := plain.scalar(&v, strings.TrimSpace(k.Text), jString)
		switch {
		case empty:
			cc.addf(path, "is empty; write a value")
		case e != nil:
			cc.addf(path, "%q %s", shorten(k.Text, 40), e.reason)
		}
		return v
	}
	switch k.Tag {
	case "!!int":
		i, err := strconv.ParseInt(strings.ReplaceAll(k.Text, "_", ""), 0, 64)
		if err != nil {
			cc.addf(path, "%q is out of range for an integer", shorten(k.Text, 40))
		}
		return val{k: vInt, i: i}
	case "!!float":
		f, ok := parseFloat(k.Text)
		if !ok {
			cc.addf(path, "%q is not a number JSON can carry", shorten(k.Text, 40))
		}
		return val{k: vFloat, f: f}
	case "!!bool":
		b, _ := parseBool(k.Text)
		return val{k: vBool, b: b}
	}
	if c.check != kindString {
		if e := c.validate(k.Text); e != nil {
			cc.addf(path, "%q %s", shorten(k.Text, 40), e.reason)
		}
	}
	return val{k: vStr, s: k.Text}
}

// source binds a column to the file and records it for Columns().
func (cc *compiler) source(column, usage string) source {
	if !cc.colSeen[column] {
		cc.colSeen[column] = true
		cc.columns = append(cc.columns, column)
	}
	switch cc.mode {
	case modeCSV:
		if i, ok := cc.header[column]; ok {
			return source{idx: i}
		}
		cc.missingColumn(column, usage)
	case modeJSONL:
		s := source{idx: -1, jsonl: true, whole: column, path: strings.Split(column, ".")}
		s.index = make([]int, len(s.path))
		for i, seg := range s.path {
			s.index[i] = -1
			if n, err := strconv.Atoi(seg); err == nil && n >= 0 {
				s.index[i] = n
			}
		}
		return s
	}
	return source{idx: -1}
}

// MissingColumn is a mapped column that the file's header lacks.
type MissingColumn struct {
	Column  string
	Usages  []string // config paths that read it, like "fields.email"
	Closest string   // the header's closest name (case-insensitive edit distance)
}

// HeaderError lists every mapped column missing from a file's header.
type HeaderError struct {
	Missing []MissingColumn
}

// Error reads, one line per column,
// `column "Emial" (fields.email) is not in the file's header; closest: "Email"`.
func (e *HeaderError) Error() string {
	lines := make([]string, len(e.Missing))
	for i, m := range e.Missing {
		lines[i] = fmt.Sprintf("column %q (%s) is not in the file's header", m.Column, strings.Join(m.Usages, ", "))
		if m.Closest != "" {
			lines[i] += fmt.Sprintf("; closest: %q", m.Closest)
		}
	}
	return strings.Join(lines, "\n")
}

func (cc *compiler) missingColumn(column, usage string) {
	if cc.quiet > 0 {
		return
	}
	for i := range cc.missing {
		if cc.missing[i].Column == column {
			if !slices.Contains(cc.missing[i].Usages, usage) {
				cc.missing[i].Usages = append(cc.missing[i].Usages, usage)
			}
			return
		}
	}
	cc.missing = append(cc.missing, MissingColumn{Column: column, Usages: []string{usage}, Closest: closest(column, cc.names)})
}

// closest returns the candidate nearest to s by case-insensitive edit
// distance, the first one on a tie; "" when there are none.
func closest(s string, candidates []string) string {
	best, bestD := "", -1
	ls := strings.ToLower(s)
	for _, c := range candidates {
		c = strings.TrimPrefix(c, "\ufeff")
		if d := distance(ls, strings.ToLower(c)); bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b, in runes.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func kindName(k kind) string {
	for name, kk := range kindByName {
		if kk == k && name != "" {
			return name
		}
	}
	return "string"
}
