package mapping

import (
	"sync/atomic"

	"importer/internal/input"
)

// Mapper turns input records into profile requests by a compiled plan:
// column indexes are resolved, constants and envelopes pre-encoded, so Map
// only reads cells, converts them and appends JSON. It is immutable after
// Compile and safe for concurrent use.
type Mapper struct {
	matching  string // request.matching
	either    bool   // an email_phone mode: one of the two keys is enough
	keys      []keyPlan
	fields    []*fieldPlan
	subs      []subPlan
	envSingle []byte
	envBatch  []byte
	columns   []string
	// columnUses lists, for each column, the config paths that read it.
	columnUses [][]string
	phones     *phoneCache
	sizeHint   atomic.Int64 // recent request size, to allocate each buffer once
}

// maxSizeHint bounds the buffer Map allocates up front: one row with a huge
// note must not make every later request that big.
const maxSizeHint = 16 << 10

// Compile checks cfg and binds it to a file: header is the CSV header (or
// input.columns when the file has none), nil for JSONL, where columns are
// dotted paths. It fails with a *[ConfigError] for a config problem and a
// *[HeaderError] listing every mapped column the header lacks.
func Compile(cfg *Config, header []string) (*Mapper, error) {
	return compile(cfg, header, false)
}

// compile is Compile; reference leaves out every fast path (values shared
// with a key, dates read without time.Parse, pre-encoded map values), so
// that differential tests can hold the fast paths to the plain code.
func compile(cfg *Config, header []string, reference bool) (*Mapper, error) {
	mode := modeJSONL
	if header != nil {
		mode = modeCSV
	}
	cc := newCompiler(cfg, mode, header)
	cc.reference = reference
	cc.build()
	if len(cc.problems) > 0 {
		return nil, newConfigError(cc.problems)
	}
	if len(cc.missing) > 0 {
		return nil, &HeaderError{Missing: cc.missing}
	}
	m := &Mapper{
		matching:   cfg.Request.Matching,
		either:     eitherKey(cfg.Request.Matching),
		keys:       cc.keys,
		fields:     cc.fields,
		subs:       cc.subs,
		columns:    cc.columns,
		columnUses: cc.columnUses,
		phones:     cc.phones,
		envSingle:  envelope(cfg, false),
		envBatch:   envelope(cfg, true),
	}
	m.sizeHint.Store(256)
	return m, nil
}

// Columns returns the input columns the config reads (CSV header names or
// JSONL paths), each once, in config order.
func (m *Mapper) Columns() []string { return append([]string(nil), m.columns...) }

// Map converts one record. A record with Err set returns that error; a row
// that cannot be mapped returns [RowErrors]: every problem of the row, each
// bad column once. Safe for concurrent use.
func (m *Mapper) Map(rec *input.Record) (*Request, error) {
	if rec.Err != nil {
		return nil, rec.Err
	}
	// Keys first: the row is invalid without them, whatever else it holds;
	// the rest is still mapped, to find every problem of the row at once.
	var st rowState
	var keys rowKeys
	m.matchKeys(rec, &keys, &st.errs)
	req := requests.Get().(*Request)
	buf := req.buf[:0]
	if cap(buf) == 0 {
		buf = make([]byte, 0, m.sizeHint.Load())
	}
	*req = Request{Row: rec.Row, Line: rec.Line}
	buf = m.appendKeys(buf, req, &keys)
	buf = m.appendData(buf, rec, &keys, &st)
	req.buf = buf
	if st.errs != nil {
		req.Release()
		return nil, st.errs
	}
	req.Key = m.keyText(&keys)
	req.Risky = st.risky
	req.cuts, req.nCuts = st.cuts, st.nCuts
	if n := int64(len(buf)); n > m.sizeHint.Load() && n < maxSizeHint {
		m.sizeHint.Store(n + n/4)
	}
	return req, nil
}

// appendData appends the data object: the fields in config order, then the
// subscriptions.
func (m *Mapper) appendData(buf []byte, rec *input.Record, keys *rowKeys, st *rowState) []byte {
	dataAt := len(buf)
	buf = append(buf, '{')
	for _, p := range m.fields {
		if p.valueOfKey >= 0 && keys.present[p.valueOfKey] {
			// The field is the key's own spec: reuse the converted value
			// rather than convert (and lower-case, say) the cell twice.
			if len(buf) > dataAt+1 {
				buf = append(buf, ',')
			}
			at := len(buf)
			buf = append(buf, p.prefix...)
			buf = keys.appendJSON(buf, p.valueOfKey)
			st.addCut(p.replacedByKey >= 0, at, len(buf))
			continue
		}
		// A data member is cut from items only when its key went in; with
		// the email_phone modes one key may be empty.
		cut := p.replacedByKey >= 0 && keys.present[p.replacedByKey]
		buf = appendMember(buf, dataAt, p, cut, rec, st)
	}
	buf = m.appendSubscriptions(buf, dataAt, rec, keys, st)
	return append(buf, '}')
}
