package mapping

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"importer/internal/jsonenc"
)

// fieldPlan is one compiled field spec: where its value comes from, how it
// converts, and the JSON around it.
type fieldPlan struct {
	name      string // FieldError.Field
	column    string // FieldError.Column, "" for a constant
	src       source
	conv      conv
	list      bool
	split     string
	prefix    []byte // `"name":`
	hasConst  bool
	constJSON []byte // the constant's JSON, action included
	constVal  val    // its first scalar, for a key
	hasDef    bool
	defJSON   []byte // the default's JSON, action included
	defVal    val
	required  bool
	unset     bool
	actOpen   []byte // `{"action":"incr","value":`
	actClose  []byte // `}` or `,"submatch":"..."}`
	risky     bool   // incr, add or delete: not safe to resend blindly
	// replacedByKey is the index of the key whose item member has this
	// member's name (batch items carry it once, as the key); -1 for none.
	replacedByKey int
	// valueOfKey is the index of the key whose spec this field is, or
	// whose cell it converts alike (see convertsAlike), so the key's
	// encoded value is copied when the row has the key; -1 for none.
	valueOfKey int
	plain      bool   // a string with no transform, map or check: sent as read
	spec       *Field // the spec it was compiled from
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
		r.list, r.defType, r.types = true, typePhone, []valueType{typePhone}
	}
	cc.fields = append(cc.fields, cc.field(&nf.Field, r))
}

// field compiles one spec for its role.
func (cc *compiler) field(f *Field, r role) *fieldPlan {
	p := &fieldPlan{name: r.name, column: f.Column, list: r.list, replacedByKey: -1, valueOfKey: -1, src: source{idx: -1}, spec: f}
	if r.member != "" {
		p.prefix = append(jsonenc.AppendString(nil, r.member), ':')
	}
	at := func(key string) string { return r.path + "." + key }
	cc.fieldType(f, r, p, at)
	cc.transforms(f, p, at)
	cc.timeOptions(f, p, at)
	cc.validateOption(f, p, at)
	if f.Split != "" {
		// As a key, the first element is the key.
		p.split, p.list = f.Split, true
	}
	cc.action(f, r, p, at)
	cc.emptyOptions(f, r, p, at)
	cc.valueMap(f, p, at)
	cc.fieldSource(f, r, p, at)
	p.plain = p.conv.typ == typeString && !p.conv.lower && !p.conv.upper && !p.conv.mapped && p.conv.check == typeString
	p.conv.lowerEmail = !cc.reference && p.conv.lower && !p.conv.mapped && textCheck(&p.conv) == 1
	if f.Default != nil {
		if f.Default.IsList && !p.list {
			cc.addf(at("default"), "is a list, but the field is not (add split: to make it one)")
		}
		p.hasDef = true
		p.defJSON, p.defVal = cc.constant(f.Default, p, typedConst(f, p), at("default"))
	}
	return p
}

// typedConst reports whether the field's constants convert through its type
// (else they keep their YAML type).
func typedConst(f *Field, p *fieldPlan) bool { return f.Type != "" || p.conv.typ != typeString }

// fieldType sets the value type: type:, or the role's default.
func (cc *compiler) fieldType(f *Field, r role, p *fieldPlan, at func(string) string) {
	t, ok := typeByName[strings.ToLower(f.Type)]
	if !ok {
		cc.addf(at("type"), "%q is not a type; use one of %s", f.Type, typeNames)
	}
	if f.Type == "" {
		t = r.defType
	}
	if ok && r.types != nil && !slices.Contains(r.types, t) {
		names := make([]string, len(r.types))
		for i, rt := range r.types {
			names[i] = typeName(rt)
		}
		cc.addf(at("type"), "%s here must be of type %s", typeName(t), strings.Join(names, " or "))
	}
	p.conv.typ = t
	p.conv.phones = cc.phones
}

