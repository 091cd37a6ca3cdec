#!/usr/bin/env bash
# History benchmark (docs/history.md): what keeping history costs, each
# figure against a baseline measured in the same run on the same processes.
# Starts its own redis-server, two vent-servers (OFF: no config; ON: --config
# with history on the benchmark channels) and two vent-bridges (OFF:
# bench/config/bench.yaml; ON: the same publication with history) on free
# 127.0.0.1 ports. Not a test: results depend on the machine.
#
#  1. Emit throughput: vent-emit-bench (unary Emit at 16/64 in flight,
#     EmitStream x4) on a history channel vs a channel without history of the
#     same vent-server, alternating OFF/ON for --rounds rounds; medians and
#     ON/OFF ratios of events/s and of CPU per event (vent-server +
#     redis-server, from /proc), the steadier figure on a shared machine.
#  2. Redis memory per 1,000 history events of 200 B: MEMORY USAGE of the
#     stream and meta keys, and INFO used_memory before/after (pub/sub
#     without history keeps nothing: the baseline is 0 bytes).
#  3. gRPC replay: events/s a Subscribe with since receives from a history
#     of --replay-events events, vs the same Subscribe receiving them live
#     (EmitStream into an open Subscribe) in the same run.
#  4. Fan-out: vent-bench fanout --via grpc through the OFF and the ON
#     stacks (the ON bridge parses envelopes and adds positions to frames),
#     alternating, bridge CPU-s per million deliveries and the ON/OFF ratio;
#     1 channel x 1,000 clients at 100 events/s and 2,000 channels x 1
#     client at 2,000 events/s (default; --fanout ARGS for one of your own).
# (Replay speed of the JS client: clients/js/bench/replay.mjs.)
#
#   bench/history.sh [--rounds 5] [--max-time 4s] [--fanout "--clients 1000 --channels 1 --rate 1000"]
#                    [--fanout-duration 8s] [--replay-events 20000] [--out DIR]
# Environment: VENT_BIN_DIR (default <repo>/build/bin; a Release build with
# vent-server, vent-bridge, vent-emit-bench, vent-bench).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VENT_BIN_DIR:-$ROOT/build/bin}
ROUNDS=5
MAX_TIME=4s
FANOUTS=("1x1000:--clients 1000 --channels 1 --rate 100" "2000x2000:--clients 2000 --channels 2000 --rate 2000")
FANOUT_DUR=8s
REPLAY_EVENTS=20000
OUT=$ROOT/bench/results
usage() { sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --max-time) MAX_TIME=$2; shift 2 ;;
    --fanout) FANOUTS=("custom:$2"); shift 2 ;;
    --fanout-duration) FANOUT_DUR=$2; shift 2 ;;
    --replay-events) REPLAY_EVENTS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 ;;
  esac
done
for b in vent-server vent-bridge vent-emit-bench vent-bench; do
  [[ -x $BIN/$b ]] || { echo "missing $BIN/$b (ninja -C build $b, or set VENT_BIN_DIR)" >&2; exit 2; }
done
CACHE=$BIN/../CMakeCache.txt
if [[ -f $CACHE ]] && ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$CACHE"; then
  echo "warning: $BIN is not a Release build; numbers will be pessimistic" >&2
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
mkdir -p "$OUT"

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_start_redis
rcli() { redis-cli -p "$RPORT" "$@"; }
REDIS_PID=${PIDS[0]}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # user + system CPU, 1/100 s

# The ON config: bench.yaml's publication with history, plus the emit and
# memory channels (vent-server reads only `history:`).
cat >"$TMP/history.yaml" <<'EOF'
publications:
  bench:
    params:
      ch: { type: string, pattern: "^[A-Za-z0-9_-]{1,64}$" }
    channels: ["bench::{ch}"]
    auth: public
    history: { size: 1000, ttl: 10m }
  emit:
    channels: ["hist::emit"]
    auth: public
    history: { size: 1000, ttl: 10m }
  mem:
    channels: ["hist::mem"]
    auth: public
    history: { size: 100000, ttl: 10m }
  replay:
    params: { r: { type: string } }
    channels: ["hist::replay::{r}"]
    auth: public
    history: { size: 100000, ttl: 10m }
