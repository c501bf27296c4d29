#!/usr/bin/env bash
# Builds and runs every test, twice: a release build (g++) and a debug build
# with AddressSanitizer + UndefinedBehaviorSanitizer (clang, which also
# builds the libFuzzer target and runs it briefly). Dependencies are installed
# first by scripts/setup.sh. Exit status is non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== release build (g++) =="
cmake --preset release
cmake --build --preset release
ctest --preset release

echo "== debug build with ASan + UBSan (clang) =="
cmake --preset asan
cmake --build --preset asan
ctest --preset asan
