package phone

import (
	"strconv"

	"github.com/nyaruka/phonenumbers"
)

// Normalize returns the E.164 form of s ("+79161234567") and true when the
// library parses s for the default region (an ISO 3166 code such as "RU",
// upper case as the library wants it) into a valid number; "", false
// otherwise. The result is exactly that of Library.
func Normalize(s, region string) (e164 string, ok bool) {
	if e164, res := tryFast(s, region); res != fallback {
		return e164, res == parsed
	}
	return Library(s, region)
}

// tryFast answers for a clean input, or a clean number with an extension,
// in a supported region; or says fallback.
func tryFast(s, region string) (string, result) {
	d, plus, clean := digits(s)
	if !clean && len(s) <= phonenumbers.MAX_INPUT_STRING_LENGTH {
		if number, ok := splitExtension(s); ok {
			d, plus, clean = digits(number)
		}
	}
	if !clean {
		return "", fallback
	}
	m := theStore().regions[region]
	if m == nil {
		return "", fallback
	}
	c := m.get()
	if c == nil {
		return "", fallback
	}
	return fast(c, d, plus)
}

// Library is the reference: the library's Parse, IsValidNumber and E.164
// Format. Normalize falls back on it for every input its fast path does not
// cover; tests and benchmarks compare against it.
func Library(s, region string) (string, bool) {
	n, err := phonenumbers.Parse(s, region)
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", false
	}
	return phonenumbers.Format(n, phonenumbers.E164), true
}

// maxDigits bounds the digits the fast path collects. A longer digit run
// cannot leave a national number of at most 17 digits after a country code
// and national prefix; it goes to the library, which rejects it.
const maxDigits = 40

// digits reports whether s is clean (see the package doc): optional
// separators, an optional '+', then digits and separators only, with at
// least three digits and at most maxDigits, and s no longer than the
// library's input limit. It returns the digits, a substring of s when
// they are contiguous there, and whether the '+' was there.
func digits(s string) (d string, plus, clean bool) {
	if len(s) > phonenumbers.MAX_INPUT_STRING_LENGTH {
		return "", false, false
	}
	i := 0
	for i < len(s) { // leading separators: extractPossibleNumber drops them
		w := sepWidth(s, i)
		if w == 0 {
			break
		}
		i += w
	}
	if i < len(s) && s[i] == '+' {
		plus = true
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == len(s) { // the usual E.164 or bare national cell: no copy
		d = s[start:]
		return d, plus, len(d) >= 3 && len(d) <= maxDigits
	}
	var buf [maxDigits]byte
	n := copy(buf[:], s[start:i])
	for i < len(s) {
		if c := s[i]; c >= '0' && c <= '9' {
			if n == maxDigits {
				return "", false, false
			}
			buf[n] = c
			n++
			i++
			continue
		}
		w := sepWidth(s, i)
		if w == 0 {
			return "", false, false
		}
		i += w
	}
	if n < 3 {
		return "", false, false
	}
	return string(buf[:n]), plus, true
}

// sepWidth is the byte width of the separator at s[i], or 0 when there is
// none. All of them are the library's valid punctuation; none can be part
// of an extension without a letter, '#', ',', ';' or '~' beside it.
func sepWidth(s string, i int) int {
	switch s[i] {
	case ' ', '-', '(', ')', '.', '/':
		return 1
	case 0xC2: // U+00A0 no-break space, common in spreadsheet exports
		if i+1 < len(s) && s[i+1] == 0xA0 {
			return 2
		}
	}
	return 0
}

// result is what the fast path concluded.
type result uint8

const (
	parsed   result = iota // valid; the E.164 string is set
	invalid                // the library rejects the input
	fallback               // an edge the fast path does not replicate: ask the library
)

// fast parses and validates the digits d of a clean input for the default
// region c, following the library's parseHelper for such input (see
// parse.go) and then IsValidNumber.
func fast(c *compiled, d string, plus bool) (string, result) {
	cc, nsn, res := parse(c, d, plus)
	if res != parsed {
		return "", res
	}
	ok, res := valid(cc, nsn)
	if res != parsed {
		return "", res
	}
	if !ok {
		return "", invalid
	}
	var out [1 + 3 + 17]byte
	b := append(out[:0], '+')
	b = strconv.AppendInt(b, int64(cc), 10)
	b = append(b, nsn...)
	return string(b), parsed
}
