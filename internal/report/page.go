package report

import (
	"bufio"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Write renders the report: one HTML file with inline CSS and SVG, nothing
// fetched from anywhere, so it opens offline and survives being mailed.
// It can be called more than once; the Recorder keeps recording.
func (r *Recorder) Write(w io.Writer, f Final) error {
	var pts []point
	var marks []mark
	var events int64
	if r != nil {
		pts, marks, events = r.snapshot()
	}
	bw := bufio.NewWriter(w)
	if err := pageTemplate.Execute(bw, buildPage(pts, marks, events, f)); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// WriteFile writes the report to path atomically: a temporary file in the
// same directory, renamed over path once complete (mode 0644), so a reader
// never sees half a report and a failed write leaves the old one.
func (r *Recorder) WriteFile(path string, f Final) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := r.Write(tmp, f); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// page is what the template shows.
type page struct {
	Title, Meta, Outcome string
	ExitCode             int
	OK                   bool
	KPIs                 []kpi
	Charts               []shownChart
	Statuses             []statusRow
	Errors               []errorRow
	ErrorsMore           string
	Timeline             []timelineRow
	TimelineMore         string
	Command, Config      string
	ConfigMore           string
}

type kpi struct{ Label, Value, Class string }

type shownChart struct {
	Heading, Note string
	SVG           template.HTML
}

type statusRow struct {
	Status, Rows, Share string
	Width               float64 // percent of the widest bar
}

type errorRow struct{ Kind, Column, Count, Rows string }

type timelineRow struct{ At, Text, Class string }

func buildPage(pts []point, marks []mark, events int64, f Final) page {
	p := page{Title: f.title(), Outcome: f.outcome(), ExitCode: f.ExitCode, OK: f.ExitCode == 0}
	ran := f.Finished.Sub(f.Started)
	if f.Started.IsZero() || f.Finished.IsZero() || ran < 0 {
		ran = 0
		if len(pts) > 0 {
			ran = pts[len(pts)-1].s.Elapsed
		}
	}
	var meta []string
	if f.Input != "" {
		meta = append(meta, maskValue(f.Input, false))
	}
	if !f.Started.IsZero() {
		meta = append(meta, "started "+stamp(f.Started))
	}
	if !f.Finished.IsZero() {
		meta = append(meta, "finished "+stamp(f.Finished))
	}
	p.Meta = strings.Join(append(meta, "ran "+duration(ran)), " · ")
	p.KPIs = kpis(f, ran)
	cs := charts(pts, marks)
	notes := []string{
		"Rows finished per second, requests sent (retries included) and the request rate limit; ▼ marks a rate change (red: lowered, green: recovered).",
		"Requests started and not finished, averaged over each interval.",
		"Round trip of every attempt, percentiles per interval.",
		fmt.Sprintf("Ticks on the time axis: 429 replies and retries (%s events); ▼ a rate change.", count(events)),
	}
	for i, c := range cs {
		p.Charts = append(p.Charts, shownChart{Heading: c.title, Note: notes[i], SVG: template.HTML(c.svg())})
	}
	p.Statuses = statusRows(f.Statuses)
	p.Errors, p.ErrorsMore = errorRows(f.Errors)
	p.Timeline, p.TimelineMore = timelineRows(marks)
	p.Command = strings.Join(quoteArgs(MaskCommand(f.Command)), " ")
	p.Config = f.Config
	if len(p.Config) > MaxConfigBytes {
		p.Config = truncate(p.Config, MaxConfigBytes)
		p.ConfigMore = fmt.Sprintf("(the config is %s bytes; the first %s are shown)", count(int64(len(f.Config))), count(MaxConfigBytes))
	}
	return p
}

func kpis(f Final, ran time.Duration) []kpi {
	var total, rejected, ok, notRun int64
	for _, s := range f.Statuses {
		total += s.Rows
		switch s.Status {
		case "ok":
			ok += s.Rows
		case "failed", "invalid", "unknown":
			rejected += s.Rows
		case "skipped", "missing":
			notRun += s.Rows // not read or not sent by this run: not part of its speed
		}
	}
	rate := "–"
	if ran > 0 {
		rate = number(float64(total-notRun) / ran.Seconds())
	}
	rejClass := ""
	if rejected > 0 {
		rejClass = "bad"
	}
	thrClass := ""
	if f.Throttled > 0 {
		thrClass = "warn"
	}
	return []kpi{
		{"rows", count(total), ""},
		{"ok", count(ok), "good"},
		{"rejected", count(rejected), rejClass},
		{"duration", duration(ran), ""},
		{"rows/s", rate, ""},
		{"requests", count(f.Requests), ""},
		{"retries", count(f.Retries), ""},
		{"429 replies", count(f.Throttled), thrClass},
	}
}

func statusRows(ss []StatusCount) []statusRow {
	var total, widest int64
	for _, s := range ss {
		total += s.Rows
		widest = max(widest, s.Rows)
	}
	out := make([]statusRow, 0, len(ss))
	for _, s := range ss {
		r := statusRow{Status: s.Status, Rows: count(s.Rows), Share: "–"}
		if total > 0 {
			r.Share = percent(float64(s.Rows) / float64(total))
		}
		if widest > 0 && s.Rows > 0 {
			// A few rows among millions still get a visible bar.
			r.Width = max(0.5, float64(int(float64(s.Rows)/float64(widest)*1000))/10)
		}
		out = append(out, r)
	}
	return out
}

// percent shows a share with enough digits that a few rows in millions
// are not "0%".
func percent(f float64) string {
	switch {
	case f == 0:
		return "0%"
	case f < 0.001:
		return "<0.1%"
	case f < 0.1:
		return fmt.Sprintf("%.1f%%", f*100)
	}
	return fmt.Sprintf("%.0f%%", f*100)
}

func errorRows(gs []ErrorGroup) ([]errorRow, string) {
	var out []errorRow
	var moreGroups, moreRows int64
	for i, g := range gs {
		if i >= MaxErrorGroups {
			moreGroups++
			moreRows += g.Count
			continue
		}
		rows := make([]string, 0, MaxGroupRows+1)
		for j, n := range g.Rows {
			if j == MaxGroupRows {
				break
			}
			rows = append(rows, itoa(n))
		}
		if g.Count > int64(len(rows)) {
			rows = append(rows, "…")
		}
		out = append(out, errorRow{Kind: truncate(g.Kind, 300), Column: truncate(g.Column, 100), Count: count(g.Count), Rows: strings.Join(rows, ", ")})
	}
	more := ""
	if moreGroups > 0 {
		more = fmt.Sprintf("… and %s more kinds of error with %s rows (see the rejects file).", count(moreGroups), count(moreRows))
	}
	return out, more
}

func timelineRows(marks []mark) ([]timelineRow, string) {
	var out []timelineRow
	var more int
	for _, m := range marks {
		class := ""
		switch m.kind {
		case EventRateLowered:
			class = "down"
		case EventRecovered:
			class = "up"
		default:
			continue
		}
		if len(out) == MaxTimeline {
			more++
			continue
		}
		out = append(out, timelineRow{At: clock(m.from), Text: markText(m), Class: class})
	}
	s := ""
	if more > 0 {
		s = fmt.Sprintf("… and %d more rate changes, marked on the charts.", more)
	}
	return out, s
}

// quoteArgs quotes the arguments a shell would split, for copying.
func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		a = truncate(a, 500)
		// The mask's asterisks are not for the shell: they alone do not
		// call for quotes.
		if a == "" || strings.ContainsAny(strings.ReplaceAll(a, masked, ""), " \t\n'\"\\$`!*?[]{}()<>|&;#~") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return out
}

var pageTemplate = template.Must(template.New("report").Parse(pageHTML))