func (cc *compiler) transforms(f *Field, p *fieldPlan, at func(string) string) {
	for i, t := range f.Transform {
		switch strings.ToLower(t) {
		case "lower":
			p.conv.lower = true
		case "upper":
			p.conv.upper = true
		case "trim":
			// Values are always trimmed; accepted so configs can say so.
		default:
			cc.addf(fmt.Sprintf("%s[%d]", at("transform"), i), "%q is not a transform; use lower, upper or trim", t)
		}
	}
	if p.conv.lower && p.conv.upper {
		cc.addf(at("transform"), "lower and upper exclude each other")
	}
}

// validateOption compiles validate:.
func (cc *compiler) validateOption(f *Field, p *fieldPlan, at func(string) string) {
	switch strings.ToLower(f.Validate) {
	case "":
	case "email":
		p.conv.check = typeEmail
	case "phone":
		p.conv.check = typePhone
	case "ip":
		p.conv.check = typeIP
	default:
		cc.addf(at("validate"), "%q is not a check; use email, phone or ip", f.Validate)
	}
	if p.conv.check != typeString && p.conv.typ != typeString {
		cc.addf(at("validate"), "applies to string fields; type %s already checks its values", typeName(p.conv.typ))
	}
}

// fieldSource binds the column, or encodes the constant value.
func (cc *compiler) fieldSource(f *Field, r role, p *fieldPlan, at func(string) string) {
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
		p.constJSON, p.constVal = cc.constant(f.Value, p, typedConst(f, p), at("value"))
	case strings.TrimSpace(f.Column) == "":
		cc.addf(r.path, "needs a column (or a constant value:)")
	default:
		p.src = cc.source(f.Column, r.path)
	}
}

var actions = []string{"set", "incr", "add", "delete", "upsert"}

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
		numeric := p.conv.typ == typeInt || p.conv.typ == typeFloat
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
	p.actClose = []byte{'}'}
	if f.Action == "upsert" {
		p.actClose = append(jsonenc.AppendString([]byte(`,"submatch":`), f.Submatch), '}')
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
	// Keys are always required; nothing to say.
	p.required = f.Required && !r.key
}

func (cc *compiler) valueMap(f *Field, p *fieldPlan, at func(string) string) {
	if f.MapDefault != nil && len(f.Map) == 0 {
		cc.addf(at("map_default"), "applies with map: only")
	}
	if len(f.Map) == 0 {
		return
	}
	typed := typedConst(f, p)
	c := &p.conv
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
	if !cc.reference {
		for i := range c.mapVals {
			c.mapJSON = append(c.mapJSON, c.mapVals[i].appendJSON(nil))
		}
		if c.mapDefault != nil {
			c.mapJSON = append(c.mapJSON, c.mapDefault.appendJSON(nil))
		}
	}
}

// constant encodes a value: or default: constant, the action included.
func (cc *compiler) constant(k *Const, p *fieldPlan, typed bool, path string) ([]byte, val) {
	var first val
	js := append([]byte(nil), p.actOpen...)
	if k.IsList || p.list {
		elems := k.List
		if !k.IsList {
			elems = []Const{*k}
		}
		js = append(js, '[')
		for i, e := range elems {
			v := cc.scalarConst(e, &p.conv, typed, fmt.Sprintf("%s[%d]", path, i))
			if i == 0 {
				first = v
			} else {
				js = append(js, ',')
			}
			js = v.appendJSON(js)
		}
		js = append(js, ']')
	} else {
		first = cc.scalarConst(*k, &p.conv, typed, path)
		js = first.appendJSON(js)
	}
	return append(js, p.actClose...), first
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
		plain.lower, plain.upper, plain.lowerEmail = false, false, false
		var v val
		empty, e := plain.scalar(&v, strings.TrimSpace(k.Text), jsonString)
		switch {
		case empty:
			cc.addf(path, "is empty; write a value")
		case e != nil:
			cc.addf(path, "%q %s", shorten(k.Text, 40), e.reason)
		}
		return v
	}
	return cc.yamlConst(k, c, path)
}

// yamlConst converts an untyped constant, keeping its YAML type.
func (cc *compiler) yamlConst(k Const, c *conv, path string) val {
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
	if c.check != typeString {
		if e := c.validate(k.Text); e != nil {
			cc.addf(path, "%q %s", shorten(k.Text, 40), e.reason)
		}
	}
	return val{k: vStr, s: k.Text}
}
