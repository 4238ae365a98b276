package k8s_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/url"
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

	"importer/internal/importer"
	"importer/internal/mapping"
)

// These tests keep deploy/k8s/ and the Dockerfile honest without a cluster
// or a Docker engine: the manifests are parsed as plain YAML (no Kubernetes
// libraries) and the CronJob's container is "run" the way the kubelet would
// run it: its env resolved, $(VAR) substituted in its args, its volumes
// replaced by temporary directories, the Services it names replaced by
// loopback servers, and the real importer binary started once per index
// against the fake API (and, for the bucket variant, a fake S3 store).

const (
	dockerfile = "../../Dockerfile"
	k8sToken   = "k8s-SECRET-token-7"
)

// variant is one way to run the nightly job: the manifests of its
// directory plus the files of deploy/k8s it shares.
type variant struct {
	name   string
	dir    string
	shared []string // manifests of deploy/k8s the variant applies too
}

var (
	inbox  = variant{name: "inbox", dir: "."}
	bucket = variant{name: "bucket", dir: "bucket", shared: []string{"secret.example.yaml", "pvc.yaml"}}
)

// variants are every variant, for the tests that check each the same way.
var variants = []variant{inbox, bucket}

// eachVariant runs f as a subtest per variant, on its manifests.
func eachVariant(t *testing.T, f func(t *testing.T, s *k8sSet)) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) { f(t, loadK8s(t, v)) })
	}
}

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

// loadK8sDocs reads the variant's manifests: every *.yaml of its directory
// and the shared files.
func loadK8sDocs(t *testing.T, v variant) []k8sDoc {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(v.dir, "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no manifests in %s: %v", v.dir, err)
	}
	paths = append(paths, v.shared...)
	var docs []k8sDoc
	for _, p := range paths {
		docs = append(docs, readDocs(t, p)...)
	}
	return docs
}

// readDocs decodes every document of one YAML file.
func readDocs(t *testing.T, path string) []k8sDoc {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var docs []k8sDoc
	dec := yaml.NewDecoder(f)
	for {
		var obj map[string]any
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if obj == nil { // an empty document between two ---
			continue
		}
		docs = append(docs, k8sDoc{file: path, obj: obj})
	}
}

// k8sSet is the manifests of one variant, with the parts the tests look at
// picked out.
type k8sSet struct {
	variant   variant
	docs      []k8sDoc
	cronJob   map[string]any
	jobSpec   any
	podSpec   any
	container map[string]any
	args      []string
	configMap map[string]any   // the one the pods mount
	secrets   []map[string]any // the examples of every Secret
	mapping   *mapping.Config  // the mapping config the pods mount
	n         int              // completions: the number of shards
}

func loadK8s(t *testing.T, v variant) *k8sSet {
	t.Helper()
	s := &k8sSet{variant: v, docs: loadK8sDocs(t, v)}
	var cronJobs, configMaps []map[string]any
	for _, d := range s.docs {
		switch d.kind() {
		case "CronJob":
			cronJobs = append(cronJobs, d.obj)
		case "ConfigMap":
			configMaps = append(configMaps, d.obj)
		case "Secret":
			s.secrets = append(s.secrets, d.obj)
		}
	}
	if len(cronJobs) != 1 || len(configMaps) != 1 || len(s.secrets) == 0 {
		t.Fatalf("%s: want one CronJob, one ConfigMap and the Secrets; got %d CronJobs, %d ConfigMaps, %d Secrets",
			v.name, len(cronJobs), len(configMaps), len(s.secrets))
	}
	s.cronJob, s.configMap = cronJobs[0], configMaps[0]
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
	cfg, err := mapping.Parse([]byte(src), v.name+" ConfigMap mapping")
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

// volumeAt is the pod's volume mounted at the container path p (or a
// parent of it), nil for the read-only root filesystem.
func (s *k8sSet) volumeAt(p string) map[string]any {
	for _, m := range asList(dig(s.container, "volumeMounts")) {
		mp := fmt.Sprint(dig(m, "mountPath"))
		if p != mp && !strings.HasPrefix(p, mp+"/") {
			continue
		}
		for _, v := range asList(dig(s.podSpec, "volumes")) {
			if dig(v, "name") == dig(m, "name") {
				return asMap(v)
			}
		}
	}
	return nil
}

// TestK8sManifestsParse: every document is a named Kubernetes object, the
// kinds the README promises are there, and every reference between them
// (Secret key, ConfigMap key, claim) resolves, in each variant.
func TestK8sManifestsParse(t *testing.T) {
	eachVariant(t, func(t *testing.T, s *k8sSet) {
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
				t.Errorf("no %s in %s (kinds: %v)", want, s.variant.dir, kinds)
			}
		}
		for _, d := range s.docs {
			checkRefs(t, d, byKindName)
		}
		// N pods share the claim, on any node: only ReadWriteMany allows that.
		for _, d := range s.docs {
			if d.kind() == "PersistentVolumeClaim" && s.n > 1 && !slices.Contains(asList(dig(d.obj, "spec", "accessModes")), any("ReadWriteMany")) {
				t.Errorf("%s: PVC %s is shared by %d pods but its accessModes are %v, want ReadWriteMany", d.file, d.name(), s.n, dig(d.obj, "spec", "accessModes"))
			}
		}
	})
}

