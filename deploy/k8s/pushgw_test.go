package k8s_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// pushRecorder is a Pushgateway's push API on loopback, recording what each
// push carried: its method, its grouping key and its metric families, as
// the gateway would decode them.
type pushRecorder struct {
	url string

	mu     sync.Mutex
	pushes []pushed
}

// pushed is one push as received.
type pushed struct {
	method   string
	group    map[string]string // the grouping key, job included
	families map[string]*dto.MetricFamily
}

func newPushRecorder(t *testing.T) *pushRecorder {
	t.Helper()
	r := &pushRecorder{}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

// ServeHTTP takes /metrics/job/JOB{/LABEL/VALUE} (a VALUE in URL-safe
// base64 after LABEL@base64, as for values holding a "/") and decodes the
// body in the format its Content-Type names.
func (r *pushRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	p, err := parsePush(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.pushes = append(r.pushes, p)
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func parsePush(req *http.Request) (pushed, error) {
	p := pushed{method: req.Method, group: map[string]string{}, families: map[string]*dto.MetricFamily{}}
	rest, ok := strings.CutPrefix(req.URL.EscapedPath(), "/metrics/")
	parts := strings.Split(rest, "/")
	if !ok || len(parts)%2 != 0 || parts[0] != "job" {
		return p, fmt.Errorf("path %s: want /metrics/job/JOB{/LABEL/VALUE}", req.URL.Path)
	}
	for i := 0; i < len(parts); i += 2 {
		name, val := parts[i], parts[i+1]
		if n, ok := strings.CutSuffix(name, "@base64"); ok {
			b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(val, "="))
			if err != nil {
				return p, fmt.Errorf("label %s: %w", n, err)
			}
			name, val = n, string(b)
		} else if v, err := url.PathUnescape(val); err == nil {
			val = v
		}
		p.group[name] = val
	}
	dec := expfmt.NewDecoder(req.Body, expfmt.ResponseFormat(req.Header))
	for {
		mf := &dto.MetricFamily{}
		err := dec.Decode(mf)
		if errors.Is(err, io.EOF) {
			return p, nil
		}
		if err != nil {
			return p, fmt.Errorf("body: %w", err)
		}
		p.families[mf.GetName()] = mf
	}
}

// since returns the pushes received after the first n.
func (r *pushRecorder) since(n int) []pushed {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.pushes[n:])
}

// count is how many pushes were received.
func (r *pushRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pushes)
}

// gauge is the value of an unlabelled gauge of the push; ok false when the
// push lacks the family.
func (p pushed) gauge(name string) (float64, bool) {
	mf, ok := p.families[name]
	if !ok || len(mf.GetMetric()) != 1 {
		return 0, false
	}
	return mf.GetMetric()[0].GetGauge().GetValue(), true
}

// rows is the push's importer_rows of one status (-1 when absent).
func (p pushed) rows(status string) float64 {
	for _, m := range p.families["importer_rows"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "status" && l.GetValue() == status {
				return m.GetGauge().GetValue()
			}
		}
	}
	return -1
}

// names are the metric names of the push, sorted.
func (p pushed) names() []string { return slices.Sorted(maps.Keys(p.families)) }

// checkPushes: each pod of a night that got past its start pushed once,
// with push-add semantics, under job=importer, the config's name and its
// shard; a success carries importer_last_success_timestamp_seconds, a
// failure does not (so the gateway keeps the last success).
func (c *k8sCluster) checkPushes(t *testing.T, pushes []pushed, runs []*podRun) {
	t.Helper()
	config := strings.TrimSuffix(filepath.Base(c.s.flag(t, "config")), ".yaml")
	byShard := map[string]pushed{}
	for _, p := range pushes {
		if p.method != http.MethodPost {
			t.Errorf("push %v: method %s, want POST (push-add: a failure must leave the last success)", p.group, p.method)
		}
		if _, dup := byShard[p.group["shard"]]; dup {
			t.Errorf("shard %s pushed twice", p.group["shard"])
		}
		byShard[p.group["shard"]] = p
	}
	for _, r := range runs {
		shard := fmt.Sprintf("%d/%d", r.index, c.s.n)
		p, ok := byShard[shard]
		if !ok {
			t.Errorf("pod %d (exit %d) pushed nothing; pushes: %v", r.index, r.code, slices.Collect(maps.Keys(byShard)))
			continue
		}
		want := map[string]string{"job": "importer", "config": config, "shard": shard}
		if !maps.Equal(p.group, want) {
			t.Errorf("pod %d pushed under %v, want %v", r.index, p.group, want)
		}
		code, _ := p.gauge("importer_exit_code")
		success, _ := p.gauge("importer_last_run_success")
		_, hasLast := p.gauge("importer_last_success_timestamp_seconds")
		if int(code) != r.code || (success == 1) != (r.code == 0) || hasLast != (r.code == 0) {
			t.Errorf("pod %d (exit %d) pushed exit code %v, success %v, last success included %v", r.index, r.code, code, success, hasLast)
		}
		if ok, sum := p.rows("ok"), r.summaryJSON(t).OK; ok != float64(sum) {
			t.Errorf("pod %d pushed importer_rows{status=\"ok\"} %v, its summary says %d", r.index, ok, sum)
		}
	}
}
