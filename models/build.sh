#!/usr/bin/env bash
# Rebuilds the demo models (model.onnx, manifest.json, heldout.json) from their training scripts.
# Needs Debian's python3-torch, python3-onnx and python3-pydicom (run with /usr/bin/python3: no PyPI),
# and the shared test data in ../shared/data. Seeds are fixed; each model takes a few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-/usr/bin/python3}
"$PY" -c 'import torch, onnx, pydicom' || { echo "needs python3-torch python3-onnx python3-pydicom (apt)" >&2; exit 1; }
for m in ${MODELS:-head-ct-hyperdensity chest-cr-nodule}; do
  echo "== $m" >&2
  "$PY" "$m/train.py" "$@"
done
echo "done; run: npx vitest run --project unit gateway/ai" >&2
