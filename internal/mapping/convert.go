package mapping

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"importer/internal/jsonenc"
)

// valueType is a field's type: type: in the config.
type valueType uint8

const (
	typeString valueType = iota
	typeInt
	typeFloat
	typeBool
	typeDate
	typeDatetime
	typePhone
	typeEmail
	typeIP
)

var typeByName = map[string]valueType{
	"": typeString, "string": typeString, "int": typeInt, "float": typeFloat, "bool": typeBool,
	"date": typeDate, "datetime": typeDatetime, "phone": typePhone, "email": typeEmail, "ip": typeIP,
}

const typeNames = "string, int, float, bool, date, datetime, phone, email, ip"

func typeName(t valueType) string {
	for name, tt := range typeByName {
		if tt == t && name != "" {
			return name
		}
	}
	return "string"
}

// vkind says how a converted value is written as JSON.
type vkind uint8

const (
	vStr   vkind = iota // s, quoted
	vRaw                // s is JSON text already (a number kept from JSONL)
	vInt                // i
	vFloat              // f
	vBool               // b
	vDate               // t as "2006-01-02"
	vTime               // t as RFC 3339
	vIP                 // ip
	vYMD                // i, a packYMD date (read by a digitDate), as "2006-01-02"
)

// val is one converted scalar. It is built on the stack: converting a cell
// allocates only when the value itself must change (lower-casing, say).
type val struct {
	k  vkind
	b  bool
	s  string
	i  int64
	f  float64
	t  time.Time
	ip netip.Addr
}

func (v *val) appendJSON(dst []byte) []byte {
	switch v.k {
	case vStr:
		return jsonenc.AppendString(dst, v.s)
	case vRaw:
		return append(dst, v.s...)
	case vInt:
		return strconv.AppendInt(dst, v.i, 10)
	case vFloat:
		return jsonenc.AppendFloat(dst, v.f)
	case vBool:
		return strconv.AppendBool(dst, v.b)
	case vDate:
		dst = append(dst, '"')
		dst = v.t.AppendFormat(dst, time.DateOnly)
		return append(dst, '"')
	case vTime:
		dst = append(dst, '"')
		dst = v.t.AppendFormat(dst, time.RFC3339)
		return append(dst, '"')
	case vIP:
		dst = append(dst, '"')
		dst = v.ip.AppendTo(dst)
		return append(dst, '"')
	case vYMD:
		dst = append(dst, '"')
		dst = appendYMD(dst, int(v.i))
		return append(dst, '"')
	}
	return dst
}

// text is the value as the results file and the per-key ordering see it.
func (v *val) text() string {
	switch v.k {
	case vStr, vRaw:
		return v.s
	case vInt:
		return strconv.FormatInt(v.i, 10)
	case vFloat:
		return string(jsonenc.AppendFloat(nil, v.f))
	case vBool:
		return strconv.FormatBool(v.b)
	case vDate:
		return v.t.Format(time.DateOnly)
	case vTime:
		return v.t.Format(time.RFC3339)
	case vIP:
		return v.ip.String()
	case vYMD:
		return string(appendYMD(nil, int(v.i)))
	}
	return ""
}

// jsonType is the JSON type of a JSONL scalar; CSV cells are all jsonString.
type jsonType uint8

const (
	jsonString jsonType = iota
	jsonNumber
	jsonBool
)

// convErr says why a value was refused; the field turns it into a FieldError.
type convErr struct {
	kind   string // FieldError.Kind
	reason string // follows the quoted value
}

// conv converts one trimmed scalar: transforms, map, type, check.
type conv struct {
	typ     valueType
	lower   bool
	upper   bool
	check   valueType // validate: typeString = none
	layouts []string
	layDesc string // "in the layout 02.01.2006" for messages
	loc     *time.Location
	// digitDates holds, for a date field, the digitDate of each layout
	// that has one (nil elsewhere); nil when none has.
	digitDates []*digitDate

	mapped     bool
	mapExact   map[string]int
	mapVals    []val
	mapKeys    []string
	mapDefault *val
	mapAllowed string // up to five allowed values, for the unmapped message
	// mapJSON holds the JSON of each map value, then of map_default's:
	// mappedJSON's answers. Nil in the reference Mapper.
	mapJSON [][]byte

	phones *phoneCache
	// lowerEmail: a text cell is lower-cased and checked as an e-mail,
	// nothing else (no map); scalar then runs toLowerEmail. False in the
	// reference Mapper.
	lowerEmail bool
}

