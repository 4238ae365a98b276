// Command gendata writes a realistic, deterministic CRM export for
// benchmarks and manual tests: ten columns (Cyrillic and Latin names,
// e-mails with some duplicates, phones in many national formats, dates like
// 22.02.1990, quoted cells with commas and line breaks) as CSV or JSONL.
//
//	gendata -rows 1000000 -format csv -seed 1 -o crm.csv
//	gendata -size 1GiB -o big.csv        # rows until the file reaches the size
//
// The same flags always give the same bytes. Memory stays flat whatever the
// size.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"importer/tools/bench"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gendata", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rows := fs.Int64("rows", 1000, "data `rows` to write")
	size := fs.String("size", "", "write rows until the file holds at least this `size` (e.g. 1GiB, 200MB); overrides -rows")
	format := fs.String("format", "", "csv | jsonl (default from -o's extension, else csv)")
	seed := fs.Uint64("seed", 1, "`seed` of the generator")
	out := fs.String("o", "-", "output `file`; - = stdout")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gendata: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	opt := bench.GenOptions{Format: bench.Format(*format), Rows: *rows, Seed: *seed}
	if opt.Format == "" {
		opt.Format = bench.FormatOf(*out)
	}
	if *size != "" {
		n, err := bench.ParseSize(*size)
		if err != nil {
			fmt.Fprintf(stderr, "gendata: -size: %v\n", err)
			return 2
		}
		opt.MinBytes = n
	}
	w := io.Writer(stdout)
	var f *os.File
	if *out != "-" {
		var err error
		if f, err = os.Create(*out); err != nil {
			fmt.Fprintf(stderr, "gendata: %v\n", err)
			return 1
		}
		w = f
	}
	st, err := bench.Generate(w, opt)
	if f != nil {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("gendata: %w", cerr)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "gendata: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "gendata: %d rows, %d bytes, %d duplicate e-mails, %d multi-line rows, %d bad phones\n", st.Rows, st.Bytes, st.Duplicates, st.Multiline, st.BadPhones)
	return 0
}
