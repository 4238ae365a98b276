package report

import (
	"fmt"
	"math"
	"time"
)

// Series colours: distinct for colour-blind readers (the Okabe-Ito set).
const (
	colRows      = "#0072b2" // blue
	colRejected  = "#d55e00" // vermillion
	colRequests  = "#999999" // grey
	colLimit     = "#e69f00" // orange
	colInFlight  = "#0072b2"
	colP50       = "#009e73" // green
	colP90       = "#e69f00"
	colP99       = "#d55e00"
	colThrottled = "#d55e00"
	colRetries   = "#56b4e9" // sky blue
	colLowered   = "#cc3311"
	colRecovered = "#009e73"
)

func secondsDur(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// charts turns the points and marks into the report's four charts.
func charts(pts []point, marks []mark) []chart {
	var (
		rows, bad, reqs, limit  []xy
		inFlight, concurrency   []xy
		p50, p90, p99           []xy
		throttled, retries      []xy
		prev                    Sample
		prevT                   float64
		hasLimit, hasConcurrent bool
	)
	for _, p := range pts {
		t := p.s.Elapsed.Seconds()
		dt := t - prevT
		if dt > 0 {
			rate := func(now, before int64) float64 { return float64(now-before) / dt }
			rows = append(rows, xy{t, rate(p.s.Rows, prev.Rows)})
			bad = append(bad, xy{t, rate(p.s.Bad, prev.Bad)})
			reqs = append(reqs, xy{t, rate(p.s.Requests, prev.Requests)})
			throttled = append(throttled, xy{t, rate(p.s.Throttled, prev.Throttled)})
			retries = append(retries, xy{t, rate(p.s.Retries, prev.Retries)})
		}
		lim := math.NaN()
		if p.s.RateLimit > 0 {
			lim, hasLimit = p.s.RateLimit, true
		}
		limit = append(limit, xy{t, lim})
		inFlight = append(inFlight, xy{t, p.inFlight()})
		conc := math.NaN()
		if p.s.Concurrency > 0 {
			conc, hasConcurrent = float64(p.s.Concurrency), true
		}
		concurrency = append(concurrency, xy{t, conc})
		q, ok := p.lat.quantiles(0.5, 0.9, 0.99)
		if !ok {
			q = []float64{math.NaN(), math.NaN(), math.NaN()}
		}
		p50, p90, p99 = append(p50, xy{t, q[0]}), append(p90, xy{t, q[1]}), append(p99, xy{t, q[2]})
		prev, prevT = p.s, t
	}
	xMax := prevT
	perSecond := func(v float64) string { return number(v) }

	through := chart{title: "Throughput: rows and requests per second", yTitle: "per second", yTick: perSecond, xMax: xMax,
		lines: []line{
			{name: "rows/s", color: colRows, width: 1.8, pts: rows},
			{name: "rejected rows/s", color: colRejected, pts: bad},
			{name: "requests/s", color: colRequests, width: 1.2, pts: reqs},
		}}
	if hasLimit {
		through.lines = append(through.lines, line{name: "rate limit (req/s)", color: colLimit, width: 2, dash: "6 3", step: true, pts: limit})
	}
	flight := chart{title: "Requests in flight", yTitle: "requests", yTick: perSecond, xMax: xMax,
		lines: []line{{name: "in flight (mean)", color: colInFlight, width: 1.8, pts: inFlight}}}
	if hasConcurrent {
		flight.lines = append(flight.lines, line{name: "concurrency limit", color: colLimit, width: 2, dash: "6 3", step: true, pts: concurrency})
	}
	latency := chart{title: "Request latency percentiles", yTitle: "latency (log scale)", yTick: millis, logY: true, xMax: xMax,
		lines: []line{
			{name: "p50", color: colP50, width: 1.8, pts: p50},
			{name: "p90", color: colP90, pts: p90},
			{name: "p99", color: colP99, pts: p99},
		}}
	throttle := chart{title: "HTTP 429 replies and retries per second", yTitle: "per second", yTick: perSecond, xMax: xMax,
		lines: []line{
			{name: "retries/s", color: colRetries, width: 1.8, pts: retries},
			{name: "429 replies/s", color: colThrottled, pts: throttled},
		}}
	rateMarks, rug := eventMarks(marks)
	through.marks = rateMarks
	throttle.marks = append(append([]vmark(nil), rateMarks...), rug...)
	return []chart{through, flight, latency, throttle}
}

// eventMarks turns rate changes into marks across a plot, and 429s and
// retries into ticks on its time axis.
func eventMarks(marks []mark) (rate, rug []vmark) {
	for _, m := range marks {
		label := clock(m.from) + " " + markText(m)
		x := m.from.Seconds()
		switch m.kind {
		case EventRateLowered:
			rate = append(rate, vmark{x: x, color: colLowered, label: label})
		case EventRecovered:
			rate = append(rate, vmark{x: x, color: colRecovered, label: label})
		case EventThrottled:
			rug = append(rug, vmark{x: x, color: colThrottled, label: label, rug: true})
		default:
			rug = append(rug, vmark{x: x, color: colRetries, label: label, rug: true})
		}
	}
	return rate, rug
}

// markText describes a mark: its text, and how many events it stands for.
func markText(m mark) string {
	text := m.text
	if text == "" {
		text = m.kind
	}
	if m.count > 1 {
		text = fmt.Sprintf("%s (%d× until %s)", text, m.count, clock(m.to))
	}
	return text
}
