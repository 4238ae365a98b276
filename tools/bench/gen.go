package bench

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
)

// Format is the layout of a generated file.
type Format string

// The formats Generate writes.
const (
	CSV   Format = "csv"   // comma-separated, CRLF line ends, RFC 4180 quoting
	JSONL Format = "jsonl" // one JSON object per line, the same ten keys
)

// Columns are the ten columns of a generated file, in order: the header of
// the CSV and the keys of each JSONL object.
var Columns = []string{"crm_id", "first_name", "last_name", "email", "phone", "birthday", "gender", "city", "subscribed", "comment"}

// GenOptions says what Generate writes.
type GenOptions struct {
	Format Format
	Rows   int64  // data rows after the header
	Seed   uint64 // the same options give the same bytes
	// MinBytes > 0 writes rows until the output holds at least this many
	// bytes, whatever Rows says: the way to ask for "a 1 GiB file".
	MinBytes int64
	// Unique leaves out the repeated e-mails: every row is another
	// customer, as in a CRM's export keyed by e-mail. The rows differ from
	// those written without it.
	Unique bool
	// Churn, when not zero, makes the file the export of the next night of
	// the same CRM: see [Churn].
	Churn Churn
}

// Churn turns an export into the next night's: the rows of the same
// options without Churn, in the same order, less the rows dropped (the
// customers gone), with a changed city in the rows changed (the customers
// who moved), and the rows added (new customers, with new crm_ids and
// e-mails) at the end, as an export sorted by id has them. Each is a
// fraction of Rows, drawn row by row from a generator of its own, so the
// counts (in [GenStats]) are near, not exactly, the fractions. Rows with a
// bad phone are never dropped or changed, and added rows have good phones:
// so the counts mean the same whether a mapping parses phones or not.
// MinBytes cannot be combined with it.
type Churn struct {
	Changed float64 // rows whose city changes
	Dropped float64 // rows left out
	Added   float64 // new rows at the end: round(Added × Rows) of them
}

func (c Churn) zero() bool { return c == Churn{} }

// GenStats describes a generated file.
type GenStats struct {
	Rows       int64 // data rows written
	Bytes      int64 // bytes written, header included
	Duplicates int64 // rows whose e-mail repeats an earlier row's
	Multiline  int64 // rows with a quoted line break (CSV) or an escaped one (JSONL)
	BadPhones  int64 // rows whose phone lacks digits: invalid for validate
	// With Churn: the rows changed, dropped and added against the night
	// before.
	Changed, Dropped, Added int64
}

