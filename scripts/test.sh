#!/usr/bin/env bash
# Builds and runs every test; this is what CI runs. In order:
#   1. the format (clang-format) and the layering of the stages (cheap, first);
#   2. a release build (g++) and all its tests;
#   3. clang-tidy over the library and the tool (.clang-tidy), on the
#      compile commands of the clang build once it is configured; then that
#      debug build with AddressSanitizer + UndefinedBehaviorSanitizer (clang,
#      which also builds the libFuzzer target and runs it briefly);
#   4. a build with ThreadSanitizer (g++): the tests again, among them every
#      "same result on any thread count" check.
# Dependencies are installed first by scripts/setup.sh. Exit status is
# non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== format and layering =="
bash scripts/check_format.sh
python3 scripts/check_layers.py

echo "== release build (g++) =="
cmake --preset release
cmake --build --preset release
ctest --preset release

echo "== clang-tidy, then the debug build with ASan + UBSan (clang) =="
cmake --preset asan
bash scripts/check_tidy.sh build/asan
cmake --build --preset asan
ctest --preset asan

echo "== build with ThreadSanitizer (g++) =="
cmake --preset tsan
cmake --build --preset tsan
ctest --preset tsan
