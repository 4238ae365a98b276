package importer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"importer/internal/testbin"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"importer/internal/fakeapi"
)

// The hostile input corpus: inputs a broken export, a wrong file or
// an attacker can hand the importer. Every one must end with exit 1 and one
// clear line naming what to fix, or with exit 2 and a per-row error naming the
// line or column; never a panic, a hang or memory that grows with the input.
// Small inputs are committed under testdata/hostile (see its README.md); the
// big ones are generated in t.TempDir() so the repository stays small.

const hostileDir = "testdata/hostile"

// hostileDeadline bounds every run: far above what the slowest case needs
// under -race on a loaded machine, so only a hang reaches it.
const hostileDeadline = 2 * time.Minute

// hostileCase is one hostile input and what the importer must make of it.
type hostileCase struct {
	name   string
	input  string                                // a file under testdata/hostile, or
	gen    func(t testing.TB, dir string) string // an input generated into dir
	config string                                // a file under testdata/hostile
	mode   Mode                                  // "" = validate
	// neutralise sets Options.Neutralise (formulas in the rejects file).
	neutralise bool

	code int // the exit code

	// Exit 1: substrings of the error, which must also name the input file
	// and fit on one line.
	msg []string

	// Exit 0 and 2: every row's final status in row order (nil: check
	// decides), and substrings each listed row's error must hold.
	status []string
	rowErr map[int64][]string

	check func(t *testing.T, h *hostileRun) // further assertions
}

// hostileRun is what one case left behind.
type hostileRun struct {
	run
	opts    Options
	journal []map[string]string // in file order for validate, completion order for run
	fake    *fakeapi.Server     // nil for validate
}

