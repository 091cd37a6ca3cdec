#!/usr/bin/env bash
# Runs the whole Vent test suite: installs what is missing (Debian packages,
# npm packages from package-lock.json), builds (ccache), builds the libFuzzer
# targets with clang, then runs every test through ctest. Each integration test
# starts its own redis-server and Vent processes on free 127.0.0.1 ports.
# The run also fails if a tracked C++ file is not clang-format-14 clean
# (scripts/check-format.sh prints which).
#
#   scripts/test.sh                 # everything
#   scripts/test.sh -L unit         # extra arguments go to ctest
# Environment: VENT_BUILD_DIR (default build), VENT_FUZZ_SECONDS (default 20),
# VENT_TEST_JOBS (ctest -j, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# ccache: paths relative to the checkout, so any clone reuses the cache.
export CCACHE_BASEDIR=$ROOT CCACHE_NOHASHDIR=1
BUILD=${VENT_BUILD_DIR:-build}
FUZZ_BUILD=${BUILD}-fuzz

scripts/deps.sh
scripts/npm-deps.sh

echo "== format (clang-format-14 --dry-run --Werror)"
format_ok=1
scripts/check-format.sh || format_ok=0

echo "== build (${BUILD})"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DVENT_FUZZ_DIR="$ROOT/$FUZZ_BUILD/bin" -DVENT_FUZZ_SECONDS="${VENT_FUZZ_SECONDS:-20}" >/dev/null
cmake --build "$BUILD" -j "$(nproc)"

echo "== build libFuzzer targets with clang (${FUZZ_BUILD})"
CC=clang CXX=clang++ cmake -S . -B "$FUZZ_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DVENT_FUZZ=ON -DVENT_TESTS=OFF >/dev/null
cmake --build "$FUZZ_BUILD" -j "$(nproc)" --target vent_fuzzers

echo "== test"
cd "$BUILD"
ctest --output-on-failure -j "${VENT_TEST_JOBS:-2}" --timeout 600 "$@"
if [ "$format_ok" != 1 ]; then
  echo "FAILED: C++ files are not clang-format-14 clean (see '== format' above)"
  exit 1
fi
