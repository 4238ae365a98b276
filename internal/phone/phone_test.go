package phone

import (
	"fmt"
	"sync"
	"testing"
)

// The cases read as the specification of Normalize: what a cell becomes,
// and whether the fast path answers it or hands it to the library. Every
// expectation is also checked against the library itself.
var normalizeCases = []struct {
	name, in, region string
	want             string // "" = not a valid number
	fast             bool   // answered without the library
}{
	{"E.164", "+79161234567", "RU", "+79161234567", true},
	{"E.164 with spaces and dashes", "+7 916 123-45-67", "RU", "+79161234567", true},
	{"national with trunk 8 and parentheses", "8 (916) 123-45-67", "RU", "+79161234567", true},
	{"national with trunk 8, bare", "89161234567", "RU", "+79161234567", true},
	{"country code without '+'", "7 916 123 45 67", "RU", "+79161234567", true},
	{"national without trunk prefix", "916 123 45 67", "RU", "+79161234567", true},
	{"no-break spaces", "8\u00a0916\u00a0123\u00a045\u00a067", "RU", "+79161234567", true},
	{"dots", "8.916.123.45.67", "RU", "+79161234567", true},
	{"slashes", "8/916/1234567", "RU", "+79161234567", true},
	{"leading separators", " (916) 123-45-67", "RU", "+79161234567", true},
	{"'+' then a trunk 8 is no country code", "+8 916 123-45-67", "RU", "", true},
	{"Russian IDD 810", "810 49 30 1234567", "RU", "+49301234567", true},
	{"IDD 00 after a '+'", "+0049 30 1234567", "DE", "+49301234567", true},
	{"German national with trunk 0", "030 1234567", "DE", "+49301234567", true},
	{"foreign E.164 in a Russian file", "+1 650 253 0000", "RU", "+16502530000", true},
	{"US national with trunk 1", "1 (650) 253-0000", "US", "+16502530000", true},
	{"US IDD 011", "011 44 20 7946 0018", "US", "+442079460018", true},
	{"Kazakh mobile with trunk 8", "8 771 000 9998", "KZ", "+77710009998", true},
	{"Moscow number from a Kazakh file: +7 is shared", "8 (495) 123-45-67", "KZ", "+74951234567", true},
	{"Kazakh number from a Russian file", "+7 771 000 9998", "RU", "+77710009998", true},
	{"Italian leading zero kept", "02 1234 5678", "IT", "+390212345678", true},
	{"Brazilian carrier code removed by the transform rule", "0 15 11 96123-4567", "BR", "+5511961234567", true},
	{"Brazilian area code in parentheses", "(11) 96123-4567", "BR", "+5511961234567", true},
	{"British mobile", "07400 123456", "GB", "+447400123456", true},
	{"Ukrainian mobile", "+380 50 123 4567", "UA", "+380501234567", true},
	{"Belarusian trunk 8 0", "8 029 123-45-67", "BY", "+375291234567", true},
	{"French mobile", "0612345678", "FR", "+33612345678", true},
	{"Indian mobile", "98765 43210", "IN", "+919876543210", true},
	{"Chinese mobile", "138 0013 8000", "CN", "+8613800138000", true},
	{"non-geographic +800", "+800 1234 5678", "RU", "+80012345678", true},

	{"a digit short", "+7916123456", "RU", "", true},
	{"a digit too many", "8 916 123 45 67 8", "RU", "", true},
	{"no such area code", "8 (016) 123-45-67", "RU", "", true},

	{"empty", "", "RU", "", false},
	{"two digits", "12", "RU", "", false},
	{"words", "abc", "RU", "", false},
	{"extension доб. dropped", "8 (916) 123-45-67 доб. 12", "RU", "+79161234567", true},
	{"extension ext: with '#' dropped", "+7 495 1234567, Ext: 12#", "RU", "+74951234567", true},
	{"extension x dropped", "(650) 253-0000 x302", "US", "+16502530000", true},
	{"invalid number with an extension", "8 (016) 123-45-67 доб. 12", "RU", "", true},
	{"x with ten digits is no extension (library path)", "(650) 253-0000 x1234567890", "US", "", false},
	{"second number after /x (library path)", "(650) 253-0000/x302", "US", "+16502530000", false},
	{"label without digits is no extension (library path)", "8 (916) 123-45-67 доб.", "RU", "", false},
	{"trailing x (library path)", "+7 916 123-45-67x", "RU", "+79161234567", false},
	{"letters inside", "+7 916 ABC", "RU", "", false},
	{"two '+' signs", "++79161234567", "RU", "+79161234567", false},
	{"tel: URI", "tel:+7-916-123-45-67", "RU", "+79161234567", false},
	{"full-width digits", "８９１６１２３４５６７", "RU", "+79161234567", false},
	{"lower-case region", "+79161234567", "ru", "+79161234567", false},
	{"lower-case region, national form", "89161234567", "ru", "", false},
	{"no region, E.164", "+79161234567", "", "+79161234567", false},
}

func TestNormalize(t *testing.T) {
	for _, tc := range normalizeCases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Normalize(tc.in, tc.region)
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("Normalize(%q, %q) = %q, %v; want %q, %v", tc.in, tc.region, got, ok, tc.want, tc.want != "")
			}
			if lib, libOK := Library(tc.in, tc.region); lib != got || libOK != ok {
				t.Errorf("library: %q, %v; Normalize: %q, %v", lib, libOK, got, ok)
			}
			if _, res := tryFast(tc.in, tc.region); (res != fallback) != tc.fast {
				t.Errorf("answered by the fast path: %v, want %v", res != fallback, tc.fast)
			}
		})
	}
}

// TestNormalizeConcurrent runs first uses of many regions at once: their
// patterns compile lazily, once, under -race.
func TestNormalizeConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Go(func() {
			for i, r := range diffRegions {
				in := fmt.Sprintf("+7 916 123-45-%02d", (g+i)%100)
				got, ok := Normalize(in, r)
				if want, wok := Library(in, r); got != want || ok != wok {
					errs <- fmt.Sprintf("Normalize(%q, %q) = %q, %v; library %q, %v", in, r, got, ok, want, wok)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
