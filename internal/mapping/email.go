package mapping

import (
	"net/mail"
	"strings"
	"unicode/utf8"
)

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

// atext marks the bytes of atextSpecials and the ASCII letters and digits:
// one load per byte where a range test and a search of the specials cost
// a tenth of validate's CPU.
var atext = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for i := 0; i < len(atextSpecials); i++ {
		t[atextSpecials[i]] = true
	}
	return t
}()

func isAtext(c byte) bool { return atext[c] }

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

// lowerEmailASCII is strings.ToLower then fastEmail, in one pass over an
// ASCII address: the match key of most imports is an e-mail lower-cased
// and checked. ascii is false, and the rest unset, when s holds a
// non-ASCII byte (the caller takes the long way then).
func lowerEmailASCII(s string) (lower string, fast, ascii bool) {
	upper, at, domainDot := false, -1, false
	ok := len(s) <= 254
	prevDot := true // a dot-atom starts with no dot
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= utf8.RuneSelf:
			return "", false, false
		case c == '@':
			if at >= 0 || prevDot { // a second @, an empty local part, or one ending in a dot
				ok = false
			}
			at, prevDot = i, true
			continue
		case c == '.':
			if prevDot {
				ok = false
			}
			domainDot = domainDot || at >= 0
			prevDot = true
			continue
		case 'A' <= c && c <= 'Z':
			upper = true
		case !atext[c]:
			ok = false
		}
		prevDot = false
	}
	ok = ok && at > 0 && at < len(s)-1 && !prevDot && domainDot
	if upper {
		s = strings.ToLower(s)
	}
	return s, ok, true
}
