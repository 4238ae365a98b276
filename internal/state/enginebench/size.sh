#!/bin/sh
# Binary size and clean build time of each engine's minimal program.
set -e
cd "$(dirname "$0")"
for p in base bbolt pebble sqlite; do
  cache=$(mktemp -d)
  start=$(date +%s.%N)
  GOCACHE=$cache CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o bin/$p ./size/$p
  end=$(date +%s.%N)
  rm -rf "$cache"
  printf '%s size=%d build_s=%.1f\n' $p $(stat -c %s bin/$p) $(echo "$end - $start" | bc)
done
