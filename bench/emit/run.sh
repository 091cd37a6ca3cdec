#!/usr/bin/env bash
# Emit benchmark: starts its own redis-server and vent-server on free ports,
# measures the Redis PUBLISH baseline with redis-benchmark, then runs
# vent-emit-bench (unary Emit at 1/16/64 callers, EmitBatch of 100/1000,
# EmitStream) and reports each rate as events/s and as a ratio to the
# baseline. Not a test: results depend on the machine. See README.md.
#
#   bench/emit/run.sh [--events N] [--max-time 10s] [--out FILE] [--scenarios a,b]
#                     [--baseline-n N]
# Environment: VENT_BIN_DIR (default <repo>/build/bin; use a Release build).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${VENT_BIN_DIR:-$ROOT/build/bin}
EVENTS=500000
MAX_TIME=10s
OUT=$ROOT/bench/results/emit.json
SCENARIOS=unary-c1,unary-c16,unary-c64,batch-100,batch-1000,stream-1,stream-4,stream-1x1
BASELINE_N=1000000
PAYLOAD='{"type":"new_message","thread":"t1","user":"u42","text":"hello from the emit benchmark","n":12345}'
CHANNEL='bench::emit'

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --events) EVENTS=$2; shift 2 ;;
    --max-time) MAX_TIME=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --scenarios) SCENARIOS=$2; shift 2 ;;
    --baseline-n) BASELINE_N=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 ;;
  esac
done

for b in vent-server vent-emit-bench; do
  if [[ ! -x $BIN/$b ]]; then
    echo "missing $BIN/$b: build it (cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release;" \
         "ninja -C build vent-server vent-emit-bench) or set VENT_BIN_DIR" >&2
    exit 2
  fi
done
CACHE=$BIN/../CMakeCache.txt
if [[ -f $CACHE ]] && ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$CACHE"; then
  echo "warning: $BIN is not a Release build; numbers will be pessimistic" >&2
fi

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_start_redis
GPORT=$(free_port)
MPORT=$(free_port)
echo "== redis-server on 127.0.0.1:$RPORT" >&2

echo "== starting vent-server on 127.0.0.1:$GPORT (metrics $MPORT)" >&2
"$BIN/vent-server" --listen "127.0.0.1:$GPORT" --redis "redis://127.0.0.1:$RPORT" \
  --metrics-listen "127.0.0.1:$MPORT" >"$TMP/vent-server.log" 2>&1 &
PIDS+=($!)
wait_until 20 "vent-server /healthz" curl -fsS "http://127.0.0.1:$MPORT/healthz" ||
  { cat "$TMP/vent-server.log" >&2; exit 1; }

# rps CMD...: runs redis-benchmark -q and prints its requests/s.
rps() {
  "$@" | tr '\r' '\n' | grep -oE '[0-9.]+ requests per second' | tail -1 | awk '{print $1}'
}
BASE_CMD=(redis-benchmark -p "$RPORT" -c 50 -P 64 -n "$BASELINE_N" -q publish "$CHANNEL" "$PAYLOAD")
echo "== baseline: redis-benchmark -c 50 -P 64 -n $BASELINE_N publish (payload ${#PAYLOAD} bytes)" >&2
BASE=$(rps "${BASE_CMD[@]}")
echo "   $BASE PUBLISH/s" >&2
NOPIPE_N=$((BASELINE_N / 5))
echo "== baseline: redis-benchmark -c 50 -P 1 -n $NOPIPE_N publish" >&2
NOPIPE=$(rps redis-benchmark -p "$RPORT" -c 50 -P 1 -n "$NOPIPE_N" -q publish "$CHANNEL" "$PAYLOAD")
echo "   $NOPIPE PUBLISH/s" >&2
if [[ -z $BASE || -z $NOPIPE ]]; then
  echo "could not read redis-benchmark's rate" >&2
  exit 1
fi

mkdir -p "$(dirname "$OUT")"
set +e
"$BIN/vent-emit-bench" --target "127.0.0.1:$GPORT" --events "$EVENTS" --max-time "$MAX_TIME" \
  --scenarios "$SCENARIOS" --channel "$CHANNEL" --payload "$PAYLOAD" \
  --baseline-publish-rps "$BASE" --baseline-nopipe-rps "$NOPIPE" \
  --baseline-command "redis-benchmark -c 50 -P 64 -n $BASELINE_N -q publish $CHANNEL <payload>" \
  --out "$OUT"
STATUS=$?
set -e
if ! kill -0 "${PIDS[1]}" 2>/dev/null; then
  echo "vent-server died during the benchmark:" >&2
  tail -50 "$TMP/vent-server.log" >&2
  exit 1
fi
exit $STATUS
