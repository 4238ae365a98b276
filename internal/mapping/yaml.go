package mapping

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Problem is one thing wrong with a config: where it is and what to do.
type Problem struct {
	File string // the config's name, "" for a hand-built Config
	Line int    // 1-based, 0 when unknown
	Path string // the key path, like "fields.email.type" or "subscriptions[0].channel"
	Msg  string
}

// String reads like `legacy-crm.yaml:12: fields._bdate.layout: ...`.
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			b.WriteString(":")
			b.WriteString(strconv.Itoa(p.Line))
		}
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// ConfigError lists every problem found in a config, in line order.
type ConfigError struct {
	Problems []Problem
}

// Error joins the problems, one a line.
func (e *ConfigError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

func newConfigError(ps []Problem) *ConfigError {
	ps = slices.Clone(ps)
	slices.SortStableFunc(ps, func(a, b Problem) int {
		// Problems without a line go last; the rest in file order.
		switch {
		case a.Line == b.Line:
			return 0
		case a.Line == 0:
			return 1
		case b.Line == 0:
			return -1
		}
		return a.Line - b.Line
	})
	ps = slices.CompactFunc(ps, func(a, b Problem) bool { return a == b })
	return &ConfigError{Problems: ps}
}

// positions remembers, for each key path of a parsed file, the line where it
// is written, so that every message can say file:line.
type positions struct {
	file   string
	lines  map[string]int // path → line of its key (or sequence element)
	byLine map[int]string // line → the common path of everything written on it
	tokens []Problem      // token keys found while walking
	seen   map[*yaml.Node]bool
}

func newPositions(file string, root *yaml.Node) *positions {
	p := &positions{
		file:   file,
		lines:  make(map[string]int),
		byLine: make(map[int]string),
		seen:   make(map[*yaml.Node]bool),
	}
	p.walk("", root, false)
	return p
}

func (p *positions) note(path string, line int) {
	if _, ok := p.lines[path]; !ok {
		p.lines[path] = line
	}
	if prev, ok := p.byLine[line]; ok {
		p.byLine[line] = commonPath(prev, path)
	} else {
		p.byLine[line] = path
	}
}

func (p *positions) walk(path string, n *yaml.Node, inMap bool) {
	if n == nil || p.seen[n] {
		return
	}
	p.seen[n] = true
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			p.walk(path, c, false)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			child := joinPath(path, k.Value)
			p.note(child, k.Line)
			if !inMap && k.Value == "token" {
				// The value is never echoed: it is a secret.
				p.tokens = append(p.tokens, Problem{File: p.file, Line: k.Line, Path: child,
					Msg: "the API token is never read from the config; use the ALTCRAFT_TOKEN environment variable or --token-file"})
			}
			// Keys under map: are cell values, not settings.
			p.walk(child, v, k.Value == "map")
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			child := path + "[" + strconv.Itoa(i) + "]"
			p.note(child, c.Line)
			p.walk(child, c, false)
		}
	case yaml.AliasNode:
		p.walk(path, n.Alias, inMap)
	}
}

func (p *positions) tokenProblems() []Problem { return slices.Clone(p.tokens) }

// at returns the line of path, or of its nearest ancestor written in the file.
func (p *positions) at(path string) int {
	if p == nil {
		return 0
	}
	for path != "" {
		if l, ok := p.lines[path]; ok {
			return l
		}
		path = parentPath(path)
	}
	// A whole section is missing: point at the top of the file.
	return 1
}

func (p *positions) problem(path, msg string) Problem {
	if p == nil {
		return Problem{Path: path, Msg: msg}
	}
	return Problem{File: p.file, Line: p.at(path), Path: path, Msg: msg}
}

