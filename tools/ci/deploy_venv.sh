#!/usr/bin/env bash
# A fresh virtual environment with only the deploy extra (numpy, onnxruntime,
# rasterio: maps from an exported ONNX model, no torch or OpenMMLab), as a
# user without a GPU installs it:
#
#   bash tools/ci/deploy_venv.sh [VENV]     (default: /tmp/mmseg_lanet_deploy)
#
# The test suite then predicts the sample tile with it when
# MMSEG_LANET_DEPLOY_VENV names VENV (tests/test_tools/test_deploy_venv.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${1:-/tmp/mmseg_lanet_deploy}
PY=${PYTHON:-python3}
start=$(date +%s)
"$PY" -m venv --clear "$VENV"
# setuptools' scratch folder (ignored by git) would carry modules since
# removed from the source into the wheel.
rm -rf build
"$VENV/bin/python" -m pip install --disable-pip-version-check -q '.[deploy]'
echo "[deploy venv] $VENV: pip install .[deploy] in $(( $(date +%s) - start )) s:" \
  "$("$VENV/bin/python" -m pip list --format=freeze 2>/dev/null | tr '\n' ' ')"
