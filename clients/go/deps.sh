#!/usr/bin/env bash
# Installs the Debian 12 packages clients/go/build.sh needs, only if missing.
set -euo pipefail
# golang-github-golang-protobuf-1-5-dev: grpc-go 1.33 marshals through github.com/golang/protobuf;
# only its 1.5 line (a shim over google.golang.org/protobuf) accepts the messages that
# protoc-gen-go 1.28 generates. apt replaces the default 1-3 package (they conflict).
PKGS=(golang-go golang-google-grpc-dev golang-google-protobuf-dev protoc-gen-go protoc-gen-go-grpc
      golang-github-golang-protobuf-1-5-dev
      protobuf-compiler)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "clients/go/deps.sh: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
