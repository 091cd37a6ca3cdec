#!/usr/bin/env bash
# Brings the whole Vent stack up on this machine, in the foreground:
#   installs what is missing (Debian packages, npm lockfile), builds (Release,
#   ccache), starts a private redis-server unless VENT_REDIS is set, then
#   vent-server (gRPC), vent-bridge (DDP/WebSocket + the demo page).
# Ctrl-C (or SIGTERM) stops everything it started and exits 0; if one of the
# processes exits on its own, the script says which, stops the rest and exits 1.
#
#   scripts/up.sh [--no-build] [--bridge-port N] [--grpc-port N]
#                 [--metrics-port N] [--http-port N] [--demo-port N]
#                 [--run-dir DIR]
# --no-build: use the binaries already in $VENT_BUILD_DIR/bin (no apt, npm or
# cmake). Ports default to 3000, 50051, 9464, 8080 (vent-server's HTTP emit
# API), 3001; logs go to .run/.
# Environment: VENT_REDIS (use this Redis instead of a private one),
# VENT_BUILD_DIR (build).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# ccache: paths relative to the checkout, so any clone reuses the cache.
export CCACHE_BASEDIR=$ROOT CCACHE_NOHASHDIR=1
BUILD=${VENT_BUILD_DIR:-build}
RUN=$ROOT/.run
BUILD_STEP=1
BRIDGE_PORT=3000 GRPC_PORT=50051 METRICS_PORT=9464 HTTP_PORT=8080 DEMO_PORT=3001
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) BUILD_STEP=0 ;;
    --bridge-port) BRIDGE_PORT=$2; shift ;;
    --grpc-port) GRPC_PORT=$2; shift ;;
    --metrics-port) METRICS_PORT=$2; shift ;;
    --http-port) HTTP_PORT=$2; shift ;;
    --demo-port) DEMO_PORT=$2; shift ;;
    --run-dir) RUN=$2; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "up.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$RUN"

if [ "$BUILD_STEP" = 1 ]; then
  scripts/deps.sh
  scripts/npm-deps.sh
  echo "== build (${BUILD})"
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" -j "$(nproc)" --target vent-server vent-bridge vent
fi

pids=()
names=()
logs=()
stopped=0
stop_all() {
  [ "$stopped" = 1 ] && return
  stopped=1
  echo; echo "== stopping"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
# Ctrl-C / SIGTERM / SIGHUP: a normal stop, exit 0.
on_signal() {
  trap - INT TERM HUP
  stop_all
  echo "== stopped"
  exit 0
}
trap on_signal INT TERM HUP
trap stop_all EXIT
# start NAME LOG CMD...: runs CMD in the background in its own session, so a
# Ctrl-C reaches only this script, which then stops everything (were the
# children in the terminal's process group, they would die of the same Ctrl-C
# and race the trap: "a process exited" on a normal stop).
start() {
  local name=$1 log=$2
  shift 2
  setsid "$@" >"$log" 2>&1 </dev/null &
  pids+=($!)
  names+=("$name")
  logs+=("$log")
}

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
  start redis-server "$RUN/redis.log" \
    redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$RUN"
  export VENT_REDIS="redis://127.0.0.1:$RPORT"
  for _ in $(seq 1 100); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  echo "== private redis-server on 127.0.0.1:$RPORT"
fi

GRPC=127.0.0.1:$GRPC_PORT
METRICS=127.0.0.1:$METRICS_PORT
HTTP=127.0.0.1:$BRIDGE_PORT
DEMO=127.0.0.1:$DEMO_PORT
# Both binaries read config/vent.yaml (shared keys + their own section); the
# flags here override its addresses.
start vent-server "$RUN/server.log" \
  "$BUILD/bin/vent-server" --config config/vent.yaml --listen "$GRPC" --metrics-listen "$METRICS" \
  --http-listen "127.0.0.1:$HTTP_PORT"
wait_http "http://$METRICS/healthz" vent-server
STATIC=()
[ -d demo/public ] && STATIC=(--static-dir "$ROOT/demo/public")
start vent-bridge "$RUN/bridge.log" \
  "$BUILD/bin/vent-bridge" --config config/vent.yaml --listen "$HTTP" "${STATIC[@]}"
wait_http "http://$HTTP/healthz" vent-bridge
if [ -f demo/backend.js ]; then
  start demo "$RUN/demo.log" env VENT_SERVER="$GRPC" \
    node demo/backend.js --listen "$DEMO" --bridge "http://$HTTP"
  wait_http "http://$DEMO/healthz" demo
fi

cat <<MSG
== Vent is up (logs in $RUN/)
   Redis         $VENT_REDIS
   vent-server   gRPC $GRPC   HTTP emit http://127.0.0.1:$HTTP_PORT/v1/emit   metrics http://$METRICS/metrics
   vent-bridge   ws://$HTTP/websocket   http://$HTTP/   metrics http://$HTTP/metrics
   Demo:         http://$HTTP/  (chat.html?thread=t1 in two windows, payment.html)
   Emit:         $BUILD/bin/vent emit --server $GRPC 'threads::t1::new_message' '{"message":"Hello!"}'
   Listen:       $BUILD/bin/vent listen --server $GRPC 'threads::t1::new_message'
Ctrl-C stops everything.
MSG
[ "$DEMO_PORT" = 3001 ] || echo "   (demo backend on $DEMO: open the pages with ?backend=http://$DEMO)"
# Returns when one process exits on its own (a signal to this script runs
# on_signal instead, which exits 0).
set +e
wait -n "${pids[@]}"
status=$?
set -e
for i in "${!pids[@]}"; do
  if ! kill -0 "${pids[$i]}" 2>/dev/null; then
    echo "== ${names[$i]} exited (status $status); see ${logs[$i]}" >&2
    break
  fi
done
exit 1
