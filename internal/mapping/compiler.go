package mapping

import (
	"fmt"
	"strings"
	_ "time/tzdata" // timezone: works on hosts without a zoneinfo database (slim containers)
)

// compileMode says what the compiler binds columns to.
type compileMode uint8

const (
	modeCheck compileMode = iota // no file: check the config only
	modeCSV                      // columns are header names
	modeJSONL                    // columns are dotted paths into objects
)

// compiler checks a config and builds the plans of a Mapper in one pass, so
// that Validate and Compile can never disagree about what is valid.
type compiler struct {
	cfg      *Config
	pos      *positions
	mode     compileMode
	header   map[string]int
	names    []string
	problems []Problem
	quiet    int // >0: problems are dropped (a spec compiled a second time)
	// skipKeyCheck: the sections that supply match keys failed to decode.
	skipKeyCheck bool
	phones       *phoneCache
	reference    bool // build no fast path (see compile)

	columns    []string
	columnUses [][]string // config paths reading each column
	colIndex   map[string]int
	missing    []MissingColumn

	keys   []keyPlan
	fields []*fieldPlan
	subs   []subPlan
}

func newCompiler(c *Config, mode compileMode, header []string) *compiler {
	cc := &compiler{cfg: c, pos: c.pos, mode: mode, colIndex: make(map[string]int)}
	if mode == modeCSV {
		cc.names = header
		cc.header = headerIndex(header)
	}
	return cc
}

// headerIndex maps each header name to its column: the first of duplicate
// names wins, and a name padded with spaces (Excel exports do that now and
// then) is found by its trimmed form too, unless another column has that
// exact name.
func headerIndex(header []string) map[string]int {
	idx := make(map[string]int, 2*len(header))
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		if _, dup := idx[h]; !dup {
			idx[h] = i
		}
	}
	for i, h := range header {
		if t := strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")); t != h {
			if _, dup := idx[t]; !dup {
				idx[t] = i
			}
		}
	}
	return idx
}

func (cc *compiler) addf(path, format string, args ...any) {
	if cc.quiet > 0 {
		return
	}
	cc.problems = append(cc.problems, cc.pos.problem(path, fmt.Sprintf(format, args...)))
}

// build checks everything and fills the plans; in modeCheck the plans have
// no columns bound and serve only to find problems.
func (cc *compiler) build() {
	cc.checkAPI()
	cc.checkRequest()
	cc.checkInput()
	cc.phones = newPhoneCache(strings.ToUpper(cc.cfg.Input.PhoneRegion))

	mode := cc.cfg.Request.Matching
	slots := modeKeys[mode]
	cc.checkUnusedKeys(mode, slots)
	specs := make([]keySpec, 0, len(slots))
	for _, s := range slots {
		specs = append(specs, cc.cfg.keySpec(s))
	}
	if cc.checkKeySpecs(mode, specs) {
		cc.compileKeys(specs)
	}
	for i := range cc.cfg.Fields {
		cc.dataField(&cc.cfg.Fields[i])
	}
	for i := range cc.cfg.Subscriptions {
		cc.subscription(i, &cc.cfg.Subscriptions[i])
	}
	if len(cc.problems) == 0 {
		cc.linkKeys(slots, specs)
	}
}

// role is where a spec sits in the config, which decides its defaults and
// what it may use.
type role struct {
	path    string      // config path of the spec, for messages
	name    string      // FieldError.Field
	member  string      // JSON member name
	list    bool        // always sent as a list
	defType valueType   // type when type: is empty
	types   []valueType // allowed types; nil = any
	actions bool        // action: allowed
	unset   bool        // empty: unset allowed
	key     bool        // a match key
}
