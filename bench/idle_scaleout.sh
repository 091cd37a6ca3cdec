#!/usr/bin/env bash
# 50,000 idle subscribed connections on this machine, the way an operator
# scales Vent: several vent-bridge processes sharing one Redis. One process
# cannot hold 50,000 here (the sandbox's hard open-file limit is 20,000 per
# process and cannot be raised without CAP_SYS_RESOURCE), so TOTAL is split
# over BRIDGES bridges, each loaded by its own vent-bench idle process (own
# fd budget too). Reports each bridge's memory per connection (RSS growth /
# connections) and the total. Writes bench/results/idle-scaleout-<i>.json.
# ~1-2 minutes. Not a test.
#
#   bench/idle_scaleout.sh [TOTAL (50000)] [BRIDGES (3)]
# Environment: VENT_BIN_DIR (default <repo>/build/bin, a Release build).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VENT_BIN_DIR:-$ROOT/build/bin}
OUT=$ROOT/bench/results
TOTAL=${1:-50000}
BRIDGES=${2:-3}
PER=$(((TOTAL + BRIDGES - 1) / BRIDGES))
for b in vent-bridge vent-bench; do
  [[ -x $BIN/$b ]] || { echo "missing $BIN/$b (set VENT_BIN_DIR)" >&2; exit 2; }
done
ulimit -n "$(ulimit -Hn)"
if ((PER + 100 > $(ulimit -n))); then
  echo "$PER connections per bridge exceed the open-file limit $(ulimit -n): use more bridges" >&2
  exit 2
fi
source "$ROOT/bench/lib.sh"
bench_start_redis
BPIDS=()
BPORTS=()
for ((i = 0; i < BRIDGES; i++)); do
  port=$(free_port)
  "$BIN/vent-bridge" --config "$ROOT/bench/config/bench.yaml" --redis "redis://127.0.0.1:$RPORT" \
    --listen "127.0.0.1:$port" --log-level warn >"$TMP/bridge-$i.log" 2>&1 &
  PIDS+=($!)
  BPIDS+=($!)
  BPORTS+=("$port")
  wait_until 20 "vent-bridge $i" curl -fsS "http://127.0.0.1:$port/healthz" ||
    { cat "$TMP/bridge-$i.log" >&2; exit 1; }
done
echo "== $TOTAL idle subscribed connections over $BRIDGES vent-bridge processes ($PER each)" >&2
LOADS=()
for ((i = 0; i < BRIDGES; i++)); do
  "$BIN/vent-bench" idle --url "ws://127.0.0.1:${BPORTS[$i]}/websocket" \
    --redis "redis://127.0.0.1:$RPORT" --bridge-pid "${BPIDS[$i]}" --clients "$PER" \
    --channels "$PER" --duration 10s --connect-timeout 3m --label "idle-scaleout-$i" \
    --json "$OUT/idle-scaleout-$i.json" 2>"$TMP/progress-$i.log" &
  LOADS+=($!)
done
fail=0
for p in "${LOADS[@]}"; do wait "$p" || fail=1; done
((fail == 0)) || { tail -5 "$TMP"/progress-*.log >&2; exit 1; }
/usr/bin/python3 - "$OUT" "$BRIDGES" <<'PY'
import json, sys
out, n = sys.argv[1], int(sys.argv[2])
rows = [json.load(open(f"{out}/idle-scaleout-{i}.json")) for i in range(n)]
ready = sum(r["ready"] for r in rows)
grow = sum(r["bridge_rss_after"] - r["bridge_rss_before"] for r in rows)
print(f"{'bridge':>6} {'ready':>7} {'B/conn':>7} {'RSS MiB':>8}")
for i, r in enumerate(rows):
    print(f"{i:>6} {r['ready']:>7} {r['bridge_bytes_per_connection']:>7.0f} "
          f"{r['bridge_rss_after'] / 2**20:>8.1f}")
print(f"total: {ready} ready connections, {grow / max(ready, 1):.0f} B of bridge memory per "
      f"connection (budget 4096), {sum(r['bridge_rss_after'] for r in rows) / 2**20:.1f} MiB "
      f"bridge RSS in all")
PY
