#!/usr/bin/env bash
# Builds clients/go/main.go into OUT (default: ./vent-go-example) offline with
# Debian's Go packages (see README.md): GOPATH mode over /usr/share/gocode,
# vent/v1 stubs generated at build time by protoc + protoc-gen-go(-grpc).
#   clients/go/build.sh [OUT]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-$PWD/vent-go-example}
case "$OUT" in /*) ;; *) OUT=$PWD/$OUT ;; esac
for tool in go protoc protoc-gen-go protoc-gen-go-grpc; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool not found; run clients/go/deps.sh" >&2; exit 1; }
done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/gopath/src/vent/v1" "$WORK/gopath/src/vent-go-example"
# go_package "vent/v1;ventv1": generated files land in $GOPATH/src/vent/v1.
protoc -I "$ROOT/proto" -I /usr/include \
  --go_out="$WORK/gopath/src" --go_opt=paths=import \
  --go-grpc_out="$WORK/gopath/src" --go-grpc_opt=paths=import \
  "$ROOT/proto/vent/v1/vent.proto"
cp "$HERE/main.go" "$WORK/gopath/src/vent-go-example/"
cd "$WORK/gopath/src/vent-go-example"
# Go's build cache (default ~/.cache/go-build) makes rebuilds fast: the Debian
# sources under /usr/share/gocode do not change between builds.
CACHE=${GOCACHE:-}
if [ -z "$CACHE" ]; then
  if [ -n "${HOME:-}" ] && mkdir -p "$HOME/.cache/go-build" 2>/dev/null; then
    CACHE=$HOME/.cache/go-build
  else
    CACHE=$WORK/cache
  fi
fi
GO111MODULE=off GOPROXY=off GOFLAGS= GOPATH="$WORK/gopath:/usr/share/gocode" \
  GOCACHE="$CACHE" go build -o "$OUT" .
echo "built $OUT"
