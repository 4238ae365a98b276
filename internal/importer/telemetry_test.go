package importer

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/net/html"

	"importer/internal/fakeapi"
)

// hook records the requests a ping, webhook or Pushgateway endpoint gets.
type hook struct {
	mu   sync.Mutex
	hits []string // "METHOD path body"
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.hits = append(h.hits, r.Method+" "+r.URL.Path+" "+string(b))
	h.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (h *hook) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.hits...)
}

// TestTelemetry: a run reports itself everywhere asked: a start ping, then
// an end ping saying how it ended, the JSON summary to a webhook with a
// text line, metrics to a Pushgateway and to a textfile, and an HTML report
// with its charts. Success and failure (rows rejected, exit 2) each go to
// their ping URL.
func TestTelemetry(t *testing.T) {
	for _, tc := range []struct {
		name     string
		bad      bool
		code     int
		endPing  string
		exitLine string
	}{
		{"Success", false, ExitOK, "POST /check ", `importer_exit_code{config="c",importer_job="importer"} 0`},
		{"RowsRejected", true, ExitRowErrors, "POST /check/fail ", `importer_exit_code{config="c",importer_job="importer"} 2`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, url := startFake(t, fakeapi.Options{})
			in := genCSV(t, dir, 40, 40, tc.bad)
			cfg := writeFile(t, dir, "c.yaml", simpleConfig)
			h := &hook{}
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			o := baseOptions(ModeRun, cfg, in, dir)
			o.APIURL = url
			o.Ping, o.Notify, o.MetricsPush = srv.URL+"/check", srv.URL+"/hook", srv.URL
			o.MetricsFile = filepath.Join(dir, "importer.prom")
			o.Report = filepath.Join(dir, "report.html")
			o.Command = []string{"importer", "run", "-c", cfg, in}
			r := runImporter(t, context.Background(), o)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d: %v\n%s", r.code, tc.code, r.err, r.stderr)
			}
			hits := h.got()
			var start, end, hookBody, push int
			for i, hit := range hits {
				switch {
				case strings.HasPrefix(hit, "POST /check/start "):
					start = i + 1
				case strings.HasPrefix(hit, tc.endPing):
					end = i + 1
					if !strings.Contains(hit, "exit code") || !strings.Contains(hit, "40 rows") {
						t.Errorf("end ping body lacks the exit code and the summary: %q", hit)
					}
				case strings.HasPrefix(hit, "POST /hook "):
					hookBody = i + 1
					var v map[string]any
					if err := json.Unmarshal([]byte(strings.TrimPrefix(hit, "POST /hook ")), &v); err != nil {
						t.Fatalf("webhook body is not JSON: %v", err)
					}
					if v["exit_code"] != float64(tc.code) || v["rows"] != float64(40) || !strings.Contains(v["text"].(string), "40 rows") {
						t.Errorf("webhook body = %v, want the summary with a text line", v)
					}
				case strings.HasPrefix(hit, "POST /metrics/job/importer/config/c"):
					push = i + 1
				}
			}
			if start == 0 || end == 0 || start > end || hookBody == 0 || push == 0 {
				t.Fatalf("start ping at %d, end ping at %d, webhook at %d, push at %d; hits:\n%s",
					start, end, hookBody, push, strings.Join(hits, "\n"))
			}
			prom, err := os.Open(o.MetricsFile)
			if err != nil {
				t.Fatal(err)
			}
			defer prom.Close()
			parser := expfmt.NewTextParser(model.UTF8Validation)
			if _, err := parser.TextToMetricFamilies(prom); err != nil {
				t.Fatalf("metrics file does not parse: %v", err)
			}
			if b, _ := os.ReadFile(o.MetricsFile); !strings.Contains(string(b), tc.exitLine) {
				t.Errorf("metrics file lacks %q:\n%s", tc.exitLine, b)
			}
			page, err := os.ReadFile(o.Report)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := html.Parse(strings.NewReader(string(page)))
			if err != nil {
				t.Fatalf("report does not parse: %v", err)
			}
			svgs := 0
			var walk func(*html.Node)
			walk = func(n *html.Node) {
				if n.Type == html.ElementNode && n.Data == "svg" {
					svgs++
				}
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					walk(c)
				}
			}
			walk(doc)
			if svgs < 4 || !strings.Contains(string(page), "importer run -c") {
				t.Errorf("report has %d charts and the command line %v, want 4 and the command", svgs, strings.Contains(string(page), "importer run"))
			}
		})
	}
}

