package mapping

import (
	"bytes"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The config is decoded by walking yaml.v3's node tree rather than by
// yaml.Unmarshal into the structs: every problem is then built where it is
// found, from the node (line, column) and the key path the walk is at, and
// the decoder goes on to find the next one. No yaml message is parsed for
// what it means.

// nodeDecoder is a config type with YAML forms of its own (a field spec
// written as a bare column name, say).
type nodeDecoder interface {
	decodeYAML(d *decoder, n *yaml.Node, path string)
}

// keyDecoder is a config struct with a key that takes forms of its own.
type keyDecoder interface {
	decodeKey(d *decoder, key string, n *yaml.Node, path string) bool
}

// maxDecodedNodes bounds the values a config may expand to: aliases let a
// few lines name millions of values.
const maxDecodedNodes = 1 << 16

// decoder fills config structs from a node tree, collecting problems.
type decoder struct {
	file     string
	problems []Problem
	broken   []string            // paths whose values failed to decode; "" is the whole file
	budget   int                 // nodes left to decode
	anchored map[*yaml.Node]bool // anchored nodes being decoded: an alias to one is a cycle
}

// parseConfig is Parse: YAML syntax, then decoding over Default, then
// validation of what decoded.
func parseConfig(data []byte, name string) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &ConfigError{Problems: []Problem{syntaxProblem(data, name, err)}}
	}
	c := Default()
	c.Source = data
	c.pos = newPositions(name, &root)
	d := &decoder{file: name, budget: maxDecodedNodes, anchored: make(map[*yaml.Node]bool)}
	d.document(c, &root)

	problems := append(c.pos.tokenProblems(), d.problems...)
	problems = append(problems, c.check(d.broken)...)
	if len(problems) > 0 {
		return nil, newConfigError(problems)
	}
	return c, nil
}

func (d *decoder) document(c *Config, root *yaml.Node) {
	n := root
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return // an empty file: all defaults
		}
		n = n.Content[0]
	}
	d.value(reflect.ValueOf(c).Elem(), n, "")
}

// add reports a problem at n about the value at path, which is then
// broken: validation says nothing more about it.
func (d *decoder) add(n *yaml.Node, path string, kind ProblemKind, format string, args ...any) {
	d.report(n, path, path, kind, fmt.Sprintf(format, args...))
}

// report is add for a problem whose broken value is not its path (an
// unknown key breaks only itself, not its parent).
func (d *decoder) report(n *yaml.Node, path, broken string, kind ProblemKind, msg string) {
	d.broken = append(d.broken, broken)
	d.problems = append(d.problems, Problem{File: d.file, Line: n.Line, Column: n.Column, Path: path, Kind: kind, Msg: msg})
}

func (d *decoder) wrongType(n *yaml.Node, path, want string) {
	d.add(n, path, ProblemWrongType, "want %s, got %s", want, describe(n))
}

// enter counts n against the budget and resolves an alias to its anchor;
// false means the value is not to be decoded.
func (d *decoder) enter(n *yaml.Node, path string) (*yaml.Node, bool) {
	if d.budget <= 0 {
		return nil, false
	}
	if d.budget--; d.budget == 0 {
		d.add(n, path, ProblemInvalid, "the config expands to more than %d values through its aliases; write the repeated parts out", maxDecodedNodes)
		return nil, false
	}
	for n.Kind == yaml.AliasNode {
		if n.Alias == nil || d.anchored[n.Alias] {
			d.add(n, path, ProblemInvalid, "the alias *%s refers to a value that contains it", n.Value)
			return nil, false
		}
		n = n.Alias
	}
	return n, true
}

// value decodes n into v, which must be addressable.
func (d *decoder) value(v reflect.Value, n *yaml.Node, path string) {
	n, ok := d.enter(n, path)
	if !ok {
		return
	}
	if n.Anchor != "" {
		d.anchored[n] = true
		defer delete(d.anchored, n)
	}
	d.into(v, n, path)
}

// into is value once n is entered.
func (d *decoder) into(v reflect.Value, n *yaml.Node, path string) {
	if u, ok := v.Addr().Interface().(nodeDecoder); ok {
		u.decodeYAML(d, n, path)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.object(v, n, path)
	case reflect.Pointer:
		if isNull(n) {
			v.SetZero()
			return
		}
		e := reflect.New(v.Type().Elem())
		d.into(e.Elem(), n, path)
		v.Set(e)
	case reflect.Slice:
		d.list(v, n, path)
	default:
		d.scalar(v, n, path)
	}
}