// TestHostileInputs runs every hostile input through importer.Run (validate,
// and run against the fake API where sending matters) and checks its exit
// code, its one-line fatal error or its per-row errors, and that the journal,
// summary, rejects file and payload dump account for every row.
func TestHostileInputs(t *testing.T) {
	tests := []hostileCase{
		// Nothing to read.
		{name: "EmptyFile", input: "empty.csv", config: "csv.yaml", code: ExitFatal,
			msg: []string{"bad header", "the file is empty"}},
		{name: "OnlyUTF8BOM", input: "bom-only.csv", config: "csv.yaml", code: ExitFatal,
			msg: []string{"the file is empty"}},
		{name: "OnlyUTF16BOM", input: "bom16-only.csv", config: "csv.yaml", code: ExitFatal,
			msg: []string{"the file is empty"}},
		{name: "OnlyCarriageReturns", input: "cr-only.csv", config: "csv.yaml", code: ExitFatal,
			msg: []string{"the file is empty"}},
		{name: "OnlyWhitespace", input: "whitespace-only.csv", config: "csv.yaml", code: ExitFatal,
			msg: []string{"bad header", "the file is empty"}},
		{name: "HeaderOnly", input: "header-only.csv", config: "csv.yaml", code: ExitOK, status: []string{}},
		{name: "HeaderOnlyCRLF", input: "header-only-crlf.csv", config: "csv.yaml", code: ExitOK, status: []string{}},
		{name: "Directory", gen: func(t testing.TB, dir string) string { return dir }, config: "csv.yaml", code: ExitFatal,
			msg: []string{"is a directory"}},

		// Not text at all.
		{name: "BinaryGarbage", input: "garbage.bin", config: "csv.yaml", code: ExitFatal,
			msg: []string{"the file is not UTF-8", "input.encoding"}},
		{name: "PNGImage", input: "image.png", config: "csv.yaml", code: ExitFatal,
			msg: []string{"the file is not UTF-8 (byte 0x89 on line 1)", "input.encoding"}},
		{name: "AllNULs", input: "zeros.csv", config: "csv.yaml", code: ExitFatal,
			msg: []string{"bad header", "line 1, column 1: NUL byte"}},

		// Broken headers.
		{name: "DuplicateHeader", input: "dup-header.csv", config: "csv.yaml", code: ExitFatal,
			msg: []string{`columns 1 and 3 are both named "Email"`}},
		// A nameless column is ignored while it holds nothing.
		{name: "EmptyColumnName", input: "empty-name.csv", config: "csv.yaml", code: ExitOK,
			status: []string{"valid"}},
		{name: "NULInHeader", input: "header-nul.csv", config: "csv.yaml", code: ExitFatal,
			msg: []string{"bad header", "line 1, column 2: NUL byte"}},
		{name: "UnclosedQuoteInHeader", input: "header-unclosed-quote.csv", config: "csv.yaml", code: ExitFatal,
			msg: []string{"bad header", "line 1, column 2: quoted field is never closed"}},
		{name: "HeaderOf100000Columns", gen: genWideHeader(100_000), config: "csv.yaml", code: ExitFatal,
			msg: []string{"more than 10000 columns on line 1", "delimiter"}},
		{name: "HeaderLine4MBNoNewline", gen: genBytes("line4m-header.csv", "", 'z', 4<<20, ""), config: "csv.yaml", code: ExitFatal,
			msg: []string{"bad header", "line 1, column 1: field exceeds the size limit"}},

		// Encodings.
		{name: "InvalidUTF8InHead", input: "invalid-utf8-head.csv", config: "csv.yaml", code: ExitFatal,
			msg: []string{"not UTF-8 (byte 0xff on line 2)", "set input.encoding"}},
		{name: "InvalidUTF8PastHead", gen: genPadded("late-utf8.csv", "Email,Name\n", "p%d@x.com,%s\n", "b@x.com,B\xff\nc@x.com,C\n"),
			config: "csv.yaml", code: ExitRowErrors,
			status: append(repeat("valid", 700), "invalid", "valid"),
			rowErr: map[int64][]string{701: {`line 702, column 2 "Name": invalid UTF-8`, "input.encoding"}}},
		{name: "UTF16BOMOddByteCount", input: "bom16-odd.csv", config: "csv.yaml", code: ExitRowErrors,
			status: []string{"valid", "valid", "invalid"},
			rowErr: map[int64][]string{3: {`line 4, column 2 "Name": wrong number of fields`}}},

		// Bytes a CSV parser chokes on.
		{name: "NULInField", input: "nul.csv", config: "csv.yaml", code: ExitRowErrors,
			status: []string{"invalid", "valid"},
			rowErr: map[int64][]string{1: {`line 2, column 2 "Name": NUL byte`}}},
		// A bare quote is a character of the field (input.strict_quotes: false).
		{name: "BareQuote", input: "bare-quote.csv", config: "csv.yaml", code: ExitOK,
			status: []string{"valid", "valid"}},
		{name: "UnclosedQuotes", input: "unclosed-quote.csv", config: "csv.yaml", code: ExitRowErrors,
			status: []string{"invalid", "valid", "invalid", "valid", "invalid"},
			rowErr: map[int64][]string{
				1: {`line 2, column 2 "Name": quoted field is never closed`, "line 4"},
				3: {`line 4, column 2 "Name"`, "text after the closing quote"},
				5: {`line 6, column 2 "Name": quoted field is never closed: the file ends inside it`},
			},
			check: wantKeys(map[int64]string{2: "b@x.com", 4: "d@x.com"})},
		{name: "MixedLineEnds", input: "mixed-eol.csv", config: "csv.yaml", code: ExitOK,
			status: repeat("valid", 5), check: checkMixedLineEnds},
		{name: "MixedLineEndsRun", input: "mixed-eol.csv", config: "csv.yaml", mode: ModeRun, code: ExitOK,
			status: repeat("ok", 5), check: checkMixedLineEnds},

		// Sizes.
		{name: "Field8MB", gen: genBytes("field8m.csv", "Email,Name\na@x.com,", 'x', 8<<20, "\nb@x.com,B\n"),
			config: "csv.yaml", code: ExitRowErrors, status: []string{"invalid", "valid"},
			rowErr: map[int64][]string{1: {`line 2, column 2 "Name": field exceeds the size limit`}}},
		{name: "QuotedField8MB", gen: genBytes("qfield8m.csv", "Email,Name\na@x.com,\"", 'x', 8<<20, "\"\nb@x.com,B\n"),
			config: "csv.yaml", code: ExitRowErrors, status: []string{"invalid", "valid"},
			rowErr: map[int64][]string{1: {`line 2, column 2 "Name": field exceeds the size limit`}}},
		{name: "QuotedField2MBOfLines", gen: genQuotedLines(2 << 20), config: "csv.yaml", code: ExitRowErrors,
			check: checkQuotedLines},
		{name: "Line4MBNoNewline", gen: genBytes("line4m.csv", "Email,Name\na@x.com,A\n", 'z', 4<<20, ""),
			config: "csv.yaml", code: ExitRowErrors, status: []string{"valid", "invalid"},
			rowErr: map[int64][]string{2: {`line 3, column 1 "Email": field exceeds the size limit`}}},
		{name: "Row4MBOfQuotes", gen: genBytes("quotes4m.csv", "Email,Name\na@x.com,", '"', 4<<20, "\nb@x.com,B\n"),
			config: "csv.yaml", code: ExitRowErrors, status: []string{"invalid", "valid"},
			rowErr: map[int64][]string{1: {`line 2, column 2 "Name"`}}},
		{name: "RowOf100000Fields", gen: genBytes("row100k.csv", "Email,Name\na@x.com,", ',', 99_998, "\nb@x.com,B\n"),
			config: "csv.yaml", code: ExitRowErrors, status: []string{"invalid", "valid"},
			rowErr: map[int64][]string{1: {"line 2, column 3: wrong number of fields: want 2, got 100000"}}},
		{name: "Columns10000MappingTwo", gen: genWideFile(10_000), config: "csv.yaml", code: ExitOK,
			status: []string{"valid", "valid"}, check: wantKeys(map[int64]string{1: "a@x.com", 2: "b@x.com"})},
		{name: "GzipOf16MBLine", gen: genGzipLine(16 << 20), config: "csv.yaml", code: ExitRowErrors,
			status: []string{"valid", "invalid"},
			rowErr: map[int64][]string{2: {`line 3, column 1 "Email": field exceeds the size limit`}}},

		// Broken gzip.
		{name: "GzipBadChecksum", input: "bad-crc.csv.gz", config: "csv.yaml", code: ExitFatal,
			msg: []string{"gzip: invalid checksum"}},
		{name: "GzipBadChecksumAfterRows", gen: genGzipBadCRC(3000), config: "csv.yaml", code: ExitFatal,
			msg: []string{"gzip: invalid checksum"}},
		{name: "GzipTruncatedSmall", gen: genGzipCut(20, 0.5, false), config: "csv.yaml", code: ExitFatal,
			msg: []string{"gzip: the compressed file is truncated"}},
		{name: "GzipTruncatedAfterRows", gen: genGzipCut(30000, 0.7, false), config: "csv.yaml", code: ExitFatal,
			msg: []string{"gzip: the compressed file is truncated"}},
		{name: "GzipCorrupt", gen: genGzipCut(20, 0.5, true), config: "csv.yaml", code: ExitFatal,
			msg: []string{"gzip: the compressed data is corrupt"}},

		// JSON Lines.
		{name: "JSONLNotObjects", input: "not-objects.jsonl", config: "jsonl.yaml", code: ExitRowErrors,
			status: []string{"valid", "invalid", "invalid", "invalid", "invalid", "invalid", "valid", "invalid", "invalid", "invalid"},
			rowErr: map[int64][]string{
				2:  {"line 2: line is not a JSON object", "an array"},
				3:  {"line 3:", "a number"},
				4:  {"line 4:", "a string"},
				5:  {"line 5:", "null"},
				6:  {"line 6:", "a boolean"},
				8:  {"line 8:", "the line ends before the object is closed"},
				9:  {"line 9:", "text after the object"},
				10: {`column "email"`},
			},
			check: checkJSONLRejects},
		{name: "JSONLDeeplyNested", gen: genDeepJSONL, config: "jsonl.yaml", code: ExitRowErrors,
			status: []string{"valid", "invalid", "invalid", "invalid", "valid", "valid", "invalid"},
			rowErr: map[int64][]string{
				2: {"line 2:", "exceeded max depth"},
				3: {"line 3:", "exceeded max depth"},
				4: {"line 4:", "exceeded max depth"},
				7: {"line 7:"},
			},
			check: wantKeys(map[int64]string{1: "a@x.com", 5: "d@x.com", 6: "e@x.com"})},
		{name: "JSONLArrayFile", input: "array.jsonl", config: "jsonl.yaml", code: ExitFatal,
			msg: []string{"JSON array, not JSON Lines"}},
		{name: "JSONLNUL", input: "nul.jsonl", config: "jsonl.yaml", code: ExitRowErrors,
			status: []string{"valid", "invalid", "valid"},
			rowErr: map[int64][]string{2: {"line 2: NUL byte"}}},
		{name: "JSONLInvalidUTF8PastHead", gen: genPadded("late-utf8.jsonl", "", `{"email":"p%d@x.com","name":"%s"}`+"\n", "{\"email\":\"b@x.com\",\"name\":\"B\xff\"}\n{\"email\":\"c@x.com\"}\r\n"),
			config: "jsonl.yaml", code: ExitRowErrors,
			status: append(repeat("valid", 700), "invalid", "valid"),
			rowErr: map[int64][]string{701: {"line 701: invalid UTF-8", "input.encoding"}}},
		{name: "JSONLLine4MB", gen: genBytes("line4m.jsonl", `{"email":"a@x.com"}`+"\n"+`{"email":"b@x.com","name":"`, 'z', 4<<20, `"}`),
			config: "jsonl.yaml", code: ExitRowErrors, status: []string{"valid", "invalid"},
			rowErr: map[int64][]string{2: {"line 2: field exceeds the size limit"}}},

		// Spreadsheet formulas are data: sent and dumped as they are, and
		// neutralised in the rejects file only when asked.
		{name: "FormulaCells", input: "formula.csv", config: "formula.yaml", code: ExitRowErrors,
			status: []string{"valid", "valid", "invalid", "invalid"},
			rowErr: map[int64][]string{3: {`column "Score"`}, 4: {`column "Score"`}},
			check:  checkFormulas(false)},
		{name: "FormulaCellsNeutralised", input: "formula.csv", config: "formula.yaml", neutralise: true, code: ExitRowErrors,
			status: []string{"valid", "valid", "invalid", "invalid"},
			check:  checkFormulas(true)},
		{name: "FormulaCellsRun", input: "formula.csv", config: "formula.yaml", mode: ModeRun, neutralise: true, code: ExitRowErrors,
			status: []string{"ok", "ok", "invalid", "invalid"},
			check:  checkFormulas(true)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runHostile(t, tc) })
	}
}

