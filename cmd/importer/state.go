package main

import (
	"fmt"
	"io"

	"importer/internal/importer"
)

const stateUsage = `Usage: importer state stats  --state PATH [--shard K/N]
       importer state export --state PATH [--shard K/N] FILE   (- = stdout)
       importer state forget --state PATH [--shard K/N] FILE

Inspects and edits the state database that --state keeps for delta imports:
per match key, the fingerprint of the request last applied, and the ledger
of imported inputs.

  stats   the number of keys, the file's size, the latest imports
  export  every key as CSV: key, time of its last ok, its input row
  forget  drops the keys listed in FILE (a CSV whose first column is the key,
          such as the file --missing writes), so their rows are sent next time

Flags:
`

// stateCmd runs `importer state SUBCOMMAND`.
func stateCmd(args []string, stdout, stderr io.Writer) int {
	var o importer.StateOptions
	fs := newFlagSet("state", stderr)
	fs.StringVar(&o.State, "state", "", "the state database, as given to run --state")
	fs.StringVar(&o.Shard, "shard", "", "K/N: the state of shard K of N")
	rest, code := parse(fs, args, stderr, usageFor(fs, stderr, stateUsage))
	if code >= 0 {
		return code
	}
	if len(rest) == 0 || o.State == "" {
		fmt.Fprint(stderr, "importer state: want a subcommand and --state PATH\n\n")
		usageFor(fs, stderr, stateUsage)()
		return importer.ExitFatal
	}
	var err error
	switch sub := rest[0]; {
	case sub == "stats" && len(rest) == 1:
		err = importer.StateStats(o, stdout)
	case (sub == "export" || sub == "forget") && len(rest) == 2:
		o.File = rest[1]
		if sub == "export" {
			err = importer.StateExport(o, stdout)
		} else {
			err = importer.StateForget(o, stdout)
		}
	default:
		fmt.Fprintf(stderr, "importer state: %q with %d arguments: see importer state --help\n", sub, len(rest)-1)
		return importer.ExitFatal
	}
	if err != nil {
		fmt.Fprintf(stderr, "importer state: %v\n", err)
		return importer.ExitFatal
	}
	return importer.ExitOK
}
