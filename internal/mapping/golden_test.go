package mapping

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"importer/internal/golden"
)

// TestCasesMapAsRecorded maps testdata/<case>/input.{csv,tsv,jsonl} through
// testdata/<case>/config.yaml and compares every row's single request, batch
// item, key, risk and error with testdata/<case>/want.jsonl.
// go test -run TestCasesMapAsRecorded -update rewrites the want files; review the diff.
func TestCasesMapAsRecorded(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/config.yaml")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, cfgPath := range dirs {
		dir := filepath.Dir(cfgPath)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			cfg := mustLoad(t, cfgPath)
			inputs, _ := filepath.Glob(filepath.Join(dir, "input.*"))
			if len(inputs) != 1 {
				t.Fatalf("want exactly one input.* in %s, have %v", dir, inputs)
			}
			header, recs := readRecords(t, inputs[0], cfg)
			m, err := Compile(cfg, header)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			out := mapAll(t, m, recs)
			golden.Check(t, filepath.Join(dir, "want.jsonl"), out.lines)
		})
	}
}

// TestGoldenCoverage keeps the golden cases honest: all 11 matching modes,
// every type, transform, action and channel appear in some case config.
func TestGoldenCoverage(t *testing.T) {
	paths, _ := filepath.Glob("testdata/*/config.yaml")
	modes := map[string]bool{}
	var all strings.Builder
	for _, p := range paths {
		c := mustLoad(t, p)
		modes[c.Request.Matching] = true
		b, _ := os.ReadFile(p)
		all.Write(b)
	}
	for _, m := range matchingModes {
		if !modes[m] {
			t.Errorf("no golden case uses matching %s", m)
		}
	}
	text := all.String()
	for _, want := range []string{
		"type: int", "type: float", "type: bool", "type: date", "type: datetime", "type: phone", "type: email", "type: ip",
		"lower", "upper", "trim", "split:", "map:", "map_default:", "default:", "required: true", "empty: unset",
		"action: set", "action: incr", "action: add", "action: delete", "action: upsert", "validate: email",
		"validate: phone", "validate: ip", "timezone:", "layout:", "value:",
		"channel: email", "channel: sms", "channel: push", "channel: telegram_bot", "channel: whatsapp",
		"channel: viber", "channel: notify", "custom_fields:", "cats:", "priority:", "status:",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no golden case config contains %q", want)
		}
	}
}
