#!/usr/bin/env bash
# `npm run scale`: the scale profile (scripts/scale.ts): PostgreSQL, Orthanc on the PostgreSQL index,
# two gateways and nginx terminating TLS in front. Installs what is missing and builds the viewer first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
if [ ! -f dist/index.html ] || [ -n "$(find src index.html vite.config.ts -newer dist/index.html -print -quit 2>/dev/null)" ]; then
  echo "[scale] building the viewer"
  NODE_ENV=production npx vite build --logLevel error
fi
exec npx tsx scripts/scale.ts
