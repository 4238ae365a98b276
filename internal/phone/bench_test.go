package phone

import (
	"fmt"
	"testing"
)

// benchInputs are realistic cells of one kind, all distinct (the cost of a
// file with unique numbers; the mapping's cache takes care of repeats).
var benchInputs = map[string]func(i int) string{
	// E.164 as CRMs export it.
	"e164": func(i int) string { return fmt.Sprintf("+79%02d%07d", 10+i%80, i%10000000) },
	// The Russian national form with a trunk 8, as typed by hand.
	"national": func(i int) string {
		return fmt.Sprintf("8 (9%02d) %03d-%02d-%02d", 10+i%80, i/10000%1000, i/100%100, i%100)
	},
	// Invalid: a digit short, and a landline code that does not exist.
	"invalid": func(i int) string {
		if i%2 == 0 {
			return fmt.Sprintf("+79%02d%06d", 10+i%80, i%1000000)
		}
		return fmt.Sprintf("8 (0%02d) %03d-%02d-%02d", i%100, i/10000%1000, i/100%100, i%100)
	},
	// Cells the fast path leaves to the library (a tel: URI): the cost
	// of the fallback, which is the library's plus the check.
	"fallback": func(i int) string { return fmt.Sprintf("tel:+7-9%02d-%07d", 10+i%80, i%10000000) },
	// What a real column holds: mostly E.164 and national forms, some
	// with an extension, a few invalid.
	"mix": func(i int) string {
		switch i % 10 {
		case 0, 1, 2, 3:
			return fmt.Sprintf("+79%02d%07d", 10+i%80, i%10000000)
		case 4, 5, 6:
			return fmt.Sprintf("8 (9%02d) %03d-%02d-%02d", 10+i%80, i/10000%1000, i/100%100, i%100)
		case 7:
			return fmt.Sprintf("+7 495 %03d-%02d-%02d", i/10000%1000, i/100%100, i%100)
		case 8:
			return fmt.Sprintf("+7 495 %03d-%02d-%02d доб. %d", i/10000%1000, i/100%100, i%100, i%1000)
		}
		return fmt.Sprintf("9%02d%06d", 10+i%80, i%1000000) // a digit short
	},
}

// BenchmarkNormalize compares the library (Parse, IsValidNumber, Format)
// with Normalize per number, region RU:
//
//	go test -run '^$' -bench Normalize -count 6 ./internal/phone
func BenchmarkNormalize(b *testing.B) {
	for _, kind := range []string{"e164", "national", "invalid", "mix", "fallback"} {
		in := make([]string, 4096)
		for i := range in {
			in[i] = benchInputs[kind](i)
		}
		for _, impl := range []struct {
			name string
			f    func(s, region string) (string, bool)
		}{{"library", Library}, {"normalize", Normalize}} {
			b.Run(kind+"/"+impl.name, func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					impl.f(in[i], "RU")
					if i++; i == len(in) {
						i = 0
					}
				}
			})
		}
	}
}
