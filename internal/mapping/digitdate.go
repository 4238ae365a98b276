package mapping

import (
	"strings"
	"time"
)

// digitDate is a date layout made only of 2006, 01 and 02, once each, with
// '.', '-' or '/' between them: 02.01.2006, 2006-01-02, 01/02/2006,
// 20060102. time.Parse reads such a layout with fixed widths (four digits
// for 2006, exactly two for 01 and 02) and exact separators, so read walks
// the same steps over the digits, with the same checks in the same order,
// and gives the same verdict and the same range error at a tenth of the
// cost; the differential tests hold it to time.ParseInLocation.
type digitDate struct {
	layout string
	steps  []dateStep
}

// dateStep is one element of a digitDate layout, in layout order.
type dateStep struct {
	kind byte // 'y', 'm', 'd', or 's' for the separator sep
	sep  byte
}

// compileDigitDate returns the digitDate of layout, or nil when the layout
// is anything else (a time of day, names, spaces, a zone).
func compileDigitDate(layout string) *digitDate {
	dd := &digitDate{layout: layout}
	var seen [3]bool
	for i := 0; i < len(layout); {
		switch {
		case strings.HasPrefix(layout[i:], "2006"):
			dd.steps, i = append(dd.steps, dateStep{kind: 'y'}), i+4
		case strings.HasPrefix(layout[i:], "01"):
			dd.steps, i = append(dd.steps, dateStep{kind: 'm'}), i+2
		case strings.HasPrefix(layout[i:], "02"):
			dd.steps, i = append(dd.steps, dateStep{kind: 'd'}), i+2
		case layout[i] == '.' || layout[i] == '-' || layout[i] == '/':
			dd.steps, i = append(dd.steps, dateStep{kind: 's', sep: layout[i]}), i+1
		default:
			return nil
		}
		if k := dd.steps[len(dd.steps)-1].kind; k != 's' {
			n := strings.IndexByte("ymd", k)
			if seen[n] {
				return nil
			}
			seen[n] = true
		}
	}
	if !seen[0] || !seen[1] || !seen[2] {
		return nil
	}
	// time.Parse must read the layout as these steps: formatting dates
	// with it must put each number where the steps expect it.
	for _, d := range []time.Time{time.Date(2006, 1, 2, 0, 0, 0, 0, time.UTC), time.Date(987, 11, 30, 0, 0, 0, 0, time.UTC)} {
		if ymd, _, ok := dd.read(d.Format(layout)); !ok || ymd != packYMD(d.Year(), int(d.Month()), d.Day()) {
			return nil
		}
	}
	return dd
}

// read parses s as time.ParseInLocation(dd.layout, s, loc) would: ok with
// the date packed as packYMD, or not ok with why set when time.Parse would
// say what is out of range ("month out of range", "day out of range"), as
// parseLayout reports it.
func (dd *digitDate) read(s string) (ymd int, why string, ok bool) {
	var y, m, d int
	for _, st := range dd.steps {
		switch st.kind {
		case 's':
			if len(s) == 0 || s[0] != st.sep {
				return 0, "", false
			}
			s = s[1:]
		case 'y':
			if len(s) < 4 || !isDigit(s[0]) || !isDigit(s[1]) || !isDigit(s[2]) || !isDigit(s[3]) {
				return 0, "", false
			}
			y, s = int(s[0]-'0')*1000+int(s[1]-'0')*100+int(s[2]-'0')*10+int(s[3]-'0'), s[4:]
		default: // 'm', 'd': exactly two digits
			if len(s) < 2 || !isDigit(s[0]) || !isDigit(s[1]) {
				return 0, "", false
			}
			n := int(s[0]-'0')*10 + int(s[1]-'0')
			s = s[2:]
			if st.kind == 'd' {
				d = n
				continue
			}
			m = n
			if m < 1 || m > 12 {
				// time.Parse stops at once on a month out of range.
				return 0, "month out of range", false
			}
		}
	}
	switch {
	case s != "":
		return 0, "", false // extra text
	case d < 1 || d > daysIn(m, y):
		return 0, "day out of range", false
	}
	return packYMD(y, m, d), "", true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// daysIn is the length of month m of year y in the proleptic Gregorian
// calendar, as time counts it.
func daysIn(m, y int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// packYMD packs a date of years 0 to 9999 into one int: yyyymmdd.
func packYMD(y, m, d int) int { return y*10000 + m*100 + d }

// appendYMD appends a packYMD date as 2006-01-02, which is what
// time.Time.AppendFormat(time.DateOnly) writes for years 0 to 9999.
func appendYMD(dst []byte, ymd int) []byte {
	y, m, d := ymd/10000, ymd/100%100, ymd%100
	return append(dst, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10))
}
