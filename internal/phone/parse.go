package phone

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// The library's bounds on a national significant number.
const (
	minNSN = phonenumbers.MIN_LENGTH_FOR_NSN
	maxNSN = phonenumbers.MAX_LENGTH_FOR_NSN
)

// parse is the library's parseHelper for a clean input whose digits are d
// (at least three, ASCII) with or without a leading '+', in the supported
// default region def. On such input the library's text passes have fixed
// outcomes (see the package doc): what is left, transcribed here step by
// step, is where the country code comes from and which national prefix is
// stripped. It returns the country code and the national significant
// number (the national number with its Italian leading zeros, which for a
// string of ASCII digits is the string itself).
func parse(def *compiled, d string, plus bool) (cc int, nsn string, res result) {
	var national string
	c := def // the metadata to parse the national number with
	if plus {
		// maybeStripInternationalPrefixAndNormalize took the '+'.
		cc, national = countryCode(d)
	}
	if !plus || cc == 0 {
		// Without a '+', or when the digits after it start with no known
		// code ("+8 916 ...", "+00 49 ..."): the library reads them again
		// as if the '+' were not there, except that finding no code at
		// all is then an error rather than a national number.
		retry := plus
		if end, ok := idd(def, d); ok {
			full := d[end:]
			if len(full) <= minNSN {
				return 0, "", invalid // ErrTooShortAfterIDD
			}
			if cc, national = countryCode(full); cc == 0 {
				return 0, "", invalid // ErrInvalidCountryCode, nothing left to retry
			}
		} else {
			cc, national = defaultCountryCode(def, d)
			if cc == 0 && retry {
				return 0, "", invalid // ErrInvalidCountryCode
			}
		}
	}
	if cc != 0 {
		// A code found in the number: parse with its main region's
		// metadata, which for a shared code need not be the default
		// region's (a KZ default reading "+7 ..." parses with RU's).
		if c = theStore().codes[cc].main().get(); c == nil {
			return 0, "", fallback
		}
	} else {
		// None: the whole number is national, the code the default's.
		cc, national = def.cc, d
	}
	if len(national) < minNSN {
		return 0, "", invalid // ErrTooShortNSN
	}
	potential := stripNationalPrefix(c, national)
	switch c.lengthResult(len(potential)) {
	case phonenumbers.TOO_SHORT, phonenumbers.IS_POSSIBLE_LOCAL_ONLY, phonenumbers.INVALID_LENGTH:
	default:
		national = potential
	}
	if len(national) < minNSN || len(national) > maxNSN {
		return 0, "", invalid // ErrTooShortNSN, ErrNumTooLong
	}
	return cc, national, parsed
}

// idd is parsePrefixAsIdd: the region's international prefix at the start
// of d, not followed by a 0 (country codes never start with one). It
// returns where the number after the prefix starts.
func idd(c *compiled, d string) (int, bool) {
	end, ok := c.idd.prefix(d)
	if !ok {
		return 0, false
	}
	if end < len(d) && d[end] == '0' {
		return 0, false
	}
	return end, true
}

// countryCode is extractCountryCode: the shortest prefix of one to three
// digits that is a known calling code, and the digits after it; 0 when
// there is none (or full starts with 0).
func countryCode(full string) (int, string) {
	if len(full) == 0 || full[0] == '0' {
		return 0, ""
	}
	cc := 0
	for i := 0; i < 3 && i < len(full); i++ {
		cc = cc*10 + int(full[i]-'0')
		if theStore().codes[cc] != nil {
			return cc, full[i+1:]
		}
	}
	return 0, ""
}

// defaultCountryCode is the no-prefix branch of maybeExtractCountryCode: a
// number that starts with the default region's code ("7 916 ...") has it
// removed when the rest, national prefix stripped, fits the region's
// general pattern and the whole does not, or when the whole is too long.
func defaultCountryCode(def *compiled, d string) (int, string) {
	if !strings.HasPrefix(d, def.ccStr) {
		return 0, ""
	}
	potential := stripNationalPrefix(def, d[len(def.ccStr):])
	fullValid := def.general.re.MatchString(d)
	nationalValid := def.general.re.MatchString(potential)
	if (!fullValid && nationalValid) || def.lengthResult(len(d)) == phonenumbers.TOO_LONG {
		return def.cc, potential
	}
	return 0, ""
}

// stripNationalPrefix is maybeStripNationalPrefixAndCarrierCode (the
// carrier code is not needed): the region's national prefix for parsing
// at the start of number is removed, or replaced by the transform rule,
// unless that turns a number fitting the general pattern into one that
// does not. It returns number itself when nothing is stripped; it never
// writes into number.
func stripNationalPrefix(c *compiled, number string) string {
	if len(number) == 0 || c.nationalPrefix.re == nil {
		return number
	}
	if c.nationalPrefix.literal && len(c.transform) == 0 {
		// A fixed prefix ("8", "0") and no transform rule: the match is
		// the prefix, and there are no groups.
		end, ok := c.nationalPrefix.prefix(number)
		if !ok {
			return number
		}
		if c.general.re.MatchString(number) && !c.general.re.MatchString(number[end:]) {
			return number
		}
		return number[end:]
	}
	groups := c.nationalPrefix.re.FindStringSubmatchIndex(number)
	if groups == nil {
		return number
	}
	viableOriginal := c.general.re.MatchString(number)
	numGroups := len(groups)/2 - 1
	if len(c.transform) == 0 || groups[numGroups*2] < 0 {
		if viableOriginal && !c.general.re.MatchString(number[groups[1]:]) {
			return number
		}
		return number[groups[1]:]
	}
	transformed := c.nationalPrefix.re.ReplaceAllString(number, c.transform)
	if viableOriginal && !c.general.re.MatchString(transformed) {
		return number
	}
	return transformed
}
