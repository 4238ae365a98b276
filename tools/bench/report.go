package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of one Run: the machine, every scenario's figures
// and commands, and the verdict on each target.
type Report struct {
	Machine   Machine
	Started   time.Time
	Elapsed   time.Duration
	Complete  bool // every scenario was asked for (a subset run is partial)
	Scenarios []*Scenario
}

// Machine describes where a report was measured.
type Machine struct {
	CPU      string // model name from /proc/cpuinfo
	Cores    int    // runtime.NumCPU
	Go       string // the Go version of the driver (the binaries are built by the same toolchain)
	OS       string // GOOS/GOARCH and the kernel release
	Memory   string // MemTotal
	Load     string // /proc/loadavg at the start: other work on the machine
	Importer string // `importer version`
}

// Scenario is one measured situation.
type Scenario struct {
	Name     string // the --only name
	Title    string
	Figures  []Figure
	Checks   []Check
	Commands []string // exact, in the order they ran; the token is "$TOKEN"
	Notes    []string
	Raw      string // verbatim output to include (Go benchmarks, profiles)
	Err      error  // the scenario could not be measured
}

// Figure is one measured value.
type Figure struct {
	Label, Value string
}

// Check is one target of docs/ARCHITECTURE.md and whether the measured value meets it.
type Check struct {
	What   string
	Target string
	Got    string
	Pass   bool
}

// Verdict is PASS or GAP.
func (c Check) Verdict() string {
	if c.Pass {
		return "PASS"
	}
	return "GAP"
}

func (s *Scenario) fig(label, format string, args ...any) {
	s.Figures = append(s.Figures, Figure{label, fmt.Sprintf(format, args...)})
}

func (s *Scenario) check(what, target string, pass bool, format string, args ...any) {
	s.Checks = append(s.Checks, Check{What: what, Target: target, Got: fmt.Sprintf(format, args...), Pass: pass})
}

func (s *Scenario) note(format string, args ...any) {
	s.Notes = append(s.Notes, fmt.Sprintf(format, args...))
}

// Checks returns every check of every scenario, in order.
func (r *Report) Checks() []Check {
	var out []Check
	for _, s := range r.Scenarios {
		out = append(out, s.Checks...)
	}
	return out
}

// Gaps counts the checks that failed and the scenarios that could not run.
func (r *Report) Gaps() int {
	n := 0
	for _, s := range r.Scenarios {
		if s.Err != nil {
			n++
		}
		for _, c := range s.Checks {
			if !c.Pass {
				n++
			}
		}
	}
	return n
}

// WriteText writes the report as plain tables for a terminal.
func (r *Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "\nmachine: %s, %d cores, %s, %s, importer %s\n", r.Machine.CPU, r.Machine.Cores, r.Machine.Go, r.Machine.OS, r.Machine.Importer)
	fmt.Fprintf(bw, "date: %s, took %s, load at start %s\n\n", r.Started.UTC().Format(time.RFC3339), r.Elapsed.Round(time.Second), r.Machine.Load)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	for _, s := range r.Scenarios {
		if s.Name == "gobench" {
			continue // its lines follow the tables
		}
		fmt.Fprintf(tw, "%s\n", strings.ToUpper(s.Title))
		if s.Err != nil {
			fmt.Fprintf(tw, "  FAILED TO RUN\t%s\n", firstLine(s.Err.Error()))
		}
		for _, f := range s.Figures {
			fmt.Fprintf(tw, "  %s\t%s\n", f.Label, f.Value)
		}
		fmt.Fprintf(tw, "\n")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if checks := r.Checks(); len(checks) > 0 {
		fmt.Fprintln(bw, "TARGETS (docs/ARCHITECTURE.md)")
		tw = tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  what\ttarget\tmeasured\tverdict\n")
		for _, c := range checks {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", c.What, c.Target, c.Got, c.Verdict())
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, s := range r.Scenarios {
		if s.Name == "gobench" && s.Raw != "" {
			fmt.Fprintf(bw, "\nGO BENCHMARKS\n%s", s.Raw)
		}
	}
	return bw.Flush()
}

// WriteMarkdown writes the report as BENCHMARKS.md.
func (r *Report) WriteMarkdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	p("# Benchmarks\n\n")
	p("Measured by `make bench` (`scripts/bench.sh` → `tools/benchrun`, logic in `tools/bench`) in one run,\n")
	p("side by side on one machine and the same generated files, against the targets in docs/ARCHITECTURE.md.\n")
	p("This file is rewritten by every full run; re-run `make bench` to refresh it. ")
	p("Commands run from the repository root; `$TOKEN` is a random per-run token passed in the environment.\n\n")
	if !r.Complete {
		p("**Partial run**: only some scenarios were asked for.\n\n")
	}
	m := r.Machine
	p("## Machine\n\n| | |\n|---|---|\n")
	p("| date | %s |\n", r.Started.UTC().Format("2006-01-02 15:04 MST"))
	p("| CPU | %s |\n| cores | %d |\n| memory | %s |\n| OS | %s |\n| Go | %s |\n| importer | %s |\n",
		m.CPU, m.Cores, m.Memory, m.OS, m.Go, m.Importer)
	p("| load average at start | %s |\n| whole run took | %s |\n\n", m.Load, r.Elapsed.Round(time.Second))

	if checks := r.Checks(); len(checks) > 0 {
		p("## Targets (docs/ARCHITECTURE.md)\n\n| what | target | measured | verdict |\n|---|---|---|---|\n")
		for _, c := range checks {
			p("| %s | %s | %s | **%s** |\n", mdCell(c.What), mdCell(c.Target), mdCell(c.Got), c.Verdict())
		}
		p("\n")
	}
	for i, s := range r.Scenarios {
		p("## %d. %s\n\n", i+1, s.Title)
		if s.Err != nil {
			p("**Could not be measured:**\n\n```\n%s\n```\n\n", strings.TrimSpace(s.Err.Error()))
		}
		if len(s.Figures) > 0 {
			p("| figure | value |\n|---|---|\n")
			for _, f := range s.Figures {
				p("| %s | %s |\n", mdCell(f.Label), mdCell(f.Value))
			}
			p("\n")
		}
		for _, n := range s.Notes {
			p("%s\n\n", n)
		}
		if s.Raw != "" {
			p("```\n%s```\n\n", s.Raw)
		}
		if len(s.Commands) > 0 {
			p("Commands:\n\n```sh\n")
			for _, c := range s.Commands {
				p("%s\n", c)
			}
			p("```\n\n")
		}
	}
	return bw.Flush()
}

func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// describeMachine reads what it can about this machine; unknown parts are "?".
func describeMachine() Machine {
	m := Machine{CPU: "?", Cores: runtime.NumCPU(), Go: runtime.Version(), Memory: "?", Load: "?",
		OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.OS += ", Linux " + strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				var kb int64
				if _, err := fmt.Sscan(v, &kb); err == nil {
					m.Memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.Load = strings.Join(f[:3], " ")
		}
	}
	return m
}
