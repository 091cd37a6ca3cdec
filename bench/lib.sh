# Shared by the bench scripts (source it): free ports, deadline waits, a temp
# folder and child processes cleaned up on exit, a private redis-server.
#   free_port                      -> prints a free 127.0.0.1 port
#   wait_until SECONDS WHAT CMD... -> polls CMD every 50 ms until it succeeds
#   bench_start_redis              -> starts redis-server on RPORT (set here)
# Children started by the caller should be appended to PIDS.

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_until() {  # wait_until SECONDS WHAT CMD...
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "timed out waiting for $what" >&2; return 1; }
    sleep 0.05
  done
}

TMP=$(mktemp -d /tmp/vent-bench.XXXXXX)
PIDS=()
bench_cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_start_redis() {
  RPORT=$(free_port)
  /usr/bin/redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$TMP" \
    >"$TMP/redis.log" 2>&1 &
  PIDS+=($!)
  wait_until 20 "redis" sh -c "redis-cli -p $RPORT ping | grep -q PONG" ||
    { cat "$TMP/redis.log" >&2; exit 1; }
}