// runHostile runs one case through the real pipeline and checks what every
// case must satisfy, then the case's own expectations.
func runHostile(t *testing.T, tc hostileCase) {
	dir := t.TempDir()
	in := filepath.Join(hostileDir, tc.input)
	if tc.gen != nil {
		in = tc.gen(t, dir)
	}
	mode := tc.mode
	if mode == "" {
		mode = ModeValidate
	}
	out := t.TempDir()
	o := baseOptions(mode, filepath.Join(hostileDir, tc.config), in, out)
	o.Payloads = filepath.Join(out, "payloads.jsonl")
	o.Neutralise = tc.neutralise
	if strings.Contains(tc.config, "jsonl") {
		o.Rejects = filepath.Join(out, "rejects.jsonl")
	}
	h := &hostileRun{opts: o}
	if mode == ModeRun {
		var url string
		h.fake, url = startFake(t, fakeapi.Options{})
		o.APIURL = url
		rate := 0.0
		o.Rate = &rate
		h.opts = o
	}
	h.run = runBounded(t, o)

	if h.code != tc.code {
		t.Fatalf("exit code = %d, want %d; err: %v\n%s", h.code, tc.code, h.err, clipText(h.stderr))
	}
	if strings.Contains(h.stderr+fmt.Sprint(h.err), testToken) {
		t.Errorf("the token leaked into the output")
	}
	if tc.code == ExitFatal {
		checkFatal(t, tc, h)
	} else {
		checkRows(t, tc, h)
	}
	if tc.check != nil {
		tc.check(t, h)
	}
}

