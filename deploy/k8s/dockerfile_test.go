package k8s_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

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
