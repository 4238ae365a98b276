package phone

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// diffRegions are the default regions the differential test parses with:
// the ones the brief names first, then others with their own quirks
// (shared codes, transform rules, leading digits, no national prefix).
var diffRegions = []string{
	"RU", "US", "GB", "DE", "FR", "KZ", "BY", "UA", "IT", "BR", "IN", "CN",
	"CA", "AR", "MX", "JP", "AU", "NL", "PL", "ES", "TR", "UZ", "IL", "SG", "AE", "JE", "VA", "CO",
}

// example is a real number of a region (from the library's example
// numbers), split into its country code and national significant number.
type example struct {
	cc  int
	nsn string
}

// genData is what the generator draws from, per region.
type genData struct {
	examples map[string][]example
	all      []example // every region's, for numbers foreign to the default region
	ndd      map[string]string
	idd      map[string]string
}

var theGenData = sync.OnceValue(func() *genData {
	g := &genData{examples: map[string][]example{}, ndd: map[string]string{}, idd: map[string]string{}}
	types := []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE,
		phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST, phonenumbers.VOIP, phonenumbers.PERSONAL_NUMBER,
		phonenumbers.PAGER, phonenumbers.UAN, phonenumbers.VOICEMAIL}
	for _, r := range diffRegions {
		for _, t := range types {
			if n := phonenumbers.GetExampleNumberForType(r, t); n != nil {
				e := example{int(n.GetCountryCode()), phonenumbers.GetNationalSignificantNumber(n)}
				g.examples[r] = append(g.examples[r], e)
				g.all = append(g.all, e)
			}
		}
		g.ndd[r] = phonenumbers.GetNddPrefixForRegion(r, true)
		if m := theStore().regions[r]; m != nil {
			g.idd[r] = m.src.GetPreferredInternationalPrefix()
			if g.idd[r] == "" {
				g.idd[r] = m.src.GetInternationalPrefix()
			}
		}
	}
	for _, cc := range []int{800, 808, 870, 878, 881, 882, 883, 888, 979} {
		if n := phonenumbers.GetExampleNumberForNonGeoEntity(cc); n != nil {
			g.all = append(g.all, example{cc, phonenumbers.GetNationalSignificantNumber(n)})
		}
	}
	return g
})

// gen builds one input for default region r: an example number, often
// mutated (digits changed, added, dropped), written in one of the forms
// people type (E.164, national with trunk prefix, IDD, code without '+'),
// grouped with separators, sometimes with junk, letters, extensions,
// other scripts, or nothing like a number at all.
func gen(rng *rand.Rand, r string) string {
	g := theGenData()
	switch rng.IntN(40) {
	case 0:
		return randomText(rng, 0)
	case 1:
		return randomText(rng, 1)
	case 2:
		return strings.Repeat(strconv.Itoa(rng.IntN(10)), rng.IntN(300))
	case 3:
		return ""
	}
	ex := pick(rng, g.examples[r])
	if len(g.examples[r]) == 0 || rng.IntN(5) == 0 {
		ex = pick(rng, g.all)
	}
	nsn := mutate(rng, ex.nsn)
	cc := strconv.Itoa(ex.cc)
	var s string
	switch rng.IntN(14) {
	case 0, 1, 2:
		s = "+" + cc + group(rng, nsn)
	case 3, 4:
		s = g.ndd[r] + group(rng, nsn)
	case 5:
		s = group(rng, nsn)
	case 6:
		s = cc + group(rng, nsn)
	case 7:
		s = g.idd[r] + sep(rng) + cc + group(rng, nsn)
	case 8:
		s = pick(rng, []string{"00", "810", "011", "8~10", "0011", "001", "+00", "+810", "8 10"}) + sep(rng) + cc + group(rng, nsn)
	case 9:
		s = "+" + g.ndd[r] + group(rng, nsn) // a trunk prefix after '+'
	case 10:
		s = "+" + cc + g.ndd[r] + group(rng, nsn)
	case 11:
		s = "+0" + cc + group(rng, nsn)
	case 12:
		s = cc + g.ndd[r] + group(rng, nsn)
	case 13:
		s = mutate(rng, g.ndd[r]+cc+nsn)
	}
	if rng.IntN(4) == 0 {
		s = noise(rng, s)
	}
	return s
}

func pick[T any](rng *rand.Rand, xs []T) T {
	var zero T
	if len(xs) == 0 {
		return zero
	}
	return xs[rng.IntN(len(xs))]
}

