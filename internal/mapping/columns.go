package mapping

import (
	"slices"
	"strconv"
	"strings"

	"importer/internal/input"
)

// source is where a field's input comes from.
type source struct {
	idx   int      // CSV column index; -1 when unbound
	jsonl bool     // read from the JSONL object
	whole string   // JSONL: the column as one top-level key
	path  []string // JSONL: the dotted path's segments
	index []int    // JSONL: each segment as an array index, -1 if not a number
}

// source binds a column to the file and records it, with the config path
// that reads it, for Columns() and MissingPaths.
func (cc *compiler) source(column, usage string) source {
	i, seen := cc.colIndex[column]
	if !seen {
		i = len(cc.columns)
		cc.colIndex[column] = i
		cc.columns = append(cc.columns, column)
		cc.columnUses = append(cc.columnUses, nil)
	}
	if cc.quiet == 0 && !slices.Contains(cc.columnUses[i], usage) {
		cc.columnUses[i] = append(cc.columnUses[i], usage)
	}
	switch cc.mode {
	case modeCSV:
		if i, ok := cc.header[column]; ok {
			return source{idx: i}
		}
		cc.missingColumn(column, usage)
	case modeJSONL:
		return jsonSource(column)
	}
	return source{idx: -1}
}

// jsonSource splits a dotted path once, at compile time.
func jsonSource(column string) source {
	s := source{idx: -1, jsonl: true, whole: column, path: strings.Split(column, ".")}
	s.index = make([]int, len(s.path))
	for i, seg := range s.path {
		s.index[i] = -1
		if n, err := strconv.Atoi(seg); err == nil && n >= 0 {
			s.index[i] = n
		}
	}
	return s
}

// cell is a field's raw input: a CSV cell or a JSONL value.
type cell struct {
	s    string
	v    any
	json bool
}

func (p *fieldPlan) input(rec *input.Record) cell {
	if p.src.jsonl {
		return cell{v: p.src.lookup(rec.Object), json: true}
	}
	if p.src.idx >= 0 && p.src.idx < len(rec.Fields) {
		return cell{s: rec.Fields[p.src.idx]}
	}
	return cell{}
}

// lookup follows a dotted path: a top-level key with dots in its name wins,
// then each segment is a key or, in an array, an index.
func (s *source) lookup(obj map[string]any) any {
	if v, ok := obj[s.whole]; ok || len(s.path) == 1 {
		return v
	}
	var cur any = obj
	for i, seg := range s.path {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[seg]
		case []any:
			n := s.index[i]
			if n < 0 || n >= len(c) {
				return nil
			}
			cur = c[n]
		default:
			return nil
		}
	}
	return cur
}

// MissingColumn is a mapped column that the file's header lacks.
type MissingColumn struct {
	Column  string
	Usages  []string // config paths that read it, like "fields.email"
	Closest string   // the header's closest name (case-insensitive edit distance)
}

// HeaderError lists every mapped column missing from a file's header, or,
// for JSONL, from every sampled object ([Mapper.MissingPaths]).
type HeaderError struct {
	Missing []MissingColumn
	// Objects is the number of JSONL objects sampled; 0 for a CSV header.
	Objects int
}

// Error reads, one line per column,
// `column "Emial" (fields.email) is not in the file's header; closest: "Email"`,
// or for JSONL
// `column "name.frist" (fields._fname) is in none of the first 1000 objects; closest: "name.first"`.
func (e *HeaderError) Error() string {
	lines := make([]string, len(e.Missing))
	for i, m := range e.Missing {
		lines[i] = headerErrorLine(m, e.Objects)
	}
	return strings.Join(lines, "\n")
}

func joinUsages(u []string) string { return strings.Join(u, ", ") }

func (cc *compiler) missingColumn(column, usage string) {
	if cc.quiet > 0 {
		return
	}
	for i := range cc.missing {
		if cc.missing[i].Column == column {
			if !slices.Contains(cc.missing[i].Usages, usage) {
				cc.missing[i].Usages = append(cc.missing[i].Usages, usage)
			}
			return
		}
	}
	cc.missing = append(cc.missing, MissingColumn{Column: column, Usages: []string{usage}, Closest: closest(column, cc.names)})
}

// closest returns the candidate nearest to s by case-insensitive edit
// distance, the first one on a tie; "" when there are none.
func closest(s string, candidates []string) string {
	best, bestD := "", -1
	ls := strings.ToLower(s)
	for _, c := range candidates {
		c = strings.TrimPrefix(c, "\ufeff")
		if d := distance(ls, strings.ToLower(c)); bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b, in runes.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
