package mapping

import (
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ProblemKind classifies a [Problem], so that a caller can tell a typo from
// a bad value without reading the message.
type ProblemKind uint8

// The kinds of config problems.
const (
	ProblemInvalid      ProblemKind = iota // a setting of the right type that cannot be used
	ProblemSyntax                          // the file is not YAML
	ProblemUnknownKey                      // a key the config does not have
	ProblemWrongType                       // a value of the wrong YAML type (a list for a string, say)
	ProblemDuplicateKey                    // a key written twice in one mapping
	ProblemToken                           // an API token in the config
)

// Problem is one thing wrong with a config: where it is and what to do.
type Problem struct {
	File   string // the config's name, "" for a hand-built Config
	Line   int    // 1-based, 0 when unknown
	Column int    // 1-based, 0 when unknown
	Path   string // the key path, like "fields.email.type" or "subscriptions[0].channel"
	Kind   ProblemKind
	Msg    string
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

// tokenMsg is the one answer to a token key; the value is never echoed.
const tokenMsg = "the API token is never read from the config; use the ALTCRAFT_TOKEN environment variable or --token-file"

// positions remembers, for each key path of a parsed file, where it is
// written, so that a problem found after decoding (by validation) can say
// file:line too. It also finds token keys anywhere, even under keys the
// decoder refuses.
type positions struct {
	file   string
	lines  map[string][2]int // path → line and column of its key (or sequence element)
	tokens []Problem         // token keys found while walking
	seen   map[*yaml.Node]bool
}

func newPositions(file string, root *yaml.Node) *positions {
	p := &positions{
		file:  file,
		lines: make(map[string][2]int),
		seen:  make(map[*yaml.Node]bool),
	}
	p.walk("", root, false)
	return p
}

func (p *positions) note(path string, n *yaml.Node) {
	if _, ok := p.lines[path]; !ok {
		p.lines[path] = [2]int{n.Line, n.Column}
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
			p.note(child, k)
			if !inMap && k.Value == "token" {
				p.tokens = append(p.tokens, Problem{File: p.file, Line: k.Line, Column: k.Column, Path: child, Kind: ProblemToken, Msg: tokenMsg})
			}
			// Keys under map: are cell values, not settings.
			p.walk(child, v, k.Value == "map")
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			child := path + "[" + strconv.Itoa(i) + "]"
			p.note(child, c)
			p.walk(child, c, false)
		}
	case yaml.AliasNode:
		p.walk(path, n.Alias, inMap)
	}
}

func (p *positions) tokenProblems() []Problem { return slices.Clone(p.tokens) }

// at returns the line and column of path, or of its nearest ancestor
// written in the file.
func (p *positions) at(path string) (line, col int) {
	for path != "" {
		if l, ok := p.lines[path]; ok {
			return l[0], l[1]
		}
		path = parentPath(path)
	}
	// A whole section is missing: point at the top of the file.
	return 1, 0
}

func (p *positions) problem(path, msg string) Problem {
	if p == nil {
		return Problem{Path: path, Msg: msg}
	}
	line, col := p.at(path)
	return Problem{File: p.file, Line: line, Column: col, Path: path, Msg: msg}
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

// isPathPrefix reports whether path a is b or one of its ancestors.
func isPathPrefix(a, b string) bool {
	if !strings.HasPrefix(b, a) {
		return false
	}
	return len(b) == len(a) || b[len(a)] == '.' || b[len(a)] == '['
}
