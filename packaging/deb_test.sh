#!/usr/bin/env bash
# Test of the .deb (ctest packaging_deb): builds it with `cpack -G DEB` from
# the build dir BUILD (its binaries must be built), then checks with dpkg-deb:
# control fields (name, project version, Depends from dpkg-shlibdeps +
# adduser), the file list, conffiles, the maintainer scripts (run against
# stubbed adduser/getent/chown/systemctl: they create the `vent` user and
# touch nothing else), the systemd units' hardening (systemd-analyze security
# --offline), and that the packaged binaries print the version and both accept
# the packaged /etc/vent/vent.yaml.
#   packaging/deb_test.sh BUILD
set -euo pipefail
BUILD=$(cd "${1:?usage: deb_test.sh BUILD}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VERSION=$(sed -n 's/^project(vent VERSION \([0-9.]*\).*/\1/p' "$ROOT/CMakeLists.txt")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail() { echo "deb_test: FAIL: $*" >&2; exit 1; }
ok() { pass=$((pass + 1)); echo "deb_test: ok: $*"; }

cpack -G DEB -B "$TMP/out" --config "$BUILD/CPackConfig.cmake" >"$TMP/cpack.log" 2>&1 \
  || { tail -30 "$TMP/cpack.log"; fail "cpack -G DEB failed"; }
DEB=$(ls "$TMP"/out/*.deb)
[ "$(echo "$DEB" | wc -l)" = 1 ] || fail "expected one .deb, got: $DEB"
[ "$(basename "$DEB")" = "vent_${VERSION}_$(dpkg --print-architecture).deb" ] || fail "file name $(basename "$DEB")"
ok "cpack built $(basename "$DEB") ($(du -k "$DEB" | cut -f1) KiB)"

# Control.
dpkg-deb -I "$DEB" >"$TMP/info"
field() { dpkg-deb -f "$DEB" "$1"; }
[ "$(field Package)" = vent ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$VERSION" ] || fail "Version: $(field Version), want $VERSION"
DEPENDS=$(field Depends)
for dep in adduser libgrpc++1.51 libprotobuf32 libhiredis0.14 libyaml-cpp0.7 libssl3 libc6; do
  echo "$DEPENDS" | grep -q "\b$dep\b" || fail "Depends lacks $dep: $DEPENDS"
done
ok "control: vent $VERSION, Depends: $DEPENDS"

# Files.
dpkg-deb -c "$DEB" | awk '{print $6}' | sed 's|^\./|/|' >"$TMP/files"
for f in /usr/bin/vent-server /usr/bin/vent-bridge /usr/bin/vent \
         /usr/lib/systemd/system/vent-server.service /usr/lib/systemd/system/vent-bridge.service \
         /etc/vent/vent.yaml /etc/vent/vent.env /usr/share/doc/vent/copyright \
         /usr/share/doc/vent/README.md /usr/share/doc/vent/CHANGELOG.md; do
  grep -qx "$f" "$TMP/files" || fail "missing $f"
done
if grep -E '\.(h|a|pc|cmake)$|/include/|node_modules|/bench|_test' "$TMP/files"; then fail "unexpected files above"; fi
dpkg-deb -c "$DEB" | awk '$6 ~ /etc\/vent\/vent\.(yaml|env)$/ {print $1}' | grep -qv -- '-rw-r-----' \
  && fail "/etc/vent files are not 0640"
ok "files: $(grep -c . "$TMP/files") entries, binaries, units, /etc/vent, docs; no dev files"
mkdir "$TMP/ctl"
dpkg-deb -e "$DEB" "$TMP/ctl"
for script in postinst prerm postrm; do
  [ -x "$TMP/ctl/$script" ] || fail "control has no executable $script"
done
[ "$(sort "$TMP/ctl/conffiles")" = "$(printf '/etc/vent/vent.env\n/etc/vent/vent.yaml')" ] \
  || fail "conffiles: $(cat "$TMP/ctl/conffiles")"
ok "conffiles: /etc/vent/vent.yaml /etc/vent/vent.env"

# Maintainer scripts against stubs: the calls they make are recorded.
STUBS=$TMP/stubs
mkdir "$STUBS"
for cmd in adduser chown chmod systemctl; do
  printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\n' "$cmd" "$TMP" >"$STUBS/$cmd"
done
printf '#!/bin/sh\nexit 2\n' >"$STUBS/getent"   # no such user yet
chmod +x "$STUBS"/*
PATH=$STUBS:$PATH sh -e "$TMP/ctl/postinst" configure || fail "postinst configure failed"
grep -q "^adduser --system --group .* vent$" "$TMP/calls" || fail "postinst did not add the vent user: $(cat "$TMP/calls")"
printf '#!/bin/sh\nexit 0\n' >"$STUBS/getent"   # the user exists now
: >"$TMP/calls"
PATH=$STUBS:$PATH sh -e "$TMP/ctl/postinst" configure || fail "postinst (upgrade) failed"
if grep -q "^adduser" "$TMP/calls"; then fail "postinst re-added an existing user"; fi
PATH=$STUBS:$PATH sh -e "$TMP/ctl/prerm" remove || fail "prerm failed"
PATH=$STUBS:$PATH sh -e "$TMP/ctl/postrm" purge || fail "postrm failed"
ok "maintainer scripts: user created once, idempotent"

# Contents: units, binaries, config.
mkdir "$TMP/root"
dpkg-deb -x "$DEB" "$TMP/root"
for unit in vent-server vent-bridge; do
  U=$TMP/root/usr/lib/systemd/system/$unit.service
  for opt in User=vent NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
             CapabilityBoundingSet= SystemCallFilter=@system-service RestrictAddressFamilies= \
             "ExecStart=/usr/bin/$unit --config /etc/vent/vent.yaml" EnvironmentFile=-/etc/vent/vent.env; do
    grep -q "^$opt" "$U" || fail "$unit.service lacks $opt"
  done
  score=$(systemd-analyze security --offline=yes "$U" 2>/dev/null | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
  [ -n "$score" ] || fail "systemd-analyze security gave no score for $unit"
  awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || fail "$unit.service exposure $score > 2.0"
  ok "$unit.service hardened (systemd-analyze exposure $score)"
done
for bin in vent-server vent-bridge vent; do
  out=$("$TMP/root/usr/bin/$bin" --version)
  [ "$out" = "$bin $VERSION" ] || fail "$bin --version: $out"
done
ok "packaged binaries print '<name> $VERSION'"
"$TMP/root/usr/bin/vent-server" --config "$TMP/root/etc/vent/vent.yaml" --print-config >"$TMP/server.cfg" \
  || fail "vent-server refuses the packaged vent.yaml"
"$TMP/root/usr/bin/vent-bridge" --config "$TMP/root/etc/vent/vent.yaml" --print-config >"$TMP/bridge.cfg" \
  || fail "vent-bridge refuses the packaged vent.yaml"
grep -q '^listen: "127.0.0.1:50051"' "$TMP/server.cfg" || fail "vent-server listen: $(grep ^listen "$TMP/server.cfg")"
grep -q '^listen: "127.0.0.1:3000"' "$TMP/bridge.cfg" || fail "vent-bridge listen: $(grep ^listen "$TMP/bridge.cfg")"
"$TMP/root/usr/bin/vent" config check "$TMP/root/etc/vent/vent.yaml" >/dev/null \
  || fail "vent config check refuses the packaged vent.yaml"
ok "packaged vent.yaml: vent-server, vent-bridge and vent config check accept it"
echo "deb_test: $pass passed, 0 failed"
