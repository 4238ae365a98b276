// Package importer is the pipeline: the only package that knows input,
// mapping, sender and results, and the one place they are wired together.
//
//	input.File ──Record──▶ mapping workers (all cores, order kept)
//	     │                      │ invalid row ───────────────────────┐
//	     │                      ▼                                     ▼
//	     │              dispatcher (resume skip, shard) ──Job──▶ sender.Pool ──Result──▶ writer
//	     │                                                         (rate, retries,        (journal, rejects,
//	     │                                                          batches, key order)    payloads, summary)
//	     └── progress (bytes read, counts)
//
// [Run] executes `importer run` and `importer validate`: validate is the same
// pipeline with the sender replaced by a "valid" verdict, so a file that
// validates maps exactly as it will be sent. [Check] executes `importer check`.
//
// Rows are data, not errors: every row read ends as exactly one line of the
// results journal (unless the run stops before the row finished, in which case
// --resume sends it). Run returns an error only when the run as a whole fails;
// [ExitCode] maps that error to the process exit code (the table in the README).
package importer
