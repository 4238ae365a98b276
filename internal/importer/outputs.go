package importer

import (
	"errors"

	"importer/internal/input"
	"importer/internal/results"
)

// outputPaths are the files a run writes.
type outputPaths struct {
	results, rejects string // rejects "-" = none
}

// defaultPaths fills in the journal and rejects paths the command line
// left out: beside the input (stdin: in the working directory), per shard,
// and never the same files for validate as for run, so a dry run clobbers
// nothing a real run wrote.
func defaultPaths(o *Options, jsonl bool) outputPaths {
	ext := resultsExt(o.Input, jsonl)
	p := outputPaths{results: o.Results, rejects: o.Rejects}
	if p.results == "" {
		suffix := ".results" + ext
		if o.Mode == ModeValidate {
			suffix = ".validate" + ext
		}
		p.results = defaultPath(o.Input, o.Shard, suffix)
	}
	if p.rejects == "" {
		suffix := ".rejects" + ext
		if o.Mode == ModeValidate {
			suffix = ".validate-rejects" + ext
		}
		p.rejects = defaultPath(o.Input, o.Shard, suffix)
	}
	return p
}

// outputs are the files a run writes as rows finish; one close releases them all.
type outputs struct {
	journal  *results.Journal
	rejects  *results.Rejects  // nil with --rejects -
	payloads *results.Payloads // nil without --payloads
	closed   bool
	err      error
}

// openOutputs opens the journal (appending when resuming), the rejects
// file and the payload dump.
func openOutputs(o *Options, paths outputPaths, in *input.File, resume bool) (*outputs, error) {
	out := &outputs{}
	var err error
	if out.journal, err = results.OpenJournal(paths.results, resume); err != nil {
		return nil, err
	}
	if paths.rejects != "-" {
		if in.Format() == input.FormatJSONL {
			out.rejects, err = results.NewJSONLRejects(paths.rejects)
		} else {
			out.rejects, err = results.NewRejects(paths.rejects, in.Header(), in.Delimiter(), o.Neutralise, in.Preamble()...)
		}
		if err != nil {
			out.close()
			return nil, err
		}
	}
	if o.Payloads != "" {
		if out.payloads, err = results.NewPayloads(o.Payloads); err != nil {
			out.close()
			return nil, err
		}
	}
	return out, nil
}

// close closes every file once and reports the first problem of any of
// them; later calls return the same.
func (out *outputs) close() error {
	if out.closed {
		return out.err
	}
	out.closed = true
	err := out.journal.Close()
	if out.rejects != nil {
		err = errors.Join(err, out.rejects.Close())
	}
	if out.payloads != nil {
		err = errors.Join(err, out.payloads.Close())
	}
	out.err = err
	return err
}
