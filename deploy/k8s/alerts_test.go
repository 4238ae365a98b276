package k8s_test

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const (
	alertsFile   = "alerts.yaml"
	promtestFile = "testdata/alerts.promtest.yaml"
)

// kubeStateMetrics are the kube-state-metrics series (and their labels)
// the rules may use: its Job metrics, STABLE since its v2.
var kubeStateMetrics = map[string][]string{
	"kube_job_failed":            {"namespace", "job_name", "condition"},
	"kube_job_owner":             {"namespace", "job_name", "owner_kind", "owner_name", "owner_is_controller"},
	"kube_job_status_start_time": {"namespace", "job_name"},
}

var (
	importerName = regexp.MustCompile(`\bimporter_[a-z_]+\b`)
	kubeName     = regexp.MustCompile(`\bkube_[a-z_]+\b`)
	labelRef     = regexp.MustCompile(`\$labels\.([a-zA-Z_]+)`)
	selector     = regexp.MustCompile(`\b((?:importer|kube)_[a-z_]+)\{([^}]*)\}`)
	matcher      = regexp.MustCompile(`([a-zA-Z_]+)\s*(?:=~|!~|!=|=)\s*"([^"]*)"`)
)

// TestK8sAlerts checks alerts.yaml against what the real binary pushes: the
// inbox CronJob's pods run a good night and a night with a bad row against
// the fake API and a recording Pushgateway, and every importer_* series the
// rules (and the rules' unit tests) use must have a pushed name and the
// pushed grouping labels. Where promtool is installed it then runs the
// rules against testdata/alerts.promtest.yaml.
func TestK8sAlerts(t *testing.T) {
	t.Parallel() // waits on the pods' rate limits, not on the CPU
	docs := readDocs(t, alertsFile)
	if len(docs) != 1 || docs[0].kind() != "PrometheusRule" {
		t.Fatalf("%s: want one PrometheusRule, got %d documents", alertsFile, len(docs))
	}
	groups := dig(docs[0].obj, "spec", "groups")

	s := loadK8s(t, inbox)
	c := newK8sCluster(t, s, clusterOpts{})
	e := newExport("a", 12)
	writeFile(t, c.input, e.csv())
	good := c.night(t, "importer-29000000")
	c.checkNight(t, good, e, nil)
	c.checkPushes(t, c.gw.since(0), good)
	// A row the mapping refuses: its shard ends 2 and pushes a failure.
	mark := c.gw.count()
	writeFile(t, c.input, append(e.csv(), "not-an-email,Bad,Row,+79160000000\n"...))
	bad := c.night(t, "importer-29001440")
	failed := 0
	for _, r := range bad {
		if r.code != 0 {
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("%d pods failed on the night with one bad row, want 1", failed)
	}
	c.checkPushes(t, c.gw.since(mark), bad)

	pushed, labels := map[string]bool{}, map[string]map[string]bool{} // metric → true; label → values
	for _, p := range c.gw.since(0) {
		for _, n := range p.names() {
			pushed[n] = true
		}
		for k, v := range p.group {
			if labels[k] == nil {
				labels[k] = map[string]bool{}
			}
			labels[k][v] = true
		}
	}

	var rules int
	for _, g := range asList(groups) {
		for _, r := range asList(dig(g, "rules")) {
			rules++
			name := fmt.Sprint(dig(r, "alert"))
			t.Run(name, func(t *testing.T) { checkRule(t, r, pushed, labels) })
		}
	}
	if rules == 0 {
		t.Fatalf("%s has no rules", alertsFile)
	}

	t.Run("the Job rule knows every variant's CronJob", func(t *testing.T) {
		var owners *regexp.Regexp
		for _, g := range asList(groups) {
			for _, r := range asList(dig(g, "rules")) {
				for _, sel := range selector.FindAllStringSubmatch(fmt.Sprint(dig(r, "expr")), -1) {
					for _, m := range matcher.FindAllStringSubmatch(sel[2], -1) {
						if sel[1] == "kube_job_owner" && m[1] == "owner_name" {
							owners = regexp.MustCompile("^(?:" + m[2] + ")$") // PromQL anchors its regexps
						}
					}
				}
			}
		}
		if owners == nil {
			t.Fatal("no rule selects kube_job_owner by owner_name")
		}
		for _, v := range variants {
			if name := dig(loadK8s(t, v).cronJob, "metadata", "name"); !owners.MatchString(fmt.Sprint(name)) {
				t.Errorf("CronJob %v (%s) is not among the owners %s", name, v.name, owners)
			}
		}
	})

	t.Run("the rules' unit tests use pushed series", func(t *testing.T) {
		b, err := os.ReadFile(promtestFile)
		if err != nil {
			t.Fatal(err)
		}
		var spec struct {
			Tests []struct {
				InputSeries []struct {
					Series string `yaml:"series"`
				} `yaml:"input_series"`
			} `yaml:"tests"`
		}
		if err := yaml.Unmarshal(b, &spec); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, tc := range spec.Tests {
			for _, in := range tc.InputSeries {
				m := selector.FindStringSubmatch(in.Series)
				if m == nil || !strings.HasPrefix(m[1], "importer_") {
					continue
				}
				n++
				if !pushed[m[1]] {
					t.Errorf("series %s: the binary pushes no %s", in.Series, m[1])
				}
				got := map[string]string{}
				for _, l := range matcher.FindAllStringSubmatch(m[2], -1) {
					got[l[1]] = l[2]
				}
				if !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(labels))) ||
					!labels["job"][got["job"]] || !labels["config"][got["config"]] || !regexp.MustCompile(`^\d+/\d+$`).MatchString(got["shard"]) {
					t.Errorf("series %s: want the labels of a push, e.g. %v", in.Series, c.gw.since(0)[0].group)
				}
			}
		}
		if n == 0 {
			t.Errorf("%s feeds no importer_* series", promtestFile)
		}
	})

	t.Run("promtool", func(t *testing.T) {
		promtool, err := exec.LookPath("promtool")
		if err != nil {
			t.Skip("promtool not installed (Debian package prometheus): the rules' unit tests did not run")
		}
		dir := t.TempDir()
		rulesYAML, err := yaml.Marshal(map[string]any{"groups": groups})
		if err != nil {
			t.Fatal(err)
		}
		tests, err := os.ReadFile(promtestFile)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "importer.rules.yml"), rulesYAML)
		writeFile(t, filepath.Join(dir, "alerts.promtest.yaml"), tests)
		for _, args := range [][]string{{"check", "rules", "importer.rules.yml"}, {"test", "rules", "alerts.promtest.yaml"}} {
			cmd := exec.Command(promtool, args...)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
	})
}