// Word lists. Names are paired by gender so a row reads like a person;
// Latin names are a minority, as in a Russian CRM.
var (
	ruMale     = []string{"Иван", "Алексей", "Дмитрий", "Сергей", "Андрей", "Михаил", "Пётр", "Николай", "Артём", "Юрий", "Фёдор", "Григорий"}
	ruFemale   = []string{"Анна", "Мария", "Ольга", "Екатерина", "Наталья", "Татьяна", "Елена", "Юлия", "Дарья", "Ксения", "Светлана", "Алёна"}
	ruLastM    = []string{"Иванов", "Петров", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов", "Новиков", "Морозов", "Волков", "Фёдоров"}
	ruLastF    = []string{"Иванова", "Петрова", "Смирнова", "Кузнецова", "Попова", "Соколова", "Лебедева", "Козлова", "Новикова", "Морозова", "Волкова", "Фёдорова"}
	ruTranslit = map[string]string{}
	enMale     = []string{"John", "Michael", "David", "James", "Robert", "Thomas"}
	enFemale   = []string{"Anna", "Emily", "Sarah", "Laura", "Maria", "Julia"}
	enLast     = []string{"Smith", "Johnson", "Brown", "Miller", "Davis", "O'Neil", "Lee", "Walker"}
	domains    = []string{"mail.ru", "yandex.ru", "gmail.com", "bk.ru", "inbox.ru", "rambler.ru", "example.com", "list.ru"}
	cities     = []string{"Москва", "Санкт-Петербург", "Новосибирск", "Екатеринбург", "Казань", "Нижний Новгород", "Ростов-на-Дону", "Самара", "Berlin", "Riga"}
	regions    = []string{"Московская обл.", "Свердловская обл.", "Республика Татарстан", "Ленинградская обл."}
	// mobileCodes are Russian mobile prefixes libphonenumber knows as valid.
	mobileCodes = []string{"903", "905", "906", "909", "910", "915", "916", "917", "925", "926", "929", "977", "985", "999"}
	comments    = []string{
		"Звонить после 18:00",
		"постоянный клиент",
		"VIP",
		`ООО "Ромашка", отдел закупок`,
		"просила не звонить, только e-mail",
		"Перезвонить.\nПредпочитает WhatsApp",
		"адрес: ул. Ленина, д. 5, кв. 12",
		"no calls, e-mail only",
		"Скидка 10%; карта лояльности №4471",
		"Жалоба от 12.03.2021:\r\nдоставка задержана",
	}
)

func init() {
	// E-mail local parts from a fixed transliteration of every Cyrillic name.
	tr := map[rune]string{'а': "a", 'б': "b", 'в': "v", 'г': "g", 'д': "d", 'е': "e", 'ё': "e", 'ж': "zh", 'з': "z",
		'и': "i", 'й': "y", 'к': "k", 'л': "l", 'м': "m", 'н': "n", 'о': "o", 'п': "p", 'р': "r", 'с': "s", 'т': "t",
		'у': "u", 'ф': "f", 'х': "kh", 'ц': "ts", 'ч': "ch", 'ш': "sh", 'щ': "sch", 'ы': "y", 'ь': "", 'ъ': "",
		'э': "e", 'ю': "yu", 'я': "ya"}
	lower := map[rune]rune{}
	for r := 'А'; r <= 'Я'; r++ {
		lower[r] = r + ('а' - 'А')
	}
	lower['Ё'] = 'ё'
	for _, list := range [][]string{ruMale, ruFemale, ruLastM, ruLastF} {
		for _, name := range list {
			var out []byte
			for _, r := range name {
				if l, ok := lower[r]; ok {
					r = l
				}
				out = append(out, tr[r]...)
			}
			ruTranslit[name] = string(out)
		}
	}
}

// dupRing is how many recent e-mails a duplicate may repeat.
const dupRing = 1024

// gen makes rows; one per Generate call, never shared. Its buffers are
// reused row after row, so generating allocates nothing per row.
type gen struct {
	rnd    *rand.Rand
	recent [dupRing][]byte
	nrec   int
	row    [10][]byte // the cells of the current row, reused
	stats  GenStats
	unique bool // no repeated e-mails (GenOptions.Unique)
}

// Generate writes opt.Rows rows of a realistic CRM export to w: Cyrillic and
// Latin names, e-mails (about 2% repeat a recent row's, in another case),
// phones in the national and international formats people type, dates like
// 22.02.1990, and cells that need quoting (commas, quotes, line breaks).
// The output depends only on opt. Memory stays flat whatever opt.Rows: each
// row is built in reused buffers and written through a 1 MiB buffer.
func Generate(w io.Writer, opt GenOptions) (GenStats, error) {
	if opt.Format != CSV && opt.Format != JSONL {
		return GenStats{}, fmt.Errorf("generate: format %q: want csv or jsonl", opt.Format)
	}
	if opt.Rows < 0 || opt.MinBytes < 0 {
		return GenStats{}, fmt.Errorf("generate: rows %d, min bytes %d: want ≥ 0", opt.Rows, opt.MinBytes)
	}
	if err := opt.Churn.check(opt); err != nil {
		return GenStats{}, err
	}
	g := &gen{rnd: rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15)), unique: opt.Unique}
	var ch *churner
	if !opt.Churn.zero() {
		ch = newChurner(opt)
	}
	cw := &countWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<20)
	var line []byte
	if opt.Format == CSV {
		for i, c := range Columns {
			if i > 0 {
				line = append(line, ',')
			}
			line = append(line, c...)
		}
		line = append(line, '\r', '\n')
		if _, err := bw.Write(line); err != nil {
			return g.stats, fmt.Errorf("generate: %w", err)
		}
	}
	written := int64(len(line))
	more := func(i int64) bool {
		if opt.MinBytes > 0 {
			return written < opt.MinBytes
		}
		return i < opt.Rows
	}
	for i := int64(0); more(i); i++ {
		before := g.stats
		g.next(i)
		if ch != nil && !ch.apply(g, before) {
			continue
		}
		line = line[:0]
		if opt.Format == CSV {
			line = g.appendCSV(line)
		} else {
			line = g.appendJSONL(line)
		}
		if _, err := bw.Write(line); err != nil {
			return g.stats, fmt.Errorf("generate: %w", err)
		}
		written += int64(len(line))
		g.stats.Rows++
	}
	if ch != nil {
		var err error
		if written, err = ch.add(g, bw, opt, written); err != nil {
			return g.stats, err
		}
	}
	if err := bw.Flush(); err != nil {
		return g.stats, fmt.Errorf("generate: %w", err)
	}
	g.stats.Bytes = cw.n
	return g.stats, nil
}

