package mapping

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

// TestLoadKeepsPathAndSource: Load remembers the file and its bytes (the
// run fingerprint hashes them), and wraps a missing file's error.
func TestLoadKeepsPathAndSource(t *testing.T) {
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
	f.Add([]byte("request: {db_id: 1}\nfields: &f\n  email: E\n  x: {<<: [*f, {column: C}]}\n"))
	f.Add([]byte("request: {db_id: 1}\nfields:\n  email: &a [x, x]\n  b: &b [*a, *a]\n  c: [*b, *b]\n"))
	f.Add([]byte("request: {db_id: 1, matching: custom}\nmatch: {field_name: {value: [a]}}\n"))
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

// TestParseProblems: the decoder reports each problem as data (line, key
// path, kind) from the node it found it at; no message text is parsed.
func TestParseProblems(t *testing.T) {
	const head = "request: {db_id: 1}\n"
	tests := []struct {
		name string
		yml  string
		want []Problem // File is always "p.yaml"; Column is not compared
	}{
		{"SyntaxTabIndent", head + "fields:\n\temail: Email\n",
			[]Problem{{Line: 3, Kind: ProblemSyntax, Msg: "invalid YAML: found character that cannot start any token"}}},
		{"SyntaxUnclosedQuoteAtItsLine", head + "fields:\n  email: \"Email\n  _fname: Name\n",
			[]Problem{{Line: 3, Kind: ProblemSyntax, Msg: "invalid YAML: found unexpected end of stream"}}},
		{"SyntaxUnclosedBracketAtItsLine", head + "fields:\n  tags: [a, b\n  _fname: Name\n",
			[]Problem{{Line: 3, Kind: ProblemSyntax, Msg: "invalid YAML: did not find expected ',' or ']'"}}},
		{"SyntaxOverIndentedLine", head + "fields:\n  email: Email\n    _fname: Name\n",
			[]Problem{{Line: 4, Kind: ProblemSyntax, Msg: "invalid YAML: mapping values are not allowed in this context"}}},
		{"SyntaxUnknownAnchor", head + "fields:\n  email: *nope\n",
			[]Problem{{Line: 3, Kind: ProblemSyntax, Msg: "invalid YAML: unknown anchor 'nope' referenced"}}},
		{"TopLevelList", "- request\n",
			[]Problem{{Line: 1, Kind: ProblemWrongType, Msg: "want a mapping of settings such as request: and fields:, got a list"}}},
		{"UnknownKeyFarFromAnyKnown", head + "fields: {email: E}\nzzzzzzzz: 1\n",
			[]Problem{{Line: 3, Kind: ProblemUnknownKey, Msg: `unknown key "zzzzzzzz" at the top level; known keys: api, request, input, match, fields, subscriptions, state, metrics`}}},
		{"NonScalarKey", head + "fields: {email: E}\napi: {? [a]: b}\n",
			[]Problem{{Line: 3, Path: "api", Kind: ProblemWrongType, Msg: "a key must be a single value, got a list"}}},
		{"IntegerOutOfRange", "request: {db_id: 99999999999999999999}\nfields: {email: E}\n",
			[]Problem{{Line: 1, Path: "request.db_id", Kind: ProblemWrongType, Msg: "want an integer, got the number 99999999999999999999"}}},
		{"FieldShorthandNotAName", head + "fields: {email: 5}\n",
			[]Problem{{Line: 2, Path: "fields.email", Kind: ProblemWrongType, Msg: "want a column name or a field spec such as {column: Email}, got the integer 5"}}},
		{"MapValueNotScalar", head + "fields:\n  email: E\n  _sex: {column: G, map: {M: [male]}}\n",
			[]Problem{{Line: 4, Path: "fields._sex.map.M", Kind: ProblemWrongType, Msg: "want a single value, got a list"}}},
		{"ConstListOfLists", head + "fields:\n  email: E\n  tags: {value: [[a]]}\n",
			[]Problem{{Line: 4, Path: "fields.tags.value[0]", Kind: ProblemWrongType, Msg: "want a single value as a list element, got a list"}}},
		{"AliasCycle", head + "fields: &f\n  email: E\n  again: *f\n",
			[]Problem{{Line: 4, Path: "fields.again", Kind: ProblemInvalid, Msg: "the alias *f refers to a value that contains it"}}},
		{"MergeNotAMapping", head + "fields:\n  email: {<<: 5, column: E}\n",
			[]Problem{{Line: 3, Path: "fields.email", Kind: ProblemWrongType, Msg: "want a mapping or a list of mappings after <<, got the integer 5"}}},
		{"FieldNameFromAColumn", "request: {db_id: 1, matching: custom}\nmatch:\n  field_name: {column: CRM}\nfields: {CRM_ID: C}\n",
			[]Problem{{Line: 3, Path: "match.field_name", Kind: ProblemInvalid,
				Msg: "is the name of the custom field, the same in every row (it is sent beside data, not read from a column): write CRM_ID or {value: CRM_ID}"}}},
		{"TokenUnderAnUnknownKey", head + "fields: {email: E}\nsecrets: {token: abc}\n",
			[]Problem{
				{Line: 3, Path: "secrets.token", Kind: ProblemToken, Msg: tokenMsg},
				{Line: 3, Kind: ProblemUnknownKey, Msg: `unknown key "secrets" at the top level; known keys: api, request, input, match, fields, subscriptions, state, metrics`},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yml), "p.yaml")
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Parse = %v, want a *ConfigError", err)
			}
			got := slices.Clone(ce.Problems)
			for i := range got {
				got[i].Column = 0
			}
			want := slices.Clone(tt.want)
			for i := range want {
				want[i].File = "p.yaml"
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseForms: what the decoder accepts, beyond the one-form keys.
func TestParseForms(t *testing.T) {
	tests := []struct {
		name  string
		yml   string
		check func(*Config) string // "" when right
	}{
		{"MergeKeyInAFieldSpec", "request: {db_id: 1}\nfields:\n  email: &e {column: Email, transform: [lower]}\n  backup_email: {<<: *e, column: Backup}\n",
			func(c *Config) string {
				f := c.Fields.Get("backup_email")
				if f == nil || f.Column != "Backup" || len(f.Transform) != 1 || f.Transform[0] != "lower" {
					return fmt.Sprintf("backup_email = %+v, want column Backup with transform lower", f)
				}
				return ""
			}},
		{"MergedFieldsKeepTheirPlace", "request: {db_id: 1}\nsubscriptions:\n  - {channel: email, resource_id: 1, email: E, custom_fields: &cf {a: A, b: B}}\nfields:\n  email: E\n  <<: *cf\n  c: C\n",
			func(c *Config) string {
				var names []string
				for _, f := range c.Fields {
					names = append(names, f.Name)
				}
				if got := strings.Join(names, ","); got != "email,a,b,c" {
					return "field order " + got + ", want email,a,b,c"
				}
				return ""
			}},
		{"AliasReused", "request: {db_id: 1}\nfields:\n  email: &e {column: Email}\nsubscriptions:\n  - {channel: email, resource_id: 1, email: *e}\n",
			func(c *Config) string {
				if c.Subscriptions[0].Email == nil || c.Subscriptions[0].Email.Column != "Email" {
					return "the aliased subscription e-mail is not Email"
				}
				return ""
			}},
		{"YAML11Booleans", "request: {db_id: 1, skip_triggers: yes}\nfields: {email: E}\n",
			func(c *Config) string {
				if c.Request.SkipTriggers == nil || !*c.Request.SkipTriggers {
					return "skip_triggers: yes is not true"
				}
				return ""
			}},
		{"EmptySectionKeepsDefaults", "api:\nrequest: {db_id: 1}\nfields: {email: E}\n",
			func(c *Config) string {
				if c.API.Rate != DefaultRate || c.API.Endpoint != DefaultEndpoint {
					return fmt.Sprintf("api = %+v, want the defaults", c.API)
				}
				return ""
			}},
		{"FieldNameAsName", "request: {db_id: 1, matching: custom}\nmatch: {field_name: CRM_ID}\nfields: {CRM_ID: C}\n",
			func(c *Config) string { return wantString(c.Match.FieldName, "CRM_ID") }},
		{"FieldNameAsConstantSpec", "request: {db_id: 1, matching: custom}\nmatch: {field_name: {value: CRM_ID}}\nfields: {CRM_ID: C}\n",
			func(c *Config) string { return wantString(c.Match.FieldName, "CRM_ID") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if msg := tt.check(mustParse(t, tt.yml)); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func wantString(got, want string) string {
	if got != want {
		return fmt.Sprintf("got %q, want %q", got, want)
	}
	return ""
}
