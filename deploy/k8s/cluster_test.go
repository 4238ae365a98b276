package k8s_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"importer/internal/fakeapi"
)

// podRun is one simulated pod: its index and the process's outcome, and
// where its files are on the temporary volumes.
type podRun struct {
	index   int
	code    int
	out     string
	results string // the results journal
	summary string
	missing string // the --missing file
}

// summary reads the pod's --summary file.
func (r *podRun) summaryJSON(t *testing.T) podSummary {
	t.Helper()
	var sum podSummary
	b, err := os.ReadFile(r.summary)
	if err == nil {
		err = json.Unmarshal(b, &sum)
	}
	if err != nil {
		t.Fatalf("pod %d summary: %v\n%s", r.index, err, r.out)
	}
	return sum
}

// podSummary is the part of a --summary file the tests read.
type podSummary struct {
	Input     string `json:"input"`
	OK        int64  `json:"ok"`
	Unchanged int64  `json:"unchanged"`
	Missing   int64  `json:"missing"`
	Requests  int64  `json:"requests"`
}

// clusterOpts is what the test's cluster holds beyond the manifests.
type clusterOpts struct {
	secrets map[string]string // "secret/key" → the value the pods get; the token's is added
	config  map[string]string // text replaced in the mounted config files, each exactly once
}

// k8sCluster stands in for the kubelet and the cluster's DNS: one
// temporary directory per volume, the fake API for the real one, a
// recording Pushgateway for the Service the pods push to.
type k8sCluster struct {
	s        *k8sSet
	root     string
	fake     *fakeapi.Server
	url      string
	gw       *pushRecorder
	services map[string]string // in-cluster base URL → loopback URL
	secrets  map[string]string
	input    string // the input path on its volume; "" for a remote input
}