// scalar decodes a string, number, bool or duration. yaml.v3 converts the
// one node, so YAML's own rules (0x10, 1_000, yes for true) still hold;
// whether it fails is all that is used of its answer.
func (d *decoder) scalar(v reflect.Value, n *yaml.Node, path string) {
	if n.Kind != yaml.ScalarNode {
		d.wrongType(n, path, want(v.Type()))
		return
	}
	if isNull(n) {
		return // `rate:` with nothing after it keeps the default
	}
	p := reflect.New(v.Type())
	if err := n.Decode(p.Interface()); err != nil {
		d.wrongType(n, path, want(v.Type()))
		return
	}
	v.Set(p.Elem())
}

func (d *decoder) list(v reflect.Value, n *yaml.Node, path string) {
	if isNull(n) {
		v.SetZero()
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.wrongType(n, path, want(v.Type()))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, e := range n.Content {
		d.value(s.Index(i), e, indexPath(path, i))
	}
	v.Set(s)
}

func indexPath(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// object decodes a mapping into a struct by its yaml tags; a key the struct
// lacks is reported with the closest known key.
func (d *decoder) object(v reflect.Value, n *yaml.Node, path string) {
	if isNull(n) {
		return // `api:` with nothing after it keeps the defaults
	}
	if n.Kind != yaml.MappingNode {
		d.wrongType(n, path, want(v.Type()))
		return
	}
	keys := structKeys(v.Type())
	kd, _ := v.Addr().Interface().(keyDecoder)
	for _, e := range d.entries(n, path) {
		child := joinPath(path, e.key)
		if kd != nil && kd.decodeKey(d, e.key, e.v, child) {
			continue
		}
		i, ok := keys.index[e.key]
		switch {
		case ok:
			d.value(v.Field(i), e.v, child)
		case e.key == "token":
			// Reported by positions, whose message never echoes the value.
		default:
			d.unknownKey(e.k, path, e.key, keys.names)
		}
	}
}

func (d *decoder) unknownKey(k *yaml.Node, parent, key string, known []string) {
	msg := fmt.Sprintf("unknown key %q", key)
	if parent == "" {
		msg += " at the top level"
	}
	if s := closest(key, known); s != "" && distance(strings.ToLower(key), strings.ToLower(s)) <= max(2, len(key)/3) {
		msg += fmt.Sprintf("; did you mean %q?", s)
	} else {
		msg += "; known keys: " + strings.Join(known, ", ")
	}
	d.report(k, parent, joinPath(parent, key), ProblemUnknownKey, msg)
}

// structInfo is the YAML face of a config struct.
type structInfo struct {
	index map[string]int // key → field index
	names []string       // keys in field order
}

func structKeys(t reflect.Type) structInfo {
	si := structInfo{index: make(map[string]int, t.NumField())}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		si.index[name] = i
		si.names = append(si.names, name)
	}
	return si
}

// entry is one key: value pair of a mapping.
type entry struct {
	key  string
	k, v *yaml.Node
}

// entries lists a mapping's pairs in order. A key written twice is
// reported (and the second dropped); merge keys (<<: *base) bring in the
// pairs of the merged mappings the mapping does not write itself, where
// the merge key stands.
func (d *decoder) entries(n *yaml.Node, path string) []entry {
	own := make(map[string]int, len(n.Content)/2) // key → line of its first writing
	var out []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case isMerge(k):
		case k.Kind != yaml.ScalarNode:
			d.add(k, path, ProblemWrongType, "a key must be a single value, got %s", describe(k))
		case own[k.Value] > 0:
			d.report(k, path, joinPath(path, k.Value), ProblemDuplicateKey,
				fmt.Sprintf("key %q is written twice (first at line %d)", k.Value, own[k.Value]))
		default:
			own[k.Value] = k.Line
			out = append(out, entry{key: k.Value, k: k, v: v})
		}
	}
	if len(out) == len(n.Content)/2 {
		return out // no merge keys: the usual case
	}
	return d.withMerges(n, path, own)
}

