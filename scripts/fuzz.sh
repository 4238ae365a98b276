#!/usr/bin/env bash
# Runs every Fuzz* target of the module for $FUZZTIME each (go test allows
# one -fuzz target per package and run). Crashers land in testdata/fuzz/ of
# the package and then run as regression cases in every `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for pkg in $($GO list ./...); do
  for t in $($GO test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "fuzz $pkg $t ($FUZZTIME)"
    if ! $GO test -run '^$' -fuzz "^${t}\$" -fuzztime "$FUZZTIME" "$pkg" >"$log" 2>&1; then
      cat "$log"
      exit 1
    fi
  done
done
