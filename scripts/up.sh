#!/usr/bin/env bash
# Brings the whole Vent stack up on this machine, in the foreground:
#   installs what is missing (Debian packages, npm lockfile), builds (Release,
#   ccache), starts a private redis-server unless VENT_REDIS is set, then
#   vent-server (gRPC), vent-bridge (DDP/WebSocket + the demo page).
# Ctrl-C stops everything it started.
#
# Environment: VENT_REDIS (use this Redis instead of a private one),
# VENT_BRIDGE_PORT (3000), VENT_GRPC_PORT (50051), VENT_METRICS_PORT (9464),
# VENT_BUILD_DIR (build).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# ccache: paths relative to the checkout, so any clone reuses the cache.
export CCACHE_BASEDIR=$ROOT CCACHE_NOHASHDIR=1
BUILD=${VENT_BUILD_DIR:-build}
RUN=$ROOT/.run
mkdir -p "$RUN"

scripts/deps.sh
scripts/npm-deps.sh
echo "== build (${BUILD})"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target vent-server vent-bridge vent

pids=()
cleanup() {
  trap - EXIT INT TERM
  echo; echo "== stopping"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

wait_http() {  # wait_http URL NAME: poll until 200, 20 s deadline
  for _ in $(seq 1 200); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "$2 did not become ready at $1; see $RUN/*.log" >&2
  exit 1
}

if [ -z "${VENT_REDIS:-}" ]; then
  RPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$RUN" \
    >"$RUN/redis.log" 2>&1 &
  pids+=($!)
  export VENT_REDIS="redis://127.0.0.1:$RPORT"
  for _ in $(seq 1 100); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  echo "== private redis-server on 127.0.0.1:$RPORT"
fi

GRPC=127.0.0.1:${VENT_GRPC_PORT:-50051}
METRICS=127.0.0.1:${VENT_METRICS_PORT:-9464}
HTTP=127.0.0.1:${VENT_BRIDGE_PORT:-3000}
"$BUILD/bin/vent-server" --listen "$GRPC" --metrics-listen "$METRICS" >"$RUN/server.log" 2>&1 &
pids+=($!)
wait_http "http://$METRICS/healthz" vent-server
STATIC=()
[ -d demo/public ] && STATIC=(--static-dir "$ROOT/demo/public")
"$BUILD/bin/vent-bridge" --listen "$HTTP" --config config/vent.yaml "${STATIC[@]}" \
  >"$RUN/bridge.log" 2>&1 &
pids+=($!)
wait_http "http://$HTTP/healthz" vent-bridge
if [ -f demo/backend.js ]; then
  VENT_SERVER="$GRPC" node demo/backend.js --bridge "http://$HTTP" >"$RUN/demo.log" 2>&1 &
  pids+=($!)
fi

cat <<MSG
== Vent is up (logs in $RUN/)
   Redis         $VENT_REDIS
   vent-server   gRPC $GRPC   metrics http://$METRICS/metrics
   vent-bridge   ws://$HTTP/websocket   http://$HTTP/   metrics http://$HTTP/metrics
   Demo:         http://$HTTP/  (chat.html?thread=t1 in two windows, payment.html)
   Emit:         $BUILD/bin/vent emit --server $GRPC 'threads::t1::new_message' '{"message":"Hello!"}'
   Listen:       $BUILD/bin/vent listen --server $GRPC 'threads::t1::new_message'
Ctrl-C stops everything.
MSG
wait -n "${pids[@]}"
echo "a process exited; see $RUN/*.log" >&2
