#!/usr/bin/env bash
# Fan-out benchmark: starts its own redis-server, vent-bridge (bench/config/
# bench.yaml), vent-server, the Node baseline (bench/baseline/
# node_fanout.js) and the floor (vent-floor, bench/floor) on free 127.0.0.1
# ports, then runs the same vent-bench scenarios against the bridge, the
# baseline and the floor (every fan-out figure is also given as a ratio to
# the floor of the same run), plus the emit path
# (redis-benchmark -P 64 PUBLISH vs vent-bench emit). Writes
# bench/results/<scenario>.<target>.json, bench/results/fanout.csv and
# bench/results/summary.json, and prints ratios. ~3-4 minutes. Not a test.
#
#   bench/run.sh [--quick] [--budget] [--sweep] [--out DIR] [--threads N]
# --sweep runs the curves of bench/sweep.sh instead of the fixed scenarios
# (latency and CPU against offered load, memory against connection count, for
# the bridge and the baseline; ~4 min); writes <out>/sweep-*.csv, then
# bench/plot.sh draws sweep-*.png.
# --budget adds the Issue 6 budget-sized runs against vent-bridge only (10,000
# clients on own channels at 10,000 events/s; idle connections up to the
# open-file limit, 50,000 at most; overload 1,000 x 20,000 events/s): +2 min.
# Environment: VENT_BIN_DIR (default <repo>/build/bin; a Release build with
# vent-bridge, vent-server and vent-bench).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VENT_BIN_DIR:-$ROOT/build/bin}
OUT=$ROOT/bench/results
THREADS=1
DUR=5s
QUICK=0
BUDGET=0
SWEEP=0
usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1; DUR=2s; shift ;;
    --budget) BUDGET=1; shift ;;
    --sweep) SWEEP=1; shift ;;
    --out) OUT=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 ;;
  esac
done
for b in vent-bridge vent-server vent-bench vent-floor; do
  [[ -x $BIN/$b ]] || { echo "missing $BIN/$b (ninja -C build vent-bridge vent-server vent-bench vent-floor, or set VENT_BIN_DIR)" >&2; exit 2; }
done
CACHE=$BIN/../CMakeCache.txt
if [[ -f $CACHE ]] && ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$CACHE"; then
  echo "warning: $BIN is not a Release build; numbers will be pessimistic" >&2
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_start_redis
BPORT=$(free_port); NPORT=$(free_port); GPORT=$(free_port); MPORT=$(free_port); FPORT=$(free_port)
echo "== redis-server :$RPORT, vent-bridge :$BPORT, node baseline :$NPORT, vent-floor :$FPORT, vent-server :$GPORT" >&2
# start_bridge / start_node: (re)start a target on its port and wait until it
# serves; set BRIDGE_PID / NODE_PID. stop_pid PID: kill and reap one of ours.
stop_pid() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local keep=() p
  for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}
start_bridge() {  # start_bridge [EXTRA BRIDGE FLAGS...]
  "$BIN/vent-bridge" --config "$ROOT/bench/config/bench.yaml" --redis "redis://127.0.0.1:$RPORT" \
    --listen "127.0.0.1:$BPORT" --log-level warn "$@" >"$TMP/bridge.log" 2>&1 &
  BRIDGE_PID=$!
  PIDS+=("$BRIDGE_PID")
  wait_until 20 "vent-bridge" curl -fsS "http://127.0.0.1:$BPORT/healthz" || { cat "$TMP/bridge.log" >&2; exit 1; }
}
start_node() {
  node "$ROOT/bench/baseline/node_fanout.js" --port "$NPORT" --redis-port "$RPORT" >"$TMP/node.log" 2>&1 &
  NODE_PID=$!
  PIDS+=("$NODE_PID")
  wait_until 20 "node baseline" sh -c "grep -q listening $TMP/node.log" || { cat "$TMP/node.log" >&2; exit 1; }
}
start_floor() {
  "$BIN/vent-floor" --port "$FPORT" --redis-port "$RPORT" >"$TMP/floor.log" 2>&1 &
  FLOOR_PID=$!
  PIDS+=("$FLOOR_PID")
  wait_until 20 "vent-floor" sh -c "grep -q listening $TMP/floor.log" || { cat "$TMP/floor.log" >&2; exit 1; }
}
start_bridge
start_node
start_floor
if ((SWEEP)); then
  mkdir -p "$OUT"
  # shellcheck source=bench/sweep.sh
  source "$ROOT/bench/sweep.sh"
  exit 0
fi
"$BIN/vent-server" --listen "127.0.0.1:$GPORT" --redis "redis://127.0.0.1:$RPORT" \
  --metrics-listen "127.0.0.1:$MPORT" --http-listen '' >"$TMP/server.log" 2>&1 &
PIDS+=($!)
wait_until 20 "vent-server" curl -fsS "http://127.0.0.1:$MPORT/healthz" || { cat "$TMP/server.log" >&2; exit 1; }

mkdir -p "$OUT"
# Only the files this script writes (bench/emit/run.sh owns emit.json).
rm -f "$OUT"/fanout.csv "$OUT"/idle-*.json "$OUT"/fanout-*.json "$OUT"/emit-*.json "$OUT"/summary.json \
  "$OUT"/budget-*.json "$OUT"/budget.csv
