#!/usr/bin/env bash
# Test of docker-compose.yml without a container engine:
#  (a) `docker-compose config` (Debian's docker-compose v1, from scripts/deps.sh)
#      accepts the file, and the services, healthchecks and depends_on conditions
#      are the expected ones;
#  (b) compose_run.py runs each service's exact command + environment locally
#      (binaries from $VENT_BIN_DIR, service hosts -> 127.0.0.1, ports -> free
#      ports), waits on each compose healthcheck, then checks /healthz and that
#      emits (gRPC and the demo backend) reach a DDP client byte for byte.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v docker-compose >/dev/null; then
  echo "compose_test: docker-compose not found (scripts/deps.sh installs Debian's docker-compose)" >&2
  exit 1
fi
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
# No DOCKER_HOST or engine needed for `config`.
if ! docker-compose -f "$ROOT/docker-compose.yml" --project-directory "$ROOT" config >"$OUT"; then
  echo "compose_test: docker-compose config failed" >&2
  exit 1
fi
echo "compose_test: docker-compose config ok"
# Debian's python3 (yaml) even when another python3 comes first in PATH.
exec /usr/bin/python3 "$ROOT/docker/compose_run.py" "$OUT"