// scalar converts s (already trimmed when it came from a CSV cell) into v,
// which the caller passes zeroed: an out parameter, as val is too big to
// copy around per cell. It reports empty when there is nothing to send.
func (c *conv) scalar(v *val, s string, jt jsonType) (empty bool, e *convErr) {
	if s == "" {
		return true, nil
	}
	if jt == jsonString {
		if c.lowerEmail {
			return false, c.toLowerEmail(v, s)
		}
		s = c.transform(s)
	}
	if c.mapped {
		return false, c.mapValue(v, s)
	}
	return false, c.typed(v, s, jt)
}

// toLowerEmail is scalar for a lower-cased e-mail (see conv.lowerEmail):
// the same value and verdict, the usual address read once.
func (c *conv) toLowerEmail(v *val, s string) *convErr {
	lower, fast, ascii := lowerEmailASCII(s)
	if !ascii {
		lower = strings.ToLower(s)
		fast = fastEmail(lower)
	}
	if !fast && !validEmailSlow(lower) {
		return errInvalidEmail
	}
	v.k, v.s = vStr, lower
	return nil
}

// transform applies transform: lower or upper.
func (c *conv) transform(s string) string {
	switch {
	case c.lower:
		return strings.ToLower(s)
	case c.upper:
		return strings.ToUpper(s)
	}
	return s
}

// mapValue translates s through map: (exact, then case-insensitive), else
// map_default.
func (c *conv) mapValue(v *val, s string) *convErr {
	switch i := c.mapIndex(s); {
	case i < 0:
		return c.unmapped()
	case i == len(c.mapVals):
		*v = *c.mapDefault
	default:
		*v = c.mapVals[i]
	}
	return nil
}

// mapIndex finds s in map: the index of its value in mapVals (an exact
// match, else the first case-insensitive one), len(mapVals) for
// map_default, -1 when s is unmapped.
func (c *conv) mapIndex(s string) int {
	if len(c.mapKeys) <= smallMap {
		// From the end: when two keys are equal after transform, the
		// later one is the one mapExact holds.
		for i := len(c.mapKeys) - 1; i >= 0; i-- {
			if c.mapKeys[i] == s {
				return i
			}
		}
	} else if i, ok := c.mapExact[s]; ok {
		return i
	}
	for i, k := range c.mapKeys {
		if strings.EqualFold(k, s) {
			return i
		}
	}
	if c.mapDefault != nil {
		return len(c.mapVals)
	}
	return -1
}

// smallMap is the most keys a map is looked up in by comparing them in
// turn: for the few values of a gender or a yes/no column that costs less
// than hashing the value into a Go map (five lookups: 44–55 ns against
// 63–66, BenchmarkMapIndex).
const smallMap = 8

func (c *conv) unmapped() *convErr {
	return &convErr{kind: "unmapped value", reason: "is not in the map; allowed: " + c.mapAllowed}
}

// mappedJSON is scalar and appendJSON for a CSV cell of a mapped field
// whose values were encoded at compile time (mapJSON): the value's JSON,
// without converting anything per row.
func (c *conv) mappedJSON(s string) ([]byte, *convErr) {
	i := c.mapIndex(c.transform(s))
	if i < 0 {
		return nil, c.unmapped()
	}
	return c.mapJSON[i], nil
}

