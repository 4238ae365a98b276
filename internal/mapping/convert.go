package mapping

import (
	"math"
	"net/mail"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"importer/internal/jsonenc"
)

// kind is a field's type.
type kind uint8

const (
	kindString kind = iota
	kindInt
	kindFloat
	kindBool
	kindDate
	kindDatetime
	kindPhone
	kindEmail
	kindIP
)

var kindByName = map[string]kind{
	"": kindString, "string": kindString, "int": kindInt, "float": kindFloat, "bool": kindBool,
	"date": kindDate, "datetime": kindDatetime, "phone": kindPhone, "email": kindEmail, "ip": kindIP,
}

const typeNames = "string, int, float, bool, date, datetime, phone, email, ip"

// Default layouts, tried in order.
var (
	defaultDateLayouts     = []string{"2006-01-02", "02.01.2006", time.RFC3339}
	defaultDatetimeLayouts = []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02T15:04:05"}
)

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
	vJSON               // s is a JSON object or array kept from JSONL
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
	case vRaw, vJSON:
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
	}
	return dst
}

// text is the value as the results file and the per-key ordering see it.
func (v *val) text() string {
	switch v.k {
	case vStr, vRaw, vJSON:
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
	}
	return ""
}

// jtype is the JSON type of a JSONL scalar; CSV cells are all jString.
type jtype uint8

const (
	jString jtype = iota
	jNumber
	jBool
)

// convErr says why a value was refused; the field turns it into a FieldError.
type convErr struct {
	kind   string // FieldError.Kind
	reason string // follows the quoted value
}

// conv converts one trimmed scalar: transforms, map, type, check.
type conv struct {
	kind    kind
	lower   bool
	upper   bool
	check   kind // validate: kindString = none
	layouts []string
	layDesc string // "in the layout 02.01.2006" for messages
	loc     *time.Location

	mapped     bool
	mapExact   map[string]int
	mapVals    []val
	mapKeys    []string
	mapDefault *val
	mapAllowed string // up to five allowed values, for the unmapped message

	phones *phoneCache
}

// scalar converts s (already trimmed when it came from a CSV cell) into v,
// which the caller passes zeroed: an out parameter, as val is too big to
// copy around per cell. It reports empty when there is nothing to send.
func (c *conv) scalar(v *val, s string, jt jtype) (empty bool, e *convErr) {
	if s == "" {
		return true, nil
	}
	if jt == jString {
		switch {
		case c.lower:
			s = strings.ToLower(s)
		case c.upper:
			s = strings.ToUpper(s)
		}
	}
	if c.mapped {
		if i, ok := c.mapExact[s]; ok {
			*v = c.mapVals[i]
			return false, nil
		}
		for i, k := range c.mapKeys {
			if strings.EqualFold(k, s) {
				*v = c.mapVals[i]
				return false, nil
			}
		}
		if c.mapDefault != nil {
			*v = *c.mapDefault
			return false, nil
		}
		return false, &convErr{kind: "unmapped value", reason: "is not in the map; allowed: " + c.mapAllowed}
	}
	return false, c.typed(v, s, jt)
}

// typed applies the field's type to s, filling v.
func (c *conv) typed(v *val, s string, jt jtype) *convErr {
	switch c.kind {
	case kindString:
		switch jt {
		case jNumber:
			// A JSON number sent as a string field keeps its type: the API
			// decides, and long ids are not reformatted.
			v.k, v.s = vRaw, s
			return nil
		case jBool:
			v.k, v.b = vBool, s == "true"
			return nil
		}
		if c.check != kindString {
			if e := c.validate(s); e != nil {
				return e
			}
		}
		v.k, v.s = vStr, s
	case kindInt:
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return &convErr{kind: "invalid int", reason: "is not an integer"}
		}
		v.k, v.i = vInt, i
	case kindFloat:
		f, ok := parseFloat(s)
		if !ok {
			return &convErr{kind: "invalid float", reason: "is not a number"}
		}
		if jt == jNumber {
			v.k, v.s = vRaw, s
		} else {
			v.k, v.f = vFloat, f
		}
	case kindBool:
		b, ok := parseBool(s)
		if !ok {
			return &convErr{kind: "invalid bool", reason: "is not a yes/no value (true/false, yes/no, 1/0, да/нет, y/n, on/off)"}
		}
		v.k, v.b = vBool, b
	case kindDate:
		t, bad, ok := c.parseTime(s)
		switch {
		case bad != "":
			return &convErr{kind: "invalid date", reason: "is not a valid date: " + bad}
		case !ok:
			return &convErr{kind: "invalid date", reason: "is not a date " + c.layDesc}
		}
		v.k, v.t = vDate, t
	case kindDatetime:
		t, bad, ok := c.parseTime(s)
		switch {
		case bad != "":
			return &convErr{kind: "invalid datetime", reason: "is not a valid date and time: " + bad}
		case !ok:
			return &convErr{kind: "invalid datetime", reason: "is not a date and time " + c.layDesc}
		}
		v.k, v.t = vTime, t
	case kindPhone:
		e164, ok := c.phones.normalize(s)
		if !ok {
			return &convErr{kind: "invalid phone", reason: "is not a valid phone number for region " + c.phones.region}
		}
		v.k, v.s = vStr, e164
	case kindEmail:
		if !validEmail(s) {
			return &convErr{kind: "invalid email", reason: "is not a valid e-mail address"}
		}
		v.k, v.s = vStr, s
	case kindIP:
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return &convErr{kind: "invalid ip", reason: "is not an IP address"}
		}
		v.k, v.ip = vIP, a
	default:
		v.k, v.s = vStr, s
	}
	return nil
}

