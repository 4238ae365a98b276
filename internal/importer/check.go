package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"importer/internal/input"
	"importer/internal/mapping"
	"importer/internal/sender"
	"importer/internal/source"
)

// previewRows is how many mapped requests check prints.
const previewRows = 3

// Check executes `importer check -c CONFIG [INPUT]`: it loads and validates
// the config and, given an input, checks the mapped columns against the
// file's header (JSONL: against the paths of its first 1,000 objects) and
// previews the first mapped requests (token shown as
// "***"). It writes its report to out and returns an error when the config
// or the header is unusable (a *mapping.HeaderError for missing columns).
func Check(ctx context.Context, o Options, out io.Writer) error {
	cfg, err := loadConfig(&o)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "config %s: ok (db_id %d, matching %s, endpoint %s, %d fields, %d subscriptions, batch size %d, rate %g/s)\n",
		o.Config, cfg.Request.DBID, cfg.Request.Matching, cfg.API.Endpoint, len(cfg.Fields),
		len(cfg.Subscriptions), cfg.API.BatchSize, cfg.API.Rate)
	if o.Input == "" {
		return nil
	}
	var in *input.File
	if source.IsRemote(o.Input) {
		var obj *source.Object
		if in, obj, err = openRemoteInput(ctx, o.Input, cfg, o.logger()); err != nil {
			return err
		}
		defer obj.Close()
	} else if in, err = openInput(&o, cfg); err != nil {
		return err
	}
	defer in.Close()
	fmt.Fprintf(out, "input %s: %s", inputName(o.Input), in.Format())
	switch in.Format() {
	case input.FormatCSV:
		fmt.Fprintf(out, ", delimiter %s, encoding %s, %d columns", delimName(in.Delimiter()), in.Encoding(), len(in.Header()))
	case input.FormatXLSX:
		fmt.Fprintf(out, ", %d columns", len(in.Header()))
	}
	fmt.Fprintln(out)
	for _, w := range in.Warnings() {
		fmt.Fprintf(out, "warning: %s\n", w)
	}

	m, err := mapping.Compile(cfg, in.Header())
	if err != nil {
		return fmt.Errorf("config %s against %s: %w", o.Config, inputName(o.Input), err)
	}
	preview, err := checkColumns(ctx, in, m, out)
	if he := (*mapping.HeaderError)(nil); errors.As(err, &he) {
		return fmt.Errorf("config %s against %s: %w", o.Config, inputName(o.Input), err)
	}
	if err != nil {
		return err // input names the file and line
	}
	return previewRequests(ctx, in, m, preview, out)
}

// checkColumns reports the mapped columns present. A CSV header was
// checked by Compile; JSONL has none, so the mapped paths are checked
// against the paths of the first objects, which it returns (up to
// previewRows) for the preview.
func checkColumns(ctx context.Context, in *input.File, m *mapping.Mapper, out io.Writer) ([]*input.Record, error) {
	if in.Format() != input.FormatJSONL {
		fmt.Fprintf(out, "mapped columns all present: %d\n", len(m.Columns()))
		return nil, nil
	}
	var seen mapping.PathSet
	preview, err := samplePaths(ctx, in, &seen)
	if err != nil {
		return nil, err
	}
	if err := m.MissingPaths(&seen); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "mapped columns all present: %d (paths seen in the first %d objects)\n", len(m.Columns()), seen.Objects())
	return preview, nil
}

// previewRequests prints the first previewRows mapped requests: the
// records already read, then the input's next ones.
func previewRequests(ctx context.Context, in *input.File, m *mapping.Mapper, read []*input.Record, out io.Writer) error {
	env := m.AppendEnvelope(nil, false)
	for shown := 0; shown < previewRows && ctx.Err() == nil; shown++ {
		rec, err := nextRecord(in, read, shown)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err // input names the file and line
		}
		if rec.Err != nil {
			fmt.Fprintf(out, "\nrow %d (line %d): invalid: %v\n", rec.Row, rec.Line, rec.Err)
			continue
		}
		req, err := m.Map(rec)
		if err != nil {
			fmt.Fprintf(out, "\nrow %d (line %d): invalid: %v\n", rec.Row, rec.Line, err)
			continue
		}
		body := sender.AppendSingleBody(nil, "***", env, req)
		var pretty bytes.Buffer
		if json.Indent(&pretty, body, "", "  ") != nil {
			pretty.Reset()
			pretty.Write(body)
		}
		fmt.Fprintf(out, "\nrow %d (line %d), key %q:\n%s\n", rec.Row, rec.Line, req.Key, pretty.Bytes())
	}
	return nil
}

// nextRecord returns read[i], or the input's next record past them.
func nextRecord(in *input.File, read []*input.Record, i int) (*input.Record, error) {
	if i < len(read) {
		return read[i], nil
	}
	return in.Read()
}

// pathSampleLines is how many JSONL lines check reads to learn the paths
// the file holds.
const pathSampleLines = 1000

// samplePaths adds the paths of the objects on the first pathSampleLines
// lines to seen, and returns the first previewRows records (malformed lines
// included) for the preview, which then reads on from the input.
func samplePaths(ctx context.Context, in *input.File, seen *mapping.PathSet) ([]*input.Record, error) {
	var preview []*input.Record
	for n := 0; n < pathSampleLines && ctx.Err() == nil; n++ {
		rec, err := in.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if rec.Err == nil {
			seen.Add(rec.Object)
		}
		if len(preview) < previewRows {
			preview = append(preview, rec)
		}
	}
	return preview, nil
}
