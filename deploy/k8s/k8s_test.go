package k8s_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"importer/internal/fakeapi"
	"importer/internal/importer"
	"importer/internal/mapping"
)

// These tests keep deploy/k8s/ and the Dockerfile honest without a cluster
// or a Docker engine: the manifests are parsed as plain YAML (no Kubernetes
// libraries) and the CronJob's container is "run" the way the kubelet would
// run it: its env resolved, $(VAR) substituted in its args, its volumes
// replaced by temporary directories, and the real importer binary started
// once per index against the fake API.

const (
	k8sDir     = "."
	dockerfile = "../../Dockerfile"
	k8sToken   = "k8s-SECRET-token-7"
)

// k8sDoc is one YAML document of deploy/k8s, decoded into yaml.v3's generic
// structure: map[string]any, []any, string, int, float64, bool.
type k8sDoc struct {
	file string
	obj  map[string]any
}

func (d k8sDoc) kind() string { s, _ := dig(d.obj, "kind").(string); return s }
func (d k8sDoc) name() string { s, _ := dig(d.obj, "metadata", "name").(string); return s }

// dig walks v by map keys (string) and list indices (int); nil when a step
// is missing or of another type.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch p := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[p]
		case int:
			l, ok := v.([]any)
			if !ok || p < 0 || p >= len(l) {
				return nil
			}
			v = l[p]
		}
	}
	return v
}

func loadK8sDocs(t *testing.T) []k8sDoc {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no manifests in %s: %v", k8sDir, err)
	}
	var docs []k8sDoc
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(f)
		for {
			var obj map[string]any
			err := dec.Decode(&obj)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				f.Close()
				t.Fatalf("%s: %v", p, err)
			}
			if obj == nil { // an empty document between two ---
				continue
			}
			docs = append(docs, k8sDoc{file: filepath.Base(p), obj: obj})
		}
		f.Close()
	}
	return docs
}

// k8sSet is the manifests of deploy/k8s, with the parts the tests look at
// picked out.
type k8sSet struct {
	docs      []k8sDoc
	cronJob   map[string]any
	jobSpec   any
	podSpec   any
	container map[string]any
	args      []string
	configMap map[string]any
	secret    map[string]any
	mapping   *mapping.Config // the mapping config the pods mount
	n         int             // completions: the number of shards
}

func loadK8s(t *testing.T) *k8sSet {
	t.Helper()
	s := &k8sSet{docs: loadK8sDocs(t)}
	var cronJobs []map[string]any
	for _, d := range s.docs {
		switch d.kind() {
		case "CronJob":
			cronJobs = append(cronJobs, d.obj)
		case "ConfigMap":
			s.configMap = d.obj
		case "Secret":
			s.secret = d.obj
		}
	}
	if len(cronJobs) != 1 || s.configMap == nil || s.secret == nil {
		t.Fatalf("want one CronJob, a ConfigMap and a Secret; got %d CronJobs, ConfigMap %v, Secret %v",
			len(cronJobs), s.configMap != nil, s.secret != nil)
	}
	s.cronJob = cronJobs[0]
	s.jobSpec = dig(s.cronJob, "spec", "jobTemplate", "spec")
	s.podSpec = dig(s.jobSpec, "template", "spec")
	containers, _ := dig(s.podSpec, "containers").([]any)
	if len(containers) != 1 {
		t.Fatalf("the CronJob's pod has %d containers, want 1", len(containers))
	}
	s.container, _ = containers[0].(map[string]any)
	for _, a := range asList(dig(s.container, "args")) {
		str, ok := a.(string)
		if !ok {
			t.Fatalf("container arg %v (%T) is not a string: quote it", a, a)
		}
		s.args = append(s.args, str)
	}
	n, ok := dig(s.jobSpec, "completions").(int)
	if !ok || n < 1 {
		t.Fatalf("jobTemplate completions = %v, want a positive count", dig(s.jobSpec, "completions"))
	}
	s.n = n
	src, ok := dig(s.configMap, "data", s.mappingKey(t)).(string)
	if !ok {
		t.Fatal("the ConfigMap holds no mapping config")
	}
	cfg, err := mapping.Parse([]byte(src), "configmap.yaml mapping")
	if err != nil {
		t.Fatalf("the ConfigMap's mapping config does not load: %v", err)
	}
	s.mapping = cfg
	return s
}

