#!/usr/bin/env bash
# clang-tidy (checks in .clang-tidy) over every source of the library and
# the tool, on a build folder's compile_commands.json; fails (exit 1) on
# any finding. Usage: scripts/check_tidy.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: scripts/check_tidy.sh BUILD_DIR}
[ -f "$build/compile_commands.json" ] || { echo "check_tidy: $build/compile_commands.json missing (configure with CMAKE_EXPORT_COMPILE_COMMANDS=ON)"; exit 2; }
mapfile -t files < <(git ls-files 'src/*.cpp' 'apps/*.cpp')
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# -quiet: only findings; the header filter keeps the project's own headers.
run-clang-tidy -quiet -p "$build" -j "$(nproc)" -header-filter="$PWD/(src|include|apps)/.*" "${files[@]}" >"$out" 2>&1 || true
if grep -E "(warning|error): " "$out" | grep -v "^[0-9]* warnings generated" >/dev/null; then
  grep -E -A3 "(warning|error): " "$out" | head -200
  echo "check_tidy: $(grep -cE "(warning|error): " "$out") findings"
  exit 1
fi
echo "check_tidy: ${#files[@]} files, no findings"
