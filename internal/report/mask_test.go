package report

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMaskCommand(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"nothing secret",
			[]string{"importer", "run", "-c", "configs/legacy-crm.yaml", "--rate", "10", "--shard", "0/4", "export.csv"},
			[]string{"importer", "run", "-c", "configs/legacy-crm.yaml", "--rate", "10", "--shard", "0/4", "export.csv"}},
		{"token flag, separate value", []string{"importer", "--token", "abc123"}, []string{"importer", "--token", "***"}},
		{"token flag, = value", []string{"--token=abc123"}, []string{"--token=***"}},
		{"token-file path", []string{"--token-file", "/etc/importer/token"}, []string{"--token-file", "***"}},
		{"single dash", []string{"-api-key=k1"}, []string{"-api-key=***"}},
		{"secret env assignment", []string{"env", "ALTCRAFT_TOKEN=abc123", "importer"}, []string{"env", "ALTCRAFT_TOKEN=***", "importer"}},
		{"ping URL path", []string{"--ping", "https://hc-ping.com/5f1c0a6e-8d2b"}, []string{"--ping", "https://hc-ping.com/***"}},
		{"notify URL, = form", []string{"--notify=https://hooks.slack.com/services/T0/B1/XYZ"}, []string{"--notify=https://hooks.slack.com/***"}},
		{"URL credentials and query", []string{"--metrics-push", "http://user:pw@gw:9091/prefix?x=1"},
			[]string{"--metrics-push", "http://***@gw:9091/prefix?***"}},
		{"input URL keeps its path, not its signature", []string{"https://bucket.example/exports/a.csv?X-Amz-Signature=abcd"},
			[]string{"https://bucket.example/exports/a.csv?***"}},
		{"bare token-like value", []string{"run", "Zk9aQ2x7Lm3pR8sT1uV4wX6y"}, []string{"run", "***"}},
		{"bare hex key", []string{"3f2a9c0d8e7b6a5f4e3d2c1b0a9f8e7d"}, []string{"***"}},
		{"a JWT", []string{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"}, []string{"***"}},
		{"file names and words stay", []string{"legacy_crm_export_2026_03_01.csv", "/data/In/Export2026Q1Final.csv", "--max-errors", "1%"},
			[]string{"legacy_crm_export_2026_03_01.csv", "/data/In/Export2026Q1Final.csv", "--max-errors", "1%"}},
		{"token flag last, no value", []string{"importer", "--token"}, []string{"importer", "--token"}},
		{"a secret flag's value that is itself a secret flag", []string{"-tokeY", "--token", "0", "run"}, []string{"-tokeY", "***", "***", "run"}},
		{"a secret flag's value that is another flag", []string{"--token", "--rate", "10"}, []string{"--token", "***", "10"}},
		{"a secret flag's value that is a secret flag with its value", []string{"--token", "--token=x", "run"}, []string{"--token", "--token=***", "run"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, MaskCommand(tt.in)); diff != "" {
				t.Errorf("MaskCommand(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// FuzzMaskCommand: whatever the arguments, the value after a --token flag
// never survives (a value that is itself a flag=value keeps its name), and
// the argument count is kept.
func FuzzMaskCommand(f *testing.F) {
	f.Add("importer run -c x.yaml --token s3cr3tVALUE export.csv")
	f.Add("--token=s3cr3tVALUE --ping https://hc-ping.com/uuid")
	f.Add("--notify http://u:p@h/x?y=z ALTCRAFT_TOKEN=s3cr3tVALUE")
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Fields(line)
		out := MaskCommand(args)
		if len(out) != len(args) {
			t.Fatalf("%d args became %d", len(args), len(out))
		}
		for i, a := range args {
			// The value after a token flag is masked whole, or, when it is
			// itself a flag=value, from its = on.
			if (a == "--token" || a == "-token") && i+1 < len(args) && out[i+1] != masked {
				next := args[i+1]
				eq := strings.IndexByte(next, '=')
				if !strings.HasPrefix(next, "-") || eq < 0 || out[i+1] != next[:eq+1]+masked {
					t.Fatalf("the value after %s survived: %q", a, out[i+1])
				}
			}
			if strings.HasPrefix(a, "--token=") && out[i] != "--token="+masked {
				t.Fatalf("%q masked as %q", a, out[i])
			}
		}
	})
}
