package input

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
	"github.com/xuri/nfp"
)

// cellShow is how a numeric cell is turned into text, decided once per cell
// style from its number format.
type cellShow uint8

const (
	showNumber   cellShow = iota // plain decimal, never an exponent
	showDate                     // 2006-01-02
	showDateTime                 // 2006-01-02T15:04:05
	showTime                     // 15:04:05
)

// cellStyle is what the reader needs of one cell format (an xf of cellXfs).
type cellStyle struct {
	show cellShow
	pad  uint8 // zero-padded integer format such as 00000: the digits shown
}

// builtinStyle classifies the built-in number formats (those without a
// numFmt element). IDs 27-36 and 50-58 are the East Asian locales' date
// formats; 46 ([h]:mm:ss) is a duration and stays a number.
func builtinStyle(id int) cellStyle {
	switch {
	case id >= 14 && id <= 17, id >= 27 && id <= 31, id >= 34 && id <= 36, id >= 50 && id <= 58:
		return cellStyle{show: showDate}
	case id == 22:
		return cellStyle{show: showDateTime}
	case id >= 18 && id <= 21, id == 32, id == 33, id == 45, id == 47:
		return cellStyle{show: showTime}
	}
	return cellStyle{}
}

// customStyle classifies a custom number format code by its first section
// (the one for positive numbers, which is where dates live): date and time
// tokens make it a date, a time or both; an elapsed-time token ([h], [mm])
// makes it a duration, shown as the plain number; a code that is only zeros
// (00000, the usual format of postal codes) pads integers to its width.
func customStyle(code string) cellStyle {
	ps := nfp.NumberFormatParser()
	sections := ps.Parse(code)
	if len(sections) == 0 {
		return cellStyle{}
	}
	items := sections[0].Items
	var date, tm, month bool
	for _, tok := range items {
		switch tok.TType {
		case nfp.TokenTypeElapsedDateTimes:
			return cellStyle{}
		case nfp.TokenTypeDateTimes:
			v := strings.ToLower(tok.TValue)
			switch {
			case strings.ContainsAny(v, "ydegb"):
				date = true
			case strings.ContainsAny(v, "hs"), strings.Contains(v, "/"):
				tm = true // h, s, AM/PM, A/P
			case strings.Contains(v, "m"):
				month = true // a month, unless h or s says minutes
			}
		}
	}
	if month && !tm {
		date = true
	}
	switch {
	case date && tm:
		return cellStyle{show: showDateTime}
	case date:
		return cellStyle{show: showDate}
	case tm:
		return cellStyle{show: showTime}
	}
	if len(items) == 1 && items[0].TType == nfp.TokenTypeZeroPlaceHolder && len(items[0].TValue) > 1 && len(items[0].TValue) <= 64 {
		return cellStyle{pad: uint8(len(items[0].TValue))}
	}
	return cellStyle{}
}

// maxSerial is 9999-12-31, the last day Excel can show; beyond it (and
// below zero) Excel shows ##### and the reader the plain number.
const maxSerial = 2958466

// numericText turns the stored value of a numeric cell into text as the
// cell's style says: an ISO date or time for date formats, else a plain
// number.
func numericText(v string, st cellStyle, date1904 bool) string {
	if st.show != showNumber {
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= 0 && f < maxSerial {
			if t, err := excelize.ExcelDateToTime(f, date1904); err == nil {
				switch st.show {
				case showDate:
					return t.Format(time.DateOnly)
				case showTime:
					return t.Format(time.TimeOnly)
				default:
					return t.Format("2006-01-02T15:04:05")
				}
			}
		}
	}
	s := plainNumber(v)
	if st.pad > 0 && len(s) < int(st.pad) && isDigits(s) {
		s = strings.Repeat("0", int(st.pad)-len(s)) + s
	}
	return s
}

// plainNumber writes a stored number the way Excel shows it in the General
// format, but never with an exponent: up to 15 significant digits (Excel's
// precision, so 0.1+0.2 stored as 0.30000000000000004 reads 0.3), and a
// longer integer kept digit for digit (no spreadsheet makes one, but a
// program writing the file may have stored an ID that way). Text that is no
// number is returned as it is.
func plainNumber(v string) string {
	s := strings.TrimSpace(v)
	if s == "" {
		return s
	}
	if plain, digits := decimalShape(s); plain && (digits <= 15 || !strings.Contains(s, ".")) {
		if strings.Trim(s, "-0.") == "" {
			return "0"
		}
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return v
	}
	f, _ = strconv.ParseFloat(strconv.FormatFloat(f, 'g', 15, 64), 64)
	if f == 0 {
		return "0"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// decimalShape reports whether s is -?digits(.digits)? and how many
// significant digits it has.
func decimalShape(s string) (plain bool, digits int) {
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || !isDigits(intPart) || (hasDot && (frac == "" || !isDigits(frac))) {
		return false, 0
	}
	all := strings.TrimLeft(intPart+frac, "0")
	if !hasDot || frac == "" {
		all = strings.TrimRight(all, "0") // trailing zeros of an integer are not significant
	}
	return true, len(all)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isoDate rewrites the value of a t="d" cell (ISO 8601 text, written by a
// few programs instead of a serial number) in the reader's forms; text it
// cannot parse is kept.
func isoDate(v string, st cellStyle) string {
	s := strings.TrimSpace(v)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", time.DateOnly} {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		switch {
		case st.show == showTime:
			return t.Format(time.TimeOnly)
		case st.show == showDate || (layout == time.DateOnly && st.show != showDateTime):
			return t.Format(time.DateOnly)
		}
		return t.Format("2006-01-02T15:04:05")
	}
	return v
}

// decodeXString undoes the _xHHHH_ escapes with which Excel stores
// characters XML cannot carry (a carriage return is _x000D_); _x005F_
// escapes a literal underscore.
func decodeXString(s string) string {
	if !strings.Contains(s, "_x") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "_x")
		if i < 0 || i+7 > len(s) || s[i+6] != '_' {
			if i < 0 {
				break
			}
			b.WriteString(s[:i+2])
			s = s[i+2:]
			continue
		}
		n, err := strconv.ParseUint(s[i+2:i+6], 16, 16)
		if err != nil {
			b.WriteString(s[:i+2])
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		b.WriteRune(rune(n))
		s = s[i+7:]
	}
	b.WriteString(s)
	return b.String()
}