// checkRule checks one alerting rule: its importer_* names are pushed, its
// kube_* names are kube-state-metrics', its matchers on importer series
// name pushed labels and values, and its annotations use only labels its
// series have.
func checkRule(t *testing.T, r any, pushed map[string]bool, labels map[string]map[string]bool) {
	t.Helper()
	expr := fmt.Sprint(dig(r, "expr"))
	have := map[string]bool{} // labels the alert's series carry
	for _, n := range importerName.FindAllString(expr, -1) {
		if !pushed[n] {
			t.Errorf("expr uses %s; the binary pushes %v", n, slices.Sorted(maps.Keys(pushed)))
		}
		for l := range labels {
			have[l] = true
		}
	}
	for _, n := range kubeName.FindAllString(expr, -1) {
		known, ok := kubeStateMetrics[n]
		if !ok {
			t.Errorf("expr uses %s, which is not among the kube-state-metrics Job series the rules may use", n)
		}
		for _, l := range known {
			have[l] = true
		}
	}
	if len(have) == 0 {
		t.Fatalf("expr %q uses no importer_* or kube_* series", expr)
	}
	for _, sel := range selector.FindAllStringSubmatch(expr, -1) {
		for _, m := range matcher.FindAllStringSubmatch(sel[2], -1) {
			if !have[m[1]] {
				t.Errorf("%s matches on label %s, which its series lack", sel[1], m[1])
			}
			if strings.HasPrefix(sel[1], "importer_") && !strings.ContainsAny(m[2], "|.*+?") && !labels[m[1]][m[2]] {
				t.Errorf("%s{%s=%q}: the pushes' %s values are %v", sel[1], m[1], m[2], m[1], slices.Sorted(maps.Keys(labels[m[1]])))
			}
		}
	}
	for _, a := range asMap(dig(r, "annotations")) {
		for _, m := range labelRef.FindAllStringSubmatch(fmt.Sprint(a), -1) {
			if !have[m[1]] {
				t.Errorf("annotation uses $labels.%s, which the alert's series lack (they have %v)", m[1], slices.Sorted(maps.Keys(have)))
			}
		}
	}
}