// runBounded runs the importer with a deadline and fails the test if the
// input makes it hang: when the deadline cuts the run short, and (with a stack
// dump) when Run does not even return after it.
func runBounded(t *testing.T, o Options) run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hostileDeadline)
	defer cancel()
	done := make(chan run, 1)
	go func() { done <- runImporter(t, ctx, o) }()
	select {
	case r := <-done:
		if ctx.Err() != nil {
			t.Fatalf("the run was still going after %v: the input hangs it (exit %d, err %v)", hostileDeadline, r.code, r.err)
		}
		return r
	case <-time.After(hostileDeadline + 30*time.Second):
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Fatalf("Run did not return %v after its deadline: hung\n%s", 30*time.Second, buf[:n])
	}
	return run{}
}

// checkFatal: one clear line that names the input file and what to fix.
func checkFatal(t *testing.T, tc hostileCase, h *hostileRun) {
	t.Helper()
	if h.err == nil {
		t.Fatal("exit 1 without an error")
	}
	msg := h.err.Error()
	if strings.Contains(strings.TrimRight(msg, "\n"), "\n") {
		t.Errorf("the error takes more than one line:\n%s", msg)
	}
	if !strings.Contains(msg, h.opts.Input) {
		t.Errorf("the error does not name the input %s: %s", h.opts.Input, msg)
	}
	for _, s := range tc.msg {
		if !strings.Contains(msg, s) {
			t.Errorf("the error does not say %q: %s", s, msg)
		}
	}
	if len(tc.msg) == 0 {
		t.Error("an exit-1 case must say which words the message needs")
	}
}

// checkRows: every row has one final status, each invalid row's error names
// its line or column, and the summary, rejects and payload dump agree with
// the journal.
func checkRows(t *testing.T, tc hostileCase, h *hostileRun) {
	t.Helper()
	h.journal = readJournal(t, h.opts.Results)
	last := lastStatus(h.journal)
	byRow := make(map[string]map[string]string, len(h.journal))
	for _, row := range h.journal {
		byRow[row["row"]] = row
	}
	if h.opts.Mode == ModeValidate {
		for i, row := range h.journal {
			if row["row"] != strconv.Itoa(i+1) {
				t.Fatalf("journal line %d is row %s: every row once, in file order", i+1, row["row"])
			}
		}
	}
	if len(last) != len(h.journal) {
		t.Errorf("journal has %d lines for %d rows", len(h.journal), len(last))
	}
	if tc.status == nil && tc.check == nil {
		t.Fatal("a case that finishes must list its rows' statuses or check them")
	}
	if tc.status != nil {
		got := make([]string, len(last))
		for i := range got {
			got[i] = last[strconv.Itoa(i+1)]
		}
		if !slices.Equal(got, tc.status) {
			t.Errorf("statuses by row = %s,\nwant %s", summarise(got), summarise(tc.status))
		}
	}
	var bad, good int
	for _, row := range byRow {
		switch row["status"] {
		case "valid", "ok":
			good++
			continue
		}
		bad++
		e := row["error"]
		if !strings.Contains(e, "line "+row["line"]) && !strings.Contains(e, `column "`) {
			t.Errorf("row %s (line %s): error %q names neither the line nor the column", row["row"], row["line"], e)
		}
		if strings.Contains(e, "\n") {
			t.Errorf("row %s: error spans lines: %q", row["row"], e)
		}
	}
	for n, subs := range tc.rowErr {
		row := byRow[strconv.FormatInt(n, 10)]
		if row == nil {
			t.Errorf("row %d is not in the journal", n)
			continue
		}
		for _, s := range subs {
			if !strings.Contains(row["error"], s) {
				t.Errorf("row %d: error %q does not say %q", n, row["error"], s)
			}
		}
	}
	if h.sum == nil {
		t.Fatal("no summary")
	}
	if h.sum.Rows != int64(len(last)) || h.sum.Invalid+h.sum.Failed+h.sum.Unknown != int64(bad) {
		t.Errorf("summary rows %d, bad %d; journal %d rows, %d bad",
			h.sum.Rows, h.sum.Invalid+h.sum.Failed+h.sum.Unknown, len(last), bad)
	}
	if got := countRejects(t, h.opts.Rejects); got != bad {
		t.Errorf("rejects file holds %d rows, want the %d bad ones", got, bad)
	}
	if got := len(readPayloads(t, h.opts.Payloads)); got != good {
		t.Errorf("payload dump holds %d rows, want the %d good ones", got, good)
	}
	if h.fake != nil {
		if got := len(h.fake.Profiles()); got != good {
			t.Errorf("the fake stores %d profiles, want %d", got, good)
		}
	}
}

