package importer

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"importer/internal/state"
)

// StateOptions are the command line of `importer state`.
type StateOptions struct {
	State string // the state database
	Shard string // "K/N": the shard's own state database
	File  string // export: where to write ("-" = out); forget: the keys to drop
}

// StateStats prints what a state database holds: keys, size, latest runs.
func StateStats(o StateOptions, out io.Writer) error {
	store, err := state.Open(statePath(o.State, o.Shard), state.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer store.Close()
	st, err := store.Stats(10)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "state %s: %d keys, %d bytes (%.0f bytes a key), format %d\n",
		st.Path, st.Keys, st.FileSize, float64(st.FileSize)/float64(max(st.Keys, 1)), st.Format)
	if len(st.Runs) == 0 {
		fmt.Fprintln(out, "no imports recorded yet")
		return nil
	}
	fmt.Fprintln(out, "latest imports, newest first:")
	for _, r := range st.Runs {
		c := r.Counts
		fmt.Fprintf(out, "  %s  %s (%d bytes, sha256 %.12s…): %d ok, %d unchanged, %d failed, %d invalid, %d unknown, %d missing\n",
			r.Finished.UTC().Format(time.RFC3339), r.Input, r.Size, r.Content, c.OK, c.Unchanged, c.Failed, c.Invalid, c.Unknown, c.Missing)
	}
	return nil
}

// StateExport writes the state's keys as CSV (key, time, row) to o.File, or
// to out for "-".
func StateExport(o StateOptions, out io.Writer) error {
	store, err := state.Open(statePath(o.State, o.Shard), state.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer store.Close()
	w := out
	var f *os.File
	if o.File != "-" && o.File != "" {
		if f, err = os.Create(o.File); err != nil {
			return fmt.Errorf("state export: %w", err)
		}
		w = f
	}
	n, err := store.Export(w)
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		fmt.Fprintf(out, "exported %d keys to %s\n", n, o.File)
	}
	return err
}

// StateForget drops from the state the keys listed in o.File, so that
// their rows are sent on the next run. The file is a CSV whose first
// column is the key, with a header naming it "key" (as the files --missing
// and state export write) or without a header.
func StateForget(o StateOptions, out io.Writer) error {
	keys, err := readKeys(o.File)
	if err != nil {
		return err
	}
	store, err := state.Open(statePath(o.State, o.Shard), state.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	n, err := store.Forget(keys)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "forgot %d of %d keys listed in %s (the others were not in the state)\n", n, len(keys), o.File)
	return nil
}

// readKeys reads the first column of a CSV file, skipping a "key" header.
func readKeys(path string) ([]string, error) {
	if path == "" {
		return nil, errors.New("state forget: name the file of keys to forget")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("state forget: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	var keys []string
	for line := 1; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return keys, nil
		}
		if err != nil {
			return nil, fmt.Errorf("state forget: %s: %w", path, err)
		}
		k := strings.TrimSpace(strings.TrimPrefix(rec[0], "\ufeff"))
		if k == "" || (line == 1 && strings.EqualFold(k, "key")) {
			continue
		}
		keys = append(keys, k)
	}
}
