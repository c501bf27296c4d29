#!/usr/bin/env bash
# The main job on built-in example data: generate three synthetic darknet
# days with planted coordinated groups (`darklens synth`), analyse day 1
# (`darklens analyze`: features, clusters, a profile per cluster matched to
# known activity, evaluation against the planted groups, HTML report, and
# the patterns stored in a database), then recognise the patterns on days 2
# and 3 (`darklens classify`) and list what the database holds.
# Output goes to demo-output/ (override with DEMO_DIR=...).
set -euo pipefail
cd "$(dirname "$0")/.."
darklens=$(bash scripts/build.sh | tail -n 1)
out=${DEMO_DIR:-demo-output}
rm -rf "$out"
start=$(date +%s)

echo "== darklens synth: three synthetic darknet days, 20,000 sources a day =="
"$darklens" synth --days 3 --sources 20000 --seed 1 -o "$out/days"
echo
echo "== darklens analyze: day 1 =="
"$darklens" analyze "$out"/days/darknet-2021-05-01.pcap --gt "$out/days/ground_truth.csv" \
  --db "$out/patterns.db" -o "$out/day1"
echo
for d in 02 03; do
  echo "== darklens classify: day $d against the stored patterns =="
  "$darklens" classify --db "$out/patterns.db" "$out/days/darknet-2021-05-$d.pcap" \
    --gt "$out/days/ground_truth.csv" -o "$out/day$d"
  echo
done
echo "== darklens patterns list =="
"$darklens" patterns list --db "$out/patterns.db" | head -n 12 | column -t -s $'\t'
echo
echo "Reports (open in a browser; self-contained, no network needed):"
for d in day1 day02 day03; do echo "  $out/$d/report.html"; done
echo "Name a pattern:  $darklens patterns label --db $out/patterns.db ID 'Mirai telnet'"
echo "Docs: docs/analyze.md (outputs, defaults, signatures, database). Took $(( $(date +%s) - start )) s."
