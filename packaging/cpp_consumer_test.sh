#!/usr/bin/env bash
# Test of the installed C++ client (ctest packaging_cpp_consumer):
#  1. cmake --install BUILD --component client into a temp prefix;
#  2. a consumer project outside the tree: find_package(vent CONFIG REQUIRED)
#     + target_link_libraries(app vent::client), configured against that
#     prefix only, built; and the same main.cc built with
#     `pkg-config --static --cflags --libs vent-client`;
#  3. against a real redis-server + vent-server, each app subscribes, emits
#     and receives its event.
#   packaging/cpp_consumer_test.sh BUILD
set -euo pipefail
BUILD=$(cd "${1:?usage: cpp_consumer_test.sh BUILD}" && pwd)
BIN=${VENT_BIN_DIR:-$BUILD/bin}
VERSION=$(sed -n 's/^project(vent VERSION \([0-9.]*\).*/\1/p' "$(dirname "$0")/../CMakeLists.txt")
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT
fail() { echo "cpp_consumer_test: FAIL: $*" >&2; exit 1; }

PREFIX=$TMP/prefix
cmake --install "$BUILD" --prefix "$PREFIX" --component client >"$TMP/install.log" || { cat "$TMP/install.log"; fail "cmake --install"; }
for f in include/vent/vent_client.h; do [ -f "$PREFIX/$f" ] || fail "not installed: $f"; done
LIB=$(find "$PREFIX" -name libvent_client.a); [ -n "$LIB" ] || fail "libvent_client.a not installed"
CFG=$(find "$PREFIX" -name ventConfig.cmake); [ -n "$CFG" ] || fail "ventConfig.cmake not installed"
PC=$(find "$PREFIX" -name vent-client.pc); [ -n "$PC" ] || fail "vent-client.pc not installed"
if find "$PREFIX" -name 'vent-server' -o -name '*.service' | grep -q .; then fail "client component installed server files"; fi
echo "cpp_consumer_test: installed into $PREFIX: $(cd "$PREFIX" && find . -type f | sort | tr '\n' ' ')"

mkdir "$TMP/app"
cat >"$TMP/app/main.cc" <<'CC'
// Consumer of the installed client: subscribe, emit, receive.
#include <vent/vent_client.h>

#include <cstdio>
#include <string>

#include "absl/synchronization/notification.h"

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  auto client = vent::Client::Connect({.address = argv[1]});
  if (!client.ok()) return 1;
  std::string got;
  absl::Notification received;
  auto sub = (*client)->Subscribe({argv[2]}, [&](const vent::ReceivedEvent& e) {
    if (!received.HasBeenNotified()) {
      got = e.json;
      received.Notify();
    }
  });
  if (!sub.ok()) {
    std::fprintf(stderr, "subscribe: %s\n", sub.status().ToString().c_str());
    return 1;
  }
  auto r = (*client)->Emit(argv[2], R"({"from":"an installed vent::client"})");
  if (!r.ok()) {
    std::fprintf(stderr, "emit: %s\n", r.status().ToString().c_str());
    return 1;
  }
  if (!received.WaitForNotificationWithTimeout(absl::Seconds(10))) return 1;
  std::printf("receivers=%lld id=%s got=%s\n", static_cast<long long>(r->receivers),
              r->id.c_str(), got.c_str());
  return 0;
}
CC
cat >"$TMP/app/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.25)
project(vent_consumer CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(vent $VERSION CONFIG REQUIRED)
add_executable(app main.cc)
target_link_libraries(app PRIVATE vent::client)
CM
# Only the temp prefix (and the system) is searched: not this source tree or build.
cmake -S "$TMP/app" -B "$TMP/app/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$PREFIX" >"$TMP/cfg.log" 2>&1 || { cat "$TMP/cfg.log"; fail "consumer configure"; }
grep -q "vent_DIR:PATH=$PREFIX" "$TMP/app/build/CMakeCache.txt" || fail "vent found elsewhere: $(grep vent_DIR "$TMP/app/build/CMakeCache.txt")"
cmake --build "$TMP/app/build" >"$TMP/build.log" 2>&1 || { tail -30 "$TMP/build.log"; fail "consumer build (CMake)"; }
echo "cpp_consumer_test: CMake consumer built (find_package(vent $VERSION) -> vent::client)"
PKG_CONFIG_PATH=$(dirname "$PC") pkg-config --modversion vent-client | grep -qx "$VERSION" || fail "pkg-config version"
# shellcheck disable=SC2046
g++ -std=c++20 -O1 -o "$TMP/app/app-pc" "$TMP/app/main.cc" \
  $(PKG_CONFIG_PATH=$(dirname "$PC") pkg-config --static --cflags --libs vent-client) 2>"$TMP/pc.log" \
  || { tail -30 "$TMP/pc.log"; fail "consumer build (pkg-config)"; }
echo "cpp_consumer_test: pkg-config consumer built"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
RP=$(free_port) GP=$(free_port) MP=$(free_port)
redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly no >"$TMP/redis.log" 2>&1 &
PIDS+=($!)
"$BIN/vent-server" --listen "127.0.0.1:$GP" --metrics-listen "127.0.0.1:$MP" --http-listen '' \
  --redis "redis://127.0.0.1:$RP" --log-level warn >"$TMP/server.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 200); do curl -fsS -o /dev/null "http://127.0.0.1:$MP/healthz" 2>/dev/null && break; sleep 0.1; done
curl -fsS -o /dev/null "http://127.0.0.1:$MP/healthz" || { cat "$TMP/server.log"; fail "vent-server not healthy"; }
for app in "$TMP/app/build/app" "$TMP/app/app-pc"; do
  out=$("$app" "127.0.0.1:$GP" "cpp::consumer") || fail "$app failed: $out"
  echo "$out" | grep -qE '^receivers=1 id=[0-9A-Z]{26} got=\{"from":"an installed vent::client"\}$' \
    || fail "$app printed: $out"
done
echo "cpp_consumer_test: both consumers emitted and received through vent-server"
echo "cpp_consumer_test: 2 passed, 0 failed"
