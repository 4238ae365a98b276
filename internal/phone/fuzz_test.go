package phone

import "testing"

// fuzzRegions are the default regions a fuzz input is parsed with: the
// differential test's, plus regions the fast path must leave alone.
var fuzzRegions = append(append([]string{}, diffRegions...), "", "ZZ", "001", "ru", "XK")

// FuzzNormalize compares Normalize with the library on arbitrary strings.
func FuzzNormalize(f *testing.F) {
	for i, tc := range normalizeCases {
		f.Add(tc.in, uint8(i))
	}
	for i, s := range []string{
		"+7 (916) 123-45-67", "8-916-123-45-67", "+0 916", "+", "+++", "00", "810", "+810 49 30 123", "0 (0) 0",
		"+1 800 FLOWERS", "(650) 253-0000 x302/x2303", "+49 30 123456;ext=12", "tel:+7916;phone-context=+7",
		"8 916 123 45 67,,12", "8 916 123 45 67 #12", "&&x]", "\u00a0\u00a0+7 916 1234567\u00a0",
		"+79161234567890123456789", "9999999999999999999999999999999999999999999",
		"8 (495) 123-45-67 доб. 123", "+7 495 1234567, Ext: 12#", "(650) 253-0000 x302", "650/ x302", "8 916 1234567 ДОБ12",
	} {
		f.Add(s, uint8(i))
	}
	f.Fuzz(func(t *testing.T, s string, r uint8) {
		region := fuzzRegions[int(r)%len(fuzzRegions)]
		got, ok := Normalize(s, region)
		want, wok := Library(s, region)
		if got != want || ok != wok {
			t.Errorf("Normalize(%q, %q) = %q, %v; library: %q, %v", s, region, got, ok, want, wok)
		}
	})
}
