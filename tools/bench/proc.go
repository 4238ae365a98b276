package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"importer/internal/fakeapi"
)

// Environment variables that carry the tokens to the children.
const (
	envImporterToken = "ALTCRAFT_TOKEN"
	envFakeToken     = "FAKEAPI_TOKEN"
)

// procResult is one finished child process.
type procResult struct {
	Wall   time.Duration
	MaxRSS int64         // peak resident set in KiB; -1 when the platform does not say
	CPU    time.Duration // user + system CPU time
	Exit   int
	Stderr string  // the last lines, for error messages
	GC     gcStats // with runOpts.gctrace
}

// runOpts are the extras of one importer run.
type runOpts struct {
	env     []string // added to the child's environment (after ours)
	gctrace bool     // GODEBUG=gctrace=1: count the collections and the largest heap
}

// gcStats is what the runtime's gctrace lines said about a run.
type gcStats struct {
	Count    int   // collections
	PeakHeap int64 // the largest Go heap seen at the start or end of a collection, bytes
}

// gcLine is a gctrace line: "gc 12 @1.5s 3%: ... 41->43->6 MB, 82 MB goal, ...";
// its A->B->C are the heap at the start and end of the collection and
// the live heap after it (MB = 2^20 bytes).
var gcLine = regexp.MustCompile(`^gc \d+ @.* (\d+)->(\d+)->(\d+) MB`)

// gcTrace is a child's stderr: gctrace lines are counted, the others go
// on to rest.
type gcTrace struct {
	rest    io.Writer
	partial []byte
	stats   gcStats
}

func (g *gcTrace) Write(p []byte) (int, error) {
	g.partial = append(g.partial, p...)
	for {
		i := bytes.IndexByte(g.partial, '\n')
		if i < 0 {
			break
		}
		line := g.partial[:i+1]
		if m := gcLine.FindSubmatch(line); m != nil {
			g.stats.Count++
			for _, v := range m[1:3] {
				if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
					g.stats.PeakHeap = max(g.stats.PeakHeap, n<<20)
				}
			}
		} else {
			_, _ = g.rest.Write(line)
		}
		g.partial = append(g.partial[:0], g.partial[i+1:]...)
	}
	return len(p), nil
}

// summary is the part of the importer's --summary file the scenarios read.
type summary struct {
	Rows     int64   `json:"rows"`
	OK       int64   `json:"ok"`
	Failed   int64   `json:"failed"`
	Invalid  int64   `json:"invalid"`
	Unknown  int64   `json:"unknown"`
	Valid    int64   `json:"valid"`
	NotSent  int64   `json:"not_sent"`
	Requests int64   `json:"requests"`
	Retries  int64   `json:"retries"`
	Duration float64 `json:"duration_seconds"`
}

// childEnv is the environment of a child: ours without any token or API URL
// the caller's shell may hold, plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case envImporterToken, envFakeToken, "ALTCRAFT_API_URL":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// envPrefix renders a run's extra environment for a command line.
func envPrefix(o runOpts) string {
	var b strings.Builder
	for _, kv := range o.env {
		b.WriteString(shellQuote(kv) + " ")
	}
	if o.gctrace {
		b.WriteString("GODEBUG=gctrace=1 ")
	}
	return b.String()
}

