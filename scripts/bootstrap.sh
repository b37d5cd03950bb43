#!/usr/bin/env bash
# Create .venv (Python 3.11) and install frontier with Airflow and the test tools, pinned by
# constraints.txt. Skips the install when pyproject.toml and constraints.txt are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.frontier-installed
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "installing frontier into .venv (uv, pinned by constraints.txt) ..." >&2
.venv/bin/python -m pip install -q --disable-pip-version-check "uv>=0.5,<1"
.venv/bin/uv pip install --python .venv/bin/python -q -c constraints.txt -e ".[airflow,postgres,targets,dev,hf]"
echo "$want" > "$stamp"