// checkRefs checks that the Secrets, ConfigMaps and claims a CronJob's or
// a Pod's containers use are defined, with the keys used.
func checkRefs(t *testing.T, d k8sDoc, byKindName map[string]map[string]any) {
	t.Helper()
	var pod any
	switch d.kind() {
	case "CronJob":
		pod = dig(d.obj, "spec", "jobTemplate", "spec", "template", "spec")
	case "Pod":
		pod = dig(d.obj, "spec")
	default:
		return
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

// TestK8sCronJob checks each variant's CronJob field by field against what
// the importer needs from it.
func TestK8sCronJob(t *testing.T) {
	eachVariant(t, func(t *testing.T, s *k8sSet) {
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
			// over one journal's lock, and the next night's --resume would
			// meet the previous night's journal.
			for _, f := range []string{"results", "rejects", "summary", "missing"} {
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

		t.Run("one state a shard, kept from night to night", func(t *testing.T) {
			// The importer adds .shard-K-of-N itself; a night's name in the
			// path would start every night from an empty state, and a
			// volume that dies with the pod would too.
			st := s.flag(t, "state")
			if strings.Contains(st, "$(") {
				t.Errorf("--state=%s holds a $(...): the state must be the same path every night", st)
			}
			if v := s.volumeAt(st); dig(v, "persistentVolumeClaim") == nil {
				t.Errorf("--state=%s is on volume %v, want a PersistentVolumeClaim", st, v)
			}
			if base := strings.TrimSuffix(filepath.Base(s.flag(t, "config")), ".yaml"); !strings.Contains(filepath.Base(st), base) {
				t.Errorf("--state=%s does not name the config %s: a state belongs to one config", st, base)
			}
		})

		t.Run("metrics go to an in-cluster Pushgateway Service", func(t *testing.T) {
			u, err := url.Parse(s.flag(t, "metrics-push"))
			if err != nil || u.Scheme != "http" || u.Port() == "" || strings.Count(u.Hostname(), ".") != 1 || u.Path != "" {
				t.Errorf("--metrics-push=%s: want http://SERVICE.NAMESPACE:PORT (%v)", s.flag(t, "metrics-push"), err)
			}
		})

		if s.variant.name == bucket.name {
			t.Run("temporary files go to a writable volume", func(t *testing.T) {
				// The root filesystem is read-only: os.TempDir ($TMPDIR,
				// else /tmp) must be a volume, or a workbook read from the
				// bucket cannot be spooled.
				tmp := "/tmp"
				if e := s.envVar("TMPDIR"); e != nil {
					tmp = fmt.Sprint(dig(e, "value"))
				}
				if v := s.volumeAt(tmp); dig(v, "emptyDir") == nil {
					t.Errorf("TMPDIR %s is on volume %v, want an emptyDir", tmp, v)
				}
			})
		}

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

		t.Run("memory: GOMEMLIMIT, then room for the state's pages", func(t *testing.T) {
			// 128Mi is twice the 64 MB peak RSS target; the state file is
			// memory-mapped and its pages count against the limit on top.
			lim, err1 := parseQuantity(fmt.Sprint(dig(s.envVar("GOMEMLIMIT"), "value")))
			mem, err2 := parseQuantity(fmt.Sprint(dig(s.container, "resources", "limits", "memory")))
			if err1 != nil || err2 != nil || lim >= mem || mem < (128+64)<<20 {
				t.Errorf("GOMEMLIMIT %v, memory limit %v: want GOMEMLIMIT below the limit and the limit at least 192Mi (%v, %v)",
					dig(s.envVar("GOMEMLIMIT"), "value"), dig(s.container, "resources", "limits", "memory"), err1, err2)
			}
		})
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
	eachVariant(t, func(t *testing.T, s *k8sSet) {
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
		checkSecretValuesStayPut(t, s)
	})
}

// checkSecretValuesStayPut: every example Secret holds obvious
// placeholders, and no other manifest holds their values.
func checkSecretValuesStayPut(t *testing.T, s *k8sSet) {
	t.Helper()
	for _, sec := range s.secrets {
		for k, v := range asMap(dig(sec, "stringData")) {
			val := fmt.Sprint(v)
			if !strings.Contains(val, "REPLACE") {
				t.Errorf("Secret %v key %s holds %q, want an obvious placeholder", dig(sec, "metadata", "name"), k, val)
			}
			for _, d := range s.docs {
				if d.kind() == "Secret" {
					continue
				}
				b, _ := yaml.Marshal(d.obj)
				if bytes.Contains(b, []byte(val)) {
					t.Errorf("%s contains the value of Secret %v", d.file, dig(sec, "metadata", "name"))
				}
			}
		}
	}
}

// TestK8sS3Secret: the bucket's credentials reach the pods only as the
// environment variables the importer reads (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY), from the Secret importer-s3: never in the args,
// never in a mounted file, never in the ConfigMap.
func TestK8sS3Secret(t *testing.T) {
	s := loadK8s(t, bucket)
	want := map[string]string{"AWS_ACCESS_KEY_ID": "access_key_id", "AWS_SECRET_ACCESS_KEY": "secret_access_key"}
	for env, key := range want {
		e := s.envVar(env)
		if got := fmt.Sprint(dig(e, "valueFrom", "secretKeyRef", "name"), "/", dig(e, "valueFrom", "secretKeyRef", "key")); got != "importer-s3/"+key {
			t.Errorf("env %s comes from %s, want secretKeyRef importer-s3/%s", env, got, key)
		}
		if _, literal := e["value"]; literal {
			t.Errorf("env %s has a literal value in the manifest", env)
		}
	}
	// Every use of importer-s3 is one of those two.
	for _, e := range asList(dig(s.container, "env")) {
		if dig(e, "valueFrom", "secretKeyRef", "name") == "importer-s3" && want[fmt.Sprint(dig(e, "name"))] == "" {
			t.Errorf("env %v reads Secret importer-s3: the importer takes S3 credentials only from the AWS_* variables", dig(e, "name"))
		}
	}
	for _, v := range asList(dig(s.podSpec, "volumes")) {
		if dig(v, "secret") != nil || dig(v, "projected") != nil {
			t.Errorf("volume %v mounts a Secret as files: Secrets reach the pods only through env", dig(v, "name"))
		}
	}
	for _, a := range append(slices.Clone(s.args), fmt.Sprint(dig(s.container, "command"))) {
		if l := strings.ToLower(a); strings.Contains(l, "aws_") || strings.Contains(l, "secret") || strings.Contains(l, "access_key") {
			t.Errorf("container arg %q mentions the S3 credentials", a)
		}
	}
	// The ConfigMap has no key that could hold a credential, at any depth
	// of the mapping config; the bucket is addressed there by input.s3.
	var cfg any
	if err := yaml.Unmarshal([]byte(fmt.Sprint(dig(s.configMap, "data", s.mappingKey(t)))), &cfg); err != nil {
		t.Fatal(err)
	}
	for _, k := range append(slices.Collect(maps.Keys(asMap(dig(s.configMap, "data")))), yamlKeys(cfg)...) {
		if l := strings.ToLower(k); strings.Contains(l, "secret") || strings.Contains(l, "access_key") || strings.Contains(l, "password") {
			t.Errorf("the ConfigMap has a key %q: credentials belong in the Secret", k)
		}
	}
	if s.mapping.Input.S3.Endpoint == "" || s.mapping.Input.S3.Region == "" {
		t.Errorf("the mapping's input.s3 = %+v: want the store's endpoint and region there", s.mapping.Input.S3)
	}
	checkSecretValuesStayPut(t, s)
}

// yamlKeys lists every map key of a decoded YAML document, at any depth.
func yamlKeys(v any) []string {
	var keys []string
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			keys = append(keys, k)
			keys = append(keys, yamlKeys(e)...)
		}
	case []any:
		for _, e := range v {
			keys = append(keys, yamlKeys(e)...)
		}
	}
	return keys
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

// TestK8sRates: the pods' rates add up to the token's rate, the mapping
// config's api.rate; and every flag of the args is a flag of the real binary.
func TestK8sRates(t *testing.T) {
	eachVariant(t, func(t *testing.T, s *k8sSet) {
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
	})
}