// mutate changes a digit string the way typos and bad data do.
func mutate(rng *rand.Rand, d string) string {
	b := []byte(d)
	switch rng.IntN(10) {
	case 0, 1, 2, 3, 4: // as is
	case 5: // one or two digits changed
		for range 1 + rng.IntN(2) {
			if len(b) > 0 {
				b[rng.IntN(len(b))] = byte('0' + rng.IntN(10))
			}
		}
	case 6: // a digit too many
		i := rng.IntN(len(b) + 1)
		b = append(b[:i], append([]byte{byte('0' + rng.IntN(10))}, b[i:]...)...)
	case 7: // a digit too few
		if len(b) > 0 {
			i := rng.IntN(len(b))
			b = append(b[:i], b[i+1:]...)
		}
	case 8: // truncated or extended
		if n := rng.IntN(len(b) + 1); rng.IntN(2) == 0 {
			b = b[:n]
		} else {
			for range 1 + rng.IntN(6) {
				b = append(b, byte('0'+rng.IntN(10)))
			}
		}
	case 9: // random digits
		b = b[:0]
		for range 1 + rng.IntN(20) {
			b = append(b, byte('0'+rng.IntN(10)))
		}
	}
	return string(b)
}

var (
	cleanSeps  = []string{" ", " ", " ", "-", "-", "-", ".", "/", "\u00a0", "  ", " - ", "", "", "(", ")"}
	exoticSeps = []string{"\t", "\u2013", "\u3000", "_", "\u2060", "~", "[", "]", "x", "*"}
)

// sep is a separator between digit groups: one of the usual ones, now and
// then a rarer one.
func sep(rng *rand.Rand) string {
	if rng.IntN(25) == 0 {
		return pick(rng, exoticSeps)
	}
	return pick(rng, cleanSeps)
}

// group writes the digits in groups: "(916) 123-45-67", "916 123 45 67",
// "916.123.4567", or not at all.
func group(rng *rand.Rand, d string) string {
	if rng.IntN(4) == 0 {
		return pick(rng, []string{"", " "}) + d
	}
	var b strings.Builder
	b.WriteString(sep(rng))
	paren := rng.IntN(3) == 0
	for i := 0; i < len(d); {
		n := min(len(d)-i, 2+rng.IntN(3))
		if i == 0 && paren {
			b.WriteString("(" + d[i:i+n] + ")")
		} else {
			b.WriteString(d[i : i+n])
		}
		i += n
		if i < len(d) {
			b.WriteString(sep(rng))
		}
	}
	return b.String()
}

var (
	extensions = []string{" ext. 123", " x123", "x1", " доб. 12", " #", "#", ";ext=12", ",,12", ",12", " - 503#", " ext 1234567",
		" ext", ";isub=12", ";phone-context=+7", ";phone-context=example.com", " int 12", " ～12", " anexo 3",
		" доб.123", " ДОБ 12", "доб12", ", доб. 1234", " Доб: 5#", " доб. 123456789012345678901", " доб.", " доб. ",
		" EXT: 12", " Ext.-12", " extn 12#", " extension 12", " xt 12", " x 1234567890", " X123456789", " x 12#", "/x12", "/ x12",
		"\\x12", " \t,ext 1", "\u00a0доб.\u00a012", " text 12", " ex 12", " x", " x-12", " x:12", " x.12 ", " x12 x13", " доб. 12 доб. 13"}
	prefixes = []string{"tel:", "Tel. ", "т. ", "(", "  ", "\t", "N/A ", "+", "++", "＋", "-", ".", "[", "a", "x", "tel:+7", "8", "0", "(+", "\u00a0"}
	suffixes = []string{".", ",", ";", " ", ")", "]]", "&&x]", "a", "abc", "/x12", "\\x2", "-", "+", "*", "#", "\u00a0", "\n", "1"}
)

// noise adds what real cells carry around a number.
func noise(rng *rand.Rand, s string) string {
	switch rng.IntN(10) {
	case 0, 8:
		return s + pick(rng, extensions)
	case 1:
		return pick(rng, prefixes) + s
	case 2:
		return s + pick(rng, suffixes)
	case 3: // letters: a typo or a vanity number
		i := rng.IntN(len(s) + 1)
		return s[:i] + pick(rng, []string{"A", "abc", "FLOWERS", "o", "O", "l", "x", "X", "Ж"}) + s[i:]
	case 4: // other scripts' digits and a full-width plus
		r := strings.NewReplacer("1", "١", "2", "２", "+", "＋", "3", "۳", "5", "५")
		return r.Replace(s)
	case 5:
		i := rng.IntN(len(s) + 1)
		return s[:i] + pick(rng, []string{"+", "*", "#", ",", ";", "~", "[", "]", "'", "\"", "_", "\u200b", "\u2010"}) + s[i:]
	case 6:
		return "tel:" + s + pick(rng, []string{";phone-context=+7", ";phone-context=+1-650", ";phone-context=", ""})
	case 7:
		return s + " " + s // two numbers in one cell
	}
	return strings.Repeat(" ", 1+rng.IntN(3)) + s + strings.Repeat(" ", rng.IntN(3))
}

