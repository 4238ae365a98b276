package phone

import (
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// maxCountryCode bounds the country calling codes: at most three digits.
const maxCountryCode = 999

// store is the library's metadata indexed for the fast path: regions by
// code, country codes by number. Built once, read-only afterwards.
type store struct {
	regions map[string]*meta // supported regions only, as the library's getMetadataForRegion
	codes   [maxCountryCode + 1]*code
}

// code is one country calling code: the regions that share it, in the
// library's order (the first is the main region), or the metadata of a
// non-geographical entity (+800, +882, ...).
type code struct {
	regionCodes []string
	regions     []*meta // parallel to regionCodes; nil for a code without metadata
	nonGeo      *meta   // set when regionCodes is ["001"]
	broken      bool    // a shared code with a region lacking metadata: leave it to the library
}

// main is the metadata the library parses a number of this code with: its
// getMetadataForRegionOrCallingCode(cc, GetRegionCodeForCountryCode(cc)).
func (c *code) main() *meta {
	if c == nil || len(c.regionCodes) == 0 {
		return nil
	}
	if c.regionCodes[0] == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY {
		return c.nonGeo
	}
	return c.regions[0]
}

// meta is one PhoneMetadata with its patterns compiled on first use.
type meta struct {
	src  *phonenumbers.PhoneMetadata
	once sync.Once
	c    *compiled // nil when a pattern does not compile: the library path decides
}

// compiled holds, for one region, every pattern the parse and validation
// steps use, compiled from the same strings the library builds.
type compiled struct {
	cc    int
	ccStr string

	general desc
	// types are the descriptions getNumberTypeHelper tries after the
	// general one; a number is valid when one of them matches. Fixed line
	// and mobile come first: they are the usual hit.
	fixed, mobile  desc
	others         [8]desc // premium, toll free, shared cost, voip, personal, pager, UAN, voicemail
	sameMobileFix  bool
	leadingDigits  *regexp.Regexp // nil when the metadata has none
	idd            prefixRe       // the international prefix
	nationalPrefix prefixRe       // national prefix for parsing; re is nil when none
	transform      string         // national prefix transform rule

	possible []int32 // general possible lengths, never empty (see compile)
	local    []int32 // general local-only lengths
}

// desc is one PhoneNumberDesc: its possible lengths and the anchored
// national number pattern.
type desc struct {
	lengths []int32
	re      *regexp.Regexp
}

// match is the library's isNumberMatchingDesc with one pattern match
// instead of two: the length filter, then the pattern.
func (d *desc) match(nsn string) bool {
	if len(d.lengths) > 0 && !hasLength(d.lengths, len(nsn)) {
		return false
	}
	return d.re.MatchString(nsn)
}

func hasLength(ls []int32, n int) bool {
	for _, l := range ls {
		if int(l) == n {
			return true
		}
	}
	return false
}

var theStore = sync.OnceValue(buildStore)

// buildStore indexes the library's metadata through its public API. The
// collection MetadataCollection returns is the one the library itself
// loaded at init, so the patterns are the library's, not a copy of them.
func buildStore() *store {
	s := &store{regions: make(map[string]*meta)}
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		// Without metadata the library cannot parse either; every input
		// takes its path and gets its answer.
		return s
	}
	supported := phonenumbers.GetSupportedRegions()
	nonGeo := make(map[int]*meta)
	for _, m := range coll.GetMetadata() {
		if m.GetId() == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY {
			nonGeo[int(m.GetCountryCode())] = &meta{src: m}
		} else if supported[m.GetId()] {
			s.regions[m.GetId()] = &meta{src: m}
		}
	}
	for cc := range phonenumbers.GetSupportedCallingCodes() {
		if cc <= 0 || cc > maxCountryCode {
			continue
		}
		rcs := phonenumbers.GetRegionCodesForCountryCode(cc)
		c := &code{regionCodes: rcs, regions: make([]*meta, len(rcs))}
		for i, rc := range rcs {
			c.regions[i] = s.regions[rc]
			if c.regions[i] == nil && len(rcs) > 1 {
				c.broken = true
			}
		}
		if len(rcs) == 1 && rcs[0] == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY {
			c.nonGeo = nonGeo[cc]
		}
		s.codes[cc] = c
	}
	return s
}

// get returns the compiled patterns, compiling them on first use; nil when
// the fast path must not handle this region.
func (m *meta) get() *compiled {
	if m == nil {
		return nil
	}
	m.once.Do(func() { m.c = compile(m.src) })
	return m.c
}

