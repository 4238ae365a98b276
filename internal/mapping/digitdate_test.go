package mapping

import (
	"testing"
	"time"
)

// digitLayouts are layouts a digitDate takes; notDigitLayouts are ones it
// must leave to time.Parse.
var (
	digitLayouts    = []string{"02.01.2006", "2006-01-02", "01/02/2006", "20060102", "2006.02.01", "02-01-2006", "01022006"}
	notDigitLayouts = []string{"2.1.2006", "02.01.06", "02 01 2006", "Jan 02 2006", "2006-01-02T15:04:05", "2006-01-02 15:04",
		"02.01.2006 MST", "2006-002", "02.01.2006.01", "2006", "01.2006", "_2.01.2006", "02.01.2006Z07:00", "2006-01-02Z", "02,01,2006"}
)

func TestCompileDigitDate(t *testing.T) {
	for _, l := range digitLayouts {
		if compileDigitDate(l) == nil {
			t.Errorf("compileDigitDate(%q) = nil, want a digitDate", l)
		}
	}
	for _, l := range notDigitLayouts {
		if compileDigitDate(l) != nil {
			t.Errorf("compileDigitDate(%q) is a digitDate; time.Parse must read it", l)
		}
	}
}

// checkDigitDate holds dd.read(s) to parseLayout(dd.layout, s) and its
// encoding to AppendFormat(time.DateOnly).
func checkDigitDate(tb testing.TB, dd *digitDate, s string) {
	tb.Helper()
	ymd, why, ok := dd.read(s)
	t, wantWhy, wantOK := parseLayout(dd.layout, s, time.UTC)
	if ok != wantOK || why != wantWhy {
		tb.Fatalf("layout %q, %q: read = %v %q; time.Parse = %v %q", dd.layout, s, ok, why, wantOK, wantWhy)
	}
	if !ok {
		return
	}
	if got, want := string(appendYMD(nil, ymd)), t.Format(time.DateOnly); got != want {
		tb.Fatalf("layout %q, %q: read %s, time.Parse %s", dd.layout, s, got, want)
	}
}

// TestDigitDateMatchesTimeParse: every day of years around the edges of
// the calendar's rules, and near misses, read alike by both.
func TestDigitDateMatchesTimeParse(t *testing.T) {
	values := []string{"", "0", "29.02.1900", "29.02.2000", "29.02.2024", "29.02.2023", "00.01.2000", "32.01.2000", "01.00.2000",
		"01.13.2000", "01.99.2000", "99.99.9999", "01.01.0000", "31.12.9999", "1.1.2000", "01.01.200", "01.01.20000", "01.01.2000 ",
		" 01.01.2000", "+1.01.2000", "01.-1.2000", "01.01.-200", "01-01-2000", "01.01/2000", "٠١.٠١.٢٠٠٠", "01.01.2O00", "13.13.xxxx",
		"31.04.2000", "31.06.2000", "31.09.2000", "31.11.2000", "30.02.2000", "2000-01-01", "2000-02-30", "2000-13-01", "01/31/2000",
		"20000229", "20010229", "19991301", "2000.31.01", "2000.30.02"}
	for _, l := range digitLayouts {
		dd := compileDigitDate(l)
		for _, s := range values {
			checkDigitDate(t, dd, s)
		}
		for d := time.Date(1899, 12, 1, 0, 0, 0, 0, time.UTC); d.Year() < 1901; d = d.AddDate(0, 0, 1) {
			checkDigitDate(t, dd, d.Format(l))
		}
		for _, y := range []int{0, 4, 100, 400, 1600, 1999, 2000, 2100, 9999} {
			for m := 0; m <= 13; m++ {
				for day := 0; day <= 32; day++ {
					checkDigitDate(t, dd, fmtDate(l, y, m, day))
				}
			}
		}
	}
}

// fmtDate writes y, m, d into a digit layout, out-of-range numbers too.
func fmtDate(layout string, y, m, d int) string {
	two := func(n int) string { return string([]byte{byte('0' + n/10%10), byte('0' + n%10)}) }
	out := []byte{}
	for i := 0; i < len(layout); {
		switch {
		case len(layout[i:]) >= 4 && layout[i:i+4] == "2006":
			out, i = append(out, two(y/100)+two(y)...), i+4
		case len(layout[i:]) >= 2 && layout[i:i+2] == "01":
			out, i = append(out, two(m)...), i+2
		case len(layout[i:]) >= 2 && layout[i:i+2] == "02":
			out, i = append(out, two(d)...), i+2
		default:
			out, i = append(out, layout[i]), i+1
		}
	}
	return string(out)
}

// FuzzDigitDate: for any value, a digitDate says what time.Parse says.
func FuzzDigitDate(f *testing.F) {
	for _, s := range []string{"22.02.1990", "31.02.1990", "29.02.1900", "13.13.1990", "1990-02-22", "19900222", "02/22/1990", "22.02.1990x"} {
		f.Add(uint8(0), s)
	}
	f.Fuzz(func(t *testing.T, which uint8, s string) {
		checkDigitDate(t, compileDigitDate(digitLayouts[int(which)%len(digitLayouts)]), s)
	})
}