EOF

start_server() {  # start_server NAME [FLAGS...] -> sets <NAME>_PORT
  local name=$1 port mport
  shift
  port=$(free_port); mport=$(free_port)
  "$BIN/vent-server" --listen "127.0.0.1:$port" --redis "redis://127.0.0.1:$RPORT" \
    --metrics-listen "127.0.0.1:$mport" --http-listen "" --log-level warn "$@" \
    >"$TMP/server-$name.log" 2>&1 &
  PIDS+=($!)
  printf -v "${name}_PID" '%s' "$!"
  wait_until 20 "vent-server $name" curl -fsS "http://127.0.0.1:$mport/readyz" ||
    { cat "$TMP/server-$name.log" >&2; exit 1; }
  printf -v "${name}_PORT" '%s' "$port"
}
start_bridge() {  # start_bridge NAME CONFIG -> sets <NAME>_BPORT, <NAME>_BPID
  local name=$1 config=$2 port
  port=$(free_port)
  "$BIN/vent-bridge" --config "$config" --redis "redis://127.0.0.1:$RPORT" \
    --listen "127.0.0.1:$port" --log-level warn >"$TMP/bridge-$name.log" 2>&1 &
  PIDS+=($!)
  printf -v "${name}_BPID" '%s' "$!"
  wait_until 20 "vent-bridge $name" curl -fsS "http://127.0.0.1:$port/healthz" ||
    { cat "$TMP/bridge-$name.log" >&2; exit 1; }
  printf -v "${name}_BPORT" '%s' "$port"
}
start_server OFF
# (A live reader in part 3 may fall a whole round behind: room for it.)
start_server ON --config "$TMP/history.yaml" --subscribe-queue 1000000 --subscribe-queue-bytes 512MiB \
  --subscribe-memory 1GiB
echo "== redis :$RPORT, vent-server OFF :$OFF_PORT, ON :$ON_PORT" >&2

PAYLOAD200=$(/usr/bin/python3 -c 'import json; print(json.dumps({"type":"msg","text":"x"*170}, separators=(",",":")))')

