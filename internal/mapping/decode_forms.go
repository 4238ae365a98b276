package mapping

import (
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The config types that take more than one YAML form decode themselves.

// decodeYAML takes a column name (shorthand) or a spec mapping.
func (f *Field) decodeYAML(d *decoder, n *yaml.Node, path string) {
	switch {
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && strings.TrimSpace(n.Value) != "":
		*f = Field{Column: n.Value}
	case n.Kind == yaml.MappingNode:
		d.object(reflect.ValueOf(f).Elem(), n, path)
	default:
		d.wrongType(n, path, "a column name or a field spec such as {column: Email}")
	}
}

// decodeYAML takes a mapping of name → field spec, keeping its order.
func (fs *Fields) decodeYAML(d *decoder, n *yaml.Node, path string) {
	if isNull(n) {
		*fs = nil
		return
	}
	if n.Kind != yaml.MappingNode {
		d.wrongType(n, path, "a mapping of field name → column or spec")
		return
	}
	entries := d.entries(n, path)
	out := make(Fields, 0, len(entries))
	for _, e := range entries {
		if e.key == "token" {
			continue // reported by positions
		}
		nf := NamedField{Name: e.key}
		d.value(reflect.ValueOf(&nf.Field).Elem(), e.v, joinPath(path, e.key))
		out = append(out, nf)
	}
	*fs = out
}

// decodeYAML takes a scalar or a list of scalars, keeping the YAML type.
func (c *Const) decodeYAML(d *decoder, n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.ScalarNode:
		*c = Const{Text: n.Value, Tag: n.ShortTag()}
	case yaml.SequenceNode:
		out := Const{IsList: true}
		for i, e := range n.Content {
			p := indexPath(path, i)
			if e, ok := d.enter(e, p); ok {
				if e.Kind != yaml.ScalarNode {
					d.wrongType(e, p, "a single value as a list element")
					continue
				}
				out.List = append(out.List, Const{Text: e.Value, Tag: e.ShortTag()})
			}
		}
		*c = out
	default:
		d.wrongType(n, path, "a single value or a list of them")
	}
}

// decodeYAML takes one string or a list of strings.
func (l *StringList) decodeYAML(d *decoder, n *yaml.Node, path string) {
	switch {
	case isNull(n):
		*l = nil
	case n.Kind == yaml.ScalarNode:
		*l = StringList{n.Value}
	case n.Kind == yaml.SequenceNode:
		out := make(StringList, 0, len(n.Content))
		for i, e := range n.Content {
			p := indexPath(path, i)
			if e, ok := d.enter(e, p); ok {
				if e.Kind != yaml.ScalarNode {
					d.wrongType(e, p, "a string")
					continue
				}
				out = append(out, e.Value)
			}
		}
		*l = out
	default:
		d.wrongType(n, path, "a string or a list of strings")
	}
}

// decodeYAML takes a mapping of cell value → constant, keeping its order.
func (m *ValueMap) decodeYAML(d *decoder, n *yaml.Node, path string) {
	if isNull(n) {
		*m = nil
		return
	}
	if n.Kind != yaml.MappingNode {
		d.wrongType(n, path, "a mapping of cell value → value")
		return
	}
	var out ValueMap
	for _, e := range d.entries(n, path) {
		p := joinPath(path, e.key)
		v, ok := d.enter(e.v, p)
		if !ok {
			continue
		}
		if v.Kind != yaml.ScalarNode {
			d.wrongType(v, p, "a single value")
			continue
		}
		out = append(out, MapEntry{From: e.key, To: Const{Text: v.Value, Tag: v.ShortTag()}})
	}
	*m = out
}

// decodeKey takes match.field_name as a name or as a constant spec
// {value: NAME}, like any field spec with a constant. It cannot come from a
// column: the name travels in the request envelope, the same for every row.
func (m *Match) decodeKey(d *decoder, key string, n *yaml.Node, path string) bool {
	if key != "field_name" {
		return false
	}
	n, ok := d.enter(n, path)
	if !ok {
		return true
	}
	switch {
	case isNull(n):
	case n.Kind == yaml.ScalarNode:
		m.FieldName = n.Value
	case n.Kind == yaml.MappingNode:
		var f Field
		d.object(reflect.ValueOf(&f).Elem(), n, path)
		if f.Value != nil && !f.Value.IsList && reflect.DeepEqual(f, Field{Value: f.Value}) {
			m.FieldName = f.Value.Text
			break
		}
		d.add(n, path, ProblemInvalid, "is the name of the custom field, the same in every row (it is sent beside data, not read from a column): write CRM_ID or {value: CRM_ID}")
	default:
		d.wrongType(n, path, "a field name such as CRM_ID, or {value: CRM_ID}")
	}
	return true
}
