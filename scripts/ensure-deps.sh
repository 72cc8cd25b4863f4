#!/usr/bin/env bash
# Installs what is missing, and nothing else: Debian packages (apt) and npm packages (npm ci).
# Called by `npm start` and `npm test`; safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  orthanc orthanc-dicomweb          # the PACS
  chromium                          # browser for e2e and benchmarks
  dcmtk                             # storescu (modality C-STORE), dcmodify, dsrdump
  dicom3tools pixelmed-apps default-jre-headless python3-pydicom   # independent SR judges (../shared/tools/validate-sr)
  python3-hl7                       # independent HL7 judge, MLLP peer (mllp_send) and the demo RIS
  python3-numpy
  postgresql                        # the integration suite's second pass (TEST_DB=postgres) starts a throw-away cluster of its own
  orthanc-postgresql nginx openssl  # the scale profile (npm run scale, test/scale.int.test.ts): Orthanc's index in PostgreSQL, TLS in front
)
# Only `npm run model:build` needs these (the .onnx files are committed).
[ "${WITH_MODEL_BUILD:-0}" = 1 ] && APT_PACKAGES+=(python3-torch python3-onnx)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[deps] installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# onnxruntime-node's post-install reaches for a host we cannot reach; we use the WASM backend.
export ONNXRUNTIME_NODE_INSTALL=skip
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "[deps] npm ci"
  npm ci --no-audit --no-fund
fi
