package mapping

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Default layouts, tried in order. Both types take the ISO forms a
// spreadsheet reader hands over (2006-01-02, 2006-01-02T15:04:05): a date
// keeps the day of a date and time, a datetime reads a bare date as
// midnight.
var (
	defaultDateLayouts     = []string{"2006-01-02", "02.01.2006", time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05"}
	defaultDatetimeLayouts = []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02"}
)

// Layouts that are not Go layouts but numbers (see numtime.go).
const (
	layoutExcel  = "excel"   // Excel serial day numbers: 45000.5
	layoutUnix   = "unix"    // seconds since 1970-01-01 UTC: 1700000000.25
	layoutUnixMS = "unix_ms" // milliseconds since 1970-01-01 UTC: 1700000000250
)

var namedLayouts = map[string]string{
	"RFC3339": time.RFC3339, "RFC3339Nano": time.RFC3339Nano, "DateOnly": time.DateOnly, "DateTime": time.DateTime,
}

// timeOptions checks layout and timezone and sets the time parsing of p.
func (cc *compiler) timeOptions(f *Field, p *fieldPlan, at func(string) string) {
	t := p.conv.typ
	isTime := t == typeDate || t == typeDatetime
	if len(f.Layout) > 0 && !isTime {
		cc.addf(at("layout"), "applies to type date or datetime only")
	}
	if f.Timezone != "" {
		if t != typeDatetime {
			cc.addf(at("timezone"), "applies to type datetime only")
		}
		loc, err := time.LoadLocation(f.Timezone)
		if err != nil || f.Timezone == "Local" {
			cc.addf(at("timezone"), "%q is not an IANA time zone such as Europe/Moscow", f.Timezone)
		} else {
			p.conv.loc = loc
		}
	}
	if !isTime {
		return
	}
	layouts := []string(f.Layout)
	switch {
	case len(layouts) > 0:
		layouts = cc.layouts(layouts, at)
	case t == typeDate:
		layouts = defaultDateLayouts
	default:
		layouts = defaultDatetimeLayouts
	}
	p.conv.layouts = layouts
	p.conv.layDesc = describeLayouts(layouts)
	if t == typeDate && !cc.reference {
		p.conv.digitDates = digitDates(layouts)
	}
}

// digitDates compiles the digitDate of each layout (nil where there is
// none); nil when no layout has one.
func digitDates(layouts []string) []*digitDate {
	var out []*digitDate
	for i, l := range layouts {
		if dd := compileDigitDate(l); dd != nil {
			if out == nil {
				out = make([]*digitDate, len(layouts))
			}
			out[i] = dd
		}
	}
	return out
}

// layouts resolves the layout names of a field and checks the rest.
func (cc *compiler) layouts(written []string, at func(string) string) []string {
	out := slices.Clone(written)
	for i, l := range out {
		if named, ok := namedLayouts[l]; ok {
			out[i] = named
			continue
		}
		if lower := strings.ToLower(l); lower == layoutExcel || lower == layoutUnix || lower == layoutUnixMS {
			out[i] = lower
			continue
		}
		if !dateLayout(l) {
			cc.addf(fmt.Sprintf("%s[%d]", at("layout"), i), "%q is not a Go time layout: write the date 2 January 2006 (15:04:05 for times) the way the file does, e.g. \"02.01.2006\" for 22.02.1990 (or excel, unix, unix_ms for numbers)", l)
		}
	}
	return out
}

// describeLayouts reads "in the layout 02.01.2006" or "in any of the
// layouts ...", for messages.
func describeLayouts(layouts []string) string {
	names := make([]string, len(layouts))
	for i, l := range layouts {
		switch l {
		case time.RFC3339:
			names[i] = "RFC 3339"
		case layoutExcel:
			names[i] = "excel (serial day numbers)"
		case layoutUnix:
			names[i] = "unix (seconds since 1970)"
		case layoutUnixMS:
			names[i] = "unix_ms (milliseconds since 1970)"
		default:
			names[i] = l
		}
	}
	if len(names) == 1 {
		return "in the layout " + names[0]
	}
	return "in any of the layouts " + strings.Join(names, ", ")
}

// dateLayout reports whether l can carry a full date: formatting the
// reference time with it and parsing the result back must give the day.
func dateLayout(l string) bool {
	ref := time.Date(2006, time.January, 2, 15, 4, 5, 0, time.UTC)
	t, err := time.Parse(l, ref.Format(l))
	return err == nil && t.Year() == 2006 && t.Month() == time.January && t.Day() == 2
}

// toTime parses a date or datetime into v.
func (c *conv) toTime(v *val, s string) *convErr {
	t, ymd, bad, ok := c.parseTime(s)
	what, kind, k := "date", "invalid date", vDate
	if c.typ == typeDatetime {
		what, kind, k = "date and time", "invalid datetime", vTime
	}
	switch {
	case bad != "":
		return &convErr{kind: kind, reason: "is not a valid " + what + ": " + bad}
	case !ok:
		return &convErr{kind: kind, reason: "is not a " + what + " " + c.layDesc}
	case ymd > 0:
		v.k, v.i = vYMD, int64(ymd)
		return nil
	}
	v.k, v.t = k, t
	return nil
}

// parseTime tries each layout. When s has a layout's shape but an
// impossible value (31.02.1990), bad says what is out of range. A date
// read by a digitDate comes back as ymd (packYMD, > 0), t left zero.
func (c *conv) parseTime(s string) (t time.Time, ymd int, bad string, ok bool) {
	loc := c.loc
	if loc == nil {
		loc = time.UTC
	}
	for i, l := range c.layouts {
		var why string
		if c.digitDates != nil && c.digitDates[i] != nil {
			if ymd, why, ok = c.digitDates[i].read(s); ok {
				return time.Time{}, ymd, "", true
			}
			if bad == "" {
				bad = why
			}
			continue
		}
		switch l {
		case layoutExcel:
			t, why, ok = parseExcel(s, loc)
		case layoutUnix:
			t, why, ok = parseUnix(s, false, loc)
		case layoutUnixMS:
			t, why, ok = parseUnix(s, true, loc)
		default:
			t, why, ok = parseLayout(l, s, loc)
		}
		if ok {
			return t, 0, "", true
		}
		if bad == "" {
			bad = why
		}
	}
	return time.Time{}, 0, bad, false
}

// parseLayout parses s by a Go layout; why is set when s has the layout's
// shape but a value out of range (the day of 31.02.1990).
func parseLayout(layout, s string, loc *time.Location) (t time.Time, why string, ok bool) {
	t, err := time.ParseInLocation(layout, s, loc)
	if err == nil {
		return t, "", true
	}
	// A shape mismatch leaves Message empty or says "extra text"; only a
	// range error means the value is wrong rather than the layout.
	if pe, isPE := err.(*time.ParseError); isPE && strings.Contains(pe.Message, "out of range") {
		why = strings.TrimPrefix(pe.Message, ": ")
	}
	return time.Time{}, why, false
}
