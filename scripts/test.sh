#!/usr/bin/env bash
# `npm test`: every test, installing what it needs first. Unit, then integration (real Orthanc,
# real MLLP peers, real validators), then e2e (real Chromium against the built viewer).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
echo "[test] typecheck"
npx tsc -p tsconfig.json
echo "[test] build viewer"
NODE_ENV=production npx vite build --logLevel error
npx vitest run --project unit
npx vitest run --project integration
npx vitest run --project e2e
