package sender

import (
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// reply is the API's envelope: {"error":N,"error_text":"..","profile_id":"..",
// "result":[{..},..]}. Strings are kept as raw spans into the reply buffer
// and decoded only when needed, so an ok reply costs no allocation beyond
// its profile id.
//
// Why a scanner of its own and not encoding/json (BenchmarkParseReply, which
// runs both): a single reply 0.5 µs and 0 allocations against 2.4–3.7 µs and
// 8; a 1,000-result batch reply 0.4–0.5 ms and 0 allocations against 1.8–2.9
// ms, 170 KB and 2,020 allocations, on the writer's path of every request.
// FuzzParseReply holds it to encoding/json on what both accept.
type reply struct {
	status
	hasResult bool
	items     []status // batch results, in order
}

// status is one {error, error_text, profile_id} object.
type status struct {
	hasCode   bool
	code      int64
	text      []byte // raw JSON string contents (escapes not decoded)
	textEsc   bool
	profileID []byte
	pidEsc    bool
}

// Text returns error_text decoded.
func (s *status) Text() string { return decodeJSONString(s.text, s.textEsc) }

// ProfileID returns profile_id decoded.
func (s *status) ProfileID() string { return decodeJSONString(s.profileID, s.pidEsc) }

func decodeJSONString(raw []byte, escaped bool) string {
	if !escaped && utf8.Valid(raw) {
		return string(raw)
	}
	// Rare (error texts with \uXXXX, broken UTF-8): let encoding/json do
	// the unescaping and the U+FFFD replacement.
	q := make([]byte, 0, len(raw)+2)
	q = append(append(append(q, '"'), raw...), '"')
	var s string
	if json.Unmarshal(q, &s) != nil {
		return string(raw)
	}
	return s
}

// Reasons a reply is not the envelope. They never quote the reply: a body
// that is not the API's may echo anything, the token included.
var (
	errNotJSON     = errors.New("not valid JSON")
	errNotObject   = errors.New("not a JSON object")
	errNoErrorCode = errors.New("no integer \"error\" member")
	errDepth       = errors.New("nested too deeply")
)

// maxDepth bounds nesting so a hostile reply cannot exhaust the stack.
const maxDepth = 1000

// parseReply parses b into r, reusing r.items. It accepts exactly the JSON
// that encoding/json accepts for the envelope: a top-level object, any
// other members skipped (but validated), duplicate names resolved last-wins.
// "error" must be an integer or a string holding one; an envelope without
// it is not the API's.
func parseReply(b []byte, r *reply) error {
	*r = reply{items: r.items[:0]}
	s := scanner{b: b}
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		if !s.value(0) || !s.end() {
			return errNotJSON
		}
		return errNotObject
	}
	ok := s.object(1, func(name []byte) bool {
		switch string(name) {
		case "result":
			if s.peek() != '[' {
				r.hasResult = false
				r.items = r.items[:0]
				return s.value(1)
			}
			r.hasResult = true
			r.items = r.items[:0]
			return s.array(1, func() bool {
				r.items = append(r.items, status{})
				st := &r.items[len(r.items)-1]
				if s.peek() != '{' {
					return s.value(2)
				}
				return s.object(3, func(name []byte) bool { return s.statusMember(st, name, 3) })
			})
		default:
			return s.statusMember(&r.status, name, 1)
		}
	})
	if !ok || !s.end() {
		if s.deep {
			return errDepth
		}
		return errNotJSON
	}
	if !r.hasCode {
		return errNoErrorCode
	}
	return nil
}

type scanner struct {
	b    []byte
	i    int
	deep bool
}