// mappingKey is the ConfigMap key mounted as the file -c names.
func (s *k8sSet) mappingKey(t *testing.T) string {
	t.Helper()
	for _, v := range asList(dig(s.podSpec, "volumes")) {
		if dig(v, "configMap") == nil {
			continue
		}
		for _, it := range asList(dig(v, "configMap", "items")) {
			if p, _ := dig(it, "path").(string); strings.HasSuffix(s.flag(t, "config"), "/"+p) {
				k, _ := dig(it, "key").(string)
				return k
			}
		}
	}
	t.Fatalf("no ConfigMap volume item is mounted as %q", s.flag(t, "config"))
	return ""
}

func asList(v any) []any { l, _ := v.([]any); return l }

// helpFlags is `importer run --help` of the real binary: each flag's name
// and whether it takes a value (the usage shows a value's type after the
// name, nothing for a bool).
var helpFlags = sync.OnceValues(func() (map[string]bool, error) {
	out, err := exec.Command(importerBin, "run", "--help").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("run --help: %w\n%s", err, out)
	}
	flags := map[string]bool{}
	re := regexp.MustCompile(`(?m)^\s+(?:-[a-z], )?--([a-z][a-z0-9-]*)( [A-Za-z]+)?\s{2,}`)
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		flags[m[1]] = m[2] != ""
	}
	if len(flags) < 10 {
		return nil, fmt.Errorf("run --help lists only %d flags:\n%s", len(flags), out)
	}
	return flags, nil
})

// parsedArgs splits the container's args the way the importer's flag
// parsing does: the command, each flag with its value, the positionals.
type parsedArgs struct {
	command     string
	flags       map[string]string
	order       []string // flag names as given
	positionals []string
}

func parseArgs(t *testing.T, args []string) parsedArgs {
	t.Helper()
	known, err := helpFlags()
	if err != nil {
		t.Fatal(err)
	}
	if len(args) == 0 {
		t.Fatal("the container has no args")
	}
	p := parsedArgs{command: args[0], flags: map[string]string{}}
	for i := 1; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			p.positionals = append(p.positionals, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		takesValue, ok := known[name]
		if !ok {
			t.Fatalf("arg %q: `importer run` has no flag -%s", a, name)
		}
		if takesValue && !hasVal {
			if i+1 >= len(args) {
				t.Fatalf("arg %q: the value is missing", a)
			}
			i++
			val = args[i]
		}
		p.flags[name] = val
		p.order = append(p.order, name)
	}
	return p
}

func (s *k8sSet) flag(t *testing.T, name string) string {
	t.Helper()
	v, ok := parseArgs(t, s.args).flags[name]
	if !ok {
		t.Fatalf("the container's args have no -%s", name)
	}
	return v
}

// envVar is one entry of the container's env.
func (s *k8sSet) envVar(name string) map[string]any {
	for _, e := range asList(dig(s.container, "env")) {
		if dig(e, "name") == name {
			m, _ := e.(map[string]any)
			return m
		}
	}
	return nil
}

// TestK8sManifestsParse: every document is a named Kubernetes object, the
// kinds the README promises are there, and every reference between them
// (Secret key, ConfigMap key, claim) resolves.
func TestK8sManifestsParse(t *testing.T) {
	s := loadK8s(t)
	byKindName := map[string]map[string]any{}
	kinds := map[string]int{}
	for _, d := range s.docs {
		if dig(d.obj, "apiVersion") == nil || d.kind() == "" || d.name() == "" {
			t.Errorf("%s: a document without apiVersion, kind or metadata.name", d.file)
		}
		kinds[d.kind()]++
		byKindName[d.kind()+"/"+d.name()] = d.obj
	}
	for _, want := range []string{"CronJob", "ConfigMap", "Secret", "PersistentVolumeClaim"} {
		if kinds[want] == 0 {
			t.Errorf("no %s in %s (kinds: %v)", want, k8sDir, kinds)
		}
	}

	for _, d := range s.docs {
		var pod any
		switch d.kind() {
		case "CronJob":
			pod = dig(d.obj, "spec", "jobTemplate", "spec", "template", "spec")
		case "Pod":
			pod = dig(d.obj, "spec")
		default:
			continue
		}
		for _, c := range asList(dig(pod, "containers")) {
			for _, e := range asList(dig(c, "env")) {
				for _, ref := range []struct{ field, kind, keys string }{
					{"secretKeyRef", "Secret", "stringData"},
					{"configMapKeyRef", "ConfigMap", "data"},
				} {
					r := dig(e, "valueFrom", ref.field)
					if r == nil {
						continue
					}
					name, key := dig(r, "name"), dig(r, "key")
					obj := byKindName[fmt.Sprint(ref.kind, "/", name)]
					if obj == nil {
						t.Errorf("%s: env %v refers to %s %v, which no manifest defines", d.file, dig(e, "name"), ref.kind, name)
					} else if dig(obj, ref.keys, key) == nil && dig(obj, "data", key) == nil {
						t.Errorf("%s: env %v refers to key %v, which %s %v lacks", d.file, dig(e, "name"), key, ref.kind, name)
					}
				}
			}
		}
		for _, v := range asList(dig(pod, "volumes")) {
			if claim := dig(v, "persistentVolumeClaim", "claimName"); claim != nil && byKindName[fmt.Sprint("PersistentVolumeClaim/", claim)] == nil {
				t.Errorf("%s: volume %v claims %v, which no manifest defines", d.file, dig(v, "name"), claim)
			}
			if cm := dig(v, "configMap", "name"); cm != nil {
				obj := byKindName[fmt.Sprint("ConfigMap/", cm)]
				if obj == nil {
					t.Errorf("%s: volume %v mounts ConfigMap %v, which no manifest defines", d.file, dig(v, "name"), cm)
					continue
				}
				for _, it := range asList(dig(v, "configMap", "items")) {
					if dig(obj, "data", dig(it, "key")) == nil {
						t.Errorf("%s: volume %v mounts key %v, which ConfigMap %v lacks", d.file, dig(v, "name"), dig(it, "key"), cm)
					}
				}
			}
		}
	}

	// N pods share the claim, on any node: only ReadWriteMany allows that.
	for _, d := range s.docs {
		if d.kind() == "PersistentVolumeClaim" && s.n > 1 && !slices.Contains(asList(dig(d.obj, "spec", "accessModes")), any("ReadWriteMany")) {
			t.Errorf("%s: PVC %s is shared by %d pods but its accessModes are %v, want ReadWriteMany", d.file, d.name(), s.n, dig(d.obj, "spec", "accessModes"))
		}
	}
}

