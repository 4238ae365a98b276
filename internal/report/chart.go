package report

import (
	"html"
	"math"
	"strconv"
	"strings"
)

// Chart geometry, in the SVG's own units: it scales to its box.
const (
	chartW    = 600
	chartH    = 250
	padLeft   = 56
	padRight  = 26
	padTop    = 34
	padBottom = 40
	plotW     = chartW - padLeft - padRight
	plotH     = chartH - padTop - padBottom
	charW     = 6.2 // average glyph width at font-size 11, for laying out the legend
)

// xy is one value at x seconds; a NaN y is a gap.
type xy struct{ x, y float64 }

// line is one series of a chart.
type line struct {
	name  string
	color string
	width float64
	dash  string // stroke-dasharray; "" = solid
	step  bool   // hold each value until the next (a limit that changes in steps)
	pts   []xy
}

// vmark is a vertical mark: a rate change across the plot, or a tick on
// the time axis (rug) for frequent events.
type vmark struct {
	x     float64
	color string
	label string // the tooltip
	rug   bool
}

// chart is one SVG time chart.
type chart struct {
	title  string // aria label
	yTitle string // what the y axis counts, shown above it
	yTick  func(float64) string
	logY   bool
	xMax   float64 // seconds
	lines  []line
	marks  []vmark
}

// svg renders the chart.
func (c chart) svg() string {
	var b strings.Builder
	b.Grow(4096)
	b.WriteString(`<svg class="chart" viewBox="0 0 ` + itoa(chartW) + ` ` + itoa(chartH) + `" role="img" aria-label="`)
	b.WriteString(html.EscapeString(c.title))
	b.WriteString(`">`)
	lo, hi, ok := c.yRange()
	if !ok {
		c.axes(&b, nil, 0, 1)
		b.WriteString(`<text class="empty" x="` + f1(padLeft+plotW/2) + `" y="` + f1(padTop+plotH/2) + `" text-anchor="middle">no data</text>`)
		c.legend(&b)
		b.WriteString(`</svg>`)
		return b.String()
	}
	ticks := c.yTicks(lo, hi)
	if !c.logY {
		hi *= 1.06 // headroom: a line at the maximum stays off the top
	}
	lo, hi = math.Min(lo, ticks[0]), math.Max(hi, ticks[len(ticks)-1])
	c.axes(&b, ticks, lo, hi)
	c.drawMarks(&b)
	// Limits (dashed) first, so the measured lines stay on top of them.
	for _, dashed := range []bool{true, false} {
		for _, l := range c.lines {
			if (l.dash != "") == dashed {
				c.path(&b, l, lo, hi)
			}
		}
	}
	c.legend(&b)
	b.WriteString(`</svg>`)
	return b.String()
}

// yRange is the data's extent; a linear axis starts at 0.
func (c chart) yRange() (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, l := range c.lines {
		for _, p := range l.pts {
			if math.IsNaN(p.y) || (c.logY && p.y <= 0) {
				continue
			}
			lo, hi = math.Min(lo, p.y), math.Max(hi, p.y)
		}
	}
	if hi < lo {
		return 0, 0, false
	}
	if !c.logY {
		lo = 0
		if hi <= 0 {
			hi = 1
		}
	}
	return lo, hi, true
}

// yTicks picks 1-2-5 steps: about six from 0 on a linear axis; on a log
// axis 1, 2 and 5 of each decade (only 1 across more than three decades),
// from the last tick at or below lo to the first at or above hi.
func (c chart) yTicks(lo, hi float64) []float64 {
	var t []float64
	if !c.logY {
		step := niceStep(hi / 5)
		for i := 0; len(t) < 2 || t[len(t)-1] < hi; i++ {
			t = append(t, float64(i)*step)
		}
		return t
	}
	mults := []float64{1, 2, 5}
	if hi/lo > 1000 {
		mults = []float64{1}
	}
	for k := int(math.Floor(math.Log10(lo))); ; k++ {
		for _, m := range mults {
			v := m * math.Pow10(k)
			if v <= lo {
				t = t[:0]
			}
			t = append(t, v)
			if v >= hi && len(t) >= 2 {
				return t
			}
		}
	}
}

// niceStep rounds up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// xStep picks a time step giving at most 7 labels.
func xStep(max float64) float64 {
	for _, s := range []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400} {
		if max/s <= 7 {
			return s
		}
	}
	return math.Ceil(max/7/86400) * 86400
}

func (c chart) px(x float64) float64 {
	if c.xMax <= 0 {
		return padLeft
	}
	return padLeft + x/c.xMax*plotW
}

func (c chart) py(y, lo, hi float64) float64 {
	var f float64
	if c.logY {
		f = (math.Log10(y) - math.Log10(lo)) / (math.Log10(hi) - math.Log10(lo))
	} else {
		f = (y - lo) / (hi - lo)
	}
	return padTop + plotH - f*plotH
}

// Edges of the plot area, as attribute values.
var (
	left   = f1(padLeft)
	right  = f1(padLeft + plotW)
	top    = f1(padTop)
	bottom = f1(padTop + plotH)
)

