#!/usr/bin/env bash
# Installs axe-core (npm) for the moderation page's accessibility audit in Chromium: the browser tests
# inject tests/axe/node_modules/axe-core/axe.min.js with Playwright. Pinned by tests/axe/package-lock.json;
# `npm ci` never changes the lock. Idempotent: does nothing when the pinned version is there.
set -euo pipefail
dir=$(cd "$(dirname "$0")/../tests/axe" && pwd)

if [ ! -x "$(command -v npm)" ]; then
  echo "install-axe: npm is missing: install the Debian package npm (scripts/install-debian-deps.sh test)" >&2
  exit 1
fi
want=$(node -e 'console.log(require(process.argv[1]).packages["node_modules/axe-core"].version)' "$dir/package-lock.json")
have=$(node -e 'console.log(require(process.argv[1]).version)' "$dir/node_modules/axe-core/package.json" 2>/dev/null || true)
[ "$want" = "$have" ] && exit 0

npm ci --prefix "$dir" --no-audit --no-fund --silent
echo "install-axe: axe-core $want in $dir/node_modules"