// compile builds the patterns exactly as the library's regexFor would
// ("^(?:" + pattern + ")$" for descriptions, "^(?:" + pattern + ")" for
// prefixes). A pattern that does not compile, or a general description
// without possible lengths (where the library would index an empty slice),
// returns nil and leaves the region to the library.
func compile(m *phonenumbers.PhoneMetadata) *compiled {
	c := &compiled{
		cc:            int(m.GetCountryCode()),
		ccStr:         strconv.Itoa(int(m.GetCountryCode())),
		sameMobileFix: m.GetSameMobileAndFixedLinePattern(),
		transform:     m.GetNationalPrefixTransformRule(),
	}
	gd := m.GetGeneralDesc()
	if gd == nil || len(gd.PossibleLength) == 0 {
		return nil
	}
	c.possible, c.local = gd.PossibleLength, gd.PossibleLengthLocalOnly
	ok := true
	mk := func(pattern string) *regexp.Regexp {
		re, err := regexp.Compile(pattern)
		if err != nil {
			ok = false
		}
		return re
	}
	mkDesc := func(d *phonenumbers.PhoneNumberDesc) desc {
		if d == nil { // the library would dereference nil here
			ok = false
			return desc{}
		}
		return desc{lengths: d.PossibleLength, re: mk("^(?:" + d.GetNationalNumberPattern() + ")$")}
	}
	c.general = mkDesc(gd)
	c.fixed, c.mobile = mkDesc(m.GetFixedLine()), mkDesc(m.GetMobile())
	for i, d := range []*phonenumbers.PhoneNumberDesc{m.GetPremiumRate(), m.GetTollFree(), m.GetSharedCost(),
		m.GetVoip(), m.GetPersonalNumber(), m.GetPager(), m.GetUan(), m.GetVoicemail()} {
		c.others[i] = mkDesc(d)
	}
	if ld := m.GetLeadingDigits(); ld != "" {
		c.leadingDigits = mk("^(?:" + ld + ")")
	}
	c.idd = mkPrefix(m.GetInternationalPrefix(), mk)
	if np := m.GetNationalPrefixForParsing(); np != "" {
		c.nationalPrefix = mkPrefix(np, mk)
	}
	if !ok {
		return nil
	}
	return c
}

// prefixRe is a pattern matched at the start of a number.
type prefixRe struct {
	re      *regexp.Regexp // "^(?:" + pattern + ")"
	literal bool           // the pattern is a plain string of digits: lit
	lit     string
}

// mkPrefix compiles pattern anchored at the start. When the pattern is a
// plain literal ("8", "810", "00", as for most regions), prefix compares
// strings instead of running the pattern: a literal matches at the start
// exactly when the number starts with it, and the match is the literal.
func mkPrefix(pattern string, mk func(string) *regexp.Regexp) prefixRe {
	p := prefixRe{re: mk("^(?:" + pattern + ")")}
	if re, err := regexp.Compile(pattern); err == nil {
		lit, complete := re.LiteralPrefix()
		p.literal, p.lit = complete && lit != "", lit
	}
	return p
}

// prefix reports whether the pattern matches at the start of s, and where
// the match ends. The library finds the leftmost match of the bare pattern
// and keeps it only when it starts at 0; the leftmost match starting at 0
// is the anchored pattern's match.
func (p *prefixRe) prefix(s string) (end int, ok bool) {
	if p.literal {
		return len(p.lit), strings.HasPrefix(s, p.lit)
	}
	loc := p.re.FindStringIndex(s)
	if loc == nil {
		return 0, false
	}
	return loc[1], true
}

// validType is getNumberTypeHelper(nsn) != UNKNOWN: the general pattern,
// then any one type. The order of the types does not change the answer,
// every check being a pure match.
func (c *compiled) validType(nsn string) bool {
	if !c.general.match(nsn) {
		return false
	}
	if c.fixed.match(nsn) || (!c.sameMobileFix && c.mobile.match(nsn)) {
		return true
	}
	for i := range c.others {
		if c.others[i].match(nsn) {
			return true
		}
	}
	return false
}

// lengthResult is testNumberLength(number, metadata, UNKNOWN): it depends on
// the length alone.
func (c *compiled) lengthResult(n int) phonenumbers.ValidationResult {
	pl := c.possible
	if pl[0] == -1 {
		return phonenumbers.INVALID_LENGTH
	}
	if hasLength(c.local, n) {
		return phonenumbers.IS_POSSIBLE_LOCAL_ONLY
	}
	switch {
	case int(pl[0]) == n:
		return phonenumbers.IS_POSSIBLE
	case int(pl[0]) > n:
		return phonenumbers.TOO_SHORT
	case int(pl[len(pl)-1]) < n:
		return phonenumbers.TOO_LONG
	}
	if hasLength(pl[1:], n) {
		return phonenumbers.IS_POSSIBLE
	}
	return phonenumbers.INVALID_LENGTH
}
