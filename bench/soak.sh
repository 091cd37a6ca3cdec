#!/usr/bin/env bash
# Soak: churn against ONE vent-bridge (+ one Redis, + one vent-server for
# gRPC Emit) for N minutes, then check that the bridge and vent-server return
# to their baseline. Not a test: CI does not run the 30-minute soak; ctest
# runs only `--smoke` (label soak, bench_soak_smoke).
#
#   bench/soak.sh [--smoke] [--minutes N (30)] [--warmup-seconds S (60)] [--sample-seconds S (10)]
#                 [--conn-loops N (8)] [--sub-clients N (16)] [--login-clients N (8)]
#                 [--slow-clients N (4)] [--publish-rate PER_S (400)] [--emit-rate PER_S (40)]
#                 [--rooms N (200)] [--payload-bytes B (300)] [--firehose-bytes B (32768)]
#                 [--workers N (2)] [--settle-seconds S (60)] [--redis-kill-seconds S (120)]
#                 [--rss-tolerance-mib M (16)] [--rss-tolerance-pct P (25)]
#                 [--max-outgoing BYTES (262144)] [--json FILE]
#
# --smoke: a one-minute run with half the clients (--minutes 1
# --warmup-seconds 15 --sample-seconds 5 --redis-kill-seconds 20
# --conn-loops 4 --sub-clients 8 --login-clients 4 --slow-clients 2
# --publish-rate 200 --emit-rate 20); later flags override these.
#
# The load (bench/soak.js): connection churn (connect, pipelined subs, close
# cleanly / abruptly / before ready), sub/unsub churn on long-lived
# connections (incl. the pipelined sub(bad)/unsub/sub(good) triple and
# duplicate sub ids), login/logout with HS256 JWTs (a fifth of them expire
# while subscribed, --jwt-leeway 0s, so the bridge logs them out), slow
# clients that never read (closed 4008 past --max-outgoing), and publishing
# (Redis PUBLISH to rooms, users and a firehose; gRPC Emit/EmitBatch), and
# Redis reconnects (every --redis-kill-seconds, CLIENT KILL TYPE pubsub drops
# the bridge's subscriber connection; it reconnects and resubscribes).
# Every --sample-seconds one row: bridge and vent-server RSS and open fds, the
# gauges vent_bridge_connections / vent_bridge_subscriptions /
# vent_bridge_redis_channels, Redis' PUBSUB CHANNELS count and the sum of
# PUBSUB NUMSUB over them (the bridge is Redis' only subscriber here), the
# bridge's deliveries (vent_bridge_deliveries_total), the events the clients
# received, vent-server's vent_emit_events_total, and client errors.
#
# Baseline and verdict: a warm-up churn, then every client leaves and the
# baseline is sampled; after the main churn every client leaves again (the
# script waits up to 60 s for the gauges to reach 0) and the final sample is
# compared:
#  - connections, subscriptions, the bridge's Redis channel gauge, PUBSUB
#    CHANNELS and NUMSUB: exactly the baseline (0). They count live objects;
#    one left over is a leak (a subscription the session forgot, a channel
#    never unsubscribed).
#  - open fds of both processes: exactly the baseline. With no client the
#    bridge holds only its listeners, its worker event loops and one Redis
#    connection; vent-server the same plus the soak's one gRPC channel.
#  - RSS: at most max(16 MiB, 25%) above the baseline (--rss-tolerance-mib,
#    --rss-tolerance-pct). glibc's malloc keeps freed memory in each worker's
#    arena and the heap does not shrink below its highest live block, so RSS
#    after churn is not the idle RSS; the warm-up makes the baseline include
#    the same pools. What a leak looks like: the churn opens ~10^5 connections
#    and ~10^6 subscriptions in 30 minutes, so 100 bytes lost per subscription
#    is ~100 MiB, far past the tolerance. Same tolerance for vent-server.
#  - RSS under load is flat: the highest RSS in the last third of the churn
#    at most the tolerance above the highest in the first third (both
#    processes).
#  - vent-server counted exactly the Emits the client saw acknowledged, and
#    the bridge delivered events during the churn.
# Exit 0 on PASS, 1 on FAIL.
# Environment: VENT_BIN_DIR (default <repo>/build/bin; a Release build).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VENT_BIN_DIR:-$ROOT/build/bin}
WORKERS=2
MAX_OUTGOING=262144
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --workers) WORKERS=$2; shift 2 ;;
    --max-outgoing) MAX_OUTGOING=$2; shift 2 ;;
    --smoke) ARGS+=(--minutes 1 --warmup-seconds 15 --sample-seconds 5 --redis-kill-seconds 20
        --conn-loops 4 --sub-clients 8 --login-clients 4 --slow-clients 2
        --publish-rate 200 --emit-rate 20); shift ;;
    --help | -h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --*) [ $# -ge 2 ] || { echo "soak: $1 needs a value" >&2; exit 2; }
      ARGS+=("$1" "$2"); shift 2 ;;
    *) echo "soak: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
for b in vent-bridge vent-server; do
  [[ -x $BIN/$b ]] || { echo "missing $BIN/$b (set VENT_BIN_DIR)" >&2; exit 2; }
done
[ -d "$ROOT/node_modules/ws" ] || { echo "soak: run scripts/npm-deps.sh first" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)"

source "$ROOT/bench/lib.sh"
bench_start_redis
SECRET=$(head -c 24 /dev/urandom | base64)

cat >"$TMP/bridge.yaml" <<'YAML'
publications:
  room:
    params: { room: { type: string, pattern: "^r[0-9]{1,6}$" } }
    channels: ["soak::room::{room}"]
    auth: public
  user:
    channels: ["soak::user::{userId}::events"]
    auth: user
  firehose:
    channels: ["soak::firehose"]
    auth: public
YAML

GPORT=$(free_port)
SMPORT=$(free_port)
"$BIN/vent-server" --listen "127.0.0.1:$GPORT" --metrics-listen "127.0.0.1:$SMPORT" \
  --redis "redis://127.0.0.1:$RPORT" --log-level warn >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
BPORT=$(free_port)
VENT_BRIDGE_JWT_HS256_SECRET=$SECRET "$BIN/vent-bridge" --listen "127.0.0.1:$BPORT" \
  --redis "redis://127.0.0.1:$RPORT" --config "$TMP/bridge.yaml" --workers "$WORKERS" \
  --jwt-leeway 0s --max-outgoing "$MAX_OUTGOING" --log-level warn >"$TMP/bridge.log" 2>&1 &
BRIDGE_PID=$!
PIDS+=("$BRIDGE_PID")
wait_until 20 "vent-server" curl -fsS "http://127.0.0.1:$SMPORT/readyz" ||
  { cat "$TMP/server.log" >&2; exit 1; }
wait_until 20 "vent-bridge" curl -fsS "http://127.0.0.1:$BPORT/readyz" ||
  { cat "$TMP/bridge.log" >&2; exit 1; }

rc=0
NODE_PATH=$ROOT/node_modules node "$ROOT/bench/soak.js" --bridge-port "$BPORT" \
  --bridge-pid "$BRIDGE_PID" --server-pid "$SERVER_PID" --redis-port "$RPORT" \
  --server-metrics-port "$SMPORT" --grpc "127.0.0.1:$GPORT" --secret "$SECRET" "${ARGS[@]}" || rc=$?
if [ "$rc" != 0 ]; then
  echo "== vent-bridge log (last 20 lines)"; tail -20 "$TMP/bridge.log"
  echo "== vent-server log (last 20 lines)"; tail -20 "$TMP/server.log"
fi
exit "$rc"