// withMerges redoes entries for a mapping with merge keys: its own pairs in
// order, each merge key replaced by the merged pairs not written already.
func (d *decoder) withMerges(n *yaml.Node, path string, own map[string]int) []entry {
	var out []entry
	taken := make(map[string]bool, len(own))
	for k := range own {
		taken[k] = true
	}
	done := make(map[string]bool, len(own))
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case isMerge(k):
			out = d.merge(out, v, path, taken)
		case k.Kind == yaml.ScalarNode && own[k.Value] == k.Line && !done[k.Value]:
			done[k.Value] = true
			out = append(out, entry{key: k.Value, k: k, v: v})
		}
	}
	return out
}

// merge appends the pairs of the mapping (or list of mappings) v whose keys
// are not taken; earlier mappings win over later ones.
func (d *decoder) merge(out []entry, v *yaml.Node, path string, taken map[string]bool) []entry {
	v, ok := d.enter(v, path)
	if !ok {
		return out
	}
	switch v.Kind {
	case yaml.SequenceNode:
		for _, e := range v.Content {
			out = d.merge(out, e, path, taken)
		}
	case yaml.MappingNode:
		if d.anchored[v] {
			d.add(v, path, ProblemInvalid, "a merge (<<) brings in the mapping that holds it")
			return out
		}
		d.anchored[v] = true
		defer delete(d.anchored, v)
		for _, e := range d.entries(v, path) {
			if !taken[e.key] {
				taken[e.key] = true
				out = append(out, e)
			}
		}
	default:
		d.wrongType(v, path, "a mapping or a list of mappings after <<")
	}
	return out
}

func isMerge(k *yaml.Node) bool { return k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" }

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// want says what a Go type takes, for "want X, got Y".
func want(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[time.Duration]():
		return `a duration such as "30s" or "1m"`
	case reflect.TypeFor[Config]():
		return "a mapping of settings such as request: and fields:"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Pointer:
		return want(t.Elem())
	case reflect.Slice:
		switch w := want(t.Elem()); w {
		case "an integer":
			return "a list of integers"
		case "a string":
			return "a list of strings"
		}
		if t.Elem() == reflect.TypeFor[Subscription]() {
			return "a list of subscriptions"
		}
		return "a list"
	}
	return "a mapping"
}

// describe says what a node is, for "want X, got Y".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.AliasNode:
		return "an alias"
	}
	short := shorten(n.Value, 40)
	switch n.ShortTag() {
	case "!!null":
		return "nothing"
	case "!!str":
		return "the string " + strconv.Quote(short)
	case "!!int":
		return "the integer " + short
	case "!!float":
		return "the number " + short
	case "!!bool":
		return "the boolean " + short
	}
	return "the value " + strconv.Quote(short)
}

// syntaxProblem reports a file that is not YAML. yaml.v3 gives a syntax
// error only as text, and its line is where the enclosing block starts;
// the line here is found by badLine instead, and only yaml's reason is kept.
func syntaxProblem(data []byte, name string, err error) Problem {
	reason := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(reason, "line "); ok {
		if _, r, ok := strings.Cut(rest, ": "); ok {
			reason = r
		}
	}
	return Problem{File: name, Line: badLine(data, err), Kind: ProblemSyntax, Msg: "invalid YAML: " + reason}
}

// badLine finds the line that breaks the YAML: the first n such that the
// file's first n lines already fail with the very error the whole file
// fails with. The parser reads forward, so it is the line holding the token
// it stumbled on (for an unclosed bracket or quote, the line that opens it).
// A binary search: a few parses of a small file, on the error path only.
func badLine(data []byte, err error) int {
	var ends []int
	for i := 0; i < len(data); {
		j := bytes.IndexByte(data[i:], '\n')
		if j < 0 {
			ends = append(ends, len(data))
			break
		}
		i += j + 1
		ends = append(ends, i)
	}
	full := err.Error()
	fails := func(lines int) bool {
		var n yaml.Node
		e := yaml.Unmarshal(data[:ends[lines-1]], &n)
		return e != nil && e.Error() == full
	}
	lo, hi := 0, len(ends) // the first lo lines parse or fail otherwise; the first hi fail alike
	for hi-lo > 1 {
		if mid := (lo + hi) / 2; fails(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return max(hi, 1)
}