func newK8sCluster(t *testing.T, s *k8sSet, o clusterOpts) *k8sCluster {
	t.Helper()
	c := &k8sCluster{s: s, root: t.TempDir(), secrets: map[string]string{"importer-token/token": k8sToken}}
	for k, v := range o.secrets {
		c.secrets[k] = v
	}
	c.fake = fakeapi.New(fakeapi.Options{Token: k8sToken})
	srv := httptest.NewServer(c.fake)
	t.Cleanup(srv.Close)
	c.url = srv.URL
	c.gw = newPushRecorder(t)
	c.services = map[string]string{s.flag(t, "metrics-push"): c.gw.url}
	for _, v := range asList(dig(s.podSpec, "volumes")) {
		switch {
		case dig(v, "configMap") != nil:
			c.mountConfigMap(t, v, o.config)
		case dig(v, "emptyDir") != nil:
			if err := os.MkdirAll(c.volumeDir(v), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	c.setupVolume(t)
	if in := parseArgs(t, s.args).positionals[0]; strings.HasPrefix(in, "/") {
		c.input = c.hostPath(t, in)
	}
	return c
}

// mountConfigMap writes a ConfigMap volume's items as files, with the
// test's replacements (a store's endpoint for the one in the manifest).
func (c *k8sCluster) mountConfigMap(t *testing.T, v any, edits map[string]string) {
	t.Helper()
	for _, it := range asList(dig(v, "configMap", "items")) {
		text := fmt.Sprint(dig(c.s.configMap, "data", dig(it, "key")))
		for old, repl := range edits {
			if n := strings.Count(text, old); n != 1 {
				t.Fatalf("ConfigMap item %v holds %q %d times, want once", dig(it, "key"), old, n)
			}
			text = strings.Replace(text, old, repl, 1)
		}
		path := filepath.Join(c.volumeDir(v), fmt.Sprint(dig(it, "path")))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// setupVolume does what the one-off setup pod of pvc.yaml does to the
// claim: the directories its mkdir makes, and only those (the importer
// creates none: a directory the pods need and the setup pod forgets fails
// the pods' run here as it would in the cluster).
func (c *k8sCluster) setupVolume(t *testing.T) {
	t.Helper()
	mkdir := regexp.MustCompile(`mkdir -p((?: /[^ &;]+)+)`)
	made := 0
	for _, d := range c.s.docs {
		if d.kind() != "Pod" {
			continue
		}
		claims := map[string]any{} // volume name → its volume
		for _, v := range asList(dig(d.obj, "spec", "volumes")) {
			claims[fmt.Sprint(dig(v, "name"))] = v
		}
		for _, ctr := range asList(dig(d.obj, "spec", "containers")) {
			m := mkdir.FindStringSubmatch(strings.Join(asStrings(dig(ctr, "command")), " "))
			if m == nil {
				continue
			}
			for _, p := range strings.Fields(m[1]) {
				for _, mnt := range asList(dig(ctr, "volumeMounts")) {
					rest, ok := strings.CutPrefix(p, fmt.Sprint(dig(mnt, "mountPath"))+"/")
					if !ok {
						continue
					}
					if err := os.MkdirAll(filepath.Join(c.volumeDir(claims[fmt.Sprint(dig(mnt, "name"))]), rest), 0o755); err != nil {
						t.Fatal(err)
					}
					made++
				}
			}
		}
	}
	if made == 0 {
		t.Fatal("no setup pod makes the volume's directories")
	}
}

func asStrings(v any) []string {
	var out []string
	for _, e := range asList(v) {
		out = append(out, fmt.Sprint(e))
	}
	return out
}

// volumeDir is a volume's temporary directory: one per claim, so that two
// pods' volumes on one claim are the same directory.
func (c *k8sCluster) volumeDir(v any) string {
	var name string
	switch {
	case dig(v, "persistentVolumeClaim") != nil:
		name = "pvc-" + fmt.Sprint(dig(v, "persistentVolumeClaim", "claimName"))
	case dig(v, "configMap") != nil:
		name = "configmap-" + fmt.Sprint(dig(v, "configMap", "name"))
	default:
		name = "pod-" + fmt.Sprint(dig(v, "name"))
	}
	return filepath.Join(c.root, "volumes", name)
}

// hostPath maps a path in the container to the temporary volume it is on.
func (c *k8sCluster) hostPath(t *testing.T, p string) string {
	t.Helper()
	v := c.s.volumeAt(p)
	if v == nil {
		t.Fatalf("%s is on no volume: the root filesystem is read-only", p)
	}
	for _, m := range asList(dig(c.s.container, "volumeMounts")) {
		if dig(m, "name") != dig(v, "name") {
			continue
		}
		mp := fmt.Sprint(dig(m, "mountPath"))
		if p == mp {
			return c.volumeDir(v)
		}
		if rest, ok := strings.CutPrefix(p, mp+"/"); ok {
			return filepath.Join(c.volumeDir(v), rest)
		}
	}
	t.Fatalf("%s: no mount of volume %v", p, dig(v, "name"))
	return ""
}

// statePath is where shard k's state database is on the volume.
func (c *k8sCluster) statePath(t *testing.T, k int) string {
	t.Helper()
	return fmt.Sprintf("%s.shard-%d-of-%d", c.hostPath(t, c.s.flag(t, "state")), k, c.s.n)
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

// podEnv builds the container's environment as the kubelet does, with
// overrides set as `kubectl set env` would have set them in the Job.
func (c *k8sCluster) podEnv(t *testing.T, jobName string, k int, overrides map[string]string) (map[string]string, []string) {
	t.Helper()
	env := map[string]string{"JOB_COMPLETION_INDEX": strconv.Itoa(k)} // the Job controller adds it
	var names []string
	for _, e := range asList(dig(c.s.container, "env")) {
		name := fmt.Sprint(dig(e, "name"))
		var val string
		switch ref := dig(e, "valueFrom", "secretKeyRef"); {
		case hasKey(overrides, name):
			val = overrides[name]
		case dig(e, "value") != nil:
			val = k8sExpand(fmt.Sprint(dig(e, "value")), env)
		case ref != nil:
			v, ok := c.secrets[fmt.Sprint(dig(ref, "name"), "/", dig(ref, "key"))]
			if !ok {
				t.Fatalf("env %s: the test has no value for Secret %v key %v", name, dig(ref, "name"), dig(ref, "key"))
			}
			val = v
		case name == "ALTCRAFT_API_URL": // the real API's URL, from the ConfigMap
			val = c.url
		case dig(e, "valueFrom", "configMapKeyRef") != nil:
			val = fmt.Sprint(dig(c.s.configMap, "data", dig(e, "valueFrom", "configMapKeyRef", "key")))
		case dig(e, "valueFrom", "fieldRef", "fieldPath") == "metadata.labels['batch.kubernetes.io/job-name']":
			val = jobName
		default:
			t.Fatalf("env %s: the test does not know how the kubelet fills %v", name, e)
		}
		if name == "TMPDIR" {
			val = c.hostPath(t, val)
		}
		env[name] = val
		names = append(names, name)
	}
	if _, ok := env["TMPDIR"]; !ok {
		// Go's temporary directory is then /tmp: on a volume, or on the
		// read-only root, where nothing can be created.
		env["TMPDIR"] = filepath.Join(c.root, "read-only-root", "tmp")
		if c.s.volumeAt("/tmp") != nil {
			env["TMPDIR"] = c.hostPath(t, "/tmp")
		}
		names = append(names, "TMPDIR")
	}
	list := []string{"JOB_COMPLETION_INDEX=" + strconv.Itoa(k)}
	for _, n := range names {
		list = append(list, n+"="+env[n])
	}
	return env, list
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

// pod prepares the container of index k of the night jobName: the command,
// its environment built as the kubelet builds it, its args expanded and
// mapped onto the temporary volumes and the loopback services.
func (c *k8sCluster) pod(t *testing.T, jobName string, k int, overrides map[string]string) (*exec.Cmd, *podRun) {
	t.Helper()
	env, list := c.podEnv(t, jobName, k, overrides)
	var args []string
	for _, a := range c.s.args {
		a = k8sExpand(a, env)
		if strings.Contains(a, "$(") {
			t.Fatalf("arg %q still holds a $(...) after substitution: the variable is not in the container's env", a)
		}
		for svc, local := range c.services {
			a = strings.ReplaceAll(a, svc, local)
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
	return cmd, &podRun{index: k, results: p.flags["results"], summary: p.flags["summary"], missing: p.flags["missing"]}
}

// night runs the pods of one night at once, as parallelism N does: every
// index, or those given.
func (c *k8sCluster) night(t *testing.T, jobName string, indexes ...int) []*podRun {
	t.Helper()
	return c.nightEnv(t, jobName, nil, indexes...)
}

// nightEnv is night with the env overrides of a Job made by hand.
func (c *k8sCluster) nightEnv(t *testing.T, jobName string, overrides map[string]string, indexes ...int) []*podRun {
	t.Helper()
	if len(indexes) == 0 {
		for k := range c.s.n {
			indexes = append(indexes, k)
		}
	}
	runs := make([]*podRun, len(indexes))
	var wg sync.WaitGroup
	for i, k := range indexes {
		cmd, run := c.pod(t, jobName, k, overrides)
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
		for ref, secret := range c.secrets {
			if strings.Contains(r.out, secret) {
				t.Errorf("pod %d printed the value of Secret %s", r.index, ref)
			}
		}
	}
	return runs
}
