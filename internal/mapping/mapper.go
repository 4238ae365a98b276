package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"importer/internal/input"

	"importer/internal/jsonenc"
)

// Sentinels inside a FieldError, for errors.Is.
var (
	ErrInvalidValue = errors.New("invalid value")   // the value does not convert to the field's type
	ErrMissingValue = errors.New("missing value")   // a required field, or the match key, is empty
	ErrUnmapped     = errors.New("unmapped value")  // not in the field's map, and no map_default
	ErrWrongJSON    = errors.New("wrong JSON type") // a JSON object or array where a scalar is needed
)

// FieldError is a row that cannot be mapped: which column, which value and
// why. It is data for the results file, not a fatal error.
type FieldError struct {
	Row    int64
	Column string // the CSV header name or JSONL path; "" for a constant
	Field  string // the API field, like "phones" or "subscriptions[0].email"
	Value  string // the offending value, shortened to 40 runes
	Kind   string // a short label that groups errors in the summary, like "invalid phone"
	Reason string // what is wrong, written to follow the quoted value
	Err    error  // one of the Err* sentinels
}

// Error reads `column "Телефон": "12345" is not a valid phone number for region RU`.
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Column != "" {
		b.WriteString("column ")
		b.WriteString(strconv.Quote(e.Column))
	} else {
		b.WriteString("field ")
		b.WriteString(strconv.Quote(e.Field))
	}
	b.WriteString(": ")
	if e.Value != "" {
		b.WriteString(strconv.Quote(e.Value))
		b.WriteByte(' ')
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap returns the sentinel.
func (e *FieldError) Unwrap() error { return e.Err }

// Mapper turns input records into profile requests by a compiled plan:
// column indexes are resolved, constants and envelopes pre-encoded, so Map
// only reads cells, converts them and appends JSON. It is immutable after
// Compile and safe for concurrent use.
type Mapper struct {
	mode      string
	either    bool
	keys      []keyPlan
	fields    []*fieldPlan
	subs      []subPlan
	envSingle []byte
	envBatch  []byte
	columns   []string
	phones    *phoneCache
	sizeHint  atomic.Int64 // recent request size, to allocate each buffer once
}

// maxSizeHint bounds the buffer Map allocates up front: one row with a huge
// note must not make every later request that big.
const maxSizeHint = 16 << 10

// Compile checks cfg and binds it to a file: header is the CSV header (or
// input.columns when the file has none), nil for JSONL, where columns are
// dotted paths. It fails with a *[ConfigError] for a config problem and a
// *[HeaderError] listing every mapped column the header lacks.
func Compile(cfg *Config, header []string) (*Mapper, error) {
	mode := modeJSONL
	if header != nil {
		mode = modeCSV
	}
	cc := newCompiler(cfg, mode, header)
	cc.build()
	if len(cc.problems) > 0 {
		return nil, newConfigError(cc.problems)
	}
	if len(cc.missing) > 0 {
		return nil, &HeaderError{Missing: cc.missing}
	}
	m := &Mapper{
		mode:    cfg.Request.Matching,
		either:  eitherKey(cfg.Request.Matching),
		keys:    cc.keys,
		fields:  cc.fields,
		subs:    cc.subs,
		columns: cc.columns,
		phones:  cc.phones,
	}
	m.envSingle = envelope(cfg, false)
	m.envBatch = envelope(cfg, true)
	m.sizeHint.Store(256)
	return m, nil
}

func envelope(cfg *Config, batch bool) []byte {
	r := &cfg.Request
	b := strconv.AppendInt([]byte(`"db_id":`), int64(r.DBID), 10)
	b = jsonenc.AppendString(append(b, `,"matching":`...), r.Matching)
	if r.Matching == "custom" || r.Matching == "custom_sub" {
		b = jsonenc.AppendString(append(b, `,"field_name":`...), cfg.Match.FieldName)
	}
	if r.ResourceID > 0 {
		b = strconv.AppendInt(append(b, `,"resource_id":`...), int64(r.ResourceID), 10)
	}
	for _, o := range []struct {
		name string
		v    *bool
	}{{"skip_triggers", r.SkipTriggers}, {"skip_invalid_subscriptions", r.SkipInvalidSubscriptions}, {"detect_geo", r.DetectGeo}} {
		if o.v != nil {
			b = strconv.AppendBool(append(append(append(b, `,"`...), o.name...), `":`...), *o.v)
		}
	}
	if !batch {
		for _, s := range []struct {
			name string
			ids  []int
		}{{"add_to_segments", r.AddToSegments}, {"remove_from_segments", r.RemoveFromSegments}} {
			if len(s.ids) == 0 {
				continue
			}
			b = append(append(append(b, `,"`...), s.name...), `":[`...)
			for i, id := range s.ids {
				if i > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendInt(b, int64(id), 10)
			}
			b = append(b, ']')
		}
	}
	return b
}

// AppendEnvelope appends the request options shared by every call, as JSON
// members without braces and without the token: `"db_id":1,"matching":"email",...`.
// Batch envelopes leave out the segment options, which the batch endpoints
// do not take.
func (m *Mapper) AppendEnvelope(dst []byte, batch bool) []byte {
	if batch {
		return append(dst, m.envBatch...)
	}
	return append(dst, m.envSingle...)
}

// Columns returns the input columns the config reads (CSV header names or
// JSONL paths), each once, in config order.
func (m *Mapper) Columns() []string { return append([]string(nil), m.columns...) }

// Request is one mapped row: the profile's match keys and data, encoded.
// It is immutable and safe to share between goroutines.
type Request struct {
	Row, Line int64
	// Key is the match key as text: the e-mail as sent, the phone in E.164,
	// the profile id or custom value, "provider/subscription_id" for
	// push_sub, "email|phone" for the email_phone modes. It orders, shards
	// and identifies the row in the results.
	Key string
	// Risky marks a row that uses incr, add or delete: resending it after an
	// unknown outcome could apply it twice.
	Risky bool

	buf    []byte // single key members | item key members | data object
	itemAt int
	dataAt int
	cuts   [2][2]int // data members an item key replaces: [start,end) in buf
	ncut   int
}

// AppendSingle appends the members of a single-profile request, without
// braces: the top-level match members, then "data":{...}.
func (r *Request) AppendSingle(dst []byte) []byte {
	if r.itemAt > 0 {
		dst = append(dst, r.buf[:r.itemAt]...)
		dst = append(dst, ',')
	}
	dst = append(dst, `"data":`...)
	return append(dst, r.buf[r.dataAt:]...)
}

// AppendItem appends one complete batch element {...}: the match key members
// inside it, then the data members; a data member with a key's name is
// carried once, with the key's value.
func (r *Request) AppendItem(dst []byte) []byte {
	dst = append(dst, '{')
	open := len(dst)
	dst = append(dst, r.buf[r.itemAt:r.dataAt]...)
	pos, end := r.dataAt+1, len(r.buf)-1 // inside the data braces
	piece := func(p []byte) {
		p = bytes.Trim(p, ",")
		if len(p) == 0 {
			return
		}
		if len(dst) > open {
			dst = append(dst, ',')
		}
		dst = append(dst, p...)
	}
	for _, c := range r.cuts[:r.ncut] {
		piece(r.buf[pos:c[0]])
		pos = c[1]
	}
	piece(r.buf[pos:end])
	return append(dst, '}')
}

// rowState is what Map learns about a row while encoding it.
type rowState struct {
	risky bool
	cuts  [2][2]int
	ncut  int
}

// addCut records the data member at buf[start:end] as one that batch items
// replace with a key member.
func (st *rowState) addCut(cut bool, start, end int) {
	if cut && st.ncut < len(st.cuts) {
		st.cuts[st.ncut] = [2]int{start, end}
		st.ncut++
	}
}

// Key returns the row's match key as Map would set Request.Key, without
// mapping the rest of the row; ok is false when the key is missing or
// invalid (Map then reports why). It lets --shard skip other shards' rows
// before paying for their phones and dates. Safe for concurrent use.
func (m *Mapper) Key(rec *input.Record) (key string, ok bool) {
	if rec.Err != nil {
		return "", false
	}
	var kv [2]val
	var kp [2]bool
	if m.matchKeys(rec, &kv, &kp) != nil {
		return "", false
	}
	return m.keyText(&kv, &kp), true
}

// Map converts one record. A record with Err set returns that error; a row
// that cannot be mapped returns a *[FieldError] (the first problem, in
// config order). Safe for concurrent use.
func (m *Mapper) Map(rec *input.Record) (*Request, error) {
	if rec.Err != nil {
		return nil, rec.Err
	}
	// Keys first: the row is invalid without them, whatever else it holds.
	var kv [2]val
	var kp [2]bool
	if fe := m.matchKeys(rec, &kv, &kp); fe != nil {
		return nil, fe
	}
	buf := make([]byte, 0, m.sizeHint.Load())
	req := &Request{Row: rec.Row, Line: rec.Line}
	for i := range m.keys {
		if kp[i] {
			if len(buf) > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, m.keys[i].single...)
			buf = kv[i].appendJSON(buf)
		}
	}
	req.itemAt = len(buf)
	for i := range m.keys {
		if kp[i] {
			if len(buf) > req.itemAt {
				buf = append(buf, ',')
			}
			buf = append(buf, m.keys[i].item...)
			buf = kv[i].appendJSON(buf)
		}
	}
	req.dataAt = len(buf)
	req.Key = m.keyText(&kv, &kp)

	var st rowState
	var fe *FieldError
	buf = append(buf, '{')
	for _, p := range m.fields {
		if p.keySlot >= 0 && kp[p.keySlot] {
			// The field is the key's own spec: reuse the converted value
			// rather than convert (and lower-case, say) the cell twice.
			if len(buf) > req.dataAt+1 {
				buf = append(buf, ',')
			}
			at := len(buf)
			buf = append(buf, p.prefix...)
			buf = kv[p.keySlot].appendJSON(buf)
			st.addCut(p.cutSlot >= 0, at, len(buf))
			continue
		}
		// A data member is cut from items only when its key went in; with
		// the email_phone modes one key may be empty.
		cut := p.cutSlot >= 0 && kp[p.cutSlot]
		if buf, fe = appendMember(buf, req.dataAt, p, cut, rec, &st); fe != nil {
			return nil, fe
		}
	}
	if buf, fe = m.appendSubscriptions(buf, req.dataAt, rec, &st); fe != nil {
		return nil, fe
	}
	buf = append(buf, '}')

	req.buf = buf
	req.Risky = st.risky
	req.cuts, req.ncut = st.cuts, st.ncut
	if n := int64(len(buf)); n > m.sizeHint.Load() && n < maxSizeHint {
		m.sizeHint.Store(n + n/4)
	}
	return req, nil
}

