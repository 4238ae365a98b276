package mapping

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

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
	n := len(s)
	if c := s[n-1]; c < utf8.RuneSelf {
		if c <= ' ' {
			return strings.TrimSpace(s)
		}
		return s
	}
	// A non-ASCII space at the end starts with C2 two bytes before the end
	// or with E1, E2, E3 three bytes before it; a Cyrillic letter (D0, D1)
	// does neither, and needs no decoding.
	if n >= 2 && s[n-2] != 0xC2 && (n < 3 || s[n-3] < 0xE1 || s[n-3] > 0xE3) {
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