// randomText is a string of random characters: mostly from the alphabet of
// phone numbers when kind is 0, any rune when 1.
func randomText(rng *rand.Rand, kind int) string {
	const alphabet = "0123456789 +-().//xX#*;,~[]extdoб\u00a0"
	rs := []rune(alphabet)
	var b strings.Builder
	for range rng.IntN(30) {
		if kind == 0 {
			b.WriteRune(rs[rng.IntN(len(rs))])
		} else {
			b.WriteRune(rune(rng.IntN(0x3100)))
		}
	}
	return b.String()
}

// diffStats counts what a differential run compared.
type diffStats struct {
	pairs, fast, valid int
	diffs              []string
}

// runDiff compares Normalize with Library over n generated inputs, each in
// its own region and in one other region, split over the CPUs.
func runDiff(n int, seed uint64) diffStats {
	workers := runtime.GOMAXPROCS(0)
	var mu sync.Mutex
	var total diffStats
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			var st diffStats
			for i := w; i < n; i += workers {
				r := diffRegions[i%len(diffRegions)]
				s := gen(rng, r)
				for _, region := range []string{r, pick(rng, diffRegions)} {
					st.pairs++
					got, ok := Normalize(s, region)
					want, wok := Library(s, region)
					if got != want || ok != wok {
						st.diffs = append(st.diffs, fmt.Sprintf("Normalize(%q, %q) = %q, %v; library: %q, %v", s, region, got, ok, want, wok))
					}
					if _, res := tryFast(s, region); res != fallback {
						st.fast++
					}
					if wok {
						st.valid++
					}
				}
			}
			mu.Lock()
			total.pairs += st.pairs
			total.fast += st.fast
			total.valid += st.valid
			total.diffs = append(total.diffs, st.diffs...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return total
}

// TestDifferential compares Normalize with the library on generated
// inputs: 2,000 by default (each in two regions), PHONE_DIFF_N for a long
// run (PHONE_DIFF_N=500000 go test -run Differential ./internal/phone),
// PHONE_DIFF_SEED for other inputs.
func TestDifferential(t *testing.T) {
	n, seed := 2000, uint64(1)
	if v := os.Getenv("PHONE_DIFF_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatalf("PHONE_DIFF_N=%q: %v", v, err)
		}
	}
	if v := os.Getenv("PHONE_DIFF_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("PHONE_DIFF_SEED=%q: %v", v, err)
		}
	}
	st := runDiff(n, seed)
	t.Logf("%d inputs, %d input/region pairs over %d regions: %d valid, %d answered by the fast path, %d differences",
		n, st.pairs, len(diffRegions), st.valid, st.fast, len(st.diffs))
	for i, d := range st.diffs {
		if i == 30 {
			t.Errorf("... and %d more", len(st.diffs)-i)
			break
		}
		t.Error(d)
	}
	// A test where the fast path answered nothing would compare the
	// library with itself.
	if st.fast < st.pairs/3 {
		t.Errorf("the fast path answered %d of %d pairs; the generator no longer exercises it", st.fast, st.pairs)
	}
	if st.valid < st.pairs/5 {
		t.Errorf("only %d of %d pairs are valid numbers; the generator no longer makes realistic numbers", st.valid, st.pairs)
	}
}

// TestDifferentialExtensions compares every extension shape of the
// generator after numbers that end in each kind of separator, exhaustively.
func TestDifferentialExtensions(t *testing.T) {
	numbers := []string{"+79161234567", "8 (916) 123-45-67", "8 (916) 123-45-67-", "(650) 253-0000", "650/253/0000/",
		"020 7946 0018.", "+49 30 123456)", "12", "8 (016) 123-45-67", "\u00a0+7 916 1234567\u00a0"}
	n := 0
	for _, num := range numbers {
		for _, ext := range extensions {
			for _, r := range []string{"RU", "US", "GB", "DE"} {
				s := num + ext
				n++
				got, ok := Normalize(s, r)
				if want, wok := Library(s, r); got != want || ok != wok {
					t.Errorf("Normalize(%q, %q) = %q, %v; library: %q, %v", s, r, got, ok, want, wok)
				}
			}
		}
	}
	t.Logf("%d inputs compared", n)
}
