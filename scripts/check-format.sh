#!/usr/bin/env bash
# check-format.sh: fails (exit 1) if any tracked C++ file differs from what
# Debian's clang-format-14 makes of it with the repository's .clang-format
# (Google style), and prints those files. Fix with:
#   clang-format-14 -i FILE...     (or: scripts/check-format.sh --fix)
set -euo pipefail
cd "$(dirname "$0")/.."
CF=${CLANG_FORMAT:-clang-format-14}
command -v "$CF" >/dev/null || { echo "format: $CF not found (scripts/deps.sh installs it)" >&2; exit 1; }
mapfile -t files < <(git ls-files -- '*.cc' '*.h' '*.cpp' '*.hpp')
if [ "${1:-}" = "--fix" ]; then
  "$CF" -i "${files[@]}"
  echo "format: reformatted ${#files[@]} files in place"
  exit 0
fi
# One clang-format process for all files; its diagnostics name the files.
rc=0
out=$("$CF" --dry-run --Werror "${files[@]}" 2>&1) || rc=$?
mapfile -t bad < <(printf '%s\n' "$out" |
  sed -n 's/^\([^: ]*\):[0-9]*:[0-9]*: error: .*/\1/p' | sort -u)
if [ "$rc" -ne 0 ] && [ "${#bad[@]}" -eq 0 ]; then
  printf '%s\n' "$out" | tail -20
  echo "format: $CF failed (exit $rc)"
  exit 1
fi
if [ "${#bad[@]}" -gt 0 ]; then
  echo "format: ${#bad[@]} of ${#files[@]} C++ files differ from $CF's output:"
  printf '  %s\n' "${bad[@]}"
  echo "format: run '$CF -i' on them (or scripts/check-format.sh --fix)"
  exit 1
fi
echo "format: ${#files[@]} C++ files clean ($CF)"