// statusMember reads the value of one member of a status object.
func (s *scanner) statusMember(st *status, name []byte, depth int) bool {
	switch string(name) {
	case "error":
		st.hasCode = false
		switch s.peek() {
		case '"':
			raw, esc, ok := s.str()
			if !ok {
				return false
			}
			if esc {
				raw = []byte(decodeJSONString(raw, esc))
			}
			st.code, st.hasCode = atoi(raw)
			return true
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			num, ok := s.number()
			if !ok {
				return false
			}
			st.code, st.hasCode = atoi(num)
			return true
		}
		return s.value(depth)
	case "error_text":
		st.text, st.textEsc = nil, false
		if s.peek() == '"' {
			var ok bool
			st.text, st.textEsc, ok = s.str()
			return ok
		}
		return s.value(depth)
	case "profile_id":
		st.profileID, st.pidEsc = nil, false
		if s.peek() == '"' {
			var ok bool
			st.profileID, st.pidEsc, ok = s.str()
			return ok
		}
		return s.value(depth)
	}
	return s.value(depth)
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// end reports whether only whitespace is left.
func (s *scanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// object reads {"name":value,...}; member is called with the scanner on the
// value and must consume it.
func (s *scanner) object(depth int, member func(name []byte) bool) bool {
	if depth > maxDepth {
		s.deep = true
		return false
	}
	if s.peek() != '{' {
		return false
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		return true
	}
	for {
		if s.peek() != '"' {
			return false
		}
		name, esc, ok := s.str()
		if !ok {
			return false
		}
		if esc { // names we look for never need escapes; decode to compare exactly
			name = []byte(decodeJSONString(name, true))
		}
		if s.peek() != ':' {
			return false
		}
		s.i++
		s.ws()
		if !member(name) {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

// array reads [value,...]; elem is called on each element and must consume it.
func (s *scanner) array(depth int, elem func() bool) bool {
	if depth > maxDepth {
		s.deep = true
		return false
	}
	if s.peek() != '[' {
		return false
	}
	s.i++
	if s.peek() == ']' {
		s.i++
		return true
	}
	for {
		s.ws()
		if !elem() {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return true
		default:
			return false
		}
	}
}

// value validates and skips any JSON value.
func (s *scanner) value(depth int) bool {
	switch c := s.peek(); c {
	case '{':
		return s.object(depth+1, func([]byte) bool { return s.value(depth + 1) })
	case '[':
		return s.array(depth+1, func() bool { return s.value(depth + 1) })
	case '"':
		_, _, ok := s.str()
		return ok
	case 't':
		return s.lit("true")
	case 'f':
		return s.lit("false")
	case 'n':
		return s.lit("null")
	default:
		_, ok := s.number()
		return ok
	}
}

func (s *scanner) lit(w string) bool {
	if len(s.b)-s.i >= len(w) && string(s.b[s.i:s.i+len(w)]) == w {
		s.i += len(w)
		return true
	}
	return false
}

// str reads a string and returns its raw contents and whether they hold
// escapes. Control characters and bad escapes are errors, as in JSON;
// invalid UTF-8 is accepted (encoding/json replaces it).
func (s *scanner) str() (raw []byte, escaped, ok bool) {
	s.i++ // opening quote
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			raw = s.b[start:s.i]
			s.i++
			return raw, escaped, true
		case c == '\\':
			escaped = true
			if s.i+1 >= len(s.b) {
				return nil, false, false
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) {
					return nil, false, false
				}
				for _, h := range s.b[s.i+2 : s.i+6] {
					if !isHex(h) {
						return nil, false, false
					}
				}
				s.i += 6
			default:
				return nil, false, false
			}
		case c < 0x20:
			return nil, false, false
		default:
			s.i++
		}
	}
	return nil, false, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// number reads a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() ([]byte, bool) {
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.i < len(s.b) && '1' <= s.b[s.i] && s.b[s.i] <= '9':
		s.digits()
	default:
		return nil, false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return nil, false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return nil, false
		}
	}
	return s.b[start:s.i], true
}

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

// atoi parses an optionally signed decimal integer that fits an int64, as
// strconv.ParseInt(s, 10, 64) does, without allocating.
func atoi(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (1<<63)/10 {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	switch {
	case !neg && n > 1<<63-1, neg && n > 1<<63:
		return 0, false
	case neg:
		return -int64(n), true
	}
	return int64(n), true
}
