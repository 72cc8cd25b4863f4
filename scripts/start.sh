#!/usr/bin/env bash
# `npm start`: install what is missing, build the viewer, start Orthanc + gateway (+ demo RIS) with the demo studies.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
if [ ! -f dist/index.html ] || [ -n "$(find src index.html vite.config.ts -newer dist/index.html -print -quit 2>/dev/null)" ]; then
  echo "[start] building the viewer"
  NODE_ENV=production npx vite build --logLevel error
fi
exec npx tsx scripts/start.ts