// matchKeys converts the row's match key cells into kv (kp: which are
// present) and fails when the mode's keys are missing or invalid.
func (m *Mapper) matchKeys(rec *input.Record, kv *[2]val, kp *[2]bool) *FieldError {
	present := 0
	for i := range m.keys {
		ok, fe := m.keys[i].p.keyValue(&kv[i], rec)
		if fe != nil {
			return fe
		}
		kp[i] = ok
		if ok {
			present++
		}
	}
	if present == 0 || (!m.either && present < len(m.keys)) {
		return m.missingKey(rec, *kp)
	}
	return nil
}

func (m *Mapper) keyText(kv *[2]val, kp *[2]bool) string {
	switch len(m.keys) {
	case 1:
		return kv[0].text()
	case 2:
		a, b := "", ""
		if kp[0] {
			a = kv[0].text()
		}
		if kp[1] {
			b = kv[1].text()
		}
		sep := "|"
		if m.mode == "push_sub" {
			sep = "/"
		}
		return a + sep + b
	}
	return ""
}

func (m *Mapper) missingKey(rec *input.Record, kp [2]bool) *FieldError {
	for i := range m.keys {
		if kp[i] {
			continue
		}
		p := m.keys[i].p
		reason := fmt.Sprintf("is empty, but matching %q needs it", m.mode)
		if m.either {
			reason = fmt.Sprintf("is empty, and so is the other key: matching %q needs an e-mail or a phone", m.mode)
		}
		return &FieldError{Row: rec.Row, Column: p.column, Field: p.name, Kind: "missing match key", Reason: reason, Err: ErrMissingValue}
	}
	return nil
}

