package mapping

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"importer/internal/input"

	"importer/internal/golden"
)

// TestConfigErrors parses each testdata/config-errors/*.yaml and compares the
// whole error with its .want file (go test -update rewrites them). Every
// problem must carry file:line.
func TestConfigErrors(t *testing.T) {
	paths, err := filepath.Glob("testdata/config-errors/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, path := range paths {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Parse(data, name)
			if err == nil {
				t.Fatalf("Parse(%s) = %+v, nil; want an error", name, c)
			}
			if c != nil {
				t.Errorf("Parse(%s) returned a config with its error", name)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Parse(%s) error is %T, want *ConfigError", name, err)
			}
			for _, p := range ce.Problems {
				if p.File != name || p.Line <= 0 {
					t.Errorf("problem without file:line: %q", p)
				}
			}
			golden.Check(t, strings.TrimSuffix(path, ".yaml")+".want", []byte(err.Error()+"\n"))
		})
	}
}

func TestTokenNeverEchoed(t *testing.T) {
	data, err := os.ReadFile("testdata/config-errors/token.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse(data, "token.yaml")
	if err == nil {
		t.Fatal("Parse accepted a token key")
	}
	for _, secret := range []string{"s3cr3t", "an0ther"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error text leaks the token: %v", err)
		}
	}
	if got := strings.Count(err.Error(), "ALTCRAFT_TOKEN"); got != 2 {
		t.Errorf("want 2 token problems pointing at ALTCRAFT_TOKEN, got %d:\n%v", got, err)
	}
}

