package mapping

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"importer/internal/input"
	"importer/internal/jsonenc"
)

// appendMember appends `,"name":value` to the object opened at objAt, or
// nothing when the value is empty and the spec says to skip it, or when it
// is refused (the problem goes to st.errs).
func appendMember(buf []byte, objAt int, p *fieldPlan, cut bool, rec *input.Record, st *rowState) []byte {
	start := len(buf)
	if len(buf) > objAt+1 {
		buf = append(buf, ',')
	}
	memberAt := len(buf)
	buf = append(buf, p.prefix...)
	valueAt := len(buf)
	if p.hasConst {
		buf = append(buf, p.constJSON...)
		st.risky = st.risky || p.risky
		st.addCut(cut, memberAt, len(buf))
		return buf
	}
	buf = append(buf, p.actOpen...)
	buf, ok, fe := p.appendValue(buf, rec)
	switch {
	case fe != nil:
		st.errs.add(fe)
		return buf[:start]
	case ok:
		buf = append(buf, p.actClose...)
		st.risky = st.risky || p.risky
	case p.hasDef:
		buf = append(buf[:valueAt], p.defJSON...)
		st.risky = st.risky || p.risky
	case p.unset:
		buf = append(buf[:valueAt], `{"action":"unset"}`...)
	case p.required:
		st.errs.add(&FieldError{Row: rec.Row, Column: p.column, Field: p.name, Kind: "missing value",
			Reason: "is empty, but the field is required", Err: ErrMissingValue})
		return buf[:start]
	default:
		return buf[:start]
	}
	st.addCut(cut, memberAt, len(buf))
	return buf
}

// appendOwn appends the field's constant, its input's value or its default;
// it is for specs without an action (subscription addresses).
func (p *fieldPlan) appendOwn(dst []byte, rec *input.Record) ([]byte, bool, *FieldError) {
	if p.hasConst {
		return append(dst, p.constJSON...), true, nil
	}
	dst, ok, fe := p.appendValue(dst, rec)
	if fe != nil || ok || !p.hasDef {
		return dst, ok, fe
	}
	return append(dst, p.defJSON...), true, nil
}

// appendValue appends the field's JSON value (a list for list fields),
// without the action wrapper. It reports false when there is nothing to send.
func (p *fieldPlan) appendValue(dst []byte, rec *input.Record) ([]byte, bool, *FieldError) {
	if p.src.jsonl {
		return p.appendJSONValue(dst, rec, p.src.lookup(rec.Object))
	}
	var s string
	if i := p.src.idx; uint(i) < uint(len(rec.Fields)) {
		s = trimSpace(rec.Fields[i])
	}
	switch {
	case s == "":
		return dst, false, nil
	case p.list:
		return p.appendList(dst, rec, s, nil)
	case p.plain:
		// Most columns are plain text: no conversion to run.
		return jsonenc.AppendString(dst, s), true, nil
	case p.conv.mapJSON != nil:
		js, e := p.conv.mappedJSON(s)
		if e != nil {
			return dst, false, p.fail(rec, s, e)
		}
		return append(dst, js...), true, nil
	}
	var v val
	empty, e := p.conv.scalar(&v, s, jsonString)
	if e != nil {
		return dst, false, p.fail(rec, s, e)
	}
	if empty {
		return dst, false, nil
	}
	return v.appendJSON(dst), true, nil
}

// appendJSONValue is appendValue for a value read from a JSONL object.
func (p *fieldPlan) appendJSONValue(dst []byte, rec *input.Record, x any) ([]byte, bool, *FieldError) {
	if arr, ok := x.([]any); ok {
		if !p.list {
			return dst, false, p.wrongJSON(rec, x, true)
		}
		return p.appendList(dst, rec, "", arr)
	}
	if _, ok := x.(map[string]any); ok {
		return dst, false, p.wrongJSON(rec, x, true)
	}
	if s, ok := x.(string); ok && p.list {
		return p.appendList(dst, rec, trimSpace(s), nil)
	}
	var v val
	empty, fe := p.jsonScalar(&v, rec, x)
	if fe != nil || empty {
		return dst, false, fe
	}
	if p.list {
		dst = append(dst, '[')
		dst = v.appendJSON(dst)
		return append(dst, ']'), true, nil
	}
	return v.appendJSON(dst), true, nil
}

// nextPart cuts the next list element off s: up to the split separator, or
// all of s when the field has none.
func (p *fieldPlan) nextPart(s string) (part, rest string) {
	if p.split == "" {
		return trimSpace(s), ""
	}
	part, rest, _ = strings.Cut(s, p.split)
	return trimSpace(part), rest
}

