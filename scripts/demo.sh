#!/usr/bin/env bash
# The main job on built-in example data: generate a synthetic darknet day
# with `darklens synth` and summarise it with `darklens stats`.
# Output goes to demo-output/ (override with DEMO_DIR=...).
set -euo pipefail
cd "$(dirname "$0")/.."
darklens=$(bash scripts/build.sh | tail -n 1)
out=${DEMO_DIR:-demo-output}
rm -rf "$out"

echo "== darklens synth: one synthetic darknet day, 20,000 sources =="
"$darklens" synth --days 1 --sources 20000 --seed 1 -o "$out"
echo
echo "== darklens stats =="
"$darklens" stats "$out"/darknet-*.pcap
echo
echo "Planted groups (ground truth) are in $out/ground_truth.csv; see docs/synth.md."