var (
	reLine      = regexp.MustCompile(`^line (\d+): (.*)$`)
	reUnknown   = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
	reUnmarshal = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (\\S+)$")
	reDupKey    = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
	reYAMLLine  = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

// decodeProblem turns one of yaml's "line N: ..." messages into a Problem
// with the key path and a plainer wording. It reports false for a message
// already covered (an unknown token key is reported by the token check).
func (p *positions) decodeProblem(msg string) (Problem, bool) {
	m := reLine.FindStringSubmatch(msg)
	if m == nil {
		return Problem{File: p.file, Msg: msg}, true
	}
	line, _ := strconv.Atoi(m[1])
	rest := m[2]
	path := p.byLine[line]
	if u := reUnknown.FindStringSubmatch(rest); u != nil {
		key := u[1]
		if key == "token" {
			return Problem{}, false
		}
		if lastSegment(path) == key {
			path = parentPath(path)
		}
		msg := fmt.Sprintf("unknown key %q", key)
		if path == "" {
			msg += " at the top level"
		}
		if known := knownKeys(u[2]); len(known) > 0 {
			if s := closest(key, known); s != "" && distance(strings.ToLower(key), strings.ToLower(s)) <= max(2, len(key)/3) {
				msg += fmt.Sprintf("; did you mean %q?", s)
			} else {
				msg += "; known keys: " + strings.Join(known, ", ")
			}
		}
		return Problem{File: p.file, Line: line, Path: path, Msg: msg}, true
	}
	if u := reUnmarshal.FindStringSubmatch(rest); u != nil {
		got := yamlKind(u[1])
		switch {
		case u[2] == "":
		case u[1] == "str":
			got += " " + strconv.Quote(u[2])
		default:
			got += " " + u[2]
		}
		return Problem{File: p.file, Line: line, Path: path, Msg: fmt.Sprintf("want %s, got %s", goTypeWant(u[3]), got)}, true
	}
	if u := reDupKey.FindStringSubmatch(rest); u != nil {
		if lastSegment(path) == u[1] {
			path = parentPath(path)
		}
		return Problem{File: p.file, Line: line, Path: path, Msg: fmt.Sprintf("key %q is written twice (first at line %s)", u[1], u[2])}, true
	}
	return Problem{File: p.file, Line: line, Path: path, Msg: rest}, true
}

// syntaxProblem turns a YAML syntax error into a Problem.
func syntaxProblem(file string, err error) Problem {
	msg := err.Error()
	if m := reYAMLLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		// yaml reports the line where the enclosing block starts, not the
		// bad line itself; say so.
		return Problem{File: file, Line: line, Msg: "invalid YAML in the block starting here: " + m[2] + " (check the indentation below)"}
	}
	return Problem{File: file, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

func yamlKind(tag string) string {
	switch tag {
	case "str":
		return "the string"
	case "int":
		return "the integer"
	case "float":
		return "the number"
	case "bool":
		return "the boolean"
	case "null":
		return "nothing"
	case "seq":
		return "a list"
	case "map":
		return "a mapping"
	}
	return tag
}

func goTypeWant(t string) string {
	t = strings.TrimLeft(t, "*")
	switch t {
	case "int", "int64":
		return "an integer"
	case "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "string":
		return "a string"
	case "time.Duration":
		return `a duration such as "30s" or "1m"`
	case "[]int":
		return "a list of integers"
	case "[]string", "mapping.StringList":
		return "a list of strings"
	case "[]mapping.Subscription":
		return "a list of subscriptions"
	}
	return "a mapping"
}

// knownKeys lists the YAML keys of a config struct named in a yaml message.
func knownKeys(typeName string) []string {
	var t reflect.Type
	switch strings.TrimPrefix(typeName, "mapping.") {
	case "Config":
		t = reflect.TypeFor[Config]()
	case "API":
		t = reflect.TypeFor[API]()
	case "RequestOptions":
		t = reflect.TypeFor[RequestOptions]()
	case "Input":
		t = reflect.TypeFor[Input]()
	case "Match":
		t = reflect.TypeFor[Match]()
	case "Subscription":
		t = reflect.TypeFor[Subscription]()
	case "Field":
		t = reflect.TypeFor[Field]()
	default:
		return nil
	}
	var keys []string
	for f := range t.Fields() {
		if k, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); k != "" && k != "-" {
			keys = append(keys, k)
		}
	}
	return keys
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// parentPath strips the last segment: a.b[2] → a.b, a.b → a.
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

func lastSegment(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return path
	}
	if path[i] == '[' {
		return path[i:]
	}
	return path[i+1:]
}

// commonPath returns the longest common ancestor of two paths.
func commonPath(a, b string) string {
	for a != "" && !isPathPrefix(a, b) {
		a = parentPath(a)
	}
	return a
}

func isPathPrefix(a, b string) bool {
	if !strings.HasPrefix(b, a) {
		return false
	}
	return len(b) == len(a) || b[len(a)] == '.' || b[len(a)] == '['
}

// Field keys, for the strict check of a field spec.
var fieldKeys = knownKeys("Field")

// UnmarshalYAML decodes a column name (shorthand) or a spec mapping, checking
// the keys strictly: a field spec is decoded by a decoder of its own, which
// would otherwise ignore unknown keys.
func (f *Field) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.ShortTag() != "!!str" || strings.TrimSpace(n.Value) == "" {
			return typeErr(n, "want a column name or a field spec such as {column: Email}, got %s", describeNode(n))
		}
		*f = Field{Column: n.Value}
		return nil
	case yaml.MappingNode:
		var errs []string
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if !slices.Contains(fieldKeys, k.Value) {
				errs = append(errs, fmt.Sprintf("line %d: field %s not found in type mapping.Field", k.Line, k.Value))
			}
		}
		type plain Field // no UnmarshalYAML: avoids recursion
		var p plain
		if err := n.Decode(&p); err != nil {
			te, ok := err.(*yaml.TypeError)
			if !ok {
				return err
			}
			errs = append(errs, te.Errors...)
		}
		*f = Field(p)
		if len(errs) > 0 {
			return &yaml.TypeError{Errors: errs}
		}
		return nil
	}
	return typeErr(n, "want a column name or a field spec such as {column: Email}, got %s", describeNode(n))
}