// appendMember appends `,"name":value` to the object opened at objAt, or
// nothing when the value is empty and the spec says to skip it.
func appendMember(buf []byte, objAt int, p *fieldPlan, cut bool, rec *input.Record, st *rowState) ([]byte, *FieldError) {
	start := len(buf)
	if len(buf) > objAt+1 {
		buf = append(buf, ',')
	}
	memberAt := len(buf)
	buf = append(buf, p.prefix...)
	valueAt := len(buf)
	switch {
	case p.hasConst:
		buf = append(buf, p.konst...)
		st.risky = st.risky || p.risky
	default:
		buf = append(buf, p.actOpen...)
		var ok bool
		var fe *FieldError
		buf, ok, fe = p.appendValue(buf, rec)
		if fe != nil {
			return buf[:start], fe
		}
		if ok {
			buf = append(buf, p.actClose...)
			st.risky = st.risky || p.risky
			break
		}
		buf = buf[:valueAt]
		switch {
		case p.hasDef:
			buf = append(buf, p.def...)
			st.risky = st.risky || p.risky
		case p.unset:
			buf = append(buf, `{"action":"unset"}`...)
		case p.required:
			return buf[:start], &FieldError{Row: rec.Row, Column: p.column, Field: p.name, Kind: "missing value",
				Reason: "is empty, but the field is required", Err: ErrMissingValue}
		default:
			return buf[:start], nil
		}
	}
	st.addCut(cut, memberAt, len(buf))
	return buf, nil
}

