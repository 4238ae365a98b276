package fakeapi

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// apiError is an error reported in the reply envelope: HTTP 200 with
// {"error": code, "error_text": text}.
type apiError struct {
	code int
	text string
}

func badRequest(format string, args ...any) *apiError {
	return &apiError{code: 400, text: fmt.Sprintf(format, args...)}
}

// Error codes and texts that do not depend on the request; see the table in doc.go.
const (
	textOK           = "Successful operation"
	textTokenMissing = "API token required"
	textTokenWrong   = "Invalid API token"
	textNotFound     = "Profile not found"
	textAmbiguous    = "more than one profile matches"
	textTransient    = "Temporary error, try again later"
	textRateLimited  = "Too many requests"
)

var (
	errTokenMissing = &apiError{code: 401, text: textTokenMissing}
	errTokenWrong   = &apiError{code: 403, text: textTokenWrong}
	errAmbiguous    = &apiError{code: 409, text: textAmbiguous}
)

// describe renders a request value for an error text: strings quoted, numbers
// and booleans as sent, containers by kind. Long values are cut so a reply
// stays small.
func describe(v any) string {
	const limit = 64
	switch x := v.(type) {
	case string:
		if utf8.RuneCountInString(x) > limit {
			r := []rune(x)
			x = string(r[:limit]) + "…"
		}
		return strconv.Quote(x)
	case json.Number:
		s := string(x)
		if len(s) > limit {
			s = s[:limit] + "…"
		}
		return s
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// asInt reads an integer. JSON bodies must carry a JSON number; XML bodies
// carry only text, so there decimal text is accepted too.
func asInt(v any, isXML bool) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		n, err := strconv.ParseInt(string(x), 10, 64)
		return n, err == nil
	case string:
		if !isXML {
			return 0, false
		}
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n, err == nil
	default:
		return 0, false
	}
}

// asBool reads a boolean: a JSON bool, or in XML the text true/false/1/0.
func asBool(v any, isXML bool) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		if !isXML {
			return false, false
		}
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "1":
			return true, true
		case "false", "0":
			return false, true
		}
	}
	return false, false
}

// asNumber reads a number as exact JSON number text. XML text qualifies when
// it is valid JSON number syntax (so "0x10", "NaN" and "Inf" do not).
func asNumber(v any, isXML bool) (json.Number, bool) {
	switch x := v.(type) {
	case json.Number:
		return x, true
	case string:
		if !isXML {
			return "", false
		}
		s := strings.TrimSpace(x)
		if isJSONNumber(s) {
			return json.Number(s), true
		}
	}
	return "", false
}

// asObject reads an object. In XML an empty element stands for an empty object.
func asObject(v any, isXML bool) (map[string]any, bool) {
	switch x := v.(type) {
	case map[string]any:
		return x, true
	case string:
		if isXML && strings.TrimSpace(x) == "" {
			return map[string]any{}, true
		}
	}
	return nil, false
}

// asStringList reads a list whose elements are all strings.
func asStringList(v any) ([]string, bool) {
	l, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, len(l))
	for i, e := range l {
		s, ok := e.(string)
		if !ok {
			return nil, false
		}
		out[i] = s
	}
	return out, true
}

// isJSONNumber reports whether s is a number in JSON syntax (RFC 8259 §6).
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	return i == len(s)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// validPhone reports whether s is in E.164-like form: '+' then 7 to 15 digits.
func validPhone(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// validEmail is a plausibility check, not RFC 5322: one '@', a non-empty
// local part, a dotted domain without empty labels, no spaces, brackets or
// control characters, at most 254 bytes.
func validEmail(s string) bool {
	if len(s) < 5 || len(s) > 254 {
		return false
	}
	at := strings.IndexByte(s, '@')
	if at <= 0 || at != strings.LastIndexByte(s, '@') || at > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == '(' || c == ')' || c == ',' || c == ';' || c == ':' || c == '\\' || c == '"' || c == '[' || c == ']' {
			return false
		}
	}
	domain := s[at+1:]
	if !strings.Contains(domain, ".") {
		return false
	}
	for label := range strings.SplitSeq(domain, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
	}
	// The JSON decoder turns invalid UTF-8 into U+FFFD: no real address holds it.
	return utf8.ValidString(s) && !strings.ContainsRune(s, utf8.RuneError)
}

// validDate accepts YYYY-MM-DD, RFC 3339, and RFC 3339 without seconds
// ("2001-12-31T00:00+03:00", as in the platform's own examples).
func validDate(s string) bool {
	for _, layout := range [...]string{time.DateOnly, time.RFC3339Nano, "2006-01-02T15:04Z07:00"} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

// validProfileID reports whether s looks like a profile id: 24 hex digits.
func validProfileID(s string) bool {
	if len(s) != 24 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}

// isDateField reports whether a profile field holds a date: _bdate,
// _regdate and the other '_'-prefixed names ending in "date".
func isDateField(name string) bool {
	return len(name) > 1 && name[0] == '_' && strings.HasSuffix(name, "date")
}
