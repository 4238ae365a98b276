#!/usr/bin/env bash
# make bench: measure the importer against the targets in docs/ARCHITECTURE.md in one
# run (after `make build`), print the tables and rewrite BENCHMARKS.md.
#
#   make bench                          # everything, about 5 minutes on 2 cores
#   BENCH=send,rate make bench          # a subset: validate rss send rate latency aimd gobench
#                                       # (writes bench-out/BENCHMARKS.partial.md, not BENCHMARKS.md)
#   BENCHFLAGS='-big-size 2GiB' make bench   # any tools/benchrun flag (-help lists them)
#
# Generated inputs are kept in bench-out/ (gitignored) and reused when they
# match, so only the first run pays for the 1 GiB file.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
mkdir -p bench-out
# A built driver, not `go run`: the compile is not part of any figure, and
# the driver's process is the bare client's and the bare parser's.
CGO_ENABLED=0 "$GO" build -o bench-out/benchrun ./tools/benchrun
args=(-go "$GO")
if [ -n "${BENCH:-}" ]; then args+=(-only "$BENCH"); fi
# shellcheck disable=SC2086 # BENCHFLAGS is a list of flags, split on purpose
exec bench-out/benchrun "${args[@]}" ${BENCHFLAGS:-}
