// Package jsonenc appends JSON values to byte slices: the append-style
// encoding the per-row paths (mapped payloads, request bodies, the results
// journal) use instead of encoding/json's reflection and allocations.
package jsonenc

import (
	"math"
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// jsonSafe marks the ASCII bytes that go into a JSON string as they are:
// printable ones but the quote and backslash.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// AppendString appends s as a JSON string literal. It escapes what
// RFC 8259 requires (quote, backslash, control characters), replaces invalid
// UTF-8 with U+FFFD and escapes U+2028/U+2029 like encoding/json does, but
// leaves <, > and & alone: the payload is never embedded in HTML, and CRM
// notes full of \u003c would be unreadable in the payload dump.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	// Skip 8 bytes at once while they are all printable ASCII other than
	// quote and backslash: e-mails, digits and Latin names go a word at a
	// time. The byte loop below takes the rest, unchanged, so text that is
	// not plain ASCII (Cyrillic) pays one word test.
	i := 0
	for i+8 <= len(s) && plain8(load8(s, i)) {
		i += 8
	}
	start := 0
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = appendEscaped(dst, c)
			i++
			start = i
			continue
		}
		// Two-byte sequences (Cyrillic, Latin accents) need no decoding.
		if c >= 0xC2 && c <= 0xDF && i+1 < len(s) && s[i+1]&0xC0 == 0x80 {
			i += 2
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendEscaped appends the escape of a quote, backslash or control byte.
// load8 reads s[i:i+8] as a little-endian word (the compiler makes it
// one load).
func load8(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

const (
	lsb = 0x0101010101010101 // 1 in every byte
	msb = 0x8080808080808080 // the top bit of every byte
)

// plain8 reports whether none of w's bytes is a control character, a
// quote, a backslash or a non-ASCII byte. The zero-byte tests may report a
// byte that is fine (a borrow from a lower byte), never miss one: a false
// "no" only sends the bytes down the byte-by-byte path.
func plain8(w uint64) bool {
	ctl := (w - lsb*0x20) &^ w // a byte below 0x20 sets its top bit
	q := w ^ (lsb * '"')       // a quote becomes a zero byte
	b := w ^ (lsb * '\\')      // so does a backslash
	zero := (q-lsb)&^q | (b-lsb)&^b
	return (ctl|zero|w)&msb == 0
}

func appendEscaped(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

// AppendFloat appends f the way encoding/json writes a float64: the
// shortest decimal that round-trips, switching to an exponent outside
// [1e-6, 1e21). The caller guarantees f is finite.
func AppendFloat(dst []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}
