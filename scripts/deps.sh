#!/usr/bin/env bash
# Installs what Vent needs to build, run and test on Debian 12, only what is missing.
# Idempotent; safe to run on every start. Needs root (or sudo) for apt-get.
set -euo pipefail
APT_PKGS=(
  build-essential cmake ninja-build ccache pkg-config git curl openssl ca-certificates python3
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libhiredis-dev libboost1.81-dev libboost-json1.81-dev libabsl-dev libssl-dev
  libre2-dev libyaml-cpp-dev zlib1g-dev libgtest-dev libgmock-dev libbenchmark-dev
  redis-server redis-tools
  python3-grpcio python3-protobuf python3-pip python3-setuptools python3-wheel python3-venv
  dpkg-dev fakeroot systemd
  clang clang-format-14 libfuzzer-14-dev libclang-rt-14-dev
  nodejs npm chromium docker-compose
)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ "${#missing[@]}" -gt 0 ]; then
  # node/npm may come from elsewhere (nodesource, nvm): do not fight an existing install.
  if command -v node >/dev/null && command -v npm >/dev/null; then
    filtered=(); for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
    missing=("${filtered[@]}")
  fi
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "deps: all Debian packages present"
fi