// TestK8sCronJob checks the CronJob field by field against what the
// importer needs from it.
func TestK8sCronJob(t *testing.T) {
	s := loadK8s(t)
	sec := dig(s.container, "securityContext")
	for _, tc := range []struct {
		name string
		got  any
		want any
	}{
		{"two nights never overlap", dig(s.cronJob, "spec", "concurrencyPolicy"), "Forbid"},
		{"indexed: JOB_COMPLETION_INDEX is the shard", dig(s.jobSpec, "completionMode"), "Indexed"},
		{"all shards at once", dig(s.jobSpec, "parallelism"), s.n},
		{"a failed pod is replaced, never restarted in place", dig(s.podSpec, "restartPolicy"), "Never"},
		{"a replacement waits for the old pod to stop", dig(s.jobSpec, "podReplacementPolicy"), "Failed"},
		{"pod runs as non-root", dig(s.podSpec, "securityContext", "runAsNonRoot"), true},
		{"read-only root filesystem", dig(sec, "readOnlyRootFilesystem"), true},
		{"no privilege escalation", dig(sec, "allowPrivilegeEscalation"), false},
		{"all capabilities dropped", fmt.Sprint(dig(sec, "capabilities", "drop")), "[ALL]"},
		{"memory limit: twice the 64 MB peak RSS target", dig(s.container, "resources", "limits", "memory"), "128Mi"},
		{"the command", parseArgs(t, s.args).command, "run"},
		{"shard K of N", s.flag(t, "shard"), fmt.Sprintf("$(JOB_COMPLETION_INDEX)/%d", s.n)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %v (%T), want %v (%T)", tc.got, tc.got, tc.want, tc.want)
			}
		})
	}

	t.Run("resume and per-shard files", func(t *testing.T) {
		p := parseArgs(t, s.args)
		if _, ok := p.flags["resume"]; !ok {
			t.Error("no --resume: a retried pod would start the file over")
		}
		// Without the index and the night in the names, pods would fight
		// over one journal's lock, and the next night's --resume would meet
		// the previous night's journal.
		for _, f := range []string{"results", "rejects", "summary"} {
			v, ok := p.flags[f]
			if !ok {
				t.Errorf("no --%s", f)
				continue
			}
			for _, want := range []string{"$(JOB_COMPLETION_INDEX)", fmt.Sprintf("-of-%d", s.n), "$(JOB_NAME)"} {
				if !strings.Contains(v, want) {
					t.Errorf("--%s=%s lacks %s", f, v, want)
				}
			}
		}
	})

	t.Run("exit codes 1, 2, 3 are not retried; 130 is", func(t *testing.T) {
		action := map[int]string{}
		for _, r := range asList(dig(s.jobSpec, "podFailurePolicy", "rules")) {
			if dig(r, "onExitCodes", "operator") != "In" {
				continue
			}
			for _, v := range asList(dig(r, "onExitCodes", "values")) {
				if code, ok := v.(int); ok {
					if _, seen := action[code]; !seen { // the first matching rule wins
						action[code] = fmt.Sprint(dig(r, "action"))
					}
				}
			}
		}
		noRetry := func(a string) bool { return a == "FailIndex" || a == "FailJob" }
		for _, code := range []int{importer.ExitFatal, importer.ExitRowErrors, importer.ExitMaxErrors} {
			if !noRetry(action[code]) {
				t.Errorf("exit %d: action %q, want FailIndex (retrying gives the same answer)", code, action[code])
			}
		}
		if a := action[importer.ExitInterrupted]; noRetry(a) {
			t.Errorf("exit %d (interrupted, resumable): action %q, want a retry", importer.ExitInterrupted, a)
		}
		if slices.Contains(slices.Collect(maps.Values(action)), "FailIndex") {
			if n, _ := dig(s.jobSpec, "backoffLimitPerIndex").(int); n < 1 {
				t.Errorf("FailIndex needs backoffLimitPerIndex >= 1, got %v", dig(s.jobSpec, "backoffLimitPerIndex"))
			}
		}
	})

	t.Run("SIGTERM drains before the kill", func(t *testing.T) {
		grace, _ := dig(s.podSpec, "terminationGracePeriodSeconds").(int)
		if timeout := s.mapping.API.Timeout; time.Duration(grace)*time.Second <= timeout {
			t.Errorf("terminationGracePeriodSeconds %d <= api.timeout %v: the kill would cut requests in flight", grace, timeout)
		}
	})

	t.Run("GOMEMLIMIT below the memory limit", func(t *testing.T) {
		e := s.envVar("GOMEMLIMIT")
		if e == nil {
			t.Skip("no GOMEMLIMIT")
		}
		lim, err1 := parseQuantity(fmt.Sprint(dig(e, "value")))
		mem, err2 := parseQuantity(fmt.Sprint(dig(s.container, "resources", "limits", "memory")))
		if err1 != nil || err2 != nil || lim >= mem {
			t.Errorf("GOMEMLIMIT %v, memory limit %v: want GOMEMLIMIT below the limit (%v, %v)",
				dig(e, "value"), dig(s.container, "resources", "limits", "memory"), err1, err2)
		}
	})
}