// validate runs a `validate:` check on a string without changing it.
func (c *conv) validate(s string) *convErr {
	switch c.check {
	case kindEmail:
		if !validEmail(s) {
			return &convErr{kind: "invalid email", reason: "is not a valid e-mail address"}
		}
	case kindPhone:
		if _, ok := c.phones.normalize(s); !ok {
			return &convErr{kind: "invalid phone", reason: "is not a valid phone number for region " + c.phones.region}
		}
	case kindIP:
		if a, err := netip.ParseAddr(s); err != nil || a.Zone() != "" {
			return &convErr{kind: "invalid ip", reason: "is not an IP address"}
		}
	}
	return nil
}

// parseTime tries each layout. When s has a layout's shape but an
// impossible value (31.02.1990), bad says what is out of range.
func (c *conv) parseTime(s string) (t time.Time, bad string, ok bool) {
	for _, l := range c.layouts {
		var err error
		if c.loc != nil {
			t, err = time.ParseInLocation(l, s, c.loc)
		} else {
			t, err = time.Parse(l, s)
		}
		if err == nil {
			return t, "", true
		}
		// A shape mismatch leaves Message empty; a range error sets it.
		if pe, isPE := err.(*time.ParseError); isPE && pe.Message != "" && bad == "" {
			bad = strings.TrimPrefix(pe.Message, ": ")
		}
	}
	return time.Time{}, bad, false
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

// validEmail accepts a bare address (no display name, no comments, no
// quoting that net/mail would rewrite) with a dot in the domain. Plain
// dot-atom addresses, nearly all of them, are checked by a fast scan that
// accepts a subset of what net/mail accepts; the rest go to net/mail.
func validEmail(s string) bool {
	return fastEmail(s) || validEmailSlow(s)
}

// validEmailSlow is the reference check: net/mail plus the extra rules.
func validEmailSlow(s string) bool {
	if len(s) > 254 || !utf8.ValidString(s) {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && dottedDomain(s[at+1:])
}

func dottedDomain(d string) bool {
	i := strings.IndexByte(d, '.')
	return i > 0 && i < len(d)-1 && !strings.HasSuffix(d, ".")
}

// atext of RFC 5322 (letters, digits and these) is what a dot-atom is made of.
const atextSpecials = "!#$%&'*+-/=?^_`{|}~"

func isAtext(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte(atextSpecials, c) >= 0
}

// fastEmail reports whether s is local@domain with both parts ASCII
// dot-atoms (no empty atoms) and a dot inside the domain.
func fastEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || len(s) > 254 {
		return false
	}
	return dotAtom(s[:at]) && dotAtom(s[at+1:]) && strings.IndexByte(s[at+1:], '.') > 0
}

func dotAtom(s string) bool {
	prevDot := true // no leading dot
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			if prevDot {
				return false
			}
			prevDot = true
			continue
		}
		if !isAtext(c) {
			return false
		}
		prevDot = false
	}
	return !prevDot
}

// phoneCache remembers the E.164 form (or the rejection) of recently seen
// raw phone values: parsing costs ~14 µs, and the same number is often read
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
	n, err := phonenumbers.Parse(s, region)
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return phoneEntry{}
	}
	return phoneEntry{e164: phonenumbers.Format(n, phonenumbers.E164), ok: true}
}

// trimSpace is strings.TrimSpace with a fast exit for the usual cell, which
// neither starts nor ends with a space: TrimSpace itself takes its Unicode
// path whenever a cell starts with a non-ASCII letter.
func trimSpace(s string) string {
	if s == "" {
		return s
	}
	// Leading bytes of every space: ASCII ones are <= ' '; U+0085 and U+00A0
	// start with C2, U+1680 with E1, U+2000..U+205F with E2, U+3000 with E3.
	if c := s[0]; c <= ' ' || c == 0xC2 || c == 0xE1 || c == 0xE2 || c == 0xE3 {
		return strings.TrimSpace(s)
	}
	if c := s[len(s)-1]; c < utf8.RuneSelf {
		if c <= ' ' {
			return strings.TrimSpace(s)
		}
		return s
	}
	if r, _ := utf8.DecodeLastRuneInString(s); unicode.IsSpace(r) {
		return strings.TrimSpace(s)
	}
	return s
}

// shorten cuts s to at most n runes, marking the cut with an ellipsis.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for i = range s {
		if count == n-1 {
			break
		}
		count++
	}
	return s[:i] + "…"
}