// checkMixedLineEnds: CRLF, LF and lone CR all end rows; a quoted CRLF or CR
// stays in the value, verbatim; blank lines are skipped but still counted.
func checkMixedLineEnds(t *testing.T, h *hostileRun) {
	wantLines := map[string]string{"1": "2", "2": "3", "3": "5", "4": "7", "5": "10"}
	for _, row := range h.journal {
		if row["line"] != wantLines[row["row"]] {
			t.Errorf("row %s starts on line %s, want %s", row["row"], row["line"], wantLines[row["row"]])
		}
	}
	want := map[string]string{"a@x.com": "A", "b@x.com": "B line1\r\nB line2", "c@x.com": "C", "d@x.com": "D\rD", "e@x.com": "E"}
	got := map[string]string{}
	for _, p := range readPayloads(t, h.opts.Payloads) {
		got[p.str("email")] = p.str("_fname")
	}
	if h.fake != nil {
		stored := map[string]string{}
		for _, p := range h.fake.Profiles() {
			e, _ := p.Fields["email"].(string)
			n, _ := p.Fields["_fname"].(string)
			stored[e] = n
		}
		if !maps.Equal(stored, want) {
			t.Errorf("the fake stores %q, want %q", stored, want)
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("payload names %q, want %q", got, want)
	}
}

// checkQuotedLines: a quoted field that runs over the size limit after line
// breaks is reported as never closed where it opened; reading restarts on
// the next line (so the field's lines become rows of their own, each
// invalid) and the row after the field is still read and valid.
func checkQuotedLines(t *testing.T, h *hostileRun) {
	n := len(h.journal)
	if n < 3 {
		t.Fatalf("journal has %d rows", n)
	}
	first, lastRow := h.journal[0], h.journal[n-1]
	if first["status"] != "invalid" || !strings.Contains(first["error"], `line 2, column 2 "Name": quoted field is never closed`) {
		t.Errorf("row 1: %s %q, want invalid, never closed, at line 2", first["status"], first["error"])
	}
	if lastRow["status"] != "valid" || lastRow["key"] != "b@x.com" {
		t.Errorf("last row: %s key %q, want valid b@x.com", lastRow["status"], lastRow["key"])
	}
	for _, row := range h.journal[1 : n-1] {
		if row["status"] != "invalid" {
			t.Fatalf("row %s inside the field: %s, want invalid", row["row"], row["status"])
		}
	}
}

// checkJSONLRejects: a line that is no object comes back as {"_raw": line},
// an object keeps its members; every one carries _error.
func checkJSONLRejects(t *testing.T, h *hostileRun) {
	raw, err := os.ReadFile(h.opts.Rejects)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for line := range strings.Lines(string(raw)) {
		var obj map[string]any
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			t.Fatalf("rejects line is not a JSON object: %q: %v", line, err)
		}
		if _, ok := obj["_error"].(string); !ok {
			t.Errorf("rejects line without _error: %q", line)
		}
		if r, ok := obj["_raw"].(string); ok {
			got = append(got, r)
		}
	}
	want := []string{`["a@x.com","A"]`, "42", `"just a string"`, "null", "true", `{"email":"c@x.com",`, `{"email":"d@x.com","name":"D"} {"x":1}`}
	if !slices.Equal(got, want) {
		t.Errorf("rejects _raw = %q, want %q", got, want)
	}
}

// checkFormulas: formula cells reach the payload (and the API) as the very
// text of the file; in the rejects file they get a leading ' only when
// neutralise is set, and never in the other columns or the header.
func checkFormulas(neutralise bool) func(t *testing.T, h *hostileRun) {
	return func(t *testing.T, h *hostileRun) {
		const calc = `=cmd|' /C calc'!A0`
		wantSent := map[string][2]string{"a@x.com": {calc, "+SUM(1)"}, "b@x.com": {"-1+1", "@x"}}
		for _, p := range readPayloads(t, h.opts.Payloads) {
			w, ok := wantSent[p.str("email")]
			if !ok {
				t.Errorf("payload for %q", p.str("email"))
				continue
			}
			if p.str("_fname") != w[0] || p.str("note") != w[1] {
				t.Errorf("payload %s: _fname %q note %q, want %q %q", p.str("email"), p.str("_fname"), p.str("note"), w[0], w[1])
			}
		}
		if h.fake != nil {
			for _, pr := range h.fake.Profiles() {
				e, _ := pr.Fields["email"].(string)
				if w := wantSent[e]; pr.Fields["_fname"] != w[0] || pr.Fields["note"] != w[1] {
					t.Errorf("stored %s: _fname %v note %v, want %q %q", e, pr.Fields["_fname"], pr.Fields["note"], w[0], w[1])
				}
			}
		}
		f, err := os.Open(h.opts.Rejects)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows := readCSVMaps(t, f)
		q := ""
		if neutralise {
			q = "'"
		}
		want := []map[string]string{
			{"Email": "c@x.com", "Name": q + calc, "Note": q + "+SUM(1)", "Score": "bad"},
			{"Email": "d@x.com", "Name": q + "-1+1", "Note": q + "@x", "Score": "worse"},
		}
		if len(rows) != len(want) {
			t.Fatalf("rejects file holds %d rows, want %d", len(rows), len(want))
		}
		for i, w := range want {
			for col, v := range w {
				if rows[i][col] != v {
					t.Errorf("rejects row %d %s = %q, want %q", i+1, col, rows[i][col], v)
				}
			}
			if !strings.Contains(rows[i]["_error"], `column "Score"`) {
				t.Errorf("rejects row %d _error = %q", i+1, rows[i]["_error"])
			}
		}
	}
}