// shellLine renders a command as a shell would take it, the token shown as
// a variable: the report says what ran, never the secret.
func shellLine(envName, bin string, args []string) string {
	var b strings.Builder
	if envName != "" {
		b.WriteString(envName + `="$TOKEN" `)
	}
	b.WriteString(shellQuote(bin))
	for _, a := range args {
		b.WriteByte(' ')
		b.WriteString(shellQuote(a))
	}
	return b.String()
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,+%^$", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

// runImporter runs the importer with args (the token in its environment
// for `run`; validate never needs one) and returns how it went and its --summary file (read from summaryPath
// when not empty). Exit codes 0 and 2 (some rows invalid) are success; any
// other is an error naming the command and the end of its stderr.
func (r *runner) runImporter(ctx context.Context, args []string, summaryPath string) (procResult, summary, error) {
	return r.runImporterWith(ctx, args, summaryPath, runOpts{})
}

// runImporterWith is runImporter with extras.
func (r *runner) runImporterWith(ctx context.Context, args []string, summaryPath string, o runOpts) (procResult, summary, error) {
	var sum summary
	if summaryPath != "" {
		_ = os.Remove(summaryPath) // never read a previous run's summary
	}
	envName, env := "", childEnv()
	if len(args) > 0 && args[0] == "run" {
		envName, env = envImporterToken, childEnv(envImporterToken+"="+r.token)
	}
	env = append(env, o.env...)
	var gc *gcTrace
	if o.gctrace {
		env = append(env, "GODEBUG=gctrace=1")
	}
	line := shellLine(envName, r.cfg.Importer, args)
	if len(o.env) > 0 || o.gctrace {
		line = envPrefix(o) + line
	}
	r.logf("  $ %s", line)
	cmd := exec.CommandContext(ctx, r.cfg.Importer, args...)
	cmd.Dir = r.cfg.Dir
	cmd.Env = env
	tail := &tailBuffer{max: 2048}
	cmd.Stdout, cmd.Stderr = io.Discard, tail
	if o.gctrace {
		gc = &gcTrace{rest: tail}
		cmd.Stderr = gc
	}
	start := time.Now()
	err := cmd.Start()
	var hwm int64 = -1
	if err == nil {
		done := make(chan struct{})
		sampled := make(chan int64, 1)
		go func() { sampled <- sampleHWM(cmd.Process.Pid, done) }()
		err = cmd.Wait()
		close(done)
		hwm = <-sampled
	}
	res := procResult{Wall: time.Since(start), MaxRSS: -1, Exit: -1, Stderr: string(tail.buf)}
	if gc != nil {
		res.GC = gc.stats
	}
	if cmd.ProcessState != nil {
		res.Exit = cmd.ProcessState.ExitCode()
		res.MaxRSS = hwm
		res.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && res.Exit == 2) {
		return res, sum, fmt.Errorf("%s: exit %d: %w\n%s", line, res.Exit, err, res.Stderr)
	}
	if summaryPath != "" {
		b, err := os.ReadFile(r.path(summaryPath))
		if err != nil {
			return res, sum, fmt.Errorf("%s: summary: %w", line, err)
		}
		if err := json.Unmarshal(b, &sum); err != nil {
			return res, sum, fmt.Errorf("%s: summary %s: %w", line, summaryPath, err)
		}
	}
	return res, sum, nil
}

// fake is a running bin/fakeapi.
type fake struct {
	cmd     *exec.Cmd
	url     string
	line    string // the command line, token as a variable
	done    chan struct{}
	waitErr error
	client  *http.Client
}

// startFake starts bin/fakeapi on a free 127.0.0.1 port with flags, the
// token in its environment, and waits until it has written its URL.
func (r *runner) startFake(ctx context.Context, name string, flags ...string) (*fake, error) {
	addrFile := filepath.Join(r.cfg.Out, "fakeapi-"+name+".addr")
	logFile := filepath.Join(r.cfg.Out, "fakeapi-"+name+".log")
	_ = os.Remove(r.path(addrFile))
	args := append([]string{"--listen", "127.0.0.1:0", "--addr-file", addrFile}, flags...)
	f := &fake{line: shellLine(envFakeToken, r.cfg.FakeAPI, args), done: make(chan struct{}),
		client: &http.Client{Timeout: 30 * time.Second}}
	r.logf("  $ %s &", f.line)
	lf, err := os.Create(r.path(logFile))
	if err != nil {
		return nil, fmt.Errorf("fakeapi: %w", err)
	}
	f.cmd = exec.Command(r.cfg.FakeAPI, args...)
	f.cmd.Dir = r.cfg.Dir
	f.cmd.Env = childEnv(envFakeToken + "=" + r.token)
	f.cmd.Stdout, f.cmd.Stderr = lf, lf
	if err := f.cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("fakeapi: %w", err)
	}
	go func() {
		f.waitErr = f.cmd.Wait()
		lf.Close()
		close(f.done)
	}()
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	for {
		if b, err := os.ReadFile(r.path(addrFile)); err == nil && len(bytes.TrimSpace(b)) > 0 {
			f.url = strings.TrimSpace(string(b))
			return f, nil
		}
		select {
		case <-f.done:
			log, _ := os.ReadFile(r.path(logFile))
			return nil, fmt.Errorf("fakeapi exited before listening: %v\n%s", f.waitErr, log)
		case <-deadline.C:
			f.stop()
			return nil, errors.New("fakeapi: no address after 15 s")
		case <-ctx.Done():
			f.stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop ends the fake with SIGTERM (SIGKILL after 10 s) and returns its
// peak RSS in KiB.
func (f *fake) stop() int64 {
	hwm := readHWM(f.cmd.Process.Pid) // while it runs: a reaped process has no /proc entry
	_ = f.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-f.done:
	case <-time.After(10 * time.Second):
		_ = f.cmd.Process.Kill()
		<-f.done
	}
	return hwm
}

// cpu is the CPU time the fake has used so far, or -1.
func (f *fake) cpu() time.Duration { return pidCPU(f.cmd.Process.Pid) }

// reset empties the fake's store and restarts its statistics.
func (f *fake) reset(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url+"/fake/reset", nil)
	if err != nil {
		return fmt.Errorf("fakeapi reset: %w", err)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("fakeapi reset: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fakeapi reset: HTTP %d", resp.StatusCode)
	}
	return nil
}

// stats reads the fake's counters with the per-second histogram.
func (f *fake) stats(ctx context.Context) (fakeapi.Stats, error) {
	var st fakeapi.Stats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url+"/fake/stats?per_second=1", nil)
	if err != nil {
		return st, fmt.Errorf("fakeapi stats: %w", err)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return st, fmt.Errorf("fakeapi stats: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("fakeapi stats: HTTP %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("fakeapi stats: %w", err)
	}
	return st, nil
}