func (g *gen) pick(list []string) string { return list[g.rnd.IntN(len(list))] }

// next fills g.row with row i (0-based).
func (g *gen) next(i int64) {
	r := g.rnd
	for k := range g.row {
		g.row[k] = g.row[k][:0]
	}
	g.row[0] = strconv.AppendInt(g.row[0], 1000000+i, 10)

	female := r.IntN(2) == 0
	latin := r.IntN(10) < 2
	var first, last, firstLat, lastLat string
	switch {
	case latin && female:
		first, last = g.pick(enFemale), g.pick(enLast)
		firstLat, lastLat = first, last
	case latin:
		first, last = g.pick(enMale), g.pick(enLast)
		firstLat, lastLat = first, last
	case female:
		first, last = g.pick(ruFemale), g.pick(ruLastF)
		firstLat, lastLat = ruTranslit[first], ruTranslit[last]
	default:
		first, last = g.pick(ruMale), g.pick(ruLastM)
		firstLat, lastLat = ruTranslit[first], ruTranslit[last]
	}
	g.row[1] = append(g.row[1], first...)
	g.row[2] = append(g.row[2], last...)
	if r.IntN(200) == 0 {
		g.row[2] = append(g.row[2], ", мл."...) // a comma inside a name: the cell must be quoted
	}

	// E-mail: mostly unique (the row number makes it so), sometimes a repeat
	// of a recent one in other letter case, as duplicates in CRMs are.
	if !g.unique && g.nrec > 0 && r.IntN(50) == 0 {
		prev := g.recent[r.IntN(min(g.nrec, dupRing))]
		g.row[3] = appendUpperFirst(g.row[3], prev)
		g.stats.Duplicates++
	} else {
		e := g.row[3]
		e = appendLowerASCII(e, firstLat)
		e = append(e, "._-"[r.IntN(3)])
		e = appendLowerASCII(e, lastLat)
		e = strconv.AppendInt(e, i, 10)
		e = append(e, '@')
		e = append(e, g.pick(domains)...)
		g.row[3] = e
		slot := &g.recent[g.nrec%dupRing]
		if *slot == nil {
			*slot = make([]byte, 0, 128) // longer than any e-mail made here: never regrown
		}
		*slot = append((*slot)[:0], e...)
		g.nrec++
	}

	g.row[4] = g.appendPhone(g.row[4])
	if r.IntN(200) == 0 {
		// 0.5% of phones are typos validate must catch: four digits short,
		// fewer than any valid number here has.
		g.row[4] = dropDigits(g.row[4], 4)
		g.stats.BadPhones++
	}

	if r.IntN(20) != 0 { // 5% have no birthday
		d, m, y := 1+r.IntN(28), 1+r.IntN(12), 1950+r.IntN(56)
		g.row[5] = append2(g.row[5], d)
		g.row[5] = append(g.row[5], '.')
		g.row[5] = append2(g.row[5], m)
		g.row[5] = append(g.row[5], '.')
		g.row[5] = strconv.AppendInt(g.row[5], int64(y), 10)
	}
	switch {
	case latin && female:
		g.row[6] = append(g.row[6], 'F')
	case latin:
		g.row[6] = append(g.row[6], 'M')
	case female:
		g.row[6] = append(g.row[6], "Ж"...)
	default:
		g.row[6] = append(g.row[6], "М"...)
	}
	g.row[7] = append(g.row[7], g.pick(cities)...)
	if r.IntN(10) == 0 {
		g.row[7] = append(g.row[7], ", "...)
		g.row[7] = append(g.row[7], g.pick(regions)...)
	}
	if latin {
		g.row[8] = append(g.row[8], [...]string{"yes", "no"}[r.IntN(2)]...)
	} else {
		g.row[8] = append(g.row[8], [...]string{"да", "нет"}[r.IntN(2)]...)
	}
	if r.IntN(3) == 0 {
		c := g.pick(comments)
		g.row[9] = append(g.row[9], c...)
		for k := 0; k < len(c); k++ {
			if c[k] == '\n' {
				g.stats.Multiline++
				break
			}
		}
	}
}