// appendList appends a JSON list: the elements of a JSON array, or of s cut
// by the split separator (the whole of s when there is none). Elements are
// trimmed, empty ones dropped, each converted by the field's type.
func (p *fieldPlan) appendList(dst []byte, rec *input.Record, s string, arr []any) ([]byte, bool, *FieldError) {
	at := len(dst)
	dst = append(dst, '[')
	n := 0
	for _, e := range arr {
		var v val
		empty, fe := p.jsonScalar(&v, rec, e)
		if fe != nil {
			return dst[:at], false, fe
		}
		if !empty {
			dst = appendElem(dst, n, &v)
			n++
		}
	}
	for s != "" {
		var part string
		part, s = p.nextPart(s)
		if p.plain {
			// Plain text elements (tags, cities): nothing to convert.
			if part != "" {
				if n > 0 {
					dst = append(dst, ',')
				}
				dst = jsonenc.AppendString(dst, part)
				n++
			}
			continue
		}
		var v val
		empty, e := p.conv.scalar(&v, part, jsonString)
		if e != nil {
			return dst[:at], false, p.fail(rec, part, e)
		}
		if !empty {
			dst = appendElem(dst, n, &v)
			n++
		}
	}
	if n == 0 {
		return dst[:at], false, nil
	}
	return append(dst, ']'), true, nil
}

// appendElem appends the list element v, after a comma unless it is the
// first (n == 0).
func appendElem(dst []byte, n int, v *val) []byte {
	if n > 0 {
		dst = append(dst, ',')
	}
	return v.appendJSON(dst)
}

// jsonScalar converts one JSONL value into v. Numbers and booleans keep their
// JSON type unless the field's type says otherwise; null is empty; an object
// or a list is refused: a JSON value is never sent as an object.
func (p *fieldPlan) jsonScalar(v *val, rec *input.Record, x any) (empty bool, fe *FieldError) {
	var (
		e    *convErr
		text string
	)
	switch t := x.(type) {
	case nil:
		return true, nil
	case string:
		text = trimSpace(t)
		empty, e = p.conv.scalar(v, text, jsonString)
	case json.Number:
		text = string(t)
		empty, e = p.conv.scalar(v, text, jsonNumber)
	case bool:
		text = strconv.FormatBool(t)
		empty, e = p.conv.scalar(v, text, jsonBool)
	case float64:
		// A decoder without UseNumber; keep working.
		text = string(jsonenc.AppendFloat(nil, t))
		empty, e = p.conv.scalar(v, text, jsonNumber)
	default:
		return false, p.wrongJSON(rec, t, false)
	}
	if e != nil {
		return false, p.fail(rec, text, e)
	}
	return empty, nil
}

// wrongJSON refuses an object or a list where a single value is needed;
// whole says x is the field's whole value (else a list element).
func (p *fieldPlan) wrongJSON(rec *input.Record, x any, whole bool) *FieldError {
	js, _ := marshalJSON(x)
	what, hint := "an object", ""
	if _, isList := x.([]any); isList {
		what = "a list"
		if whole {
			hint = " (add split: to send it as a list)"
		}
	}
	single := "a single "
	if !whole {
		single = "a "
	}
	return p.fail(rec, string(js), &convErr{kind: "wrong JSON type", reason: "is " + what + ", not " + single + typeName(p.conv.typ) + hint})
}

func marshalJSON(x any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(x); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// keyValue converts a key into v: its constant, the first non-empty
// element of its input (a list gives its first element), or its default.
func (p *fieldPlan) keyValue(v *val, rec *input.Record) (bool, *FieldError) {
	if p.hasConst {
		*v = p.constVal
		return true, nil
	}
	ok, fe := p.firstValue(v, rec)
	if fe != nil || ok {
		return ok, fe
	}
	if p.hasDef {
		*v = p.defVal
		return true, nil
	}
	return false, nil
}

func (p *fieldPlan) firstValue(v *val, rec *input.Record) (bool, *FieldError) {
	c := p.input(rec)
	if c.json {
		switch x := c.v.(type) {
		case map[string]any:
			return false, p.wrongJSON(rec, x, true)
		case []any:
			if !p.list {
				return false, p.wrongJSON(rec, x, true)
			}
			for _, e := range x {
				empty, fe := p.jsonScalar(v, rec, e)
				if fe != nil || !empty {
					return fe == nil, fe
				}
			}
			return false, nil
		case string:
			c = cell{s: x}
		default:
			empty, fe := p.jsonScalar(v, rec, x)
			return !empty && fe == nil, fe
		}
	}
	s := trimSpace(c.s)
	for s != "" {
		var part string
		part, s = p.nextPart(s)
		empty, e := p.conv.scalar(v, part, jsonString)
		if e != nil {
			return false, p.fail(rec, part, e)
		}
		if !empty {
			return true, nil
		}
	}
	return false, nil
}

// fail builds the FieldError of a refused value.
func (p *fieldPlan) fail(rec *input.Record, value string, e *convErr) *FieldError {
	err := ErrInvalidValue
	switch e.kind {
	case "unmapped value":
		err = ErrUnmapped
	case "wrong JSON type":
		err = ErrWrongJSON
	}
	return &FieldError{Row: rec.Row, Column: p.column, Field: p.name, Value: shorten(value, 40), Kind: e.kind, Reason: e.reason, Err: err}
}
