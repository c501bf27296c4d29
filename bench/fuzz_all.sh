#!/usr/bin/env bash
# Runs every libFuzzer target (fuzz/) for a number of executions each and
# prints one line per target: executions, seconds, executions per second,
# corpus size reached, and whether it found anything. The figures go to
# docs/performance.md, "Fuzzing". Needs a build with DARKLENS_FUZZ=ON:
# the fuzz preset (clang -O2 + ASan/UBSan, the fast one for long runs:
# cmake --preset fuzz && cmake --build build/fuzz), or BUILD=build/asan.
#
#   bench/fuzz_all.sh [RUNS] [TARGET...]     RUNS default 10000000
#   MAX_TIME=3600 bench/fuzz_all.sh ...       stop a target after an hour
#
# The file-based targets write their inputs under TMPDIR (default
# /dev/shm when it exists: memory, not disk).
#
# ASan's defaults fill every new allocation and keep 256 MB of freed memory
# in quarantine; for inputs this small neither finds more, and together they
# halved the database target's rate (268 -> 483 runs/s), so the default here
# is detect_leaks=1:max_malloc_fill_size=0:quarantine_size_mb=8 (set
# ASAN_OPTIONS to override).
#
# Inputs it finds go to bench/results/fuzz/<target>/ (not the source
# corpus); a finding leaves crash-* (leak-, timeout-, oom-) files there and
# the line says FOUND; an interrupted run says stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10000000}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(ingest ground_truth catalog spec table database services)
build=${BUILD:-build/fuzz}
[ -d /dev/shm ] && export TMPDIR=${TMPDIR:-/dev/shm}
max_time=${MAX_TIME:-0}
for t in "${targets[@]}"; do
  bin=$build/fuzz/${t}_fuzz
  [ -x "$bin" ] || { echo "fuzz_all: $bin missing (cmake --build $build --target ${t}_fuzz)"; exit 2; }
  corpus=fuzz/corpus_$t
  [ "$t" = ingest ] && corpus=fuzz/corpus
  work=bench/results/fuzz/$t
  mkdir -p "$work/corpus"
  log=$work/run.log
  start=$(date +%s.%N)
  status=ok
  LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/fuzz/lsan.supp} \
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:max_malloc_fill_size=0:quarantine_size_mb=8} "$bin" -runs="$runs" -max_total_time="$max_time" -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$work/" "$work/corpus" "$corpus" >"$log" 2>&1 || status=stopped
  # A finding leaves crash-, leak-, timeout- or oom- files; an interrupt does not.
  ls "$work" | grep -qE '^(crash|leak|timeout|oom|slow-unit)-' && status=FOUND
  end=$(date +%s.%N)
  done_runs=$(grep -oE '#[0-9]+' "$log" | tail -n 1 | tr -d '#')
  awk -v t="$t" -v r="${done_runs:-0}" -v s="$start" -v e="$end" -v st="$status" \
    -v c="$(ls "$work/corpus" | wc -l)" \
    'BEGIN { d = e - s; printf "%-13s %12d runs %9.1f s %10.0f runs/s  corpus %6d  %s\n", t, r, d, r / d, c, st }'
done
