package mapping

import (
	"strconv"
	"strings"
	"time"
)

// Dates and times written as numbers: layout excel and layout unix.
//
// excel: the serial day numbers of Excel's 1900 date system, as a
// spreadsheet stores a date cell: 45000 is 2023-03-15, the fraction is the
// time of day (45000.75 is 18:00), rounded to the nearest second. Excel
// counts 1900 as a leap year (a bug kept from Lotus 1-2-3), so serial 60 is
// 29 February 1900, a day that never was: it is refused. Serials 1 to 59
// are read as Excel shows them (1 = 1900-01-01), 61 and up as days since
// 1899-12-30. Serial 0, negative serials and serials past 9999-12-31
// (2958465) are refused. The time is wall-clock time in the field's
// timezone (UTC when none).
//
// unix: seconds since 1970-01-01T00:00:00Z, whole or with a fraction
// (1700000000.25), negative for earlier times; unix_ms: milliseconds. The
// instant is shown in the field's timezone (UTC when none). A seconds value
// too large for year 9999 is refused with a hint that it may be
// milliseconds.
//
// Both take plain decimals only: digits, one '.' or ',' and more digits
// (no exponent, no thousands separators); unix also a leading '-'.
// Fraction digits past the 13th (excel: under 10 ns of a day) or past
// nanoseconds (unix) are ignored.

const (
	maxExcelSerial = 2958465      // 9999-12-31
	minUnix        = -62135596800 // 0001-01-01T00:00:00Z
	maxUnix        = 253402300799 // 9999-12-31T23:59:59Z
	maxFracDigits  = 13
)

// splitDecimal cuts a plain decimal number into its digits: whole (1 or
// more) and frac (none, or 1 or more after '.' or ','). ok is false when s
// is not such a number.
func splitDecimal(s string, signed bool) (neg bool, whole, frac string, ok bool) {
	if signed && strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	whole, frac, dot := strings.Cut(s, ".")
	if !dot {
		whole, frac, dot = strings.Cut(s, ",")
	}
	if !allDigits(whole) || (dot && !allDigits(frac)) {
		return false, "", "", false
	}
	return neg, whole, frac, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// parseDigits reads at most 18 digits, so the result fits an int64.
func parseDigits(s string) (int64, bool) {
	s = strings.TrimLeft(s, "0")
	if len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// scaleFraction returns 0.frac × unit, rounded half up to a whole number;
// frac is cut to maxFracDigits digits first.
func scaleFraction(frac string, unit int64) int64 {
	frac = frac[:min(len(frac), maxFracDigits)]
	n, _ := parseDigits(frac)
	den := int64(1)
	for range frac {
		den *= 10
	}
	return (2*n*unit + den) / (2 * den)
}

// parseExcel reads an Excel serial date; why says what is wrong with a
// number that cannot be one.
func parseExcel(s string, loc *time.Location) (t time.Time, why string, ok bool) {
	neg, whole, frac, ok := splitDecimal(s, true)
	if !ok {
		return time.Time{}, "", false
	}
	days, fits := parseDigits(whole)
	switch {
	case neg:
		return time.Time{}, "an Excel serial date cannot be negative", false
	case !fits || days > maxExcelSerial:
		return time.Time{}, "an Excel serial date past 31 December 9999 (2958465)", false
	case days == 0:
		return time.Time{}, "Excel serial 0 is no date (Excel shows it as 0 January 1900)", false
	case days == 60:
		return time.Time{}, "Excel serial 60 is 29 February 1900, a day that never was (Excel's leap-year bug)", false
	}
	base := 30 // 1899-12-30: right from serial 61 on
	if days < 60 {
		base = 31 // before the fictional 29 February, Excel is a day ahead
	}
	secs := scaleFraction(frac, 86400)
	return time.Date(1899, time.December, base+int(days), 0, 0, int(secs), 0, loc), "", true
}

// parseUnix reads a Unix time in seconds, or milliseconds when ms is set.
func parseUnix(s string, ms bool, loc *time.Location) (t time.Time, why string, ok bool) {
	neg, whole, frac, ok := splitDecimal(s, true)
	if !ok {
		return time.Time{}, "", false
	}
	n, fits := parseDigits(whole)
	var sec, nsec int64
	if ms {
		sec, nsec = n/1000, (n%1000)*1e6+scaleFraction(truncFrac(frac, 6), 1e6)
	} else {
		sec, nsec = n, scaleFraction(truncFrac(frac, 9), 1e9)
	}
	if neg {
		sec, nsec = -sec, -nsec
	}
	if fits {
		t = time.Unix(sec, nsec).In(loc)
	}
	if !fits || sec < minUnix || sec > maxUnix || t.Year() < 1 || t.Year() > 9999 {
		if !ms && fits && sec/1000 <= maxUnix && sec/1000 >= minUnix {
			return time.Time{}, "a Unix time past the year 9999 in seconds (milliseconds? use layout unix_ms)", false
		}
		return time.Time{}, "a Unix time outside the years 1 to 9999", false
	}
	return t, "", true
}

// truncFrac cuts fraction digits past n: below the unit they are ignored
// rather than rounded.
func truncFrac(frac string, n int) string { return frac[:min(len(frac), n)] }

// wholeNumber reads a number whose value is a whole number, in any form a
// float takes ("3", "3.0", "3,0", "1e3", "-2.50e1"), exactly (no float
// rounding). isNumber is false when s is no number at all, whole false when
// it has a fraction, fits false when it is whole but beyond int64.
func wholeNumber(s string) (i int64, isNumber, whole, fits bool) {
	mant, exp, hasExp := strings.Cut(strings.ToLower(s), "e")
	unsigned, plus := strings.CutPrefix(mant, "+")
	neg, intPart, frac, ok := splitDecimal(unsigned, !plus)
	if !ok || (hasExp && !validExponent(exp)) {
		return 0, false, false, false
	}
	e := 0
	if hasExp {
		n, err := strconv.Atoi(strings.TrimPrefix(exp, "+"))
		if err != nil {
			n = 1 << 20 // beyond any digits: only zeros survive
			if strings.HasPrefix(exp, "-") {
				n = -n
			}
		}
		e = max(min(n, 1<<20), -(1 << 20))
	}
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		return 0, true, true, true
	}
	point := len(digits) - len(frac) + e // digits[:point] is the integer part
	if point < len(digits) && strings.TrimRight(digits[max(point, 0):], "0") != "" {
		return 0, true, false, false
	}
	if point > 19 {
		return 0, true, true, false
	}
	digits = digits[:min(point, len(digits))] + strings.Repeat("0", max(point-len(digits), 0))
	if neg {
		digits = "-" + digits
	}
	i, err := strconv.ParseInt(digits, 10, 64)
	return i, true, true, err == nil
}

func validExponent(exp string) bool {
	if exp != "" && (exp[0] == '+' || exp[0] == '-') {
		exp = exp[1:]
	}
	return allDigits(exp)
}
