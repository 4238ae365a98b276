#!/usr/bin/env bash
# make demo: the main job end to end on loopback. Starts the fake Altcraft
# API on a free 127.0.0.1 port, imports samples/legacy-crm.csv (a
# Windows-1251 Excel export) with configs/legacy-crm.yaml, prints the
# summary and where the results are, then stops the fake API.
set -euo pipefail
cd "$(dirname "$0")/.."
out=demo-out
rm -rf "$out"
mkdir -p "$out"

export FAKEAPI_TOKEN=demo-token        # the fake's token, from the environment (never argv)
bin/fakeapi --listen 127.0.0.1:0 --addr-file "$out/fakeapi.url" >"$out/fakeapi.log" 2>&1 &
fake=$!
trap 'kill $fake 2>/dev/null || true; wait $fake 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$out/fakeapi.url" ] && break; sleep 0.05; done
[ -s "$out/fakeapi.url" ] || { echo "demo: fakeapi did not start:"; cat "$out/fakeapi.log"; exit 1; }
url=$(cat "$out/fakeapi.url")
echo "demo: fake Altcraft API on $url"

cp samples/legacy-crm.csv "$out/legacy-crm.csv"
echo "demo: importer run -c configs/legacy-crm.yaml --api-url $url $out/legacy-crm.csv"
set +e
ALTCRAFT_TOKEN=demo-token bin/importer run -c configs/legacy-crm.yaml --api-url "$url" \
  --progress log --summary "$out/summary.json" "$out/legacy-crm.csv"
code=$?
set -e
echo
echo "demo: importer exited with $code (0 = all ok, 2 = some rows rejected: see the rejects file)"
echo "demo: results journal:  $out/legacy-crm.csv.results.csv"
echo "demo: rejects to fix:   $out/legacy-crm.csv.rejects.csv"
echo "demo: JSON summary:     $out/summary.json"
if command -v curl >/dev/null; then echo "demo: profiles now in the fake API: $(curl -s "$url/fake/profiles" | wc -l) (17 ok rows, but rows 1 and 11 share an e-mail: one profile, updated twice)"; fi
echo
echo "demo: first lines of the results journal:"
head -n 6 "$out/legacy-crm.csv.results.csv"

# A second export, from 1C: two title lines, a trailing ";", bare quotes in
# company names, blank-looking lines; every row imports.
cp samples/legacy-1c.csv "$out/legacy-1c.csv"
echo
echo "demo: importer run -c configs/legacy-1c.yaml --api-url $url $out/legacy-1c.csv"
set +e
ALTCRAFT_TOKEN=demo-token bin/importer run -c configs/legacy-1c.yaml --api-url "$url" \
  --progress none "$out/legacy-1c.csv"
code1c=$?
set -e
echo "demo: importer exited with $code1c"
# The first sample holds deliberately bad rows, so 2 is its expected exit code.
[ "$code" -eq 0 ] || [ "$code" -eq 2 ]
[ "$code1c" -eq 0 ]
