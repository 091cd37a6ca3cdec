#!/usr/bin/env bash
# run-fuzzer.sh BINARY SECONDS [SEED_CORPUS_DIR]: runs one libFuzzer target for a
# bounded time on a scratch copy of the seed corpus; fails on any crash.
set -euo pipefail
bin=$1; secs=$2; seeds=${3:-}
[ -x "$bin" ] || { echo "fuzzer binary $bin is missing (build target vent_fuzzers with clang)"; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
[ -n "$seeds" ] && [ -d "$seeds" ] && cp -r "$seeds"/. "$work"/
"$bin" -max_total_time="$secs" -max_len=4096 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/" "$work" 2>&1 | tail -15
