package input

import (
	"bytes"
	"fmt"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	xunicode "golang.org/x/text/encoding/unicode"
)

// headSize is how much of the (decompressed) file is looked at to choose the
// charset, the format and the delimiter.
const headSize = 64 << 10

// charset is the decoding chosen for a file.
type charset struct {
	name    string            // what File.Encoding reports
	decoder *encoding.Decoder // nil: the bytes are UTF-8 already, checked row by row
	bom     int               // bytes of byte order mark to drop
}

// detectCharset chooses the decoding from the head of the file: a BOM wins,
// then the configured name, then UTF-16 without a BOM (NULs in every other
// byte), then UTF-8 if the head is valid UTF-8. Anything else is ErrEncoding
// with a message that names the config option and the likeliest charset.
// eof says the head is the whole file.
func detectCharset(head []byte, eof bool, configured string) (charset, error) {
	switch {
	case bytes.HasPrefix(head, []byte("\xef\xbb\xbf")):
		return charset{name: "utf-8 (BOM)", bom: 3}, nil
	case bytes.HasPrefix(head, []byte("\xff\xfe")):
		return charset{name: "utf-16le (BOM)", bom: 2,
			decoder: xunicode.UTF16(xunicode.LittleEndian, xunicode.IgnoreBOM).NewDecoder()}, nil
	case bytes.HasPrefix(head, []byte("\xfe\xff")):
		return charset{name: "utf-16be (BOM)", bom: 2,
			decoder: xunicode.UTF16(xunicode.BigEndian, xunicode.IgnoreBOM).NewDecoder()}, nil
	}
	if configured != "" {
		enc, err := htmlindex.Get(configured)
		if err != nil || enc == encoding.Replacement {
			return charset{}, fmt.Errorf("%w: input.encoding %q is not a known charset name (try windows-1251, koi8-r, cp866, utf-16le, utf-8)", ErrEncoding, configured)
		}
		name, _ := htmlindex.Name(enc)
		if name == "utf-8" {
			return charset{name: name}, nil
		}
		return charset{name: name, decoder: enc.NewDecoder()}, nil
	}
	if order, ok := utf16NoBOM(head); ok {
		name := "utf-16le (no BOM)"
		if order == xunicode.BigEndian {
			name = "utf-16be (no BOM)"
		}
		return charset{name: name, decoder: xunicode.UTF16(order, xunicode.IgnoreBOM).NewDecoder()}, nil
	}
	check := head
	if !eof {
		check = trimPartialRune(head)
	}
	bad := firstInvalidUTF8(check)
	if bad < 0 {
		return charset{name: "utf-8"}, nil
	}
	guess := guessCharset(head)
	line := 1 + bytes.Count(head[:bad], []byte{'\n'})
	start := bytes.LastIndexByte(head[:bad], '\n') + 1
	end := bytes.IndexAny(head[bad:], "\r\n")
	if end < 0 {
		end = len(head)
	} else {
		end += bad
	}
	sample, _ := guess.NewDecoder().Bytes(head[start:end])
	name, _ := htmlindex.Name(guess)
	return charset{}, fmt.Errorf("%w: the file is not UTF-8 (byte 0x%02x on line %d) and has no byte order mark; "+
		"set input.encoding in the config, probably %q (line %d would read %s)",
		ErrEncoding, head[bad], line, name, line, clip(sample))
}

// trimPartialRune drops a multi-byte sequence cut by the end of the head.
func trimPartialRune(b []byte) []byte {
	for i := 1; i < utf8.UTFMax && i <= len(b); i++ {
		c := b[len(b)-i]
		if c < utf8.RuneSelf {
			return b
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			return b
		}
	}
	return b
}

// firstInvalidUTF8 is the index of the first byte that is not valid UTF-8,
// or -1.
func firstInvalidUTF8(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// utf16NoBOM reports UTF-16 text without a byte order mark: delimiters, digits
// and line ends put NULs in every other byte, and text in any 8-bit charset
// has (almost) none.
func utf16NoBOM(head []byte) (xunicode.Endianness, bool) {
	var even, odd int
	pairs := len(head) / 2
	for i := 0; i+1 < len(head); i += 2 {
		if head[i] == 0 {
			even++
		}
		if head[i+1] == 0 {
			odd++
		}
	}
	switch {
	case pairs == 0:
		return xunicode.LittleEndian, false
	case odd >= 2 && odd*8 >= pairs && even*8 < odd:
		return xunicode.LittleEndian, true
	case even >= 2 && even*8 >= pairs && odd*8 < even:
		return xunicode.BigEndian, true
	}
	return xunicode.LittleEndian, false
}

// guessCharset names the likeliest 8-bit charset of text that is not UTF-8.
// Cyrillic words are runs of high bytes, so when most high bytes have a high
// neighbour the Cyrillic charset that decodes them to the most lower-case
// letters wins (Russian text is mostly lower case, and each charset puts the
// lower-case block elsewhere); isolated high bytes are Western accents.
func guessCharset(head []byte) encoding.Encoding {
	var high, paired int
	for i, c := range head {
		if c < 0x80 {
			continue
		}
		high++
		if (i > 0 && head[i-1] >= 0x80) || (i+1 < len(head) && head[i+1] >= 0x80) {
			paired++
		}
	}
	if paired*2 < high {
		return charmap.Windows1252
	}
	best, bestScore := encoding.Encoding(charmap.Windows1251), -1
	for _, cm := range []*charmap.Charmap{charmap.Windows1251, charmap.KOI8R, charmap.CodePage866} {
		score := 0
		for _, c := range head {
			if c < 0x80 {
				continue
			}
			r := cm.DecodeByte(c)
			switch {
			case unicode.Is(unicode.Cyrillic, r) && unicode.IsLower(r):
				score += 2
			case unicode.Is(unicode.Cyrillic, r):
				score++
			}
		}
		if score > bestScore {
			best, bestScore = cm, score
		}
	}
	return best
}
