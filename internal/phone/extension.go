package phone

import "strings"

// splitExtension returns the number part of s when s is a clean number
// followed by an extension in one of the usual shapes:
//
//	8 (495) 123-45-67 доб. 123
//	+7 495 1234567, ext: 12#
//	(650) 253-0000 x302
//
// that is: separators [ \u00A0\t,], a label (доб, ext, extn, x, in any
// case), an optional '.' or ':', separators [ \u00A0\t,-], one to 20
// digits (9 after x), an optional '#', the end. The library then strips
// the extension and parses what precedes it, and the E.164 form and
// validity do not depend on the extension. Why it strips exactly there:
// the library looks for the leftmost match of its extension pattern
// anchored at the end; each alternative of that pattern starts with
// [ \u00A0\t,]* and then a label, ';', ',' or, for " - 503#", digits
// followed by '#' at the end. The number part has none of those, so no
// match starts inside it, and the pattern matches from the start of the
// separator run before the label, so the leftmost match starts there. The
// library also requires the part before it to be a viable number, which a
// clean part with three digits is, and cuts a number at "/x" or "\x"
// (a second number), which is why an x right after '/' is not taken.
func splitExtension(s string) (number string, ok bool) {
	i := len(s)
	if i > 0 && s[i-1] == '#' {
		i--
	}
	j := i
	for j > 0 && s[j-1] >= '0' && s[j-1] <= '9' {
		j--
	}
	nd := i - j
	if nd == 0 {
		return "", false
	}
	k := trimLeftRun(s[:j], true)
	if k > 0 && (s[k-1] == '.' || s[k-1] == ':') {
		k--
	}
	q, maxDigits := -1, 0
	for _, l := range extLabels {
		if n := len(l.text); k >= n && strings.EqualFold(s[k-n:k], l.text) {
			q, maxDigits = k-n, l.maxDigits
			break
		}
	}
	if q < 0 || nd > maxDigits {
		return "", false
	}
	if maxDigits == 9 && q > 0 && (s[q-1] == '/' || s[q-1] == '\\') {
		return "", false
	}
	return s[:trimLeftRun(s[:q], false)], true
}

// extLabels are the labels splitExtension takes, longest first, with the
// most digits the library's pattern allows after each.
var extLabels = []struct {
	text      string
	maxDigits int
}{{"доб", 20}, {"extn", 20}, {"ext", 20}, {"x", 9}}

// trimLeftRun returns where the run of separators that ends s begins:
// space, no-break space, tab, comma, and dash when dash is set.
func trimLeftRun(s string, dash bool) int {
	k := len(s)
	for k > 0 {
		switch {
		case s[k-1] == ' ' || s[k-1] == '\t' || s[k-1] == ',' || (dash && s[k-1] == '-'):
			k--
		case k >= 2 && s[k-2:k] == "\u00a0":
			k -= 2
		default:
			return k
		}
	}
	return k
}