# ---------------------------------------------------------------- 1. emit
SCEN=unary-c16,unary-c64,stream-4
for ((r = 1; r <= ROUNDS; r++)); do
  for mode in OFF ON; do
    ch=plain::emit; [[ $mode == ON ]] && ch=hist::emit  # plain::emit: no publication covers it
    echo "== emit round $r $mode ($ch)" >&2
    for sc in ${SCEN//,/ }; do
      rcli CONFIG RESETSTAT >/dev/null
      s0=$(ticks "$ON_PID"); r0=$(ticks "$REDIS_PID")
      "$BIN/vent-emit-bench" --target "127.0.0.1:$ON_PORT" --channel "$ch" --payload "$PAYLOAD200" \
        --scenarios "$sc" --events 2000000 --max-time "$MAX_TIME" \
        --out "$TMP/emit-$mode-$r-$sc.json" >/dev/null
      # Redis' own time in the publish commands (PUBLISH / EVAL), less
      # disturbed by the machine's load than its process CPU.
      usec=$(rcli INFO commandstats | sed -n 's/^cmdstat_\(publish\|eval\|evalsha\):calls=[0-9]*,usec=\([0-9]*\),.*/\2/p' |
        awk '{t += $1} END {print t + 0}')
      echo "$(($(ticks "$ON_PID") - s0)) $(($(ticks "$REDIS_PID") - r0)) $usec" >"$TMP/emit-$mode-$r-$sc.cpu"
    done
  done
done

# ---------------------------------------------------------------- 2. memory
rcli DEL vent:{hist::mem}:h:hist::mem vent:{hist::mem}:m:hist::mem >/dev/null
before=$(rcli INFO memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
"$BIN/vent-emit-bench" --target "127.0.0.1:$ON_PORT" --channel hist::mem --payload "$PAYLOAD200" \
  --scenarios stream-1 --events 10000 --max-time 60s --out "$TMP/mem.json" >/dev/null
after=$(rcli INFO memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
mem_events=$(rcli XLEN vent:{hist::mem}:h:hist::mem)
mem_stream=$(rcli MEMORY USAGE vent:{hist::mem}:h:hist::mem SAMPLES 0)
mem_meta=$(rcli MEMORY USAGE vent:{hist::mem}:m:hist::mem SAMPLES 0)

# ---------------------------------------------------------------- 3. gRPC replay
# history_replay.js: Subscribe since (0, "") on REPLAY_EVENTS events vs live.
node "$ROOT/bench/history_replay.js" "127.0.0.1:$ON_PORT" hist::replay \
  "$REPLAY_EVENTS" "$ROUNDS" "$PAYLOAD200" >"$TMP/replay.json"

# ---------------------------------------------------------------- 4. fan-out
start_bridge OFF "$ROOT/bench/config/bench.yaml"
start_bridge ON "$TMP/history.yaml"
for f in "${FANOUTS[@]}"; do
  fname=${f%%:*}; fargs=${f#*:}
  for ((r = 1; r <= ROUNDS; r++)); do
    for mode in OFF ON; do
      bport_var=${mode}_BPORT; bpid_var=${mode}_BPID; sport_var=${mode}_PORT
      echo "== fanout $fname round $r $mode" >&2
      # shellcheck disable=SC2086
      "$BIN/vent-bench" fanout --url "ws://127.0.0.1:${!bport_var}/websocket" --via grpc \
        --grpc "127.0.0.1:${!sport_var}" --bridge-pid "${!bpid_var}" $fargs --size 200 \
        --duration "$FANOUT_DUR" --drain-timeout 10s --label "history-$fname-$mode-$r" \
        --json "$TMP/fanout-$fname-$mode-$r.json" >/dev/null
    done
  done
done
FANOUT_NAMES=$(printf '%s\n' "${FANOUTS[@]}" | cut -d: -f1 | paste -sd,)

# ---------------------------------------------------------------- report
/usr/bin/python3 - "$TMP" "$ROUNDS" "$mem_events" "$mem_stream" "$mem_meta" "$before" "$after" \
  "$OUT/history.json" "$FANOUT_NAMES" <<'EOF'
import json, statistics, sys
tmp, rounds = sys.argv[1], int(sys.argv[2])
mem_events, mem_stream, mem_meta, before, after = map(int, sys.argv[3:8])
out = sys.argv[8]
fanouts = sys.argv[9].split(",")
med = statistics.median
res = {"emit": {}, "fanout": {}}
print("\n1. Emit, history ON vs OFF (same vent-server and Redis, 200 B events): events/s; CPU"
      " per event (vent-server + redis-server processes, us); Redis command time per event (us)")
print(f"{'scenario':10} {'OFF ev/s':>9} {'ON ev/s':>9} {'ratio':>6} | {'OFF cpu':>8} {'ON cpu':>8}"
      f" {'ratio':>6} | {'OFF cmd':>7} {'ON cmd':>7}")
for name in ("unary-c16", "unary-c64", "stream-4"):
    rates, cpu, srv, red, cmd = {}, {}, {}, {}, {}
    for mode in ("OFF", "ON"):
        rates[mode], cpu[mode], srv[mode], red[mode] = [], [], [], []
        for r in range(1, rounds + 1):
            sc = json.load(open(f"{tmp}/emit-{mode}-{r}-{name}.json"))["scenarios"][0]
            s_ticks, r_ticks, usec = map(int, open(f"{tmp}/emit-{mode}-{r}-{name}.cpu").read().split())
            cmd.setdefault(mode, []).append(usec / sc["events"])
            rates[mode].append(sc["events_per_sec"])
            srv[mode].append(s_ticks * 1e4 / sc["events"])
            red[mode].append(r_ticks * 1e4 / sc["events"])
            cpu[mode].append((s_ticks + r_ticks) * 1e4 / sc["events"])
    off, on = med(rates["OFF"]), med(rates["ON"])
    coff, con = med(cpu["OFF"]), med(cpu["ON"])
    res["emit"][name] = {"events_per_s": rates, "cpu_us_per_event": cpu, "server_us": srv,
                         "redis_us": red, "redis_command_us": cmd, "rate_ratio": on / off,
                         "cpu_ratio": con / coff}
    print(f"{name:10} {off:9.0f} {on:9.0f} {on / off:6.2f} | {coff:8.1f} {con:8.1f} {con / coff:6.2f} |"
          f" {med(cmd['OFF']):7.2f} {med(cmd['ON']):7.2f}")
per1k = (mem_stream + mem_meta) * 1000 / mem_events
used1k = (after - before) * 1000 / mem_events
res["memory"] = {"events": mem_events, "stream_bytes": mem_stream, "meta_bytes": mem_meta,
                 "bytes_per_1000_events": per1k, "used_memory_delta_per_1000": used1k}
print(f"\n2. Redis memory, {mem_events} history events of 200 B in one channel:")
print(f"   MEMORY USAGE stream {mem_stream} B + meta {mem_meta} B = {per1k / 1000:.0f} B/event,"
      f" {per1k / 1024:.0f} KiB per 1,000 events (INFO used_memory delta: {used1k / 1024:.0f} KiB"
      f" per 1,000); without history: 0")
rep = json.load(open(f"{tmp}/replay.json"))
res["replay"] = rep
print(f"\n3. gRPC Subscribe replay of {rep['events']} events (200 B):"
      f" {med(rep['replay_per_s']):.0f} events/s (since) vs {med(rep['live_per_s']):.0f} events/s live"
      f" (ratio {med(rep['replay_per_s']) / med(rep['live_per_s']):.2f}); rounds"
      f" {[round(x) for x in rep['replay_per_s']]} / {[round(x) for x in rep['live_per_s']]}")
print("\n4. Fan-out through vent-bridge, history ON vs OFF (vent-bench fanout --via grpc, 200 B)")
for fname in fanouts:
    cpu = {}
    res["fanout"][fname] = {}
    for mode in ("OFF", "ON"):
        runs = [json.load(open(f"{tmp}/fanout-{fname}-{mode}-{r}.json")) for r in range(1, rounds + 1)]
        cpu[mode] = [x["bridge_cpu_s_per_million"] for x in runs]
        res["fanout"][fname][mode] = [{k: x.get(k) for k in (
            "delivered", "lost", "duplicates", "delivered_per_s", "bridge_cpu_s_per_million",
            "latency_us")} for x in runs]
        bad = sum(x["lost"] + x["duplicates"] for x in runs)
        print(f"   {fname} {mode:3}: bridge CPU-s per million deliveries {med(cpu[mode]):.2f} (rounds"
              f" {', '.join(f'{c:.2f}' for c in cpu[mode])}), p50 latency"
              f" {med([x['latency_us']['p50'] for x in runs]):.0f} us, lost+dup {bad}")
    ratio = med(cpu["ON"]) / med(cpu["OFF"])
    res["fanout"][fname]["cpu_ratio"] = ratio
    print(f"   {fname} CPU per delivery ON/OFF: {ratio:.3f} ({(ratio - 1) * 100:+.1f}%)")
json.dump(res, open(out, "w"), indent=1)
print(f"\nwrote {out}")
EOF