func (m *Mapper) appendSubscriptions(buf []byte, objAt int, rec *input.Record, st *rowState) ([]byte, *FieldError) {
	if len(m.subs) == 0 {
		return buf, nil
	}
	start := len(buf)
	if len(buf) > objAt+1 {
		buf = append(buf, ',')
	}
	buf = append(buf, `"subscriptions":[`...)
	listAt := len(buf)
	for i := range m.subs {
		s := &m.subs[i]
		entryAt := len(buf)
		if len(buf) > listAt {
			buf = append(buf, ',')
		}
		headAt := len(buf)
		buf = append(buf, s.head...)
		keep, fe := true, (*FieldError)(nil)
		var missing *fieldPlan
		for j, a := range s.addrs {
			buf = append(buf, ',')
			if s.ccData {
				buf = append(buf, `"cc_data":{`...)
			}
			buf = append(buf, a.prefix...)
			var ok bool
			if buf, ok, fe = a.appendOwn(buf, rec); fe != nil {
				return buf[:start], fe
			}
			if !ok {
				if j == len(s.addrs)-1 {
					// The address (for push: the subscription id) is empty:
					// no subscription in this row.
					keep = false
					break
				}
				missing = a
			}
			if s.ccData {
				buf = append(buf, '}')
			}
		}
		if !keep {
			buf = buf[:entryAt]
			continue
		}
		if missing != nil {
			return buf[:start], &FieldError{Row: rec.Row, Column: missing.column, Field: missing.name, Kind: "missing value",
				Reason: "is empty, but the subscription's address needs it", Err: ErrMissingValue}
		}
		for _, p := range []*fieldPlan{s.status, s.priority} {
			if p != nil {
				if buf, fe = appendMember(buf, headAt, p, false, rec, st); fe != nil {
					return buf[:start], fe
				}
			}
		}
		if len(s.custom) > 0 {
			cfAt := len(buf)
			buf = append(buf, `,"custom_fields":`...)
			objAt := len(buf)
			buf = append(buf, '{')
			for _, p := range s.custom {
				if buf, fe = appendMember(buf, objAt, p, false, rec, st); fe != nil {
					return buf[:start], fe
				}
			}
			if len(buf) == objAt+1 {
				buf = buf[:cfAt]
			} else {
				buf = append(buf, '}')
			}
		}
		if s.cats != nil {
			if buf, fe = appendMember(buf, headAt, s.cats, false, rec, st); fe != nil {
				return buf[:start], fe
			}
		}
		buf = append(buf, '}')
	}
	if len(buf) == listAt {
		return buf[:start], nil
	}
	return append(buf, ']'), nil
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

// appendOwn appends the field's constant, its input's value or its default;
// it is for specs without an action (subscription addresses).
func (p *fieldPlan) appendOwn(dst []byte, rec *input.Record) ([]byte, bool, *FieldError) {
	if p.hasConst {
		return append(dst, p.konst...), true, nil
	}
	dst, ok, fe := p.appendValue(dst, rec)
	if fe != nil || ok || !p.hasDef {
		return dst, ok, fe
	}
	return append(dst, p.def...), true, nil
}

// appendValue appends the field's JSON value (a list for list fields),
// without the action wrapper. It reports false when there is nothing to send.
func (p *fieldPlan) appendValue(dst []byte, rec *input.Record) ([]byte, bool, *FieldError) {
	c := p.input(rec)
	if !c.json {
		s := trimSpace(c.s)
		switch {
		case s == "":
			return dst, false, nil
		case p.list:
			return p.appendList(dst, rec, s, nil)
		case p.plain:
			// Most columns are plain text: no conversion to run.
			return jsonenc.AppendString(dst, s), true, nil
		}
		var v val
		empty, e := p.c.scalar(&v, s, jString)
		if e != nil {
			return dst, false, p.fail(rec, s, e)
		}
		if empty {
			return dst, false, nil
		}
		return v.appendJSON(dst), true, nil
	}
	if arr, ok := c.v.([]any); ok {
		return p.appendList(dst, rec, "", arr)
	}
	if s, ok := c.v.(string); ok && p.list {
		return p.appendList(dst, rec, trimSpace(s), nil)
	}
	var v val
	empty, fe := p.jsonScalar(&v, rec, c.v)
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
	if arr != nil {
		for _, e := range arr {
			var v val
			empty, fe := p.jsonScalar(&v, rec, e)
			if fe != nil {
				return dst[:at], false, fe
			}
			if !empty {
				if n > 0 {
					dst = append(dst, ',')
				}
				dst = v.appendJSON(dst)
				n++
			}
		}
	} else {
		for s != "" {
			var part string
			part, s = p.nextPart(s)
			var v val
			empty, e := p.c.scalar(&v, part, jString)
			if e != nil {
				return dst[:at], false, p.fail(rec, part, e)
			}
			if !empty {
				if n > 0 {
					dst = append(dst, ',')
				}
				dst = v.appendJSON(dst)
				n++
			}
		}
	}
	if n == 0 {
		return dst[:at], false, nil
	}
	return append(dst, ']'), true, nil
}

// jsonScalar converts one JSONL value into v. Numbers and booleans keep their
// JSON type unless the field's type says otherwise; objects (and nested
// arrays) are kept as JSON for string fields.
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
		empty, e = p.c.scalar(v, text, jString)
	case json.Number:
		text = string(t)
		empty, e = p.c.scalar(v, text, jNumber)
	case bool:
		text = strconv.FormatBool(t)
		empty, e = p.c.scalar(v, text, jBool)
	case float64:
		// A decoder without UseNumber; keep working.
		text = string(jsonenc.AppendFloat(nil, t))
		empty, e = p.c.scalar(v, text, jNumber)
	default:
		js, err := marshalJSON(t)
		text = string(js)
		if err != nil || p.c.kind != kindString || p.c.mapped || p.c.check != kindString {
			what := "a JSON object"
			if _, isArr := t.([]any); isArr {
				what = "a JSON array"
			}
			e = &convErr{kind: "wrong JSON type", reason: "is " + what + ", not a single " + kindName(p.c.kind)}
			break
		}
		v.k, v.s = vJSON, text
	}
	if e != nil {
		return false, p.fail(rec, text, e)
	}
	return empty, nil
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
		*v = p.konstVal
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
		case []any:
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
		empty, e := p.c.scalar(v, part, jString)
		if e != nil {
			return false, p.fail(rec, part, e)
		}
		if !empty {
			return true, nil
		}
	}
	return false, nil
}
