package mapping

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Default layouts, tried in order.
var (
	defaultDateLayouts     = []string{"2006-01-02", "02.01.2006", time.RFC3339}
	defaultDatetimeLayouts = []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02T15:04:05"}
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
}

// layouts resolves the layout names of a field and checks the rest.
func (cc *compiler) layouts(written []string, at func(string) string) []string {
	out := slices.Clone(written)
	for i, l := range out {
		if named, ok := namedLayouts[l]; ok {
			out[i] = named
			continue
		}
		if !dateLayout(l) {
			cc.addf(fmt.Sprintf("%s[%d]", at("layout"), i), "%q is not a Go time layout: write the date 2 January 2006 (15:04:05 for times) the way the file does, e.g. \"02.01.2006\" for 22.02.1990", l)
		}
	}
	return out
}

// describeLayouts reads "in the layout 02.01.2006" or "in any of the
// layouts ...", for messages.
func describeLayouts(layouts []string) string {
	names := make([]string, len(layouts))
	for i, l := range layouts {
		names[i] = l
		if l == time.RFC3339 {
			names[i] = "RFC 3339"
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
	t, bad, ok := c.parseTime(s)
	what, kind, k := "date", "invalid date", vDate
	if c.typ == typeDatetime {
		what, kind, k = "date and time", "invalid datetime", vTime
	}
	switch {
	case bad != "":
		return &convErr{kind: kind, reason: "is not a valid " + what + ": " + bad}
	case !ok:
		return &convErr{kind: kind, reason: "is not a " + what + " " + c.layDesc}
	}
	v.k, v.t = k, t
	return nil
}

// parseTime tries each layout. When s has a layout's shape but an
// impossible value (31.02.1990), bad says what is out of range.
func (c *conv) parseTime(s string) (t time.Time, bad string, ok bool) {
	for _, l := range c.layouts {
		var err error
		if c.loc != nil {
			t, err = time.ParseInLocation(l, s, c.loc)
		} else {
			t, err = time.Parse(l, s)
		}
		if err == nil {
			return t, "", true
		}
		// A shape mismatch leaves Message empty; a range error sets it.
		if pe, isPE := err.(*time.ParseError); isPE && pe.Message != "" && bad == "" {
			bad = strings.TrimPrefix(pe.Message, ": ")
		}
	}
	return time.Time{}, bad, false
}
