#!/usr/bin/env bash
# Generates the committed Go stubs clients/go/ventv1/*.pb.go from
# proto/vent/v1/*.proto with Debian's protoc, protoc-gen-go and
# protoc-gen-go-grpc (clients/go/deps.sh installs them).
#   clients/go/gen.sh           # rewrite them
#   clients/go/gen.sh --check   # exit 1 (with a diff) if they are stale
# The proto's go_package ("vent/v1;ventv1") is remapped to this module's
# import path with M options, so proto/ needs no Go-specific change.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
MODULE=vent.dev/go
OUT=$HERE/ventv1
for tool in protoc protoc-gen-go protoc-gen-go-grpc; do
  command -v "$tool" >/dev/null || { echo "gen.sh: $tool not found; run clients/go/deps.sh" >&2; exit 1; }
done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
MAP=()
for p in vent/v1/vent.proto vent/v1/authorizer.proto; do MAP+=("M$p=$MODULE/ventv1;ventv1"); done
GO_OPTS=$(IFS=,; echo "${MAP[*]}")
protoc -I "$ROOT/proto" -I /usr/include \
  --go_out="$WORK" --go_opt=paths=source_relative,"$GO_OPTS" \
  --go-grpc_out="$WORK" --go-grpc_opt=paths=source_relative,"$GO_OPTS" \
  vent/v1/vent.proto vent/v1/authorizer.proto
# paths=source_relative puts them in vent/v1/; the package lives in ventv1/.
if [ "${1:-}" = "--check" ]; then
  if ! diff -ru "$WORK/vent/v1" "$OUT"; then
    echo "gen.sh: clients/go/ventv1 is stale; run clients/go/gen.sh" >&2
    exit 1
  fi
  echo "gen.sh: clients/go/ventv1 up to date with proto/"
  exit 0
fi
rm -f "$OUT"/*.pb.go
mkdir -p "$OUT"
cp "$WORK"/vent/v1/*.pb.go "$OUT/"
echo "gen.sh: wrote $(ls "$OUT" | tr '\n' ' ')"