# run NAME MODE ARGS...: the scenario against the bridge, the baseline, then
# the floor.
run() {
  local name=$1 mode=$2
  shift 2
  for target in bridge node floor; do
    local port=$BPORT pid=$BRIDGE_PID
    [[ $target == node ]] && { port=$NPORT; pid=$NODE_PID; }
    [[ $target == floor ]] && { port=$FPORT; pid=$FLOOR_PID; }
    echo "== $name against $target" >&2
    "$BIN/vent-bench" "$mode" --url "ws://127.0.0.1:$port/websocket" --redis "redis://127.0.0.1:$RPORT" \
      --bridge-pid "$pid" --threads "$THREADS" --label "$name.$target" \
      --json "$OUT/$name.$target.json" --csv "$OUT/fanout.csv" "$@" 2>"$TMP/progress.log" ||
      { tail -5 "$TMP/progress.log" >&2; echo "   ($name against $target failed)" >&2; }
    # Let the target drain whatever is left before the next run.
    sleep 2
  done
}

# Idle first: the memory per connection is measured on fresh processes (an
# allocator keeps what earlier runs freed).
IDLE=5000
((QUICK)) && IDLE=2000
run idle-$IDLE idle --clients $IDLE --channels $IDLE --duration 3s
run fanout-1x1000-r200 fanout --clients 1000 --channels 1 --rate 200 --size 200 --duration "$DUR" --drain-timeout 10s
run fanout-1x1000 fanout --clients 1000 --channels 1 --rate 1000 --size 200 --duration "$DUR" --drain-timeout 10s
run fanout-2000x2000 fanout --clients 2000 --channels 2000 --rate 2000 --size 200 --duration "$DUR" --drain-timeout 10s

echo "== emit: redis-benchmark -c 50 -P 64 publish (baseline)" >&2
PAYLOAD=$(/usr/bin/python3 -c 'print("{\"p\":\"" + "x"*193 + "\"}")')
N=1000000
((QUICK)) && N=200000
redis-benchmark -p "$RPORT" -c 50 -P 64 -n $N -q publish bench::emit "$PAYLOAD" | tr '\r' '\n' |
  grep -oE '[0-9.]+ requests per second' | tail -1 | awk '{print "{\"redis_benchmark_publish_per_s\":" $1 "}"}' \
  >"$OUT/emit-baseline.json"
cat "$OUT/emit-baseline.json" >&2
for spec in "stream 1" "unary 64"; do
  set -- $spec
  echo "== emit $1 x$2" >&2
  "$BIN/vent-bench" emit --grpc "127.0.0.1:$GPORT" --kind "$1" --concurrency "$2" --size 200 \
    --duration "$DUR" --events 2000000 --label "emit-$1-$2" --json "$OUT/emit-$1-$2.json" 2>/dev/null ||
    echo "   (emit $1 failed)" >&2
done

if ((BUDGET)); then
  # bridge NAME MODE ARGS...: against vent-bridge only.
  bridge() {
    local name=$1 mode=$2
    shift 2
    echo "== budget: $name" >&2
    "$BIN/vent-bench" "$mode" --url "ws://127.0.0.1:$BPORT/websocket" --redis "redis://127.0.0.1:$RPORT" \
      --bridge-pid "$BRIDGE_PID" --threads "$THREADS" --label "$name.bridge" \
      --json "$OUT/budget-$name.bridge.json" --csv "$OUT/budget.csv" "$@" 2>"$TMP/progress.log" ||
      { tail -5 "$TMP/progress.log" >&2; echo "   ($name failed)" >&2; }
    sleep 2
  }
  # The bridge and vent-bench each need one fd per connection.
  LIMIT=$(( $(ulimit -Hn) < $(awk '/open files/{print $4}' /proc/$BRIDGE_PID/limits) ?
            $(ulimit -Hn) : $(awk '/open files/{print $4}' /proc/$BRIDGE_PID/limits) ))
  IDLE_MAX=$(( LIMIT - 500 < 50000 ? LIMIT - 500 : 50000 ))
  bridge fanout-10000x10000 fanout --clients 10000 --channels 10000 --rate 10000 --size 200 --duration 10s
  # The fan-out budget at 1.5M deliveries/s offered, default settings.
  bridge fanout-1x1000-r1500 fanout --clients 1000 --channels 1 --rate 1500 --size 200 --duration "$DUR" --drain-timeout 10s
  bridge overload-1000x20000 fanout --clients 1000 --channels 1 --rate 20000 --size 200 --duration 5s --drain-timeout 10s
  curl -fsS "http://127.0.0.1:$BPORT/metrics" | grep -E '^vent_bridge_(closed_total|redis_dropped_total)' \
    >"$OUT/budget-overload-metrics.txt" || true
  # Recovery: the same process, right after the overload, at half the budget rate.
  bridge overload-recovery fanout --clients 1000 --channels 1 --rate 500 --size 200 --duration 5s --drain-timeout 10s
  # The CPU budget with write coalescing (--write-delay 2ms: up to 2 ms more latency).
  stop_pid "$BRIDGE_PID"
  start_bridge --write-delay 2ms
  bridge fanout-1x1000-wd2ms fanout --clients 1000 --channels 1 --rate 1000 --size 200 --duration "$DUR" --drain-timeout 10s
  # A fresh bridge for the memory figure (its allocator keeps what the runs
  # above freed, which would hide the per-connection cost).
  stop_pid "$BRIDGE_PID"
  start_bridge
  bridge idle-$IDLE_MAX idle --clients $IDLE_MAX --channels $IDLE_MAX --duration 5s --connect-timeout 120s
fi

/usr/bin/python3 "$ROOT/bench/summarize.py" "$OUT"
