# Sweeps for the BENCHMARKS.md plots; sourced by `bench/run.sh --sweep` after
# it started Redis, vent-bridge and the Node baseline (not run on its own).
# Uses from run.sh: ROOT BIN OUT TMP QUICK THREADS RPORT BPORT NPORT FPORT
# BRIDGE_PID NODE_PID FLOOR_PID, start_bridge, start_node, stop_pid.
#
# Writes, each with a header and one row per point (bench/summarize.py
# sweep-row):
#   <out>/sweep-latency.csv  fan-out, 1 channel x 1,000 subscribers, 200-byte
#     events, at each offered rate: delivered/s, lost, p50/p99/p999, server
#     CPU-s per million deliveries, for the bridge, the Node baseline and the
#     floor (vent-floor). Per target, the rates go up until the first
#     saturated point (lost, < 90% delivered, or p99 > 1 s), which is kept.
#   <out>/sweep-idle.csv  idle subscribed connections (each on its own
#     channel) at each count, on a freshly started server each time (an
#     allocator keeps what earlier runs freed): RSS before/after, bytes per
#     connection. Counts above the open-file limit are skipped (said once).
#   <out>/sweep-env.txt  date, commit, CPUs, load average at start and end
#     (the machine may be shared: a high load means noisy points).
# Environment: VENT_SWEEP_RATES (events/s, default "10 25 50 100 250 500 750
# 1000 1500 2000 4000": the Node baseline saturates below 100 here),
# VENT_SWEEP_CONNS (default "1000 2000 5000 10000 19000"), VENT_SWEEP_DURATION
# (default 5s; --quick: 2s).
# shellcheck shell=bash

SWEEP_RATES=${VENT_SWEEP_RATES:-10 25 50 100 250 500 750 1000 1500 2000 4000}
SWEEP_CONNS=${VENT_SWEEP_CONNS:-1000 2000 5000 10000 19000}
SWEEP_DUR=${VENT_SWEEP_DURATION:-5s}
((QUICK)) && SWEEP_DUR=${VENT_SWEEP_DURATION:-2s}
LAT_CSV=$OUT/sweep-latency.csv
IDLE_CSV=$OUT/sweep-idle.csv
ENV_TXT=$OUT/sweep-env.txt
rm -f "$LAT_CSV" "$IDLE_CSV"
{
  echo "date: $(date -u +%FT%TZ)"
  echo "commit (HEAD of the tree; the binaries may be older): $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "vent-bridge binary: $BIN/vent-bridge, built $(date -u -r "$BIN/vent-bridge" +%FT%TZ)"
  echo "cpus: $(nproc) ($(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo))"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$ENV_TXT"

# sweep_point KIND TARGET CSV MODE ARGS...: one vent-bench run against TARGET
# (bridge|node|floor); appends its row to CSV; prints "ok", "saturated" or
# "failed".
sweep_point() {
  local kind=$1 target=$2 csv=$3 mode=$4
  shift 4
  local port=$BPORT pid=$BRIDGE_PID
  [[ $target == node ]] && { port=$NPORT; pid=$NODE_PID; }
  [[ $target == floor ]] && { port=$FPORT; pid=$FLOOR_PID; }
  rm -f "$TMP/point.json"
  if "$BIN/vent-bench" "$mode" --url "ws://127.0.0.1:$port/websocket" --redis "redis://127.0.0.1:$RPORT" \
    --bridge-pid "$pid" --threads "$THREADS" --label "sweep-$kind.$target" --json "$TMP/point.json" \
    "$@" 2>"$TMP/progress.log" >/dev/null && [[ -s $TMP/point.json ]]; then
    /usr/bin/python3 "$ROOT/bench/summarize.py" sweep-row "$kind" "$csv" "$TMP/point.json" "$target"
  else
    { tail -5 "$TMP/progress.log"; echo "  $target: vent-bench $mode $* failed"; } >&2
    echo failed
  fi
}

echo "== sweep 1/2: latency and CPU vs offered load (1 channel x 1,000 subscribers, 200 B, $SWEEP_DUR per point)" >&2
for target in bridge node floor; do
  for rate in $SWEEP_RATES; do
    state=$(sweep_point latency "$target" "$LAT_CSV" fanout --clients 1000 --channels 1 --rate "$rate" \
      --size 200 --duration "$SWEEP_DUR" --drain-timeout 10s)
    sleep 2  # let the target settle before the next point
    if [[ $state != ok ]]; then
      echo "  $target: $state at $rate events/s; not going higher" >&2
      break
    fi
  done
done

# The server and vent-bench each need one fd per connection (+ a few).
fd_limit() { awk '/open files/{print $4}' "/proc/$1/limits"; }
LIMIT=$(ulimit -Hn)
for pid in "$BRIDGE_PID" "$NODE_PID" $$; do
  l=$(fd_limit "$pid")
  [[ $l =~ ^[0-9]+$ ]] && ((l < LIMIT)) && LIMIT=$l
done
MAXCONN=$((LIMIT - 500))
echo "== sweep 2/2: memory vs idle connections (open-file hard limit $LIMIT per process:" \
  "at most $MAXCONN connections here; 50,000 is impossible on this machine)" >&2
for conns in $SWEEP_CONNS; do
  if ((conns > MAXCONN)); then
    echo "  skipping $conns connections (above $MAXCONN)" >&2
    continue
  fi
  for target in bridge node; do
    if [[ $target == bridge ]]; then stop_pid "$BRIDGE_PID"; start_bridge; else stop_pid "$NODE_PID"; start_node; fi
    sweep_point idle "$target" "$IDLE_CSV" idle --clients "$conns" --channels "$conns" --duration 2s \
      --connect-timeout 120s >/dev/null
    sleep 1
  done
done

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$ENV_TXT"
/usr/bin/python3 "$ROOT/bench/summarize.py" sweep "$OUT"
echo "wrote $LAT_CSV $IDLE_CSV $ENV_TXT (bench/plot.sh draws them)" >&2