// wantKeys checks the match key the journal records for some rows: the
// rows around a broken one are read intact.
func wantKeys(keys map[int64]string) func(t *testing.T, h *hostileRun) {
	return func(t *testing.T, h *hostileRun) {
		for _, row := range h.journal {
			n, _ := strconv.ParseInt(row["row"], 10, 64)
			if k, ok := keys[n]; ok && row["key"] != k {
				t.Errorf("row %d: key %q, want %q", n, row["key"], k)
			}
		}
	}
}

// TestHostileMemory runs the built binary over inputs far bigger than the
// reader may hold (a 64 MB field is as big as the memory target in
// docs/ARCHITECTURE.md) and bounds the child's peak Go heap and RSS: a reader that kept a whole
// field, line or row in memory goes over both (checked once by raising the
// reader's field limit to 1 GiB: heap 130-306 MB, RSS 217-393 MB). The
// binary, not the test process, because -race multiplies the test's own
// memory and other tests share its heap.
func TestHostileMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a few hundred MB of inputs; not in -short")
	}
	const (
		rssLimit = 64 << 20 // the memory target: peak RSS <= 64 MB whatever the file
		// The live heap (what a collection keeps), under what every input
		// here would need held by a reader keeping a whole field, line or
		// row; bounded reading peaks at about 12 MB (the field of lines,
		// which keeps its bytes to restart after the quote). The heap
		// itself grows past it with garbage, up to the soft memory limit,
		// as the importer's GOGC lets it.
		heapLimit = 32 << 20
	)
	bin := testbin.MustBuild(t, "importer")
	tests := []struct {
		name   string
		gen    func(t testing.TB, dir string) string
		config string
		code   int
		stderr string
	}{
		{name: "Field64MB", gen: genBytes("field.csv", "Email,Name\na@x.com,", 'x', 64<<20, "\nb@x.com,B\n"), config: "csv.yaml",
			code: ExitRowErrors, stderr: "field exceeds the size limit"},
		{name: "QuotedField64MB", gen: genBytes("qfield.csv", "Email,Name\na@x.com,\"", 'x', 64<<20, "\"\nb@x.com,B\n"), config: "csv.yaml",
			code: ExitRowErrors, stderr: "field exceeds the size limit"},
		{name: "QuotedField16MBOfLines", gen: genQuotedLines(16 << 20), config: "csv.yaml",
			code: ExitRowErrors, stderr: "quoted field is never closed"},
		{name: "Line64MBNoNewline", gen: genBytes("line.csv", "Email,Name\na@x.com,A\n", 'z', 64<<20, ""), config: "csv.yaml",
			code: ExitRowErrors, stderr: "field exceeds the size limit"},
		{name: "JSONLLine64MB", gen: genBytes("line.jsonl", `{"email":"a@x.com"}`+"\n"+`{"email":"b@x.com","name":"`, 'z', 64<<20, `"}`), config: "jsonl.yaml",
			code: ExitRowErrors, stderr: "field exceeds the size limit"},
		{name: "RowOf8MFields", gen: genBytes("row.csv", "Email,Name\na@x.com,", ',', 8<<20, "\nb@x.com,B\n"), config: "csv.yaml",
			code: ExitRowErrors, stderr: "wrong number of fields"},
		{name: "HeaderOf1MColumns", gen: genWideHeader(1_000_000), config: "csv.yaml",
			code: ExitFatal, stderr: "more than 10000 columns"},
		{name: "GzipOf256MBLine", gen: genGzipLine(256 << 20), config: "csv.yaml",
			code: ExitRowErrors, stderr: "field exceeds the size limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := tc.gen(t, dir)
			out := t.TempDir()
			code, stderr, mem := runBinary(t, bin, "validate", "-c", filepath.Join(hostileDir, tc.config),
				"--progress", "none", "--results", filepath.Join(out, "results.csv"),
				"--rejects", filepath.Join(out, "rejects"), in)
			t.Logf("peak Go heap %d MB (live %d MB), peak RSS %.1f MB (sampled)", mem.heap>>20, mem.live>>20, float64(mem.hwm)/(1<<20))
			if mem.live > heapLimit {
				t.Errorf("the live Go heap reached %d MB, want at most %d MB: memory grows with the input", mem.live>>20, heapLimit>>20)
			}
			if mem.hwm > rssLimit {
				t.Errorf("peak RSS %d MB, want at most %d MB: memory grows with the input", mem.hwm>>20, rssLimit>>20)
			}
			if code != tc.code {
				t.Fatalf("exit code = %d, want %d\n%s", code, tc.code, clipText(stderr))
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr does not say %q:\n%s", tc.stderr, clipText(stderr))
			}
			if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
				t.Errorf("the binary panicked:\n%s", clipText(stderr))
			}
			if code == ExitFatal {
				last := stderr[strings.LastIndex(strings.TrimRight(stderr, "\n"), "\n")+1:]
				if !strings.HasPrefix(last, "importer validate: ") || !strings.Contains(last, in) {
					t.Errorf("the fatal error is not one line naming the input: %q", last)
				}
			}
		})
	}
}

