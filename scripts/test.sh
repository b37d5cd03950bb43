#!/usr/bin/env bash
# Quick start 2: install what is missing, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
for s in scripts/install-chromium.sh scripts/install-compose.sh; do
  if [ -f "$s" ]; then bash "$s" || echo "warning: $s failed; the tests that need it will skip" >&2; fi
done
if [ -f scripts/sglang-env.sh ]; then
  bash scripts/sglang-env.sh || echo "warning: sglang parser env not built; its tests will skip" >&2
fi
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
