package mapping

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"importer/internal/golden"
)

// sampleCounts reads the table of configs/README.md:
// | config | sample | rows | valid | invalid |.
func sampleCounts(t *testing.T) map[string][4]string {
	t.Helper()
	f, err := os.Open("../../configs/README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	row := regexp.MustCompile("^\\|\\s*`?([\\w.-]+\\.yaml)`?\\s*\\|\\s*`?([\\w./-]+)`?\\s*\\|\\s*(\\d+)\\s*\\|\\s*(\\d+)\\s*\\|\\s*(\\d+)\\s*\\|")
	out := map[string][4]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := row.FindStringSubmatch(sc.Text()); m != nil {
			out[m[1]] = [4]string{m[2], m[3], m[4], m[5]}
		}
	}
	if len(out) == 0 {
		t.Fatal("configs/README.md has no | config | sample | rows | valid | invalid | rows")
	}
	return out
}

// TestConfigs loads every configs/*.yaml, maps its sample through it and
// checks the counts that configs/README.md promises (and `importer
// validate` must report), then compares every row with
// testdata/configs/<name>.want.jsonl (go test -update rewrites them).
func TestConfigs(t *testing.T) {
	paths, err := filepath.Glob("../../configs/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no configs: %v", err)
	}
	table := sampleCounts(t)
	for _, path := range paths {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			cfg := mustLoad(t, path)
			if cfg.API.URL != "http://127.0.0.1:8080" {
				t.Errorf("api.url = %q, want the fakeapi default http://127.0.0.1:8080", cfg.API.URL)
			}
			src, _ := os.ReadFile(path)
			if !strings.HasPrefix(string(src), "# "+strings.TrimSuffix(name, ".yaml")+": ") {
				t.Errorf("%s does not open with a comment saying what it demonstrates", name)
			}
			want, ok := table[name]
			if !ok {
				t.Fatalf("configs/README.md has no row for %s", name)
			}
			header, recs := readSample(t, filepath.Join("../../samples", want[0]), cfg)
			m, err := Compile(cfg, header)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			out := mapAll(t, m, recs)
			got := [3]string{strconv.Itoa(len(recs)), strconv.Itoa(out.ok), strconv.Itoa(out.invalid)}
			if got != [3]string(want[1:]) {
				t.Errorf("rows, valid, invalid = %v; configs/README.md says %v", got, want[1:])
			}
			golden.Check(t, filepath.Join("testdata/configs", strings.TrimSuffix(name, ".yaml")+".want.jsonl"), out.lines)
		})
	}
}

// TestSeedExample: configs/seed-example.yaml turns the one row of
// samples/seed-example.csv into the API documentation's example request of
// profiles/update, member for member (the token shown as "***"). Member
// order differs only where the envelope is shared: field_value follows the
// options.
func TestSeedExample(t *testing.T) {
	const want = `{
  "token": "***",
  "db_id": 3,
  "matching": "custom",
  "field_name": "CRM_ID",
  "field_value": "C-1001",
  "skip_triggers": true,
  "skip_invalid_subscriptions": true,
  "data": {
    "_fname": "Anna",
    "phones": ["+79001234567"],
    "loyalty": {"action": "incr", "value": 10},
    "subscriptions": [
      {"resource_id": 7, "channel": "email", "email": "anna@example.com", "status": "subscribed"},
      {"resource_id": 7, "channel": "sms", "phone": "+79001234567"}
    ]
  }
}`
	cfg := mustLoad(t, "../../configs/seed-example.yaml")
	header, recs := readRecords(t, "../../samples/seed-example.csv", cfg)
	m, err := Compile(cfg, header)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("sample has %d rows, want 1", len(recs))
	}
	req, err := m.Map(recs[0])
	if err != nil {
		t.Fatal(err)
	}
	body := singleBody(m, req)
	var got, exp any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(exp, got); diff != "" {
		t.Errorf("seed request (-documented +got):\n%s\nbody: %s", diff, body)
	}
	// data keeps the config's order, byte for byte.
	if !strings.Contains(string(body), `"data":{"_fname":"Anna","phones":["+79001234567"],"loyalty":{"action":"incr","value":10},"subscriptions":[`) {
		t.Errorf("data members out of config order: %s", body)
	}
	if req.Key != "C-1001" || !req.Risky {
		t.Errorf("Key, Risky = %q, %v; want C-1001, true", req.Key, req.Risky)
	}
}