// appendPhone appends a valid mobile number in one of the ways people write
// them: Russian numbers (national 8..., +7, bare ten digits, with brackets,
// dashes and spaces) and now and then a foreign one in international form.
func (g *gen) appendPhone(b []byte) []byte {
	r := g.rnd
	code := g.pick(mobileCodes)
	n := r.IntN(10_000_000)
	d := strconv.AppendInt(make([]byte, 0, 8), int64(10_000_000+n), 10)[1:] // seven digits, leading zeros kept
	switch r.IntN(10) {
	case 0, 1: // 8 (916) 123-45-67
		b = append(b, "8 ("...)
		b = append(b, code...)
		b = append(b, ") "...)
		b = append(append(append(append(append(b, d[:3]...), '-'), d[3:5]...), '-'), d[5:]...)
	case 2, 3: // +7 916 1234567
		b = append(b, "+7 "...)
		b = append(b, code...)
		b = append(b, ' ')
		b = append(b, d...)
	case 4: // 89161234567
		b = append(b, '8')
		b = append(b, code...)
		b = append(b, d...)
	case 5: // +7(916)123-45-67
		b = append(b, "+7("...)
		b = append(b, code...)
		b = append(b, ')')
		b = append(append(append(append(append(b, d[:3]...), '-'), d[3:5]...), '-'), d[5:]...)
	case 6: // 9161234567
		b = append(b, code...)
		b = append(b, d...)
	case 7: // +7-916-123-45-67
		b = append(b, "+7-"...)
		b = append(b, code...)
		b = append(b, '-')
		b = append(append(append(append(append(b, d[:3]...), '-'), d[3:5]...), '-'), d[5:]...)
	case 8: // 7 916 123 45 67
		b = append(b, "7 "...)
		b = append(b, code...)
		b = append(b, ' ')
		b = append(append(append(append(append(b, d[:3]...), ' '), d[3:5]...), ' '), d[5:]...)
	default: // foreign mobiles: Germany, Kazakhstan, the UK
		switch r.IntN(3) {
		case 0:
			b = append(b, "+49 151 "...)
			b = append(b, d...)
			b = append(b, d[6])
		case 1:
			b = append(b, "+7 701 "...)
			b = append(b, d...)
		default:
			b = append(b, "+44 7400 "...)
			b = append(b, d[1:]...)
		}
	}
	return b
}

// appendCSV appends the row as a CRLF-ended CSV line, quoting the cells
// that hold a comma, a quote or a line break.
func (g *gen) appendCSV(b []byte) []byte {
	for k := range g.row {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendCSVField(b, g.row[k])
	}
	return append(b, '\r', '\n')
}

func appendCSVField(b, f []byte) []byte {
	quote := false
	for _, c := range f {
		if c == ',' || c == '"' || c == '\n' || c == '\r' {
			quote = true
			break
		}
	}
	if !quote {
		return append(b, f...)
	}
	b = append(b, '"')
	for _, c := range f {
		if c == '"' {
			b = append(b, '"')
		}
		b = append(b, c)
	}
	return append(b, '"')
}

// appendJSONL appends the row as one JSON object: crm_id a number, the rest
// strings, an empty cell left out as a JSONL feed would.
func (g *gen) appendJSONL(b []byte) []byte {
	b = append(b, '{')
	for k, name := range Columns {
		if len(g.row[k]) == 0 {
			continue
		}
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
		if k == 0 {
			b = append(b, g.row[k]...)
		} else {
			b = appendJSONString(b, g.row[k])
		}
	}
	return append(b, '}', '\n')
}

