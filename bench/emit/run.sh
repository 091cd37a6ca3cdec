#!/usr/bin/env bash
# Emit benchmark: starts its own redis-server and vent-server on free ports,
# measures the Redis PUBLISH baseline with redis-benchmark, then runs
# vent-emit-bench (unary Emit at 1/16/64 callers, EmitBatch of 100/1000,
# EmitStream) and the HTTP emit API with wrk (POST /v1/emit, one event per
# request, 1/16/64 connections), and reports each rate as events/s and as a
# ratio to the baseline (HTTP also to unary gRPC Emit at the same
# concurrency). Not a test: results depend on the machine. See README.md.
#
#   bench/emit/run.sh [--events N] [--max-time 10s] [--out FILE] [--scenarios a,b]
#                     [--baseline-n N] [--http-conns 1,16,64 | --no-http]
# Environment: VENT_BIN_DIR (default <repo>/build/bin; use a Release build).
# The HTTP part needs wrk (Debian: apt-get install wrk).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${VENT_BIN_DIR:-$ROOT/build/bin}
EVENTS=500000
MAX_TIME=10s
OUT=$ROOT/bench/results/emit.json
SCENARIOS=unary-c1,unary-c16,unary-c64,batch-100,batch-1000,stream-1,stream-4,stream-1x1
BASELINE_N=1000000
HTTP_CONNS=1,16,64
PAYLOAD='{"type":"new_message","thread":"t1","user":"u42","text":"hello from the emit benchmark","n":12345}'
CHANNEL='bench::emit'

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --events) EVENTS=$2; shift 2 ;;
    --max-time) MAX_TIME=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --scenarios) SCENARIOS=$2; shift 2 ;;
    --baseline-n) BASELINE_N=$2; shift 2 ;;
    --http-conns) HTTP_CONNS=$2; shift 2 ;;
    --no-http) HTTP_CONNS=; shift ;;
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
if [[ -n $HTTP_CONNS ]] && ! command -v wrk >/dev/null; then
  echo "the HTTP scenarios need wrk: apt-get install wrk (or pass --no-http)" >&2
  exit 2
fi
CACHE=$BIN/../CMakeCache.txt
if [[ -f $CACHE ]] && ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$CACHE"; then
  echo "warning: $BIN is not a Release build; numbers will be pessimistic" >&2
fi

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_start_redis
GPORT=$(free_port)
MPORT=$(free_port)
HPORT=$(free_port)
echo "== redis-server on 127.0.0.1:$RPORT" >&2

echo "== starting vent-server on 127.0.0.1:$GPORT (metrics $MPORT)" >&2
HTTP_ARGS=()
[[ -z $HTTP_CONNS ]] || HTTP_ARGS=(--http-listen "127.0.0.1:$HPORT")
"$BIN/vent-server" --listen "127.0.0.1:$GPORT" --redis "redis://127.0.0.1:$RPORT" \
  --metrics-listen "127.0.0.1:$MPORT" "${HTTP_ARGS[@]}" >"$TMP/vent-server.log" 2>&1 &
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
[[ $STATUS -eq 0 && -n $HTTP_CONNS ]] || exit $STATUS

# HTTP emit API: wrk POSTs the same event, one per request, keep-alive.
cat >"$TMP/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"channel":"$CHANNEL","data":$PAYLOAD}'
LUA
: >"$TMP/http.tsv"
for c in ${HTTP_CONNS//,/ }; do
  t=$((c < 2 ? c : 2))
  echo "== http-c$c (POST /v1/emit, $c connections, wrk -t$t), $MAX_TIME" >&2
  wrk -t"$t" -c"$c" -d"$MAX_TIME" --latency -s "$TMP/post.lua" \
    "http://127.0.0.1:$HPORT/v1/emit" >"$TMP/wrk-$c.txt" 2>&1 || true
  if grep -q 'Non-2xx' "$TMP/wrk-$c.txt" || ! grep -q 'Requests/sec' "$TMP/wrk-$c.txt"; then
    echo "http-c$c failed:" >&2
    cat "$TMP/wrk-$c.txt" >&2
    exit 1
  fi
  sed 's/^/   /' "$TMP/wrk-$c.txt" | grep -E 'Requests/sec|requests in|Latency ' >&2
  printf '%s\t%s\n' "$c" "$TMP/wrk-$c.txt" >>"$TMP/http.tsv"
done
python3 - "$OUT" "$TMP/http.tsv" "$BASE" <<'PY'
import json, re, sys
out, tsv, base = sys.argv[1], sys.argv[2], float(sys.argv[3])
data = json.load(open(out))
unary = {s["name"]: s for s in data.get("scenarios", [])}
def ms(text, pct):
    m = re.search(r"^\s*%d%%\s+([\d.]+)(us|ms|s)\s*$" % pct, text, re.M)
    if not m: return None
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
rows = []
for line in open(tsv):
    c, path = line.split()
    text = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    u = unary.get(f"unary-c{c}", {})
    urps = u.get("events_per_sec")
    rows.append({"name": f"http-c{c}", "connections": int(c), "events_per_sec": round(rps),
                 "ratio_to_redis_publish_p64": round(rps / base, 4),
                 "vs_unary_grpc": round(rps / urps, 3) if urps else None,
                 "latency_p50_ms": ms(text, 50), "latency_p99_ms": ms(text, 99)})
data["http"] = rows
json.dump(data, open(out, "w"), indent=2)
print("\nHTTP emit API (POST /v1/emit, one event per request, keep-alive, wrk)")
print(f"{'scenario':<10}  {'events/s':>9}  {'vs P64':>7}  {'vs gRPC Emit':>12}  {'p50 ms':>7}  {'p99 ms':>7}")
for r in rows:
    vu = f"{r['vs_unary_grpc']:.2f}x" if r["vs_unary_grpc"] else "n/a"
    p50 = f"{r['latency_p50_ms']:.3f}" if r["latency_p50_ms"] is not None else "n/a"
    p99 = f"{r['latency_p99_ms']:.3f}" if r["latency_p99_ms"] is not None else "n/a"
    print(f"{r['name']:<10}  {r['events_per_sec']:>9}  {r['ratio_to_redis_publish_p64']:>6.3f}x  {vu:>12}  {p50:>7}  {p99:>7}")
PY