func TestDefaults(t *testing.T) {
	c := mustParse(t, "request: {db_id: 7}\nfields: {email: Email}\n")
	want := Default()
	want.Request.DBID = 7
	want.Fields = Fields{{Name: "email", Field: Field{Column: "Email"}}}
	if diff := cmp.Diff(want, c, cmp.AllowUnexported(Config{}), cmp.FilterPath(func(p cmp.Path) bool {
		return p.Last().String() == ".pos" || p.Last().String() == ".Source"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if c.API.Timeout != 30*time.Second || c.API.Rate != 10 || c.API.Endpoint != "update" || c.Input.PhoneRegion != "RU" {
		t.Errorf("defaults not applied: %+v %+v", c.API, c.Input)
	}
}

// An explicit zero must survive: rate 0 means unlimited, not "use the default".
func TestExplicitZeroKept(t *testing.T) {
	c := mustParse(t, "api: {rate: 0, concurrency: 0}\nrequest: {db_id: 1}\nfields: {email: Email}\n")
	if c.API.Rate != 0 {
		t.Errorf("rate = %v, want 0 (unlimited)", c.API.Rate)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	src := "request: {db_id: 1}\nfields: {email: Email}\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != path || string(c.Source) != src {
		t.Errorf("Load: Path = %q, Source = %q", c.Path, c.Source)
	}
	if _, err := Load(filepath.Join(dir, "absent.yaml")); err == nil || !strings.HasPrefix(err.Error(), "read config: ") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(absent) = %v, want a wrapped not-exist error", err)
	}
}

// Validate runs again after flags override settings, and still knows lines.
func TestValidateAfterOverride(t *testing.T) {
	c := mustParse(t, "request:\n  db_id: 1\n  add_to_segments: [5]\nfields:\n  email: Email\n")
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate before override: %v", err)
	}
	c.API.BatchSize = 500 // --batch-size 500
	err := c.Validate()
	want := "test.yaml:3: request.add_to_segments: cannot be used with api.batch_size 500: the batch endpoints do not take add_to_segments or remove_from_segments; use batch_size 1 or drop the segments"
	if err == nil || err.Error() != want {
		t.Errorf("Validate after override = %v\nwant %s", err, want)
	}
}

// A Config built in code validates without positions.
func TestValidateHandBuilt(t *testing.T) {
	c := Default()
	c.Fields = Fields{{Name: "email", Field: Field{Column: "Email", Type: "bogus"}}}
	err := c.Validate()
	want := "request.db_id: is required: the id of the profile database, a positive integer\n" +
		`fields.email.type: "bogus" is not a type; use one of string, int, float, bool, date, datetime, phone, email, ip`
	if err == nil || err.Error() != want {
		t.Errorf("Validate = %v\nwant %s", err, want)
	}
	c.Request.DBID = 1
	c.Fields[0].Type = "email"
	if err := c.Validate(); err != nil {
		t.Errorf("Validate fixed config: %v", err)
	}
}

func TestInputOptions(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want input.Options
	}{
		{"Empty", "", input.Options{}},
		{"CSVSemicolon", `{format: csv, delimiter: ";", encoding: windows-1251}`, input.Options{Format: input.FormatCSV, Delimiter: ';', Encoding: "windows-1251"}},
		{"TabWord", `{delimiter: tab}`, input.Options{Delimiter: '\t'}},
		{"TabEscapeDoubleQuoted", `{delimiter: "\t"}`, input.Options{Delimiter: '\t'}},
		{"TabEscapeSingleQuoted", `{delimiter: '\t'}`, input.Options{Delimiter: '\t'}},
		{"TSV", `{format: tsv}`, input.Options{Format: input.FormatCSV, Delimiter: '\t'}},
		{"Pipe", `{delimiter: "|"}`, input.Options{Delimiter: '|'}},
		{"JSONL", `{format: jsonl}`, input.Options{Format: input.FormatJSONL}},
		{"NoHeader", `{header: false, columns: [A, B]}`, input.Options{NoHeader: true, Columns: []string{"A", "B"}}},
		{"HeaderTrue", `{header: true}`, input.Options{}},
		{"SkipLinesStrictQuotes", `{skip_lines: 2, strict_quotes: true}`, input.Options{SkipLines: 2, StrictQuotes: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yml := "request: {db_id: 1}\nfields: {email: Email}\n"
			if tt.in != "" {
				yml += "input: " + tt.in + "\n"
			}
			got := mustParse(t, yml).InputOptions()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("InputOptions() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseDelimiter(t *testing.T) {
	tests := []struct {
		in   string
		want rune
		ok   bool
	}{
		{";", ';', true}, {",", ',', true}, {"|", '|', true}, {"\t", '\t', true}, {`\t`, '\t', true},
		{"TAB", '\t', true}, {"¦", '¦', true}, {"ab", 0, false}, {`"`, 0, false}, {"\n", 0, false}, {"\xff", 0, false},
	}
	for _, tt := range tests {
		got, err := parseDelimiter(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("parseDelimiter(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// Match keys derived from fields and subscriptions, per mode.
func TestDerivedMatchKeys(t *testing.T) {
	tests := []struct {
		name, yml string
		want      map[string]string // slot → config path
	}{
		{"EmailFromField", "request: {db_id: 1}\nfields: {email: E}\n", map[string]string{"email": "fields.email"}},
		{"PhoneFromPhones", "request: {db_id: 1, matching: phone}\nfields: {phones: P}\nsubscriptions: [{channel: sms, resource_id: 1, phone: S}]\n", map[string]string{"phone": "fields.phones"}},
		{"PhoneFromSMS", "request: {db_id: 1, matching: phone_sub}\nsubscriptions: [{channel: email, resource_id: 1, email: E}, {channel: sms, resource_id: 1, phone: S}]\n", map[string]string{"phone": "subscriptions[1].phone"}},
		{"CustomFromField", "request: {db_id: 1, matching: custom}\nmatch: {field_name: CRM_ID}\nfields: {CRM_ID: C}\n", map[string]string{"field_value": "fields.CRM_ID"}},
		{"ExplicitWins", "request: {db_id: 1}\nmatch: {email: M}\nfields: {email: E}\n", map[string]string{"email": "match.email"}},
		{"PushFromSubscription", "request: {db_id: 1, matching: push_sub}\nsubscriptions: [{channel: push, resource_id: 1, provider: P, subscription_id: S}]\n", map[string]string{"provider": "subscriptions[0].provider", "subscription_id": "subscriptions[0].subscription_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.yml)
			got := map[string]string{}
			for _, slot := range modeKeys[c.Request.Matching] {
				got[slot] = c.keySpec(slot).path
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("key paths (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzParseConfig: no input panics Parse, and an accepted config validates
// and compiles (against its own columns as the header).
func FuzzParseConfig(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/config.yaml")
	more, _ := filepath.Glob("testdata/config-errors/*.yaml")
	cfgs, _ := filepath.Glob("../../configs/*.yaml")
	for _, p := range append(append(seeds, more...), cfgs...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("request: {db_id: 1}\nfields: {a: &x {column: A}, b: *x}\n"))
	f.Add([]byte("fields: {email: {map: {? [a]: b}}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.yaml")
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("Parse error %T %v is not a *ConfigError with problems", err, err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that Validate refuses: %v", err)
		}
		m, err := Compile(c, nil)
		if err != nil {
			t.Fatalf("Compile(JSONL) of an accepted config: %v", err)
		}
		if _, err := Compile(c, m.Columns()); err != nil {
			t.Fatalf("Compile with the config's own columns: %v", err)
		}
	})
}
