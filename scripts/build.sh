#!/usr/bin/env bash
# Installs dependencies (scripts/setup.sh) and builds the release preset.
# Prints the path of the darklens binary on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
cmake --preset release >&2
cmake --build --preset release >&2
echo "$PWD/build/release/bin/darklens"