// memUse is what a child process's memory came to.
type memUse struct {
	heap int64 // peak Go heap, from GODEBUG=gctrace=1 (0: the heap never reached the first GC)
	live int64 // peak live heap (marked at the end of a collection), from the same trace
	hwm  int64 // peak RSS sampled from /proc/PID/status VmHWM; -1 where there is no /proc
}

// gcLine is a gctrace line's heap sizes: at GC start, at GC end, live, goal.
var gcLine = regexp.MustCompile(`(\d+)->(\d+)->(\d+) MB, (\d+) MB goal`)

// runBinary runs the importer binary with args, under the hang deadline, and
// returns its exit code, its stderr without the GC trace, and its memory.
//
// Memory is measured in the child, not from its rusage: on Linux a child's
// ru_maxrss starts at the peak RSS of the process that spawned it (exec
// records the replaced address space's high-water mark, and Go spawns with
// vfork), which here is this test binary under -race. The GC trace gives the
// Go heap at each collection, where the heap is largest; VmHWM is the peak
// RSS of the child's own address space, sampled until it exits, so it can
// miss only a spike in its last milliseconds.
func runBinary(t *testing.T, bin string, args ...string) (code int, stderr string, mem memUse) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hostileDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ALTCRAFT_") && !strings.HasPrefix(kv, "GODEBUG=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "GODEBUG=gctrace=1")
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	mem.hwm = -1
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	sampled := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if kb, ok := readHWM(status); ok {
				mem.hwm = max(mem.hwm, kb<<10)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	err := cmd.Wait()
	close(stop)
	<-sampled
	if ctx.Err() != nil {
		t.Fatalf("the importer was still running after %v: hung\n%s", hostileDeadline, clipText(errBuf.String()))
	}
	if cmd.ProcessState == nil {
		t.Fatalf("run %s: %v", bin, err)
	}
	var out strings.Builder
	for line := range strings.Lines(errBuf.String()) {
		if m := gcLine.FindStringSubmatch(line); m != nil && strings.HasPrefix(line, "gc ") {
			for _, v := range m[1:3] {
				n, _ := strconv.ParseInt(v, 10, 64)
				mem.heap = max(mem.heap, n<<20)
			}
			n, _ := strconv.ParseInt(m[3], 10, 64)
			mem.live = max(mem.live, n<<20)
			continue
		}
		out.WriteString(line)
	}
	return cmd.ProcessState.ExitCode(), out.String(), mem
}

