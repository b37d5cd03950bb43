#!/usr/bin/env bash
# Quick start 2: install what is missing, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/install-system-deps.sh
if [ -f scripts/sglang-env.sh ]; then
  bash scripts/sglang-env.sh || echo "warning: sglang parser env not built; its tests will skip" >&2
fi
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
