package input

import (
	"encoding/binary"
	"unicode/utf8"
)

// cleanUTF8 reports whether b is valid UTF-8 without a NUL byte: the check
// every record of a UTF-8 file gets. It is utf8.Valid and a NUL search in one
// pass that takes two-byte sequences (Cyrillic, Greek, accented Latin) eight
// bytes at a time: with Russian text utf8.Valid goes rune by rune and was a
// quarter of the reader's time. Words holding three- or four-byte sequences,
// or anything suspicious, go to the utf8 package rune by rune.
func cleanUTF8(b []byte) bool {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
		mid  = 0x1e1e1e1e1e1e1e1e // the bits of a lead byte that rule out C0 and C1
		low  = 0x7f7f7f7f7f7f7f7f
	)
	i := 0
	for {
		// carry marks a two-byte lead in the last byte of the previous word:
		// its continuation byte must open this one.
		var carry uint64
		for ; i+8 <= len(b); i += 8 {
			w := binary.LittleEndian.Uint64(b[i:])
			if (w-ones)&^w&high != 0 {
				return false // a zero byte
			}
			h := w & high
			if h|carry == 0 {
				continue
			}
			b6 := (w << 1) & high // bit 6 of each byte, moved to bit 7
			b5 := (w << 2) & high // bit 5 of each byte, moved to bit 7
			cont := h &^ b6       // 10xxxxxx
			lead := h & b6        // 11xxxxxx
			if lead&b5 != 0 || cont != (lead<<8)|carry {
				break // a longer sequence, or an odd one: rune by rune
			}
			if nonzero := ((w & mid) + low) & high; lead&^nonzero != 0 {
				return false // C0 or C1: an overlong encoding
			}
			carry = lead >> 56
		}
		if carry != 0 {
			i-- // the word loop stopped after a lead whose continuation is next
		}
		end := min(i+9, len(b))
		if i+8 > len(b) {
			end = len(b)
		}
		for i < end {
			r, n := utf8.DecodeRune(b[i:])
			if (r == utf8.RuneError && n == 1) || r == 0 {
				return false
			}
			i += n
		}
		if i >= len(b) {
			return true
		}
	}
}
