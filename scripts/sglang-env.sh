#!/usr/bin/env bash
# Build .venv-sglang/: an optional, separate environment holding sglang 0.5.23 and sglang-router,
# only so the tests can parse generated commands with sglang's own argument parser on CPU
# (tests/integration/test_sglang_parser*.py). The default install never needs it.
#
# - sglang is installed with --no-deps (its full dependency set pulls CUDA wheels); torch is the
#   CPU wheel (torch==2.13.0, found on local disk through pip's find-links); triton is NOT
#   installed: scripts/check_sglang_args.py loads sglang's own _platform_stubs first.
# - Only plain pip is used (uv could resolve a CUDA torch).
# Usage: bash scripts/sglang-env.sh [--check] [DIR]   (default DIR .venv-sglang)
#   idempotent: skips when DIR/.frontier-sglang-VERSION (the flag file CI can test) exists;
#   --check only reports whether it is built (exit 0) or not (exit 1).
# Measured here (2 cores, wheels from the local index): 60-90 s, ~1.3 GB.
set -euo pipefail
cd "$(dirname "$0")/.."
CHECK=0
if [[ "${1:-}" == "--check" ]]; then CHECK=1; shift; fi
ENV_DIR="${1:-.venv-sglang}"
SGLANG_VERSION="0.5.23"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
STAMP="$ENV_DIR/.frontier-sglang-$SGLANG_VERSION"

if [[ -f "$STAMP" ]]; then
  echo "sglang-env: $ENV_DIR is up to date (sglang $SGLANG_VERSION)"
  exit 0
fi
if [[ $CHECK == 1 ]]; then
  echo "sglang-env: $ENV_DIR not built (bash scripts/sglang-env.sh)"
  exit 1
fi
start=$(date +%s)
rm -rf "$ENV_DIR"
"$PY" -m venv "$ENV_DIR"
echo '*' > "$ENV_DIR/.gitignore"
PIP=("$ENV_DIR/bin/python" -m pip install --quiet --disable-pip-version-check)
# CPU torch first, pinned (the +cpu wheel on local disk; its own deps are small).
"${PIP[@]}" --only-binary :all: "torch==2.13.0+cpu"  # fails fast where no CPU wheel is local
"${PIP[@]}" --no-deps "sglang==$SGLANG_VERSION"
# what `import sglang.srt.server_args` and the router's arg parser need, nothing more
"${PIP[@]}" numpy orjson psutil pybase64 requests packaging pillow msgspec starlette \
  "pydantic>=2" pyzmq tqdm ipython aiohttp \
  sglang-router setproctitle uvicorn fastapi
# refuse a CUDA torch if anything pulled one
"$ENV_DIR/bin/python" - <<'PYEOF'
import torch, sys
if torch.version.cuda:
    sys.exit(f"sglang-env: a CUDA torch ({torch.__version__}) got installed; expected the CPU wheel")
PYEOF
# smoke test: both parsers load
echo '[]' | "$ENV_DIR/bin/python" scripts/check_sglang_args.py --selftest
touch "$STAMP"
echo "sglang-env: built $ENV_DIR in $(( $(date +%s) - start )) s"
