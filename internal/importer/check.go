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
)

// previewRows is how many mapped requests check prints.
const previewRows = 3

// Check executes `importer check -c CONFIG [INPUT]`: it loads and validates
// the config and, given an input, checks the file's header against the
// mapped columns and previews the first mapped requests (token shown as
// "***"). It writes its report to out and returns an error when the config
// or the header is unusable.
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
	in, err := openInput(&o, cfg)
	if err != nil {
		return err
	}
	defer in.Close()
	fmt.Fprintf(out, "input %s: %s", inputName(o.Input), in.Format())
	if in.Format() == input.FormatCSV {
		fmt.Fprintf(out, ", delimiter %s, encoding %s, %d columns", delimName(in.Delimiter()), in.Encoding(), len(in.Header()))
	}
	fmt.Fprintln(out)
	for _, w := range in.Warnings() {
		fmt.Fprintf(out, "warning: %s\n", w)
	}

	m, err := mapping.Compile(cfg, in.Header())
	if err != nil {
		return fmt.Errorf("config %s against %s: %w", o.Config, inputName(o.Input), err)
	}
	fmt.Fprintf(out, "mapped columns all present: %d\n", len(m.Columns()))

	env := m.AppendEnvelope(nil, false)
	for shown := 0; shown < previewRows && ctx.Err() == nil; {
		rec, err := in.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err // input names the file and line
		}
		shown++
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
