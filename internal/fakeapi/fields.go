package fakeapi

import (
	"encoding/json"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// action is a functional update of one field (docs/API.md, "Field functions").
type action uint8

const (
	aSet action = iota
	aUnset
	aIncr
	aAdd
	aDelete
	aUpsert
)

var actionNames = [...]string{"set", "unset", "incr", "add", "delete", "upsert"}

// fieldOp is one validated change of a profile field.
type fieldOp struct {
	name     string
	act      action
	value    any      // set: the value; incr: json.Number; upsert: map[string]any
	list     []string // add, delete
	submatch string   // upsert
}

// parseFieldOp validates one data entry: a plain value (set) or
// {"action": ..., "value": ...}.
func parseFieldOp(name string, v any, isXML bool) (fieldOp, *apiError) {
	op := fieldOp{name: name, act: aSet, value: v}
	m, ok := v.(map[string]any)
	if !ok {
		return op, checkSet(name, v, isXML)
	}
	av, ok := m["action"]
	if !ok {
		return op, checkSet(name, v, isXML) // a plain object value
	}
	as, _ := av.(string)
	act := -1
	for i, n := range actionNames {
		if n == as {
			act = i
		}
	}
	if act < 0 {
		return op, badRequest("field %s: unknown action %s (want set, unset, incr, add, delete or upsert)", name, describe(av))
	}
	op.act = action(act)
	val, hasVal := m["value"]
	op.value = val
	if name == "email" && op.act != aSet {
		if op.act == aUnset {
			return op, badRequest("field email cannot be unset")
		}
		return op, badRequest("field email: action %s is not allowed (only set)", as)
	}
	switch op.act {
	case aSet:
		if !hasVal {
			return op, badRequest("field %s: action set needs a value", name)
		}
		return op, checkSet(name, val, isXML)
	case aUnset:
		op.value = nil
	case aIncr:
		if name == "phones" || name == "_sex" || isDateField(name) {
			return op, badRequest("field %s: action incr needs a numeric field", name)
		}
		n, ok := asNumber(val, isXML)
		if !ok {
			return op, badRequest("field %s: action incr needs a number, got %s", name, describe(val))
		}
		op.value = n
	case aAdd, aDelete:
		if name == "_sex" || isDateField(name) {
			return op, badRequest("field %s: action %s needs a list field", name, as)
		}
		if isXML {
			if s, ok := val.(string); ok && strings.TrimSpace(s) == "" {
				val = []any{}
			}
		}
		l, ok := asStringList(val)
		if !ok {
			return op, badRequest("field %s: action %s needs a list of strings, got %s", name, as, describe(val))
		}
		if name == "phones" && op.act == aAdd {
			for _, p := range l {
				if !validPhone(p) {
					return op, badRequest("invalid phone %s in field phones: want + and 7 to 15 digits", describe(p))
				}
			}
		}
		op.list = l
	case aUpsert:
		if name == "phones" || name == "_sex" || isDateField(name) {
			return op, badRequest("field %s: action upsert needs an object field", name)
		}
		obj, ok := asObject(val, isXML)
		if !ok {
			return op, badRequest("field %s: action upsert needs an object value, got %s", name, describe(val))
		}
		op.value = obj
		if sm, ok := m["submatch"]; ok {
			s, ok := sm.(string)
			if !ok || s == "" {
				return op, badRequest("field %s: submatch %s is not a property path", name, describe(sm))
			}
			op.submatch = s
		}
	}
	return op, nil
}

// checkSet validates a value set on a field with a known type.
func checkSet(name string, v any, isXML bool) *apiError {
	switch {
	case name == "email":
		s, ok := v.(string)
		if !ok || !validEmail(s) {
			return badRequest("invalid field email: %s is not an e-mail address", describe(v))
		}
	case name == "phones":
		if isXML {
			if s, ok := v.(string); ok && strings.TrimSpace(s) == "" {
				return nil
			}
		}
		l, ok := v.([]any)
		if !ok {
			return badRequest("invalid field phones: %s is not a list of phones", describe(v))
		}
		for i, e := range l {
			s, ok := e.(string)
			if !ok || !validPhone(s) {
				return badRequest("invalid field phones: phones[%d] %s is not a phone (want + and 7 to 15 digits)", i, describe(e))
			}
		}
	case name == "_sex":
		t, ok := scalarText(v)
		if _, isBool := v.(bool); isBool || !ok {
			t = ""
		}
		switch strings.TrimSpace(t) {
		case "male", "female", "0", "1", "2":
		default:
			return badRequest("invalid field _sex: %s (want male, female, 0, 1 or 2)", describe(v))
		}
	case isDateField(name):
		s, ok := v.(string)
		if !ok || !validDate(s) {
			return badRequest("invalid field %s: %s is not a date (want YYYY-MM-DD or RFC 3339)", name, describe(v))
		}
	}
	return nil
}

// apply computes the field's new value from its stored one. unset reports
// that the field is to be removed. It never modifies old.
func (op *fieldOp) apply(old any, had bool) (val any, unset bool, err *apiError) {
	switch op.act {
	case aSet:
		if op.name == "phones" {
			if s, ok := op.value.(string); ok && strings.TrimSpace(s) == "" {
				return []any{}, false, nil // an empty XML list
			}
		}
		return op.value, false, nil
	case aUnset:
		return nil, true, nil
	case aIncr:
		base := json.Number("0")
		if had {
			n, ok := old.(json.Number)
			if s, isStr := old.(string); isStr && isJSONNumber(strings.TrimSpace(s)) {
				n, ok = json.Number(strings.TrimSpace(s)), true
			}
			if !ok {
				return nil, false, badRequest("field %s: cannot incr, stored value %s is not a number", op.name, describe(old))
			}
			base = n
		}
		return addNumbers(base, op.value.(json.Number)), false, nil
	case aAdd, aDelete:
		var cur []any
		if had && old != nil {
			if _, ok := asStringList(old); !ok {
				return nil, false, badRequest("field %s: cannot %s, stored value %s is not a list of strings", op.name, actionNames[op.act], describe(old))
			}
			cur = old.([]any)
		}
		out := make([]any, 0, len(cur)+len(op.list))
		if op.act == aAdd {
			out = append(out, cur...)
			for _, s := range op.list {
				if !slices.Contains(out, any(s)) {
					out = append(out, s)
				}
			}
			return out, false, nil
		}
		for _, e := range cur {
			if s, _ := e.(string); !slices.Contains(op.list, s) {
				out = append(out, e)
			}
		}
		return out, false, nil
	case aUpsert:
		return upsert(op, old, had)
	}
	return nil, false, badRequest("field %s: unknown action", op.name)
}

// upsert merges op.value into an object, or into the matching element of a
// list of objects (arr_object). With submatch, an arr_object element matches
// when its submatch property equals the value's; in a plain object the value
// is set at the submatch path (dot-separated) instead of merged at the top.
func upsert(op *fieldOp, old any, had bool) (any, bool, *apiError) {
	val := op.value.(map[string]any)
	if l, ok := old.([]any); ok && had {
		if op.submatch == "" {
			return nil, false, badRequest("field %s: upsert into a list of objects needs submatch", op.name)
		}
		want, ok := scalarText(lookupPath(val, op.submatch))
		out := make([]any, 0, len(l)+1)
		merged := false
		for _, e := range l {
			obj, isObj := e.(map[string]any)
			if got, hasKey := scalarText(lookupPath(obj, op.submatch)); isObj && ok && hasKey && got == want && !merged {
				e = mergeObjects(obj, val)
				merged = true
			}
			out = append(out, e)
		}
		if !merged {
			out = append(out, cloneMap(val))
		}
		return out, false, nil
	}
	var base map[string]any
	if had && old != nil {
		obj, ok := old.(map[string]any)
		if !ok {
			return nil, false, badRequest("field %s: cannot upsert, stored value %s is not an object", op.name, describe(old))
		}
		base = obj
	}
	if op.submatch == "" {
		return mergeObjects(base, val), false, nil
	}
	out := cloneMap(base)
	if out == nil {
		out = map[string]any{}
	}
	parts := strings.Split(op.submatch, ".")
	cur := out
	for _, p := range parts[:len(parts)-1] {
		next, ok := cur[p].(map[string]any)
		if !ok {
			next = map[string]any{}
		}
		cur[p] = next
		cur = next
	}
	cur[parts[len(parts)-1]] = cloneMap(val)
	return out, false, nil
}

// mergeObjects returns a copy of base with the keys of over set on it.
func mergeObjects(base, over map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(over))
	for k, v := range base {
		out[k] = cloneValue(v)
	}
	for k, v := range over {
		out[k] = cloneValue(v)
	}
	return out
}

