#!/usr/bin/env bash
# make test-models: the lab's tools on two real scikit-learn models
# (examples/sklearn-iris behind model-agent, test/models), on 127.0.0.1.
#  1. install Debian's python3-sklearn, python3-fastapi and python3-uvicorn
#     if /usr/bin/python3 cannot import them (the Python registry is not
#     reachable here; these are what the example server needs);
#  2. run the tests with MODELS_REQUIRED=1: a missing module fails the
#     tier, with the apt-get line that fixes it, instead of skipping it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."

log() { echo "[models] $*" >&2; }
PY=/usr/bin/python3
DEBS=(python3-sklearn python3-fastapi python3-uvicorn)

if ! "$PY" -c 'import sklearn, joblib, numpy, fastapi, uvicorn' 2>/dev/null; then
  if [[ $(id -u) -ne 0 ]]; then
    log "missing Python modules; as root: apt-get install -y ${DEBS[*]}"
  else
    log "installing Debian packages: ${DEBS[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${DEBS[@]}" >/dev/null
  fi
fi

MODELS_REQUIRED=1 exec "${GO:-go}" test -count=1 -tags models -timeout 10m -v ./test/models/
