#!/usr/bin/env bash
# Test of scripts/up.sh (ctest up_script), on free ports with the binaries of
# $VENT_BIN_DIR (--no-build):
#  1. Ctrl-C as a terminal sends it (SIGINT to the whole process group): exit 0,
#     "== stopped", no "exited" complaint, every port closed.
#  2. One process dying on its own: up.sh names it on stderr, stops the rest,
#     exits 1.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VENT_BIN_DIR:-$ROOT/build/bin}
TMP=$(mktemp -d)
UP_PID=
cleanup() {
  if [ -n "$UP_PID" ] && kill -0 "$UP_PID" 2>/dev/null; then kill -TERM -- "-$UP_PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "up_test: FAIL: $*" >&2; for f in "$TMP"/*.out "$TMP"/*.err "$TMP"/run/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# up.sh --no-build reads $VENT_BUILD_DIR/bin.
BUILD_DIR=$(dirname "$BIN")

start_up() {  # start_up NAME: up.sh in its own session (its pid = its process group)
  local name=$1
  BP=$(free_port) GP=$(free_port) MP=$(free_port) DP=$(free_port) HP=$(free_port)
  # --default-signal: a background job of a script starts with SIGINT ignored,
  # which a shell cannot trap; a terminal's foreground job has it.
  env -u VENT_REDIS --default-signal=INT VENT_BUILD_DIR="$BUILD_DIR" setsid "$ROOT/scripts/up.sh" --no-build \
    --bridge-port "$BP" --grpc-port "$GP" --metrics-port "$MP" --http-port "$HP" --demo-port "$DP" \
    --run-dir "$TMP/run" \
    >"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null &
  UP_PID=$!
  for _ in $(seq 1 600); do  # 60 s deadline for "Vent is up"
    grep -q "== Vent is up" "$TMP/$name.out" 2>/dev/null && return 0
    kill -0 "$UP_PID" 2>/dev/null || fail "$name: up.sh exited before it was up"
    sleep 0.1
  done
  fail "$name: not up after 60 s"
}
wait_exit() {  # wait_exit: up.sh's exit status, 30 s deadline
  for _ in $(seq 1 300); do
    kill -0 "$UP_PID" 2>/dev/null || { wait "$UP_PID"; return $?; }
    sleep 0.1
  done
  fail "up.sh did not exit within 30 s"
}
closed() { ! curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/healthz" 2>/dev/null; }

# 1. Ctrl-C.
start_up ctrlc
curl -fsS -o /dev/null "http://127.0.0.1:$BP/healthz" || fail "bridge not serving"
curl -fsS -o /dev/null "http://127.0.0.1:$MP/healthz" || fail "vent-server not serving"
kill -INT -- "-$UP_PID"
set +e; wait_exit; rc=$?; set -e
UP_PID=
[ "$rc" = 0 ] || fail "Ctrl-C: exit status $rc, want 0"
grep -q "== stopped" "$TMP/ctrlc.out" || fail "Ctrl-C: no '== stopped'"
if grep -q "exited" "$TMP/ctrlc.err"; then fail "Ctrl-C: complained: $(cat "$TMP/ctrlc.err")"; fi
for p in "$BP" "$MP" "$DP"; do closed "$p" || fail "port $p still serving after Ctrl-C"; done
echo "up_test: Ctrl-C ok"

# 2. vent-bridge dies on its own.
start_up crash
BRIDGE=$(ps -o pid=,args= --ppid "$UP_PID" | awk '$2 ~ /vent-bridge$/ {print $1}')
[ -n "$BRIDGE" ] || fail "crash: vent-bridge not found among up.sh's children"
kill -KILL "$BRIDGE"
set +e; wait_exit; rc=$?; set -e
UP_PID=
[ "$rc" = 1 ] || fail "crash: exit status $rc, want 1"
grep -q "== vent-bridge exited" "$TMP/crash.err" || fail "crash: vent-bridge not named: $(cat "$TMP/crash.err")"
for p in "$MP" "$DP"; do closed "$p" || fail "port $p still serving after the crash"; done
echo "up_test: crash ok"
echo "up_test: 2 passed, 0 failed"