// lookupPath follows a dot-separated path into nested objects.
func lookupPath(m map[string]any, path string) any {
	var cur any = m
	for p := range strings.SplitSeq(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = obj[p]
	}
	return cur
}

// addNumbers adds integers exactly, whatever their size, and anything else
// in float64.
func addNumbers(a, b json.Number) json.Number {
	x, errX := strconv.ParseInt(string(a), 10, 64)
	y, errY := strconv.ParseInt(string(b), 10, 64)
	if errX == nil && errY == nil {
		s := x + y
		if (s > x) == (y > 0) {
			return json.Number(strconv.FormatInt(s, 10))
		}
	}
	if isInteger(a) && isInteger(b) {
		var p, q big.Int
		if _, ok := p.SetString(string(a), 10); ok {
			if _, ok := q.SetString(string(b), 10); ok {
				return json.Number(p.Add(&p, &q).String())
			}
		}
	}
	f, _ := strconv.ParseFloat(string(a), 64)
	g, _ := strconv.ParseFloat(string(b), 64)
	sum := f + g
	if math.IsInf(sum, 0) || math.IsNaN(sum) {
		sum = math.Copysign(math.MaxFloat64, sum)
	}
	return json.Number(strconv.FormatFloat(sum, 'g', -1, 64))
}

// isInteger reports whether a JSON number has no fraction or exponent.
func isInteger(n json.Number) bool { return !strings.ContainsAny(string(n), ".eE") }
