#!/usr/bin/env bash
# Test of docker-compose.cluster.yml without a container engine: (a)
# `docker-compose config` accepts the file; (b) compose_cluster_run.py checks
# its structure and runs every service's exact command and environment
# locally (a real 3+3 Redis Cluster, 2 vent-servers, 2 vent-bridges, the lb),
# then checks that events reach DDP clients through the lb from both servers.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v docker-compose >/dev/null; then
  echo "compose_cluster_test: docker-compose not found (scripts/deps.sh installs Debian's docker-compose)" >&2
  exit 1
fi
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
if ! docker-compose -f "$ROOT/docker-compose.cluster.yml" --project-directory "$ROOT" config >"$OUT"; then
  echo "compose_cluster_test: docker-compose config failed" >&2
  exit 1
fi
echo "compose_cluster_test: docker-compose config ok"
exec /usr/bin/python3 "$ROOT/docker/compose_cluster_run.py" "$OUT"
