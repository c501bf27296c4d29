#!/usr/bin/env bash
# Fails (exit 1) listing every C++ file of the repository that clang-format
# would change under the repository's .clang-format. Fix with:
#   git ls-files '*.cpp' '*.hpp' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
bad=()
while IFS= read -r f; do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then bad+=("$f"); fi
done < <(git ls-files '*.cpp' '*.hpp')
if [ ${#bad[@]} -gt 0 ]; then
  printf 'check_format: not formatted: %s\n' "${bad[@]}"
  echo "check_format: run: git ls-files '*.cpp' '*.hpp' | xargs clang-format -i"
  exit 1
fi
echo "check_format: $(git ls-files '*.cpp' '*.hpp' | wc -l) files formatted"
