package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"importer/internal/importer"
)

const probeUsage = `Usage: importer probe -c CONFIG [--api-url URL] [--token-file FILE] [--yes]

Checks how this Altcraft installation answers a batch request. It sends ONE
import_batch request into the config's request.db_id, matching by email
whatever the config says, with two items: a test profile
{"email":"importer-probe@example.com","_fname":"importer probe"} and an
invalid one, {"email":"not-an-email"}. It shows the request first (token as
"***") and asks before sending; --yes sends without asking. Then it prints
the reply as received and whether it has one result per item, in order, as
the importer's batches assume, and what the importer does if not.

Run it for a new Altcraft version or installation, and before the first
batch import (api.batch_size > 1) of a config using incr, add or delete.
The test profile stays in the database: delete it in Altcraft afterwards.

Exit codes: 0 the reply matches; 2 it differs (use api.batch_size: 1 for
configs using incr/add/delete until clarified); 1 not checked (config,
token, network, the API refused the request, or the question not answered y).

Examples:
  ALTCRAFT_TOKEN=... importer probe -c configs/legacy-crm.yaml
  importer probe -c crm.yaml --token-file /etc/importer/token --yes

Flags:
`

func probeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o := importer.ProbeOptions{Stdout: stdout, Stderr: stderr, Logger: slog.New(slog.NewTextHandler(stderr, nil))}
	fs := newFlagSet("probe", stderr)
	fs.StringVarP(&o.Config, "config", "c", "", "mapping config (YAML), required: its api.url, api.auth, api.timeout and request.db_id are used")
	fs.StringVar(&o.APIURL, "api-url", "", "API base URL (default $ALTCRAFT_API_URL, then api.url)")
	fs.StringVar(&o.TokenFile, "token-file", "", "read the API token from this file (default $ALTCRAFT_TOKEN)")
	fs.BoolVarP(&o.Yes, "yes", "y", false, "send without asking (for scripts; needed when stdin is not a terminal)")
	rest, code := parse(fs, args, stderr, usageFor(fs, stderr, probeUsage))
	if code >= 0 {
		return code
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "importer probe: takes no INPUT (got %q); see importer probe --help\n", rest[0])
		return importer.ExitFatal
	}
	matches, err := importer.Probe(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "importer probe: %v\n", err)
	}
	return importer.ProbeExitCode(matches, err)
}
