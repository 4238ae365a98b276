#!/bin/sh
# The engine comparison: 3 runs of the main configuration (commits of 1,000
# puts, lookups in chunks of 64) and one of the other (commits of 64, chunks
# of 1,000) per engine, one engine per process, 1M keys, 10 delta runs.
cd "$(dirname "$0")"
go build -o eb . || exit 1
P="-cache 16 -newest -nocompress -iblock 262144"
for rep in 1 2 3; do
  ./eb -engine bbolt  -n 1000000 -deltas 10 -batch 1000 -chunk 64
  ./eb -engine pebble -n 1000000 -deltas 10 -batch 1000 -chunk 64 $P
  ./eb -engine sqlite -n 1000000 -deltas 10 -batch 1000 -chunk 64
done
./eb -engine bbolt  -n 1000000 -deltas 10 -batch 64 -chunk 1000
./eb -engine pebble -n 1000000 -deltas 10 -batch 64 -chunk 1000 $P
./eb -engine sqlite -n 1000000 -deltas 10 -batch 64 -chunk 1000