// readHWM reads VmHWM (in kB) from a /proc/PID/status file; false when there
// is no such file or line (not Linux, or the process has exited).
func readHWM(path string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// Generators of the big inputs. Each writes into dir and returns the path.

// genBytes writes head, n copies of c, then tail, streaming so that the
// test itself stays small.
func genBytes(name, head string, c byte, n int, tail string) func(t testing.TB, dir string) string {
	return func(t testing.TB, dir string) string {
		return writeStream(t, filepath.Join(dir, name), func(w io.Writer) error {
			if _, err := io.WriteString(w, head); err != nil {
				return err
			}
			if err := writeRepeat(w, c, n); err != nil {
				return err
			}
			_, err := io.WriteString(w, tail)
			return err
		})
	}
}

// genPadded writes head, 700 rows of format (row number, 100 x's) that fill
// more than the 64 KiB the charset is detected from, then tail.
func genPadded(name, head, format, tail string) func(t testing.TB, dir string) string {
	return func(t testing.TB, dir string) string {
		return writeStream(t, filepath.Join(dir, name), func(w io.Writer) error {
			io.WriteString(w, head)
			pad := strings.Repeat("x", 100)
			for i := range 700 {
				fmt.Fprintf(w, format, i, pad)
			}
			_, err := io.WriteString(w, tail)
			return err
		})
	}
}

// genWideHeader writes a header of n columns, the first two Email and Name,
// and one short data row.
func genWideHeader(n int) func(t testing.TB, dir string) string {
	return func(t testing.TB, dir string) string {
		return writeStream(t, filepath.Join(dir, "wide-header.csv"), func(w io.Writer) error {
			io.WriteString(w, "Email,Name")
			for i := 2; i < n; i++ {
				fmt.Fprintf(w, ",C%d", i)
			}
			_, err := io.WriteString(w, "\na@x.com,A\n")
			return err
		})
	}
}

// genWideFile writes a file of n columns, of which the config maps two.
func genWideFile(n int) func(t testing.TB, dir string) string {
	return func(t testing.TB, dir string) string {
		return writeStream(t, filepath.Join(dir, "wide.csv"), func(w io.Writer) error {
			io.WriteString(w, "Email,Name")
			for i := 2; i < n; i++ {
				fmt.Fprintf(w, ",C%d", i)
			}
			for _, email := range []string{"a@x.com", "b@x.com"} {
				fmt.Fprintf(w, "\n%s,Name", email)
				for i := 2; i < n; i++ {
					fmt.Fprintf(w, ",v%d", i)
				}
			}
			_, err := io.WriteString(w, "\n")
			return err
		})
	}
}

// genQuotedLines writes a closed quoted field of about size bytes made of
// 99-byte lines, then a good row.
func genQuotedLines(size int) func(t testing.TB, dir string) string {
	return func(t testing.TB, dir string) string {
		return writeStream(t, filepath.Join(dir, "quoted-lines.csv"), func(w io.Writer) error {
			io.WriteString(w, "Email,Name\na@x.com,\"")
			line := strings.Repeat("y", 99)
			for i := range size / 100 {
				if i > 0 {
					io.WriteString(w, "\n")
				}
				io.WriteString(w, line)
			}
			_, err := io.WriteString(w, "\"\nb@x.com,B\n")
			return err
		})
	}
}

// genGzipLine writes a gzip file holding a good row, then one line of size
// bytes with no newline: a small file that decompresses to a huge line.
func genGzipLine(size int) func(t testing.TB, dir string) string {
	return func(t testing.TB, dir string) string {
		return writeStream(t, filepath.Join(dir, "bomb.csv.gz"), func(w io.Writer) error {
			gz, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
			if err != nil {
				return err
			}
			io.WriteString(gz, "Email,Name\na@x.com,A\n")
			if err := writeRepeat(gz, 'z', size); err != nil {
				return err
			}
			return gz.Close()
		})
	}
}

// genGzipBadCRC writes a gzip file of n rows (more than the reader's 64 KiB
// look-ahead) whose checksum is wrong, so the error comes mid-run.
func genGzipBadCRC(n int) func(t testing.TB, dir string) string {
	return func(t testing.TB, dir string) string {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		io.WriteString(gz, "Email,Name\n")
		for i := range n {
			fmt.Fprintf(gz, "user%d@example.com,Name %d with some padding to be long\n", i, i)
		}
		if err := gz.Close(); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		b[len(b)-8] ^= 0xff // the CRC-32 of the trailer
		p := filepath.Join(dir, "bad-crc-late.csv.gz")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
}

// genGzipCut writes a gzip file of n rows cut at share of its length, or,
// with corrupt, with garbage over its middle instead.
func genGzipCut(n int, share float64, corrupt bool) func(t testing.TB, dir string) string {
	return func(t testing.TB, dir string) string {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		io.WriteString(gz, "Email,Name\n")
		for i := range n {
			fmt.Fprintf(gz, "user%d@example.com,Name %d\n", i, i)
		}
		if err := gz.Close(); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		cut := int(float64(len(b)) * share)
		if corrupt {
			for i := cut; i < cut+8 && i < len(b)-8; i++ {
				b[i] = 0xff
			}
		} else {
			b = b[:cut]
		}
		p := filepath.Join(dir, "cut.csv.gz")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
}

// genDeepJSONL writes objects and arrays nested past encoding/json's limit
// of 10,000 levels, one just under it, and an endless run of {.
func genDeepJSONL(t testing.TB, dir string) string {
	const depth = 10_001
	lines := []string{
		`{"email":"a@x.com","name":"A"}`,
		`{"email":"b@x.com","deep":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`,
		`{"email":"c@x.com","deep":` + strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth) + `}`,
		strings.Repeat("[", depth) + strings.Repeat("]", depth),
		`{"email":"d@x.com","deep":` + strings.Repeat("[", 9_990) + strings.Repeat("]", 9_990) + `}`,
		`{"email":"e@x.com","name":"E"}`,
		strings.Repeat("{", 100_000),
	}
	return writeFile(t, dir, "deep.jsonl", strings.Join(lines, "\n")+"\n")
}

func writeStream(t testing.TB, path string, fill func(w io.Writer) error) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := fill(bw); err != nil {
		f.Close()
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeRepeat(w io.Writer, c byte, n int) error {
	block := bytes.Repeat([]byte{c}, 64<<10)
	for n > 0 {
		k := min(n, len(block))
		if _, err := w.Write(block[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// payload is one line of the --payloads dump.
type payload struct {
	Row     int64 `json:"row"`
	Request struct {
		Data map[string]any `json:"data"`
	} `json:"request"`
}

func (p payload) str(field string) string {
	s, _ := p.Request.Data[field].(string)
	return s
}

func readPayloads(t *testing.T, path string) []payload {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []payload
	for line := range strings.Lines(string(raw)) {
		var p payload
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			t.Fatalf("payload line %q: %v", clipText(line), err)
		}
		out = append(out, p)
	}
	return out
}

// countRejects counts the rows of a rejects file (CSV or JSONL); a missing
// file holds none.
func countRejects(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if strings.HasSuffix(path, ".jsonl") {
		n := 0
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			n++
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		return n
	}
	return len(readCSVMaps(t, f))
}

func repeat(s string, n int) []string { return slices.Repeat([]string{s}, n) }

// summarise prints a long status list as runs: valid×700 invalid valid.
func summarise(ss []string) string {
	var b strings.Builder
	for i := 0; i < len(ss); {
		j := i
		for j < len(ss) && ss[j] == ss[i] {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(ss[i])
		if j-i > 1 {
			fmt.Fprintf(&b, "×%d", j-i)
		}
		i = j
	}
	return "[" + b.String() + "]"
}

// clipText keeps test failure output readable when stderr is huge.
func clipText(s string) string {
	const n = 4000
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("… (%d more bytes)", len(s)-n)
}
