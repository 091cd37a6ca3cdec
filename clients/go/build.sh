#!/usr/bin/env bash
# Builds the Go module in clients/go (vent.dev/go) offline with Debian's Go
# packages (see README.md): GOPATH mode over /usr/share/gocode with a copy of
# the module at $GOPATH/src/vent.dev/go, the committed stubs in ventv1/.
#   clients/go/build.sh [OUT]         # go vet ./... and build cmd/vent-go-example into OUT
#                                     # (default ./vent-go-example)
#   clients/go/build.sh go ARGS...    # any go command in that GOPATH, from the module's
#                                     # root (e.g. go test -tags integration ./vent)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
command -v go >/dev/null || { echo "build.sh: go not found; run clients/go/deps.sh" >&2; exit 1; }
OUT=
if [ "${1:-}" != go ]; then
  OUT=${1:-$PWD/vent-go-example}
  case "$OUT" in /*) ;; *) OUT=$PWD/$OUT ;; esac
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
MOD=$WORK/gopath/src/vent.dev/go
mkdir -p "$MOD"
cp -r "$HERE"/go.mod "$HERE"/vent "$HERE"/ventv1 "$HERE"/cmd "$MOD/"
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
export GO111MODULE=off GOPROXY=off GOFLAGS= GOPATH="$WORK/gopath:/usr/share/gocode" GOCACHE="$CACHE"
cd "$MOD"
if [ "${1:-}" = go ]; then
  shift
  exec go "$@"
fi
go vet ./...
go build -o "$OUT" ./cmd/vent-go-example
echo "built $OUT (go vet ./... clean)"