// TestTelemetryFailuresDoNotFailTheRun: an unreachable ping, webhook or
// Pushgateway is logged; the run's exit code is its own.
func TestTelemetryFailuresDoNotFailTheRun(t *testing.T) {
	dir := t.TempDir()
	_, url := startFake(t, fakeapi.Options{})
	in := genCSV(t, dir, 5, 5, false)
	cfg := writeFile(t, dir, "c.yaml", simpleConfig)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close() // a port nobody listens on
	o := baseOptions(ModeRun, cfg, in, dir)
	o.APIURL = url
	o.Ping, o.Notify, o.MetricsPush = closed.URL+"/check", closed.URL+"/hook", closed.URL
	r := runImporter(t, context.Background(), o)
	if r.code != ExitOK {
		t.Fatalf("exit %d, want 0: %v\n%s", r.code, r.err, r.stderr)
	}
	for _, what := range []string{"start ping failed", "end ping failed", "notify webhook failed", "metrics push failed"} {
		if !strings.Contains(r.stderr, what) {
			t.Errorf("no log line %q:\n%s", what, r.stderr)
		}
	}
}

// TestTelemetryEarlyFailure: a run that stops before reading a row (here a
// config that does not parse) still reports: the failure ping with the
// error, the webhook, and exit code 1 in the pushed and written metrics.
// A cron job that dies at once must not look like one that never started.
func TestTelemetryEarlyFailure(t *testing.T) {
	dir := t.TempDir()
	in := genCSV(t, dir, 5, 5, false)
	cfg := writeFile(t, dir, "c.yaml", "fields: [unclosed\n")
	h := &hook{}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	o := baseOptions(ModeRun, cfg, in, dir)
	o.Ping, o.Notify, o.MetricsPush = srv.URL+"/check", srv.URL+"/hook", srv.URL
	o.MetricsFile = filepath.Join(dir, "importer.prom")
	r := runImporter(t, context.Background(), o)
	if r.code != ExitFatal {
		t.Fatalf("exit %d, want %d: %v", r.code, ExitFatal, r.err)
	}
	var ping, webhook, push bool
	for _, hit := range h.got() {
		switch {
		case strings.HasPrefix(hit, "POST /check/fail "):
			ping = strings.Contains(hit, "c.yaml")
		case strings.HasPrefix(hit, "POST /hook "):
			webhook = strings.Contains(hit, `"exit_code":1`)
		case strings.HasPrefix(hit, "POST /metrics/job/importer/config/c"):
			_, body, _ := strings.Cut(strings.TrimPrefix(hit, "POST "), " ")
			push = pushedExitCode(t, body) == 1
		}
	}
	if !ping || !webhook || !push {
		t.Errorf("failure ping naming the config %v, webhook with exit 1 %v, push of exit 1 %v; hits:\n%s",
			ping, webhook, push, strings.Join(h.got(), "\n"))
	}
	b, err := os.ReadFile(o.MetricsFile)
	if err != nil {
		t.Fatalf("no metrics file: %v", err)
	}
	if want := `importer_exit_code{config="c",importer_job="importer"} 1`; !strings.Contains(string(b), want) {
		t.Errorf("metrics file lacks %q:\n%s", want, b)
	}
	if strings.Contains(string(b), "importer_last_success") {
		t.Errorf("a failed run wrote a last-success time:\n%s", b)
	}
}

// pushedExitCode decodes a push body (delimited protocol buffers, as the
// Pushgateway client sends) and returns importer_exit_code's value, or -1.
func pushedExitCode(t *testing.T, body string) float64 {
	t.Helper()
	dec := expfmt.NewDecoder(strings.NewReader(body), expfmt.NewFormat(expfmt.TypeProtoDelim))
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err != nil {
			if err != io.EOF {
				t.Errorf("push body does not decode: %v", err)
			}
			return -1
		}
		if mf.GetName() == "importer_exit_code" && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
}
