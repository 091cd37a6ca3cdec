#!/usr/bin/env bash
# Memory per idle subscribed connection in one process, each connection on its
# own channel (as BENCHMARKS.md's sweep), in one run:
#   1. vent-bridge, ws://   (vent-bench idle)
#   2. the Node `ws` baseline (bench/baseline/node_fanout.js), ws:// (vent-bench idle)
#   3. vent-bridge, wss://  (--tls-cert, P-256 self-signed; Node `ws` clients, bench/wss_idle.js)
# Each on a freshly started server (an allocator keeps what earlier runs
# freed); bytes per connection = RSS growth / connections. N defaults to
# 19,500 (the per-process open-file limit here is 20,000). Not a test.
# Writes bench/results/idle-memory.json.
#
#   bench/idle_memory.sh [N (19500)] [WSS_N (N)]
# Environment: VENT_BIN_DIR (default <repo>/build/bin, a Release build),
# VENT_BRIDGE_ARGS (extra vent-bridge flags, e.g. "--workers 1").
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VENT_BIN_DIR:-$ROOT/build/bin}
OUT=$ROOT/bench/results
N=${1:-19500}
WSS_N=${2:-$N}
export NODE_PATH=$ROOT/node_modules
ulimit -n "$(ulimit -Hn)"
if ((N + 200 > $(ulimit -n))); then
  echo "$N connections exceed the open-file limit $(ulimit -n)" >&2
  exit 2
fi
source "$ROOT/bench/lib.sh"
bench_start_redis
mkdir -p "$OUT"
read -r -a EXTRA <<<"${VENT_BRIDGE_ARGS:-}"

start_bridge() {  # start_bridge PORT [args...]; sets SPID
  local port=$1
  shift
  "$BIN/vent-bridge" --config "$ROOT/bench/config/bench.yaml" --redis "redis://127.0.0.1:$RPORT" \
    --listen "127.0.0.1:$port" --log-level warn "${EXTRA[@]}" "$@" >"$TMP/bridge-$port.log" 2>&1 &
  SPID=$!
  PIDS+=("$SPID")
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
idle() {  # idle LABEL PORT PID -> bytes per connection
  "$BIN/vent-bench" idle --url "ws://127.0.0.1:$2/websocket" --redis "redis://127.0.0.1:$RPORT" \
    --bridge-pid "$3" --clients "$N" --channels "$N" --duration 3s --connect-timeout 3m \
    --label "$1" --json "$TMP/$1.json" 2>"$TMP/$1.progress" >/dev/null ||
    { tail -5 "$TMP/$1.progress" >&2; exit 1; }
  /usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); \
print(r['ready'], round(r['bridge_bytes_per_connection']))" "$TMP/$1.json"
}

echo "== $N idle subscribed connections, each on its own channel" >&2
port=$(free_port)
start_bridge "$port"
wait_until 20 "vent-bridge" curl -fsS "http://127.0.0.1:$port/healthz"
read -r BR_READY BR_BYTES < <(idle bridge-ws "$port" "$SPID")
stop "$SPID"
echo "vent-bridge ws:   $BR_READY ready, $BR_BYTES B/conn" >&2

port=$(free_port)
node "$ROOT/bench/baseline/node_fanout.js" --port "$port" --redis-port "$RPORT" >"$TMP/node.log" 2>&1 &
NPID=$!
PIDS+=("$NPID")
wait_until 20 "node baseline" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
read -r NODE_READY NODE_BYTES < <(idle node-ws "$port" "$NPID")
stop "$NPID"
echo "Node ws baseline: $NODE_READY ready, $NODE_BYTES B/conn" >&2

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/key.pem" \
  -out "$TMP/cert.pem" -days 1 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
port=$(free_port)
start_bridge "$port" --tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem"
wait_until 20 "vent-bridge (TLS)" curl -fsSk "https://127.0.0.1:$port/healthz"
WSS=$(node "$ROOT/bench/wss_idle.js" "wss://127.0.0.1:$port/websocket" "$WSS_N" "$TMP/cert.pem" "$SPID")
stop "$SPID"
WSS_BYTES=$(/usr/bin/python3 -c "import json,sys; print(round(json.loads(sys.argv[1])['bytes_per_connection']))" "$WSS")
WSS_READY=$(/usr/bin/python3 -c "import json,sys; print(json.loads(sys.argv[1])['ready'])" "$WSS")
echo "vent-bridge wss:  $WSS_READY ready, $WSS_BYTES B/conn" >&2

/usr/bin/python3 - "$OUT/idle-memory.json" "$N" "$BR_READY" "$BR_BYTES" "$NODE_READY" "$NODE_BYTES" \
  "$WSS_N" "$WSS_READY" "$WSS_BYTES" "${VENT_BRIDGE_ARGS:-}" <<'PY'
import json, sys
out, n, br, bb, nr, nb, wn, wr, wb, extra = sys.argv[1:]
r = {"connections": int(n), "bridge_args": extra,
     "bridge_ws": {"ready": int(br), "bytes_per_connection": int(bb)},
     "node_ws_baseline": {"ready": int(nr), "bytes_per_connection": int(nb)},
     "bridge_wss": {"connections": int(wn), "ready": int(wr), "bytes_per_connection": int(wb)}}
json.dump(r, open(out, "w"), indent=2)
print(f"| {int(n):,} idle subscribed connections | B/conn | vs Node ws |")
print("|---|---:|---:|")
print(f"| vent-bridge ws:// | {int(bb):,} | {int(bb)/int(nb):.2f}x |")
print(f"| Node ws baseline ws:// | {int(nb):,} | 1.00x |")
print(f"| vent-bridge wss:// ({int(wn):,}) | {int(wb):,} | {int(wb)/int(nb):.2f}x |")
PY
