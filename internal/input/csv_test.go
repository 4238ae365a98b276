package input

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCSVRecords(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opts Options
		want []view
	}{
		{"LF", "a,b,c\n1,2,3\n4,5,6\n", Options{}, []view{ok(1, 2, "1", "2", "3"), ok(2, 3, "4", "5", "6")}},
		{"CRLF", "a,b,c\r\n1,2,3\r\n4,5,6\r\n", Options{}, []view{ok(1, 2, "1", "2", "3"), ok(2, 3, "4", "5", "6")}},
		{"LoneCR", "a,b,c\r1,2,3\r4,5,6\r", Options{}, []view{ok(1, 2, "1", "2", "3"), ok(2, 3, "4", "5", "6")}},
		{"MixedLineEnds", "a,b,c\r\n1,2,3\n4,5,6\r7,8,9", Options{},
			[]view{ok(1, 2, "1", "2", "3"), ok(2, 3, "4", "5", "6"), ok(3, 4, "7", "8", "9")}},
		{"NoFinalNewline", "a,b,c\n1,2,3", Options{}, []view{ok(1, 2, "1", "2", "3")}},
		{"BlankLinesSkipped", "\n\na,b,c\n\n1,2,3\r\n\r\n\n4,5,6\n\n", Options{},
			[]view{ok(1, 5, "1", "2", "3"), ok(2, 8, "4", "5", "6")}},
		{"HeaderOnly", "a,b,c\n", Options{}, nil},
		{"HeaderOnlyNoNewline", "a,b,c", Options{}, nil},
		{"HeaderOnlyThenBlankLines", "a,b,c\r\n\r\n\r\n", Options{}, nil},
		{"QuotedDelimiter", "a,b,c\n1,\"x,y\",3\n", Options{}, []view{ok(1, 2, "1", "x,y", "3")}},
		{"EscapedQuotes", "a,b,c\n1,\"say \"\"hi\"\"\",3\n", Options{}, []view{ok(1, 2, "1", `say "hi"`, "3")}},
		{"EmptyQuotedIsBlank", "a,b,c\n\"\",\"\",\"\"\n1,\"\",\"\"\n", Options{}, []view{ok(1, 3, "1", "", "")}},
		{"QuotedNewlineLF", "a,b,c\n1,\"x\ny\",3\n4,5,6\n", Options{},
			[]view{ok(1, 2, "1", "x\ny", "3"), ok(2, 4, "4", "5", "6")}},
		{"QuotedCRLFKeptVerbatim", "a,b,c\r\n1,\"x\r\ny\",3\r\n4,5,6\r\n", Options{},
			[]view{ok(1, 2, "1", "x\r\ny", "3"), ok(2, 4, "4", "5", "6")}},
		{"QuotedLoneCR", "a,b,c\r1,\"x\ry\",3\r4,5,6\r", Options{},
			[]view{ok(1, 2, "1", "x\ry", "3"), ok(2, 4, "4", "5", "6")}},
		{"QuotedBlankLine", "a,b\n\"x\n\ny\",1\n2,3\n", Options{},
			[]view{ok(1, 2, "x\n\ny", "1"), ok(2, 5, "2", "3")}},
		{"ManyLinesInQuotes", "a,b\n\"1\n2\n3\",x\ny,z\n", Options{},
			[]view{ok(1, 2, "1\n2\n3", "x"), ok(2, 5, "y", "z")}},
		{"QuotedLastFieldAtEOF", "a,b,c\n1,2,\"x\"", Options{}, []view{ok(1, 2, "1", "2", "x")}},
		{"QuotedFirstField", "a,b\n\"x\",y\n", Options{}, []view{ok(1, 2, "x", "y")}},
		{"QuotesThenPlainWithQuoteLater", "a,b,c,d\n\"x\",y,\"z\",w\n", Options{}, []view{ok(1, 2, "x", "y", "z", "w")}},
		{"EmptyFieldsAreBlank", "a,b,c\n,,\n,,3\n", Options{}, []view{ok(1, 3, "", "", "3")}},
		{"TrailingDelimiterIsAnEmptyField", "a,b,c\n1,2,\n", Options{}, []view{ok(1, 2, "1", "2", "")}},
		{"SpacesKept", "a,b,c\n 1 , 2 ,3 \n", Options{}, []view{ok(1, 2, " 1 ", " 2 ", "3 ")}},
		{"Semicolon", "a;b;c\n1;\"2;x\";3\n", Options{}, []view{ok(1, 2, "1", "2;x", "3")}},
		{"Tab", "a\tb\tc\n1\t2\t3\n", Options{}, []view{ok(1, 2, "1", "2", "3")}},
		{"Pipe", "a|b|c\n1|2|3\n", Options{}, []view{ok(1, 2, "1", "2", "3")}},
		{"NoHeader", "1,2\n3,4\n", Options{NoHeader: true, Columns: []string{"x", "y"}},
			[]view{ok(1, 1, "1", "2"), ok(2, 2, "3", "4")}},
		{"NoHeaderEmptyFile", "", Options{NoHeader: true, Columns: []string{"x"}}, nil},

		// Blank records: skipped like empty lines, line numbers unchanged.
		{"WhitespaceLinesSkipped", "a,b\n   \n\t \t\r\n1,2\n", Options{}, []view{ok(1, 4, "1", "2")}},
		{"DelimiterLinesSkipped", "a;b;c\r\n;;\r\n1;2;3\r\n; ;\t\r\n;;\r\n", Options{}, []view{ok(1, 3, "1", "2", "3")}},
		{"QuotedBlanksSkipped", "a,b\n\" \",\"\"\n1,2\n", Options{}, []view{ok(1, 3, "1", "2")}},
		{"BlankLinesBeforeHeader", ";;\n  \na;b\n1;2\n", Options{}, []view{ok(1, 4, "1", "2")}},
		{"QuotedLineBreakIsNotBlank", "a,b\n\"\n\",\n1,2\n", Options{}, []view{ok(1, 2, "\n", ""), ok(2, 4, "1", "2")}},
		{"TooFewBlankFieldsStillSkipped", "a,b,c\n,\n1,2,3\n", Options{}, []view{ok(1, 3, "1", "2", "3")}},

		// Quotes: lazy by default, as encoding/csv with LazyQuotes.
		{"BareQuoteIsLiteral", "a;b\nООО \"Ромашка\";37°36'37.8\"N\n", Options{}, []view{ok(1, 2, `ООО "Ромашка"`, `37°36'37.8"N`)}},
		{"BareQuoteAtFieldEnd", "a,b,c\n1,12\" monitor,3\"\n", Options{}, []view{ok(1, 2, "1", `12" monitor`, `3"`)}},
		{"QuoteAfterSpaceIsLiteral", "a,b\n \"x\",y\n", Options{}, []view{ok(1, 2, ` "x"`, "y")}},
		{"TextAfterQuoteClosedLater", "a,b\n\"x\"y\",w\n", Options{}, []view{ok(1, 2, `x"y`, "w")}},
		{"UndoubledQuotesInQuotesNeverClose", "a,b\n\"ООО \"Ромашка\"\",x\n", Options{},
			[]view{bad(1, 2, ErrBareQuote, 2, 1, "a", `"ООО "Ромашка""`, "x")}},
		{"TextAfterQuoteSwallowsDelimiter", "a,b\n\"x\"y,z\",w\n", Options{}, []view{ok(1, 2, `x"y,z`, "w")}},
		{"TextAfterQuoteNeverClosed", "a,b,c\n1,\"x\"y,3\n4,5,6\n", Options{},
			[]view{bad(1, 2, ErrBareQuote, 2, 2, "b", "1", `"x"y`, "3"), ok(2, 3, "4", "5", "6")}},
		{"TextAfterQuoteOnLaterLineIsUnclosed", "a,b\n\"p\nq \"r\" s\",t\n1,2\n", Options{},
			[]view{bad(1, 2, ErrUnclosedQuote, 2, 1, "a", `"p`), ok(2, 3, `q "r" s"`, "t"), ok(3, 4, "1", "2")}},
		{"DoubledQuotesStillEscape", "a\n\"say \"\"hi\"\"\"\n", Options{}, []view{ok(1, 2, `say "hi"`)}},

		{"TooFewFields", "a,b,c\n1,2\n3,4,5\n", Options{},
			[]view{bad(1, 2, ErrFieldCount, 2, 3, "c", "1", "2"), ok(2, 3, "3", "4", "5")}},
		{"TooManyFields", "a,b,c\n1,2,3,4\n5,6,7\n", Options{},
			[]view{bad(1, 2, ErrFieldCount, 2, 4, "", "1", "2", "3", "4"), ok(2, 3, "5", "6", "7")}},
		{"BareQuote", "a,b,c\n1,12\" monitor,3\n4,5,6\n", Options{StrictQuotes: true},
			[]view{bad(1, 2, ErrBareQuote, 2, 2, "b", "1", `12" monitor`, "3"), ok(2, 3, "4", "5", "6")}},
		{"TextAfterClosingQuote", "a,b,c\n1,\"x\"y,3\n4,5,6\n", Options{StrictQuotes: true},
			[]view{bad(1, 2, ErrBareQuote, 2, 2, "b", "1", `"x"y`, "3"), ok(2, 3, "4", "5", "6")}},
		{"UnclosedQuoteAtEOF", "a,b,c\n1,2,\"x", Options{},
			[]view{bad(1, 2, ErrUnclosedQuote, 2, 3, "c", "1", "2", `"x`)}},
		{"UnclosedQuoteResyncsAtNextLine", "a,b,c\n1,\"x,3\n4,5,6\n7,8,9\n", Options{},
			[]view{bad(1, 2, ErrUnclosedQuote, 2, 2, "b", "1", `"x`, "3"), ok(2, 3, "4", "5", "6"), ok(3, 4, "7", "8", "9")}},
		{"UnclosedQuoteMetByLaterQuote", "a,b,c\n1,\"x,3\n4,5,6\n7,\"8\",9\n", Options{},
			[]view{bad(1, 2, ErrUnclosedQuote, 2, 2, "b", "1", `"x`, "3"), ok(2, 3, "4", "5", "6"), ok(3, 4, "7", "8", "9")}},
		{"UnclosedQuoteAfterMultiLineField", "a,b,c\n\"p\nq\",\"x,3\n4,5,6\n", Options{},
			[]view{bad(1, 2, ErrUnclosedQuote, 3, 2, "b", "p\nq", `"x`, "3"), ok(2, 4, "4", "5", "6")}},
		{"InvalidUTF8", "a,b,c\n1,\xff,3\n4,5,6\n", Options{Encoding: "utf-8"},
			[]view{bad(1, 2, ErrInvalidUTF8, 2, 2, "b", "1", "\xff", "3"), ok(2, 3, "4", "5", "6")}},
		{"InvalidUTF8SplitByDelimiter", "a,b,c\n1,\xd0,\x96\n", Options{Encoding: "utf-8"},
			[]view{bad(1, 2, ErrInvalidUTF8, 2, 2, "b", "1", "\xd0", "\x96")}},
		{"InvalidUTF8InQuotes", "a,b\n\"x\xc8\",2\n", Options{Encoding: "utf-8"},
			[]view{bad(1, 2, ErrInvalidUTF8, 2, 1, "a", "x\xc8", "2")}},
		{"NUL", "a,b,c\n1,x\x00y,3\n4,5,6\n", Options{},
			[]view{bad(1, 2, ErrNUL, 2, 2, "b", "1", "x\x00y", "3"), ok(2, 3, "4", "5", "6")}},
		{"FieldTooLong", "a,b,c\n1,12345,3\n4,5,6\n", Options{MaxFieldSize: 4},
			[]view{bad(1, 2, ErrFieldTooLong, 2, 2, "b", "1", "", "3"), ok(2, 3, "4", "5", "6")}},
		{"QuotedFieldTooLong", "a,b,c\n1,\"12345\",3\n4,5,6\n", Options{MaxFieldSize: 4},
			[]view{bad(1, 2, ErrFieldTooLong, 2, 2, "b", "1", "", "3"), ok(2, 3, "4", "5", "6")}},
		{"HugeLimitIsCapped", "a\n1\n", Options{MaxFieldSize: 1 << 62}, []view{ok(1, 2, "1")}},
		{"FieldAtTheLimit", "a,b\n1234,\"1\"\"34\"\n", Options{MaxFieldSize: 4}, []view{ok(1, 2, "1234", `1"34`)}},
		{"MultiLineQuoteOverLimitIsUnclosed", "a,b,c\n1,\"x\n2,3,4\n5,6,7\n", Options{MaxFieldSize: 8},
			[]view{bad(1, 2, ErrUnclosedQuote, 2, 2, "b", "1", `"x`), ok(2, 3, "2", "3", "4"), ok(3, 4, "5", "6", "7")}},
		{"ErrorsDoNotStopReading", "a,b\n1\n\"2\"x,3\n4,5,6\n7,8\n", Options{StrictQuotes: true},
			[]view{
				bad(1, 2, ErrFieldCount, 2, 2, "b", "1"),
				bad(2, 3, ErrBareQuote, 3, 1, "a", `"2"x`, "3"),
				bad(3, 4, ErrFieldCount, 4, 3, "", "4", "5", "6"),
				ok(4, 5, "7", "8"),
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, recs := readAll(t, "in.csv", []byte(tt.in), tt.opts)
			if diff := cmp.Diff(tt.want, views(recs)); diff != "" {
				t.Errorf("records of %q (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestCSVHeader(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		in        string
		opts      Options
		want      []string
		wantDelim rune
	}{
		{"Comma", "in.csv", "a,b,c\n", Options{}, []string{"a", "b", "c"}, ','},
		{"Trimmed", "in.csv", " a , b ,c\t\n", Options{}, []string{"a", "b", "c"}, ','},
		{"BOMStripped", "in.csv", "\ufeffEmail,Имя\n", Options{}, []string{"Email", "Имя"}, ','},
		{"QuotedNames", "in.csv", "\"Last, first\";\"E-mail\"\n", Options{}, []string{"Last, first", "E-mail"}, ';'},
		{"SemicolonBeatsCommaInQuotes", "in.csv", "\"a,b,c\";d;e\n", Options{}, []string{"a,b,c", "d", "e"}, ';'},
		{"MostFrequentWins", "in.csv", "a;b;c,d\n", Options{}, []string{"a", "b", "c,d"}, ';'},
		{"TieGoesToComma", "in.csv", "a,b;c\n", Options{}, []string{"a", "b;c"}, ','},
		{"TabOverPipe", "in.csv", "a\tb\tc|d\n", Options{}, []string{"a", "b", "c|d"}, '\t'},
		{"OneColumn", "in.csv", "email\nx@example.com\n", Options{}, []string{"email"}, ','},
		{"OneColumnTSV", "in.tsv", "email\nx@example.com\n", Options{}, []string{"email"}, '\t'},
		{"SniffedAfterBlankLines", "in.csv", "\r\n\r\na|b\n", Options{}, []string{"a", "b"}, '|'},
		{"Configured", "in.csv", "a,b;c\n", Options{Delimiter: ';'}, []string{"a,b", "c"}, ';'},
		{"Columns", "in.csv", "1;2\n", Options{NoHeader: true, Columns: []string{" x ", "y"}}, []string{"x", "y"}, ';'},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := readAll(t, tt.file, []byte(tt.in), tt.opts)
			if diff := cmp.Diff(tt.want, f.Header()); diff != "" {
				t.Errorf("Header() (-want +got):\n%s", diff)
			}
			if got := f.Delimiter(); got != tt.wantDelim {
				t.Errorf("Delimiter() = %q, want %q", got, tt.wantDelim)
			}
			if got := f.Format(); got != FormatCSV {
				t.Errorf("Format() = %q, want %q", got, FormatCSV)
			}
		})
	}
}

func TestCSVOpenErrors(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		opts     Options
		wantErr  error
		wantText []string // each must appear in the message
	}{
		{"Empty", "", Options{}, ErrHeader, []string{"in.csv", "empty"}},
		{"OnlyBlankLines", "\n\r\n\n", Options{}, ErrHeader, []string{"empty"}},
		{"DuplicateNames", "Email,Name,Email\n", Options{}, ErrHeader, []string{`columns 1 and 3 are both named "Email"`}},
		{"DuplicateAfterTrim", "a, a\n", Options{}, ErrHeader, []string{`columns 1 and 2 are both named "a"`}},
		{"DuplicatesBesideNamelessColumns", "a,,a,,b,b\n", Options{}, ErrHeader, []string{`columns 1 and 3 are both named "a"`, `columns 5 and 6 are both named "b"`}},
		{"NoNameAtAll", "\v,\v\n", Options{}, ErrHeader, []string{"the header (line 1) has no column names"}},
		{"BareQuoteInHeaderStrict", "a,b\"c\n", Options{StrictQuotes: true}, ErrHeader, []string{`bare "`, "line 1", "column 2"}},
		{"UnclosedQuoteInHeader", "a,\"b\n", Options{}, ErrHeader, []string{"never closed"}},
		{"TooManyColumns", strings.Repeat("a,", maxHeaderColumns+1) + "\n", Options{}, ErrHeader, []string{"more than 10000 columns"}},
		{"NoHeaderWithoutColumns", "1,2\n", Options{NoHeader: true}, ErrHeader, []string{"input.columns"}},
		{"EmptyColumnName", "1,2\n", Options{NoHeader: true, Columns: []string{"x", " "}}, ErrHeader, []string{"input.columns", "column 2 has no name"}},
		{"SkipLinesNegative", "a,b\n", Options{SkipLines: -1}, ErrFormat, []string{"input.skip_lines -1"}},
		{"SkipLinesPastTheEnd", "Title\r\nDate\r\n", Options{SkipLines: 3}, ErrHeader, []string{"no header line after the 3 lines input.skip_lines skips (the file has 2)"}},
		{"SkipLinesLeaveOnlyBlanks", "Title\n\n;;;\n  \n", Options{SkipLines: 1}, ErrHeader, []string{"no header line"}},
		{"DuplicateColumns", "1,2\n", Options{NoHeader: true, Columns: []string{"x", "x"}}, ErrHeader, []string{"input.columns", `"x"`}},
		{"QuoteDelimiter", "a,b\n", Options{Delimiter: '"'}, ErrFormat, []string{"input.delimiter"}},
		{"NewlineDelimiter", "a,b\n", Options{Delimiter: '\n'}, ErrFormat, []string{"input.delimiter"}},
		{"NonASCIIDelimiter", "a¦b\n", Options{Delimiter: '¦'}, ErrFormat, []string{"input.delimiter"}},
		{"UnknownFormat", "a,b\n", Options{Format: "xml"}, ErrFormat, []string{`input.format "xml"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := NewReader(strings.NewReader(tt.in), "in.csv", tt.opts)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("NewReader(%.40q) = %v, %v; want error %v", tt.in, f, err, tt.wantErr)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}

// TestCSVRowErrorMessages checks the texts users read: line, column, name,
// value and what to do.
func TestCSVRowErrorMessages(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opts Options
		want string
	}{
		{"FieldCount", "a,b,Phone\n1,2\n", Options{}, `line 2, column 3 "Phone": wrong number of fields: want 3, got 2`},
		{"BareQuoteStrict", "a,Name\n1,ab\"c\n", Options{StrictQuotes: true}, `line 2, column 2 "Name": bare " in non-quoted field: "ab\"c" (quote the whole field and double the quote)`},
		{"TextAfterQuoteStrict", "a,Name\n1,\"ab\"c\n", Options{StrictQuotes: true}, `line 2, column 2 "Name": extraneous " in quoted field: text after the closing quote in "\"ab\"c" (a " inside quotes must be doubled)`},
		{"TextAfterQuoteNeverClosed", "a,Name\n1,\"ab\"c\n2,x\n", Options{}, `line 2, column 2 "Name": extraneous " in quoted field: text after the closing quote in "\"ab\"c", and no later quote ends the field (a " inside quotes must be doubled)`},
		{"ValueInNamelessColumn", "a;b;;c;\n1;2;;3;x\n", Options{}, `line 2, column 5: no name in the header, but it holds "x" (name the column in the header, or empty the cell)`},
		{"UnclosedAtEOF", "a,Name\n1,\"abc\n", Options{}, `line 2, column 2 "Name": quoted field is never closed: the file ends inside it: "\"abc"`},
		{"UnclosedMetLater", "a,Name\n1,\"abc\n2,\"x\"y\n", Options{}, `line 2, column 2 "Name": quoted field is never closed: the next quote, on line 3, is followed by text: "\"abc"`},
		{"InvalidUTF8", "a,Name\n1,\xc8\xe2\xe0\xed\n", Options{Encoding: "utf-8"}, `line 2, column 2 "Name": invalid UTF-8: "\xc8\xe2\xe0\xed" (if the file is not UTF-8, set input.encoding)`},
		{"NUL", "a,Name\n1,x\x00\n", Options{}, `line 2, column 2 "Name": NUL byte in "x\x00"`},
		{"TooLong", "a,Name\n1,12345\n", Options{MaxFieldSize: 4}, `line 2, column 2 "Name": field exceeds the size limit: more than 4 bytes`},
		{"LongValueClipped", "a,Name\n1,x" + strings.Repeat("Ж", 30) + "\"\n", Options{StrictQuotes: true}, `line 2, column 2 "Name": bare " in non-quoted field: "xЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖ"… (quote the whole field and double the quote)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, recs := readAll(t, "in.csv", []byte(tt.in), tt.opts)
			if len(recs) == 0 || recs[0].Err == nil {
				t.Fatalf("first record of %q has no error", tt.in)
			}
			if got := recs[0].Err.Error(); got != tt.want {
				t.Errorf("Err.Error() =\n%s\nwant\n%s", got, tt.want)
			}
			if recs[0].Err.Row != 1 {
				t.Errorf("Err.Row = %d, want 1", recs[0].Err.Row)
			}
		})
	}
}

// TestCSVPositions pins Offset and Line, BOM and blank lines included.
func TestCSVPositions(t *testing.T) {
	type pos struct{ Line, Offset int64 }
	tests := []struct {
		name string
		in   string
		want []pos
	}{
		{"Plain", "a,b\n1,2\r\n\n3,4", []pos{{2, 4}, {4, 10}}},
		{"BOM", "\ufeffa,b\n1,2\n", []pos{{2, 7}}},
		{"QuotedNewlines", "a,b\n\"x\r\ny\",1\n2,3\n", []pos{{2, 4}, {4, 13}}},
		{"LoneCR", "a,b\r1,2\r\r3,4\r", []pos{{2, 4}, {4, 9}}},
		{"AfterUnclosedQuote", "a,b\n1,\"x\n2,3\n", []pos{{2, 4}, {3, 9}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, recs := readAll(t, "in.csv", []byte(tt.in), Options{})
			var got []pos
			for _, r := range recs {
				got = append(got, pos{r.Line, r.Offset})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("positions of %q (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestRowErrorKind(t *testing.T) {
	for _, kind := range rowKinds {
		e := &RowError{Line: 3, Err: &kindError{kind, "detail"}}
		if got := e.Kind(); got != kind {
			t.Errorf("Kind() of an error wrapping %v = %v", kind, got)
		}
		if !errors.Is(e, kind) {
			t.Errorf("errors.Is(RowError, %v) = false", kind)
		}
	}
	other := errors.New("other")
	if got := (&RowError{Err: other}).Kind(); got != other {
		t.Errorf("Kind() of a foreign error = %v, want it back", got)
	}
}

// strayQuoteFiles are files whose every line opens a quoted field that
// never closes properly, in the shapes a legacy export produces: a quote
// followed by text and then only doubled quotes, or a lone quote per line.
var strayQuoteFiles = []struct{ name, header, line string }{
	{"text after the quote, then doubled quotes", "id,org,x\n", "1,\"\"ООО Ромашка\"\",x\n"},
	{"a quoted empty field followed by text", "a\n", "\"\"a\n"},
	{"a lone opening quote per line", "a,b\n", "1,\"open\n"},
	{"doubled quotes across lines", "a,b\n", "\"x\"y,\"\"\n"},
	{"CRLF line ends", "a,b\r\n", "1,\"\"Рога\"\" и копыта\r\n"},
}

// TestDeadLinesSameRecords reads files of many lines with stray quotes
// with and without the record of lines known never to close a field: the
// records, their errors and messages must be the same (the record only
// spares re-reading, see BenchmarkReadStrayQuotes).
func TestDeadLinesSameRecords(t *testing.T) {
	for _, tc := range strayQuoteFiles {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.header + strings.Repeat(tc.line, 300) + "2,\"fine\",x\n" + strings.Repeat(tc.line, 50)
			read := func(noDead bool) []view {
				f, err := NewReader(strings.NewReader(data), "stray.csv", Options{})
				if err != nil {
					t.Fatal(err)
				}
				f.csv.noDead = noDead
				recs, err := drain(f)
				if err != nil {
					t.Fatal(err)
				}
				return viewsFull(recs)
			}
			fast, slow := read(false), read(true)
			if len(fast) < 350 {
				t.Fatalf("%d records, want at least 350", len(fast))
			}
			if diff := cmp.Diff(slow, fast); diff != "" {
				t.Fatalf("the dead lines changed what was read (-without +with):\n%s", diff)
			}
		})
	}
}

// BenchmarkReadStrayQuotes reads files whose every line holds a quote
// followed by text and then doubled quotes. With the record of dead lines
// the cost of a row stays flat as the file grows; without it (the reader
// before it) each line's field was read to the end of the file, so the
// cost of a row grows with the file: compare ns/row across sizes.
func BenchmarkReadStrayQuotes(b *testing.B) {
	for _, bc := range []struct {
		lines  int
		noDead bool
	}{{5000, false}, {20000, false}, {2500, true}, {5000, true}} {
		name := fmt.Sprintf("lines=%d", bc.lines)
		if bc.noDead {
			name += "/without-dead-lines"
		}
		b.Run(name, func(b *testing.B) {
			data := "id,org,x\n" + strings.Repeat("1,\"\"ООО Ромашка\"\",x\n", bc.lines)
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				f, err := NewReader(strings.NewReader(data), "stray.csv", Options{})
				if err != nil {
					b.Fatal(err)
				}
				f.csv.noDead = bc.noDead
				recs, err := drain(f)
				if err != nil || len(recs) != bc.lines {
					b.Fatalf("%d records, %v", len(recs), err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*bc.lines), "ns/row")
		})
	}
}