// axes draws the grid, the tick labels and the axis titles.
func (c chart) axes(b *strings.Builder, ticks []float64, lo, hi float64) {
	for _, t := range ticks {
		y := c.py(t, lo, hi)
		b.WriteString(`<line class="grid" x1="` + left + `" x2="` + right + `" y1="` + f1(y) + `" y2="` + f1(y) + `"/>`)
		b.WriteString(`<text class="tick" x="` + f1(padLeft-6) + `" y="` + f1(y+3.5) + `" text-anchor="end">` + html.EscapeString(c.yTick(t)) + `</text>`)
	}
	b.WriteString(`<line class="axis" x1="` + left + `" x2="` + right + `" y1="` + bottom + `" y2="` + bottom + `"/>`)
	b.WriteString(`<line class="axis" x1="` + left + `" x2="` + left + `" y1="` + top + `" y2="` + bottom + `"/>`)
	step := xStep(c.xMax)
	for x := 0.0; x <= c.xMax+1e-9; x += step {
		px := f1(c.px(x))
		b.WriteString(`<line class="axis" x1="` + px + `" x2="` + px + `" y1="` + bottom + `" y2="` + f1(padTop+plotH+4) + `"/>`)
		b.WriteString(`<text class="tick" x="` + px + `" y="` + f1(padTop+plotH+16) + `" text-anchor="middle">` + clock(secondsDur(x)) + `</text>`)
	}
	b.WriteString(`<text class="atitle" x="` + f1(padLeft+plotW/2) + `" y="` + f1(chartH-6) + `" text-anchor="middle">elapsed (` + clockUnit(c.xMax) + `)</text>`)
	b.WriteString(`<text class="atitle" x="8" y="16">` + html.EscapeString(c.yTitle) + `</text>`)
}

// clockUnit names the format clock uses for a run of max seconds.
func clockUnit(max float64) string {
	if max >= 3600 {
		return "h:mm:ss"
	}
	return "m:ss"
}

// legend lists the series at the top right, laid out from the right edge.
func (c chart) legend(b *strings.Builder) {
	x := float64(chartW - padRight)
	for i := len(c.lines) - 1; i >= 0; i-- {
		l := c.lines[i]
		x -= float64(len([]rune(l.name)))*charW + 4
		b.WriteString(`<text class="legend" x="` + f1(x) + `" y="16">` + html.EscapeString(l.name) + `</text>`)
		x -= 20
		dash := ""
		if l.dash != "" {
			dash = ` stroke-dasharray="` + l.dash + `"`
		}
		b.WriteString(`<line x1="` + f1(x) + `" x2="` + f1(x+16) + `" y1="12" y2="12" stroke="` + l.color + `" stroke-width="2.5"` + dash + `/>`)
		x -= 14
	}
}

// path draws one series; NaN values break it.
func (c chart) path(b *strings.Builder, l line, lo, hi float64) {
	var d strings.Builder
	pen := false
	var lastY string
	for _, p := range l.pts {
		if math.IsNaN(p.y) || (c.logY && p.y <= 0) {
			pen = false
			continue
		}
		x, y := f1(c.px(p.x)), f1(c.py(math.Min(math.Max(p.y, lo), hi), lo, hi))
		switch {
		case !pen:
			d.WriteString("M" + x + " " + y)
		case l.step:
			d.WriteString("H" + x)
			if y != lastY {
				d.WriteString("V" + y)
			}
		default:
			d.WriteString("L" + x + " " + y)
		}
		pen, lastY = true, y
	}
	if d.Len() == 0 {
		return
	}
	w := l.width
	if w == 0 {
		w = 1.5
	}
	b.WriteString(`<path fill="none" stroke="` + l.color + `" stroke-width="` + strconv.FormatFloat(w, 'f', -1, 64) + `" stroke-linejoin="round"`)
	if l.dash != "" {
		b.WriteString(` stroke-dasharray="` + l.dash + `"`)
	}
	b.WriteString(` d="` + d.String() + `"><title>` + html.EscapeString(l.name) + `</title></path>`)
}

// maxMarkLines is how many rate changes get a line across the plot; past
// it only their triangles at the top are drawn, or the lines would hide
// the data.
const maxMarkLines = 40

// drawMarks draws rate changes across the plot and rug ticks on the axis.
func (c chart) drawMarks(b *strings.Builder) {
	lines := 0
	for _, m := range c.marks {
		if !m.rug {
			lines++
		}
	}
	for _, m := range c.marks {
		x := f1(c.px(m.x))
		title := `<title>` + html.EscapeString(m.label) + `</title>`
		if m.rug {
			b.WriteString(`<line x1="` + x + `" x2="` + x + `" y1="` + f1(padTop+plotH-7) + `" y2="` + bottom + `" stroke="` + m.color + `" stroke-width="1.2">` + title + `</line>`)
			continue
		}
		b.WriteString(`<g>`)
		if lines <= maxMarkLines {
			b.WriteString(`<line x1="` + x + `" x2="` + x + `" y1="` + top + `" y2="` + bottom + `" stroke="` + m.color + `" stroke-width="1" stroke-dasharray="3 3"/>`)
		}
		b.WriteString(`<path d="M` + f1(c.px(m.x)-4) + ` ` + f1(padTop-4) + `H` + f1(c.px(m.x)+4) + `L` + x + ` ` + f1(padTop+3) + `Z" fill="` + m.color + `"/>` + title + `</g>`)
	}
}

// f1 prints a coordinate with one decimal.
func f1(v float64) string {
	return strconv.FormatFloat(v, 'f', 1, 64)
}
