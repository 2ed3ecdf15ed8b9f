#!/usr/bin/env bash
# One-command setup of mmseg-lanet into the current Python environment.
#
#   bash tools/install.sh
#
# Installs, each step skipped when already satisfied (so a second run takes
# seconds): setuptools in the range the builds need, torch (a torch >= 2.0
# the user already has is kept), the compiled mmcv built from source against
# that torch (no prebuilt wheel exists for current torch; pip caches the wheel
# it builds), mmengine, mmsegmentation, and this package in editable mode with
# its test extras.
#
# Environment variables:
#   PYTHON      interpreter to install into (default: python3)
#   TORCH_SPEC  torch to install when none is present (default: torch==2.13.0)
#   MMCV_SPEC   mmcv to build (default: mmcv==2.1.0)
#   MAX_JOBS    parallel compile jobs for mmcv (default: number of cores)
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
MMCV_SPEC=${MMCV_SPEC:-mmcv==2.1.0}
export MAX_JOBS=${MAX_JOBS:-$(nproc)}
pip_install() { "$PY" -m pip install --disable-pip-version-check -q "$@"; }

# Exit 0 when the requirement (PEP 508 string) is installed and in range.
satisfied() {
  "$PY" - "$1" <<'PYEOF'
import sys
from importlib import metadata
from pip._vendor.packaging.requirements import Requirement
req = Requirement(sys.argv[1])
try:
    version = metadata.version(req.name)
except metadata.PackageNotFoundError:
    sys.exit(1)
sys.exit(0 if req.specifier.contains(version, prereleases=True) else 1)
PYEOF
}

step() { printf '[install] %s\n' "$*"; }

# torch 2.13 needs setuptools >= 77; mmcv's setup.py and mmengine's `mmseg::`
# config lookup import pkg_resources, which setuptools 82 removed.
if satisfied 'setuptools>=77,<82' && satisfied 'wheel'; then
  step 'setuptools/wheel: ok'
else
  step 'setuptools/wheel: installing'
  pip_install 'setuptools>=77,<82' wheel
fi

if satisfied 'torch>=2.0'; then
  step "torch: keeping $("$PY" -c 'import torch; print(torch.__version__)')"
else
  step "torch: installing $TORCH_SPEC"
  pip_install "$TORCH_SPEC"
fi

if satisfied 'mmengine>=0.10.0,<0.11.0'; then
  step 'mmengine: ok'
else
  step 'mmengine: installing'
  pip_install 'mmengine>=0.10.0,<0.11.0'
fi

# mmseg imports mmcv.ops, which mmcv-lite lacks.
if satisfied 'mmcv>=2.0.0,<2.2.0' && "$PY" -c 'import mmcv.ops' 2>/dev/null; then
  step 'mmcv (compiled ops): ok'
else
  if satisfied 'mmcv-lite'; then
    step 'mmcv: removing mmcv-lite (no compiled ops)'
    "$PY" -m pip uninstall -y -q mmcv-lite
  fi
  step "mmcv: building $MMCV_SPEC from source against torch" \
    "(about 11 minutes on 2 cores the first time; pip caches the wheel)"
  MMCV_WITH_OPS=1 pip_install --no-build-isolation "$MMCV_SPEC"
  "$PY" -c 'import mmcv.ops' || { echo 'mmcv built without its ops' >&2; exit 1; }
fi

# Editable install of this checkout whose requirements (test extras included)
# are all in range.
installed_here() {
  # Run from / so that the checkout's own .egg-info is not what is found.
  (cd / && "$PY" - "$OLDPWD") <<'PYEOF'
import json
import sys
from importlib import metadata
from pip._vendor.packaging.requirements import Requirement
try:
    dist = metadata.distribution('mmseg-lanet')
except metadata.PackageNotFoundError:
    sys.exit(1)
origin = json.loads(dist.read_text('direct_url.json') or '{}')
if (not origin.get('dir_info', {}).get('editable')
        or origin.get('url') != 'file://' + sys.argv[1]):
    sys.exit(1)
for line in dist.requires or []:
    req = Requirement(line)
    if req.marker and not req.marker.evaluate({'extra': 'tests'}):
        continue
    try:
        version = metadata.version(req.name)
    except metadata.PackageNotFoundError:
        sys.exit(1)
    if not req.specifier.contains(version, prereleases=True):
        sys.exit(1)
PYEOF
}

if installed_here; then
  step 'mmsegmentation + mmseg-lanet (editable): ok'
else
  step 'mmsegmentation + mmseg-lanet (editable, with test extras): installing'
  pip_install --no-build-isolation -e '.[tests]'
fi

"$PY" - <<'PYEOF'
import mmcv, mmengine, mmseg, torch
import mmseg_lanet
print(f'[install] done: torch {torch.__version__}, mmcv {mmcv.__version__}, '
      f'mmengine {mmengine.__version__}, mmseg {mmseg.__version__}, '
      f'mmseg_lanet {mmseg_lanet.__version__}')
PYEOF
