package phone

import "github.com/nyaruka/phonenumbers"

// valid is IsValidNumber for a number of country code cc and national
// significant number nsn: find the region of the number among those
// sharing the code (by leading digits, or else by a full type check), then
// check the number's type against that region. res is fallback when the
// metadata has a hole the library would trip over.
func valid(cc int, nsn string) (ok bool, res result) {
	code := theStore().codes[cc]
	if code == nil || len(code.regionCodes) == 0 {
		return false, parsed // no region: IsValidNumberForRegion(n, "") is false
	}
	if len(code.regionCodes) == 1 {
		var m *meta
		if code.regionCodes[0] == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY {
			m = code.nonGeo
		} else {
			m = code.regions[0]
		}
		if m == nil {
			return false, parsed // no metadata: not valid
		}
		c := m.get()
		if c == nil {
			return false, fallback
		}
		if code.regionCodes[0] != phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY && c.cc != cc {
			return false, parsed
		}
		return c.validType(nsn), parsed
	}
	if code.broken {
		return false, fallback
	}
	// getRegionCodeForNumberFromRegionList, then IsValidNumberForRegion
	// with the region found.
	for _, m := range code.regions {
		c := m.get()
		if c == nil {
			return false, fallback
		}
		if c.leadingDigits != nil {
			if c.leadingDigits.MatchString(nsn) {
				return c.cc == cc && c.validType(nsn), parsed
			}
		} else if c.validType(nsn) {
			// The region check just passed is the validity check itself.
			return c.cc == cc, parsed
		}
	}
	return false, parsed
}
