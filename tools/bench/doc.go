// Package bench measures the importer against the targets in docs/ARCHITECTURE.md,
// side by side in one run on one machine, and generates the realistic input
// files the measurements read.
//
// [Generate] writes a deterministic CRM export of any size with flat memory.
// [Run] executes the scenarios: it runs bin/importer and bin/fakeapi as
// processes (the tokens travel in the environment, never in argv), reads the
// importer's --summary file and the fake's GET /fake/stats, measures wall
// time and each child's peak RSS, and runs the yardsticks in process: a bare
// encoding/csv parse of the same file, a hand-written validate loop, a bare
// keep-alive HTTP client sending the same request bodies to the same fake
// and a bare batch sender doing what `importer run --batch-size` does with
// the least code. [Report] renders the
// figures, the targets, PASS or GAP, the machine and every exact command as
// a table and as BENCHMARKS.md.
package bench