// parseQuantity reads the binary-suffixed quantities used here (Mi, MiB,
// Gi, GiB) as bytes.
func parseQuantity(s string) (int64, error) {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"MiB", 1 << 20}, {"Mi", 1 << 20}, {"GiB", 1 << 30}, {"Gi", 1 << 30}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			return v * u.mult, err
		}
	}
	return 0, fmt.Errorf("quantity %q: want Mi or Gi", s)
}

// TestK8sToken: the token reaches the pods only through a Secret, never an
// argument: args show in `ps`, `kubectl describe` and the Job's status.
func TestK8sToken(t *testing.T) {
	s := loadK8s(t)
	tok := s.envVar("ALTCRAFT_TOKEN")
	if tok == nil {
		t.Fatal("no ALTCRAFT_TOKEN in the container's env")
	}
	if dig(tok, "valueFrom", "secretKeyRef", "name") == nil || dig(tok, "valueFrom", "secretKeyRef", "key") == nil {
		t.Errorf("ALTCRAFT_TOKEN = %v, want valueFrom.secretKeyRef", tok)
	}
	if _, ok := tok["value"]; ok {
		t.Error("ALTCRAFT_TOKEN has a literal value in the manifest")
	}
	for _, a := range append(slices.Clone(s.args), fmt.Sprint(dig(s.container, "command"))) {
		if strings.Contains(strings.ToLower(a), "token") {
			t.Errorf("container arg %q mentions the token", a)
		}
	}
	// The example Secret's value appears in no other manifest.
	for k, v := range asMap(dig(s.secret, "stringData")) {
		val := fmt.Sprint(v)
		if !strings.Contains(val, "REPLACE") {
			t.Errorf("secret.example.yaml key %s holds %q, want an obvious placeholder", k, val)
		}
		for _, d := range s.docs {
			if d.kind() == "Secret" {
				continue
			}
			b, _ := yaml.Marshal(d.obj)
			if bytes.Contains(b, []byte(val)) {
				t.Errorf("%s contains the Secret's value", d.file)
			}
		}
	}
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

// TestK8sRates: the pods' rates add up to the token's rate, the mapping
// config's api.rate; and every flag of the args is a flag of the real binary.
func TestK8sRates(t *testing.T) {
	s := loadK8s(t)
	p := parseArgs(t, s.args) // fails on a flag `importer run` does not have
	rate, err := strconv.ParseFloat(p.flags["rate"], 64)
	if err != nil {
		t.Fatalf("--rate=%q: %v", p.flags["rate"], err)
	}
	total := s.mapping.API.Rate
	if total <= 0 {
		t.Fatalf("the mapping's api.rate is %v: the token's rate must be stated for the pods to share it", total)
	}
	if sum := rate * float64(s.n); math.Abs(sum-total) > 1e-9 {
		t.Errorf("%d pods x --rate %v = %v req/s, want the mapping's api.rate %v", s.n, rate, sum, total)
	}
}

// podRun is one simulated pod: its index, the night's job name and the
// process's outcome.
type podRun struct {
	index   int
	code    int
	out     string
	results string // the results journal, on the temporary volume
	summary string
}

// k8sCluster stands in for the kubelet: one temporary directory per volume,
// the fake API for the real one.
type k8sCluster struct {
	s     *k8sSet
	root  string
	fake  *fakeapi.Server
	url   string
	input string // the input path, on the temporary volume
}

func newK8sCluster(t *testing.T, s *k8sSet) *k8sCluster {
	t.Helper()
	c := &k8sCluster{s: s, root: t.TempDir()}
	c.fake = fakeapi.New(fakeapi.Options{Token: k8sToken})
	srv := httptest.NewServer(c.fake)
	t.Cleanup(srv.Close)
	c.url = srv.URL
	// The ConfigMap volume: its items as files.
	for _, v := range asList(dig(s.podSpec, "volumes")) {
		if dig(v, "configMap") == nil {
			continue
		}
		dir := c.volumeDir(fmt.Sprint(dig(v, "name")))
		for _, it := range asList(dig(v, "configMap", "items")) {
			path := filepath.Join(dir, fmt.Sprint(dig(it, "path")))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(fmt.Sprint(dig(s.configMap, "data", dig(it, "key")))), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The claim: the directories the volume-setup pod makes.
	c.input = c.hostPath(t, parseArgs(t, s.args).positionals[0])
	for _, d := range []string{filepath.Dir(c.input), filepath.Dir(c.hostPath(t, s.flag(t, "results")))} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func (c *k8sCluster) volumeDir(name string) string { return filepath.Join(c.root, "volumes", name) }

// hostPath maps a path in the container to the temporary volume it is on.
func (c *k8sCluster) hostPath(t *testing.T, p string) string {
	t.Helper()
	for _, m := range asList(dig(c.s.container, "volumeMounts")) {
		mp := fmt.Sprint(dig(m, "mountPath"))
		if rest, ok := strings.CutPrefix(p, mp+"/"); ok {
			return filepath.Join(c.volumeDir(fmt.Sprint(dig(m, "name"))), rest)
		}
	}
	t.Fatalf("%s is on no volume: the root filesystem is read-only", p)
	return ""
}

// k8sExpand substitutes $(VAR) as the kubelet does in args: a defined
// variable is replaced, an undefined reference is left as written, and $$
// is a literal $.
func k8sExpand(s string, env map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '(':
			if end := strings.IndexByte(s[i:], ')'); end > 0 {
				if v, ok := env[s[i+2:i+end]]; ok {
					b.WriteString(v)
					i += end
					continue
				}
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// pod starts the container of index k of the night jobName and returns the
// command, its environment built as the kubelet builds it.
func (c *k8sCluster) pod(t *testing.T, jobName string, k int) (*exec.Cmd, *podRun) {
	t.Helper()
	env := map[string]string{"JOB_COMPLETION_INDEX": strconv.Itoa(k)} // the Job controller adds it
	var list []string
	for _, e := range asList(dig(c.s.container, "env")) {
		name := fmt.Sprint(dig(e, "name"))
		var val string
		switch {
		case dig(e, "value") != nil:
			val = k8sExpand(fmt.Sprint(dig(e, "value")), env)
		case dig(e, "valueFrom", "secretKeyRef") != nil:
			val = k8sToken
		case name == "ALTCRAFT_API_URL": // the real API's URL, from the ConfigMap
			val = c.url
		case dig(e, "valueFrom", "configMapKeyRef") != nil:
			val = fmt.Sprint(dig(c.s.configMap, "data", dig(e, "valueFrom", "configMapKeyRef", "key")))
		case dig(e, "valueFrom", "fieldRef", "fieldPath") == "metadata.labels['batch.kubernetes.io/job-name']":
			val = jobName
		default:
			t.Fatalf("env %s: the test does not know how the kubelet fills %v", name, e)
		}
		env[name] = val
		list = append(list, name+"="+val)
	}
	list = append(list, "JOB_COMPLETION_INDEX="+strconv.Itoa(k))

	var args []string
	for _, a := range c.s.args {
		a = k8sExpand(a, env)
		if strings.Contains(a, "$(") {
			t.Fatalf("arg %q still holds a $(...) after substitution: the variable is not in the container's env", a)
		}
		// Paths on a volume move to the volume's temporary directory.
		if i := strings.Index(a, "=/"); i > 0 {
			a = a[:i+1] + c.hostPath(t, a[i+1:])
		} else if strings.HasPrefix(a, "/") {
			a = c.hostPath(t, a)
		}
		args = append(args, a)
	}
	p := parseArgs(t, args)
	cmd := exec.Command(importerBin, args...)
	cmd.Env = list // the container's environment, nothing of the test's
	cmd.Dir = c.root
	return cmd, &podRun{index: k, results: p.flags["results"], summary: p.flags["summary"]}
}

// night runs the N pods of one night at once, as parallelism N does.
func (c *k8sCluster) night(t *testing.T, jobName string, indexes ...int) []*podRun {
	t.Helper()
	if len(indexes) == 0 {
		for k := range c.s.n {
			indexes = append(indexes, k)
		}
	}
	runs := make([]*podRun, len(indexes))
	var wg sync.WaitGroup
	for i, k := range indexes {
		cmd, run := c.pod(t, jobName, k)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		runs[i] = run
		wg.Go(func() {
			err := cmd.Run()
			run.code = 0
			if ee, ok := err.(*exec.ExitError); ok {
				run.code = ee.ExitCode()
			} else if err != nil {
				run.code = -1
				fmt.Fprintf(&out, "\nstart: %v", err)
			}
			run.out = out.String()
		})
	}
	wg.Wait()
	for _, r := range runs {
		if strings.Contains(r.out, k8sToken) {
			t.Errorf("pod %d printed the token", r.index)
		}
	}
	return runs
}

// writeExport writes the nightly export: rows with distinct e-mails, and
// every fifth e-mail repeated later in other case with another first name,
// so that per-key order can be checked. It returns the row count and, by
// lower-cased e-mail, the first name the store must end with.
func writeExport(t *testing.T, path string, keys int, night string) (int, map[string]string) {
	t.Helper()
	want := map[string]string{}
	var b strings.Builder
	b.WriteString("Email,First name,Last name,Phone\n")
	rows := 0
	for i := range keys {
		email := fmt.Sprintf("%s.user%d@example.com", night, i)
		fmt.Fprintf(&b, "%s,First%d,Last%d,+7916%07d\n", email, i, i, i)
		want[email] = fmt.Sprintf("First%d", i)
		rows++
	}
	for i := 0; i < keys; i += 5 {
		email := fmt.Sprintf("%s.user%d@example.com", night, i)
		fmt.Fprintf(&b, "%s,Again%d,Last%d,+7916%07d\n", strings.ToUpper(email), i, i, i)
		want[email] = fmt.Sprintf("Again%d", i)
		rows++
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return rows, want
}

// checkNight asserts that the pods of a night exited 0 and that, together,
// they imported every row exactly once, each key in its own shard.
func (c *k8sCluster) checkNight(t *testing.T, runs []*podRun, rows int, want map[string]string) {
	t.Helper()
	seen := map[int]int{} // row → shard
	journals := map[string]bool{}
	var okSum int64
	for _, r := range runs {
		if r.code != 0 {
			t.Fatalf("pod %d: exit %d, want 0\n%s", r.index, r.code, r.out)
		}
		if journals[r.results] {
			t.Fatalf("pods share the journal %s", r.results)
		}
		journals[r.results] = true
		for _, rec := range journalRows(t, r.results) {
			row, _ := strconv.Atoi(rec[0])
			if prev, dup := seen[row]; dup {
				t.Errorf("row %d is in the journals of shards %d and %d", row, prev, r.index)
			}
			seen[row] = r.index
			if rec[3] != "ok" {
				t.Errorf("shard %d row %d: status %s (%s)", r.index, row, rec[3], rec[6])
			}
			if got := importer.ShardOf(rec[2], c.s.n); got != r.index {
				t.Errorf("row %d key %q went through shard %d, its hash says %d", row, rec[2], r.index, got)
			}
		}
		var sum struct{ OK int64 }
		b, err := os.ReadFile(r.summary)
		if err == nil {
			err = json.Unmarshal(b, &sum)
		}
		if err != nil {
			t.Errorf("pod %d summary: %v", r.index, err)
		}
		okSum += sum.OK
	}
	if len(seen) != rows || okSum != int64(rows) {
		t.Errorf("the journals hold %d rows and the summaries %d ok, the export %d", len(seen), okSum, rows)
	}
	// Per-key order held: for every key the store holds its last row.
	got := map[string]string{}
	for _, p := range c.fake.Profiles() {
		got[fmt.Sprint(p.Fields["email"])] = fmt.Sprint(p.Fields["_fname"])
	}
	for email, name := range want {
		if got[email] != name {
			t.Errorf("profile %s: _fname %q, want %q (the key's last row)", email, got[email], name)
		}
	}
}

// TestK8sPodsRunReal runs the CronJob's container, as written, with the real
// binary: the N pods of a night, a retried pod, the next night, and a retry
// that meets a changed input.
func TestK8sPodsRunReal(t *testing.T) {
	s := loadK8s(t)
	c := newK8sCluster(t, s)
	const night1, night2 = "importer-29000000", "importer-29001440"

	rows, want := writeExport(t, c.input, 97, "n1")
	runs := c.night(t, night1)
	c.checkNight(t, runs, rows, want)
	if len(runs) != s.n {
		t.Fatalf("%d pods ran, want %d", len(runs), s.n)
	}

	t.Run("a retried pod resumes and sends nothing again", func(t *testing.T) {
		before := c.fake.Stats().Requests
		for _, r := range c.night(t, night1, s.n-1) {
			if r.code != 0 {
				t.Fatalf("retried pod %d: exit %d\n%s", r.index, r.code, r.out)
			}
		}
		if after := c.fake.Stats().Requests; after != before {
			t.Errorf("the retried pod sent %d requests, want 0: its journal says every row is ok", after-before)
		}
	})

	t.Run("the next night starts its own journals", func(t *testing.T) {
		c.fake.Reset()
		rows, want := writeExport(t, c.input, 41, "n2")
		c.checkNight(t, c.night(t, night2), rows, want)
	})

	t.Run("a retry after the input changed stops, and is not retried", func(t *testing.T) {
		// night2's export is in place; a late retry of night1's pod 0 must
		// refuse its old journal rather than mix two exports.
		r := c.night(t, night1, 0)[0]
		if r.code != importer.ExitFatal {
			t.Fatalf("exit %d, want %d\n%s", r.code, importer.ExitFatal, r.out)
		}
		if !strings.Contains(r.out, "resume") {
			t.Errorf("the message does not say why:\n%s", r.out)
		}
	})
}

// dockerStage is one FROM ... stage of the Dockerfile: its base, its name
// and its instructions (continuation lines joined).
type dockerStage struct {
	from, name string
	instrs     [][2]string // {"RUN", "rest of the line"}
}

func parseDockerfile(t *testing.T, path string) (args map[string]string, stages []dockerStage) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	args = map[string]string{}
	var line strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "#") || (l == "" && line.Len() == 0) {
			continue
		}
		if cont, ok := strings.CutSuffix(l, "\\"); ok {
			line.WriteString(cont + " ")
			continue
		}
		line.WriteString(l)
		full := line.String()
		line.Reset()
		kw, rest, _ := strings.Cut(full, " ")
		kw = strings.ToUpper(kw)
		rest = strings.TrimSpace(rest)
		switch {
		case kw == "FROM":
			f := strings.Fields(rest)
			f = slices.DeleteFunc(f, func(s string) bool { return strings.HasPrefix(s, "--") })
			st := dockerStage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
		case kw == "ARG" && len(stages) == 0:
			k, v, _ := strings.Cut(rest, "=")
			args[k] = v
		case len(stages) > 0:
			stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, [2]string{kw, rest})
		}
	}
	if len(stages) < 2 {
		t.Fatalf("%s: %d stages, want a build stage and a final one", path, len(stages))
	}
	return args, stages
}

func (s dockerStage) last(kw string) (string, bool) {
	for i := len(s.instrs) - 1; i >= 0; i-- {
		if s.instrs[i][0] == kw {
			return s.instrs[i][1], true
		}
	}
	return "", false
}

// TestDockerfile reads the Dockerfile (no engine here): a static build of
// ./cmd/importer with a Go at least go.mod's, and a final stage that runs it
// as a non-root user, directly as PID 1 so that SIGTERM reaches it.
func TestDockerfile(t *testing.T) {
	args, stages := parseDockerfile(t, dockerfile)
	final := stages[len(stages)-1]

	var build dockerStage
	var buildCmd string
	for _, st := range stages[:len(stages)-1] {
		for _, in := range st.instrs {
			if in[0] == "RUN" && strings.Contains(in[1], "go build") {
				build, buildCmd = st, in[1]
			}
		}
	}

	entry, _ := final.last("ENTRYPOINT")
	var entryArgv []string
	entryErr := json.Unmarshal([]byte(entry), &entryArgv)
	user, hasUser := final.last("USER")
	uid, _, _ := strings.Cut(user, ":")

	for _, tc := range []struct {
		name string
		ok   bool
		why  string
	}{
		{"go build in a build stage", buildCmd != "", "no RUN ... go build before the final stage"},
		{"builds ./cmd/importer", strings.Contains(buildCmd, "./cmd/importer"), buildCmd},
		{"static: CGO_ENABLED=0", strings.Contains(buildCmd, "CGO_ENABLED=0"), buildCmd},
		{"reproducible paths: -trimpath", strings.Contains(buildCmd, "-trimpath"), buildCmd},
		{"version from the build", strings.Contains(buildCmd, "-X main.version="), buildCmd},
		{"final stage copies the binary from the build stage", slices.ContainsFunc(final.instrs, func(in [2]string) bool {
			return in[0] == "COPY" && strings.Contains(in[1], "--from="+build.name)
		}), fmt.Sprint(final.instrs)},
		{"non-root USER, numeric so runAsNonRoot can check it", hasUser && uid != "" && uid != "0" && strings.Trim(uid, "0123456789") == "",
			"USER " + user},
		{"ENTRYPOINT in exec form: the importer is PID 1 and gets SIGTERM", entryErr == nil && len(entryArgv) > 0, "ENTRYPOINT " + entry},
		{"ENTRYPOINT is the copied binary", len(entryArgv) > 0 && slices.ContainsFunc(final.instrs, func(in [2]string) bool {
			return in[0] == "COPY" && strings.HasSuffix(in[1], " "+entryArgv[0])
		}), "ENTRYPOINT " + entry},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.ok {
				t.Error(tc.why)
			}
		})
	}

	t.Run("Go at least go.mod's", func(t *testing.T) {
		gomod, err := os.ReadFile("../../go.mod")
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`(?m)^go (\d+)\.(\d+)`).FindStringSubmatch(string(gomod))
		tag := strings.TrimPrefix(build.from, "golang:")
		if v, ok := strings.CutPrefix(tag, "${"); ok {
			tag = args[strings.TrimSuffix(v, "}")]
		}
		d := regexp.MustCompile(`^(\d+)\.(\d+)`).FindStringSubmatch(tag)
		if m == nil || d == nil {
			t.Fatalf("go.mod go line %v, build image %s (tag %q): want both as N.M", m, build.from, tag)
		}
		need, have := atoi(m[1])*1000+atoi(m[2]), atoi(d[1])*1000+atoi(d[2])
		if have < need {
			t.Errorf("build image %s (Go %s.%s) is older than go.mod's go %s.%s", build.from, d[1], d[2], m[1], m[2])
		}
	})

	t.Run(".dockerignore keeps the sources", func(t *testing.T) {
		b, err := os.ReadFile("../../.dockerignore")
		if err != nil {
			t.Fatal(err)
		}
		var pats []string
		for l := range strings.Lines(string(b)) {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				pats = append(pats, strings.TrimSuffix(l, "/"))
			}
		}
		for _, keep := range []string{"go.mod", "go.sum", "cmd/importer/main.go", "internal/importer/run.go",
			"internal/results/rejects.go", "configs/legacy-crm.yaml", "configs/README.md", "samples/legacy-crm.csv"} {
			if p := dockerIgnored(pats, keep); p != "" {
				t.Errorf(".dockerignore pattern %q leaves %s out of the build context", p, keep)
			}
		}
		for _, drop := range []string{".git/config", "samples/x.csv.results.csv", "x.csv.shard-0-of-4.rejects.csv", "bin/importer"} {
			if dockerIgnored(pats, drop) == "" {
				t.Errorf(".dockerignore sends %s into the build context", drop)
			}
		}
	})
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// dockerIgnored returns the first pattern that excludes path: a pattern
// matches the path or one of its parent directories, and "**/" matches any
// number of leading directories (the rules .dockerignore follows, without
// "!" exceptions, which ours does not use).
func dockerIgnored(pats []string, path string) string {
	parts := strings.Split(path, "/")
	for _, p := range pats {
		for i := 1; i <= len(parts); i++ {
			prefix := strings.Join(parts[:i], "/")
			if ok, _ := filepath.Match(p, prefix); ok {
				return p
			}
			if rest, ok := strings.CutPrefix(p, "**/"); ok {
				if ok, _ := filepath.Match(rest, parts[i-1]); ok {
					return p
				}
			}
		}
	}
	return ""
}
