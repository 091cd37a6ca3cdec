#!/usr/bin/env bash
# Installs the npm packages the tests and demo use, exactly as package-lock.json
# pins them, unless node_modules already matches the lockfile.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.vent-lock-stamp
if [ -f "$stamp" ] && cmp -s package-lock.json "$stamp"; then
  echo "npm: node_modules up to date"
  exit 0
fi
echo "npm: installing from package-lock.json"
npm ci --no-audit --no-fund --loglevel=error
cp package-lock.json "$stamp"