// typed applies the field's type to s, filling v.
func (c *conv) typed(v *val, s string, jt jsonType) *convErr {
	switch c.typ {
	case typeString:
		return c.toString(v, s, jt)
	case typeInt:
		return toInt(v, s)
	case typeFloat:
		return toFloat(v, s, jt)
	case typeBool:
		b, ok := parseBool(s)
		if !ok {
			return &convErr{kind: "invalid bool", reason: "is not a yes/no value (true/false, yes/no, 1/0, да/нет, y/n, on/off)"}
		}
		v.k, v.b = vBool, b
	case typeDate, typeDatetime:
		return c.toTime(v, s)
	case typePhone:
		e164, ok := c.phones.normalize(s)
		if !ok {
			return c.phones.invalid()
		}
		v.k, v.s = vStr, e164
	case typeEmail:
		if !validEmail(s) {
			return errInvalidEmail
		}
		v.k, v.s = vStr, s
	case typeIP:
		a, ok := parseIP(s)
		if !ok {
			return errInvalidIP
		}
		v.k, v.ip = vIP, a
	default:
		v.k, v.s = vStr, s
	}
	return nil
}

func (c *conv) toString(v *val, s string, jt jsonType) *convErr {
	switch jt {
	case jsonNumber:
		// A JSON number sent as a string field keeps its type: the API
		// decides, and long ids are not reformatted.
		v.k, v.s = vRaw, s
		return nil
	case jsonBool:
		v.k, v.b = vBool, s == "true"
		return nil
	}
	if c.check != typeString {
		if e := c.validate(s); e != nil {
			return e
		}
	}
	v.k, v.s = vStr, s
	return nil
}

// toInt takes any number whose value is whole: 3, but also 3.0 (a JSON
// writer's float) or 1e3.
func toInt(v *val, s string) *convErr {
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		var isNumber, whole, fits bool
		i, isNumber, whole, fits = wholeNumber(s)
		switch {
		case !isNumber:
			return &convErr{kind: "invalid int", reason: "is not an integer"}
		case !whole:
			return &convErr{kind: "invalid int", reason: "is not a whole number"}
		case !fits:
			return &convErr{kind: "invalid int", reason: "is out of range for an integer"}
		}
	}
	v.k, v.i = vInt, i
	return nil
}

func toFloat(v *val, s string, jt jsonType) *convErr {
	f, ok := parseFloat(s)
	if !ok {
		return &convErr{kind: "invalid float", reason: "is not a number"}
	}
	if jt == jsonNumber {
		v.k, v.s = vRaw, s
	} else {
		v.k, v.f = vFloat, f
	}
	return nil
}

var (
	errInvalidEmail = &convErr{kind: "invalid email", reason: "is not a valid e-mail address"}
	errInvalidIP    = &convErr{kind: "invalid ip", reason: "is not an IP address"}
)

// validate runs a `validate:` check on a string without changing it.
func (c *conv) validate(s string) *convErr {
	switch c.check {
	case typeEmail:
		if !validEmail(s) {
			return errInvalidEmail
		}
	case typePhone:
		if _, ok := c.phones.normalize(s); !ok {
			return c.phones.invalid()
		}
	case typeIP:
		if _, ok := parseIP(s); !ok {
			return errInvalidIP
		}
	}
	return nil
}

// parseIP accepts an IPv4 or IPv6 address without a zone.
func parseIP(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	return a, err == nil && a.Zone() == ""
}

// parseFloat accepts a decimal comma ("1,5") besides the usual forms and
// refuses what JSON cannot carry (NaN, infinities).
func parseFloat(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if strings.Count(s, ",") != 1 || strings.Contains(s, ".") {
			return 0, false
		}
		f, err = strconv.ParseFloat(strings.Replace(s, ",", ".", 1), 64)
		if err != nil {
			return 0, false
		}
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

var (
	trueWords  = [...]string{"true", "yes", "1", "да", "y", "on"}
	falseWords = [...]string{"false", "no", "0", "нет", "n", "off"}
)

// parseBool accepts the words of trueWords and falseWords, in any case.
func parseBool(s string) (value, ok bool) {
	for _, w := range trueWords {
		if len(w) == len(s) && strings.EqualFold(w, s) {
			return true, true
		}
	}
	for _, w := range falseWords {
		if len(w) == len(s) && strings.EqualFold(w, s) {
			return false, true
		}
	}
	return false, false
}