// appendJSONString appends s, valid UTF-8 as every generated cell is, as
// a JSON string: quote, backslash and control characters escaped.
func appendJSONString(b, s []byte) []byte {
	b = append(b, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigit[c>>4], hexDigit[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

const hexDigit = "0123456789abcdef"

// dropDigits cuts b after its n-th digit from the end, and the separators
// before that digit.
func dropDigits(b []byte, n int) []byte {
	for len(b) > 0 && n > 0 {
		if c := b[len(b)-1]; c >= '0' && c <= '9' {
			n--
		}
		b = b[:len(b)-1]
	}
	for len(b) > 0 && (b[len(b)-1] < '0' || b[len(b)-1] > '9') {
		b = b[:len(b)-1]
	}
	return b
}

func append2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

func appendLowerASCII(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == '\'':
			continue
		}
		b = append(b, c)
	}
	return b
}

func appendUpperFirst(b []byte, s []byte) []byte {
	if len(s) == 0 {
		return b
	}
	c := s[0]
	if 'a' <= c && c <= 'z' {
		c -= 'a' - 'A'
	}
	return append(append(b, c), s[1:]...)
}

// countWriter counts the bytes that reached w.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// FormatOf is the format a file name implies: JSONL for .jsonl and .ndjson,
// CSV otherwise.
func FormatOf(name string) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jsonl", ".ndjson":
		return JSONL
	}
	return CSV
}

// ParseSize reads a byte size: a whole number with an optional unit, B, KB,
// MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') {
		i--
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult := map[string]int64{"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30}[unit]
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || mult == 0 || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q: want a number with an optional unit (KB, MB, GB, KiB, MiB, GiB)", s)
	}
	return n * mult, nil
}

func (c Churn) check(opt GenOptions) error {
	if c.zero() {
		return nil
	}
	for _, f := range []float64{c.Changed, c.Dropped, c.Added} {
		if !(f >= 0 && f <= 1) {
			return fmt.Errorf("generate: churn %+v: want fractions between 0 and 1", c)
		}
	}
	if c.Changed+c.Dropped > 1 {
		return fmt.Errorf("generate: churn %+v: changed + dropped is more than every row", c)
	}
	if opt.MinBytes > 0 {
		return fmt.Errorf("generate: churn needs a row count, not a size (min bytes %d)", opt.MinBytes)
	}
	return nil
}

// churner makes the next night's export out of the rows of the night
// before. Its draws come from a generator of its own, so the rows it keeps
// are the same bytes the night before had.
type churner struct {
	c   Churn
	rnd *rand.Rand
}

func newChurner(opt GenOptions) *churner {
	return &churner{c: opt.Churn, rnd: rand.New(rand.NewPCG(opt.Seed^0x6a09e667f3bcc909, opt.Seed+0xbb67ae8584caa73b))}
}

// apply decides the fate of the row g just made (before is g's stats from
// before it): false drops it, and its counts with it; a changed row gets
// another city.
func (ch *churner) apply(g *gen, before GenStats) bool {
	u := ch.rnd.Float64() // drawn for every row, so that each row's fate depends only on its number
	if g.stats.BadPhones > before.BadPhones {
		return true
	}
	switch {
	case u < ch.c.Dropped:
		g.stats = before
		g.stats.Dropped++
		return false
	case u < ch.c.Dropped+ch.c.Changed:
		old := g.row[7]
		for {
			if city := cities[ch.rnd.IntN(len(cities))]; string(old) != city {
				g.row[7] = append(old[:0], city...)
				break
			}
		}
		g.stats.Changed++
	}
	return true
}

// add writes the new rows after the last of the night before: numbered on
// from opt.Rows (so their crm_ids and e-mails are new), made by a
// generator of their own, phones always good.
func (ch *churner) add(g *gen, w io.Writer, opt GenOptions, written int64) (int64, error) {
	ng := &gen{rnd: rand.New(rand.NewPCG(opt.Seed^0x3c6ef372fe94f82b, opt.Seed+0xa54ff53a5f1d36f1)), unique: opt.Unique}
	n := int64(math.Round(ch.c.Added * float64(opt.Rows)))
	var line []byte
	for k := range n {
		bad := ng.stats.BadPhones
		ng.next(opt.Rows + k)
		if ng.stats.BadPhones > bad {
			ng.row[4] = ng.appendPhone(ng.row[4][:0])
			ng.stats.BadPhones = bad
		}
		line = line[:0]
		if opt.Format == CSV {
			line = ng.appendCSV(line)
		} else {
			line = ng.appendJSONL(line)
		}
		if _, err := w.Write(line); err != nil {
			return written, fmt.Errorf("generate: %w", err)
		}
		written += int64(len(line))
		g.stats.Rows++
		g.stats.Added++
	}
	g.stats.Duplicates += ng.stats.Duplicates
	g.stats.Multiline += ng.stats.Multiline
	return written, nil
}
