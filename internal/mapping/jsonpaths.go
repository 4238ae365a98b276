package mapping

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// PathSet is the set of dotted paths found in sampled JSONL objects, to
// check a config's columns against them as a CSV header is checked: every
// key path, leaf or not (contact and contact.email), list elements by index
// (phones.0), a key whose value is null included. Add the objects with Add,
// then ask [Mapper.MissingPaths]. Not safe for concurrent use.
type PathSet struct {
	seen    map[string]bool
	order   []string // first-seen order, so that "closest" is stable
	objects int
}

// Add records the paths of one object.
func (s *PathSet) Add(obj map[string]any) {
	if s.seen == nil {
		s.seen = make(map[string]bool)
	}
	s.objects++
	s.addObject("", obj)
}

// Objects is the number of objects added.
func (s *PathSet) Objects() int { return s.objects }

// Has reports whether path was seen.
func (s *PathSet) Has(path string) bool { return s.seen[path] }

func (s *PathSet) addObject(prefix string, obj map[string]any) {
	// Sorted: map order is random, and the order decides ties of closest.
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		s.addValue(joinPath(prefix, k), obj[k])
	}
}

func (s *PathSet) addValue(path string, v any) {
	if !s.seen[path] {
		s.seen[path] = true
		s.order = append(s.order, path)
	}
	switch x := v.(type) {
	case map[string]any:
		s.addObject(path, x)
	case []any:
		for i, e := range x {
			s.addValue(path+"."+strconv.Itoa(i), e)
		}
	}
}

// MissingPaths reports the columns the config reads (dotted paths) that no
// object of s has, each with the config paths that read it and the closest
// path seen: a *[HeaderError] shaped like the one for a CSV header, or nil.
// With no objects there is nothing to judge by, and it returns nil.
func (m *Mapper) MissingPaths(s *PathSet) error {
	if s.Objects() == 0 {
		return nil
	}
	var missing []MissingColumn
	for i, col := range m.columns {
		if !s.seen[col] {
			missing = append(missing, MissingColumn{Column: col, Usages: m.columnUses[i], Closest: closest(col, s.order)})
		}
	}
	if missing == nil {
		return nil
	}
	return &HeaderError{Missing: missing, Objects: s.Objects()}
}

// headerErrorLine is one line of HeaderError.Error.
func headerErrorLine(m MissingColumn, objects int) string {
	where := "is not in the file's header"
	if objects > 0 {
		where = fmt.Sprintf("is in none of the first %d objects", objects)
		if objects == 1 {
			where = "is not in the first object"
		}
	}
	line := fmt.Sprintf("column %q (%s) %s", m.Column, joinUsages(m.Usages), where)
	if m.Closest != "" {
		line += fmt.Sprintf("; closest: %q", m.Closest)
	}
	return line
}