// UnmarshalYAML decodes a mapping of name → field spec, keeping its order.
func (fs *Fields) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		*fs = nil
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return typeErr(n, "want a mapping of field name → column or spec, got %s", describeNode(n))
	}
	var errs []string
	out := make(Fields, 0, len(n.Content)/2)
	first := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if l, dup := first[k.Value]; dup {
			errs = append(errs, fmt.Sprintf("line %d: mapping key %q already defined at line %d", k.Line, k.Value, l))
			continue
		}
		first[k.Value] = k.Line
		var f Field
		if err := f.UnmarshalYAML(v); err != nil {
			te, ok := err.(*yaml.TypeError)
			if !ok {
				return err
			}
			errs = append(errs, te.Errors...)
		}
		out = append(out, NamedField{Name: k.Value, Field: f})
	}
	*fs = out
	if len(errs) > 0 {
		return &yaml.TypeError{Errors: errs}
	}
	return nil
}

// UnmarshalYAML decodes a scalar or a list of scalars, keeping the YAML type.
func (c *Const) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*c = Const{Text: n.Value, Tag: n.ShortTag()}
		return nil
	case yaml.SequenceNode:
		out := Const{IsList: true}
		for _, e := range n.Content {
			if e.Kind != yaml.ScalarNode {
				return typeErr(e, "want a scalar list element, got %s", describeNode(e))
			}
			out.List = append(out.List, Const{Text: e.Value, Tag: e.ShortTag()})
		}
		*c = out
		return nil
	}
	return typeErr(n, "want a scalar or a list of scalars, got %s", describeNode(n))
}

// UnmarshalYAML accepts one string or a list of strings.
func (l *StringList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			*l = nil
			return nil
		}
		*l = StringList{n.Value}
		return nil
	case yaml.SequenceNode:
		out := make(StringList, 0, len(n.Content))
		for _, e := range n.Content {
			if e.Kind != yaml.ScalarNode {
				return typeErr(e, "want a string, got %s", describeNode(e))
			}
			out = append(out, e.Value)
		}
		*l = out
		return nil
	}
	return typeErr(n, "want a string or a list of strings, got %s", describeNode(n))
}

// UnmarshalYAML decodes a mapping of cell value → constant, keeping its order.
func (m *ValueMap) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return typeErr(n, "want a mapping of cell value → value, got %s", describeNode(n))
	}
	var errs []string
	out := make(ValueMap, 0, len(n.Content)/2)
	first := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if l, dup := first[k.Value]; dup {
			errs = append(errs, fmt.Sprintf("line %d: mapping key %q already defined at line %d", k.Line, k.Value, l))
			continue
		}
		first[k.Value] = k.Line
		if k.Kind != yaml.ScalarNode {
			errs = append(errs, fmt.Sprintf("line %d: want a scalar map key, got %s", k.Line, describeNode(k)))
			continue
		}
		if v.Kind != yaml.ScalarNode {
			errs = append(errs, fmt.Sprintf("line %d: want a scalar value for %q, got %s", v.Line, k.Value, describeNode(v)))
			continue
		}
		out = append(out, MapEntry{From: k.Value, To: Const{Text: v.Value, Tag: v.ShortTag()}})
	}
	*m = out
	if len(errs) > 0 {
		return &yaml.TypeError{Errors: errs}
	}
	return nil
}

func typeErr(n *yaml.Node, format string, args ...any) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: ", n.Line) + fmt.Sprintf(format, args...)}}
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.ShortTag() == "!!null" {
		return "nothing"
	}
	return strconv.Quote(shorten(n.Value, 40))
}
