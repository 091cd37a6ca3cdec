#!/usr/bin/env bash
# Regression guard for the fan-out and emit paths (issue 15). Runs the budget
# scenarios against vent-bridge / vent-server and against the baselines in
# the same run, computes ratios (Vent / baseline), compares each with
# bench/baseline.json and prints what got worse by more than the tolerance
# (15%); exits 1 then, 0 otherwise (2: could not run). About 1.5-2.5 minutes.
# Not a test and not part of .ci/run (the machine is shared and noisy): run it
# before resolving an issue that touches the fan-out or the emit path, and
# say so in the note.
#
#   bench/check.sh [--rounds N] [--tolerance 0.15] [--out FILE] [--update-baseline]
#
# Baselines measured in the same run: vent-floor (bench/floor: the minimal
# epoll fan-out) for every fan-out figure, redis-benchmark -c 50 -P 64
# PUBLISH for the emit path, unary gRPC Emit for the HTTP emit API.
# Scenarios (fan-out ones interleaved floor/bridge, --rounds times, median
# of the per-round ratios):
#   fanout-1m   1 channel x 1,000 clients, 1,000 events/s of 200 B (1M deliveries/s)
#   fanout-2m   the same at 2,000 events/s (2M deliveries/s)
#   own-10k     10,000 clients on own channels, 10,000 events/s (p99)
#   idle-5000   5,000 idle subscribed connections, fresh processes (bytes/connection)
#   emit        EmitStream (1 stream) and unary Emit at 64 callers vs
#               redis-benchmark; HTTP POST /v1/emit (wrk, 64 connections) vs unary
# --update-baseline writes this run's ratios to bench/baseline.json instead of
# comparing. Environment: VENT_BIN_DIR (default <repo>/build/bin, a Release
# build with vent-bridge vent-server vent-bench vent-floor); wrk for HTTP.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VENT_BIN_DIR:-$ROOT/build/bin}
ROUNDS=2
TOL=0.15
OUT=$ROOT/bench/results/check.json
UPDATE=0
DUR=3s
usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --tolerance) TOL=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --update-baseline) UPDATE=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 ;;
  esac
done
for b in vent-bridge vent-server vent-bench vent-floor; do
  [[ -x $BIN/$b ]] || { echo "missing $BIN/$b (ninja -C build vent-bridge vent-server vent-bench vent-floor)" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "wrk is needed for the HTTP emit figure (apt-get install wrk)" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
START=$SECONDS

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_start_redis
RES=$TMP/results
mkdir -p "$RES"
start_target() {  # start_target floor|bridge PORT -> TARGET_PID
  if [[ $1 == floor ]]; then
    "$BIN/vent-floor" --port "$2" --redis-port "$RPORT" >"$TMP/$1.log" 2>&1 &
  else
    "$BIN/vent-bridge" --config "$ROOT/bench/config/bench.yaml" --redis "redis://127.0.0.1:$RPORT" \
      --listen "127.0.0.1:$2" --log-level warn >"$TMP/$1.log" 2>&1 &
  fi
  TARGET_PID=$!
  PIDS+=("$TARGET_PID")
  wait_until 20 "$1" bash -c "echo >/dev/tcp/127.0.0.1/$2" || { cat "$TMP/$1.log" >&2; exit 2; }
}
FPORT=$(free_port); BPORT=$(free_port)
start_target floor "$FPORT"; FLOOR_PID=$TARGET_PID
start_target bridge "$BPORT"; BRIDGE_PID=$TARGET_PID
# fanout NAME TARGET ARGS...: one vent-bench run -> $RES/NAME.TARGET.json
bench_run() {
  local name=$1 target=$2 mode=$3 port=$BPORT pid=$BRIDGE_PID
  shift 3
  [[ $target == floor ]] && { port=$FPORT; pid=$FLOOR_PID; }
  echo "== $name against $target" >&2
  "$BIN/vent-bench" "$mode" --url "ws://127.0.0.1:$port/websocket" --redis "redis://127.0.0.1:$RPORT" \
    --bridge-pid "$pid" --label "$name.$target" --json "$RES/$name.$target.json" "$@" \
    >/dev/null 2>"$TMP/progress.log" || { tail -3 "$TMP/progress.log" >&2; echo "   (failed)" >&2; }
  sleep 1
}
for r in $(seq "$ROUNDS"); do
  for rate in 1000 2000; do
    for t in floor bridge; do
      bench_run "fanout-$((rate / 1000))m-r$r" $t fanout --clients 1000 --channels 1 --rate $rate \
        --size 200 --duration "$DUR" --drain-timeout 5s
    done
  done
done
for t in floor bridge; do
  bench_run own-10k $t fanout --clients 10000 --channels 10000 --rate 10000 --size 200 \
    --duration "$DUR" --drain-timeout 5s
done
# Memory per connection on fresh processes (allocators keep what runs freed).
stop_pid() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local keep=() p
  for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}
stop_pid "$FLOOR_PID"; stop_pid "$BRIDGE_PID"
start_target floor "$FPORT"; FLOOR_PID=$TARGET_PID
start_target bridge "$BPORT"; BRIDGE_PID=$TARGET_PID
for t in floor bridge; do
  bench_run idle-5000 $t idle --clients 5000 --channels 5000 --duration 2s
done
stop_pid "$FLOOR_PID"; stop_pid "$BRIDGE_PID"

# Emit path.
GPORT=$(free_port); MPORT=$(free_port); HPORT=$(free_port)
"$BIN/vent-server" --listen "127.0.0.1:$GPORT" --redis "redis://127.0.0.1:$RPORT" \
  --metrics-listen "127.0.0.1:$MPORT" --http-listen "127.0.0.1:$HPORT" >"$TMP/server.log" 2>&1 &
PIDS+=($!)
wait_until 20 "vent-server" curl -fsS "http://127.0.0.1:$MPORT/healthz" || { cat "$TMP/server.log" >&2; exit 2; }
PAYLOAD=$(/usr/bin/python3 -c 'print("{\"p\":\"" + "x"*193 + "\"}")')
echo "== emit: redis-benchmark -c 50 -P 64 publish (baseline)" >&2
redis-benchmark -p "$RPORT" -c 50 -P 64 -n 1000000 -q publish bench::emit "$PAYLOAD" | tr '\r' '\n' |
  grep -oE '[0-9.]+ requests per second' | tail -1 |
  awk '{print "{\"redis_benchmark_publish_per_s\":" $1 "}"}' >"$RES/emit-baseline.json"
for spec in "stream 1" "unary 64"; do
  set -- $spec
  echo "== emit $1 x$2" >&2
  "$BIN/vent-bench" emit --grpc "127.0.0.1:$GPORT" --kind "$1" --concurrency "$2" --size 200 \
    --duration "$DUR" --events 4000000 --json "$RES/emit-$1-$2.json" >/dev/null 2>&1 ||
    echo "   (emit $1 failed)" >&2
done
cat >"$TMP/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"channel":"bench::emit","data":$PAYLOAD}'
LUA
echo "== emit: HTTP POST /v1/emit, wrk -c 64" >&2
wrk -t2 -c64 -d"$DUR" -s "$TMP/post.lua" "http://127.0.0.1:$HPORT/v1/emit" >"$RES/wrk-64.txt" 2>&1 || true

ARGS=("$RES" "$OUT" "$ROOT/bench/baseline.json" "$TOL" "$UPDATE" "$ROUNDS")
echo "== done in $((SECONDS - START)) s" >&2
/usr/bin/python3 "$ROOT/bench/check.py" "${ARGS[@]}"
