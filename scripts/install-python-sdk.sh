#!/usr/bin/env bash
# Create .venv-bittensor with the last bittensor SDK that has axon/dendrite (10.5.0, pinned) for
# the tao-axon interoperability tests. Idempotent: does nothing when the venv already has it.
# Usage: scripts/install-python-sdk.sh   (from anywhere; PYTHON=python3.11 to pick the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-bittensor
VERSION=10.5.0
PYTHON=${PYTHON:-python3}
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import bittensor, sys; sys.exit(bittensor.__version__ != '$VERSION')" 2>/dev/null; then
    echo "$VENV already has bittensor $VERSION"
    exit 0
fi
start=$(date +%s)
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "bittensor==$VERSION"
"$VENV/bin/python" -c "import bittensor; print('bittensor', bittensor.__version__)"
echo "installed in $(( $(date +%s) - start )) s"
