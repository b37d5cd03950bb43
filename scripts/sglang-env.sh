#!/usr/bin/env bash
# Build an optional, separate environment holding sglang 0.5.23 on CPU. The default install never
# needs it. Two flavours:
#   (default)  .venv-sglang/: sglang + sglang-router, only so the tests can parse generated commands
#              with sglang's own argument parsers (tests/integration/test_sglang_parser*.py).
#   --bench    .venv-bench/: sglang + what its client `python -m sglang.bench_serving` needs
#              (transformers, sentencepiece, compressed-tensors, gguf, apache-tvm-ffi, datasets),
#              for the side-by-side benchmarks (benchmarks/loadgen_vs_bench_serving.py,
#              benchmarks/real_tokenizer_vs_bench_serving.py), plus transformers' serving extra for
#              `transformers serve` (tests/integration/test_transformers_serve.py).
#
# - sglang is installed with --no-deps (its full dependency set pulls CUDA wheels); torch is the
#   CPU wheel (torch==2.13.0+cpu, on local disk), kept pinned by a constraints file; triton is NOT
#   installed: scripts/check_sglang_args.py and benchmarks/loadgen_sglang_client.py load sglang's
#   own _platform_stubs first.
# - Only plain pip is used (uv could resolve a CUDA torch).
# Usage: bash scripts/sglang-env.sh [--bench] [--check] [DIR]
#   idempotent: skips when DIR/.frontier-<flavour>-VERSION (the flag file CI can test) exists;
#   --check only reports whether it is built (exit 0) or not (exit 1).
# Measured here (2 cores, wheels from the local index): parser 60-90 s, ~1.3 GB; bench ~3 min, ~1.8 GB.
set -euo pipefail
cd "$(dirname "$0")/.."
CHECK=0
FLAVOUR=sglang
while [[ "${1:-}" == --* ]]; do
  case "$1" in
    --check) CHECK=1 ;;
    --bench) FLAVOUR=bench ;;
    *) echo "sglang-env: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
ENV_DIR="${1:-.venv-$FLAVOUR}"
SGLANG_VERSION="0.5.23"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
REV=""; [[ $FLAVOUR == bench ]] && REV="-serve"  # bench: rebuilt once to add transformers' serving extra
STAMP="$ENV_DIR/.frontier-$FLAVOUR-$SGLANG_VERSION$REV"
NAME="$FLAVOUR-env"

if [[ -f "$STAMP" ]]; then
  echo "$NAME: $ENV_DIR is up to date (sglang $SGLANG_VERSION)"
  exit 0
fi
if [[ $CHECK == 1 ]]; then
  hint="bash scripts/sglang-env.sh"; [[ $FLAVOUR == bench ]] && hint="$hint --bench"
  echo "$NAME: $ENV_DIR not built ($hint)"
  exit 1
fi
start=$(date +%s)
rm -rf "$ENV_DIR"
"$PY" -m venv "$ENV_DIR"
echo '*' > "$ENV_DIR/.gitignore"
PIP=("$ENV_DIR/bin/python" -m pip install --quiet --disable-pip-version-check)
"${PIP[@]}" --only-binary :all: "torch==2.13.0+cpu"  # the CPU wheel on local disk; fails fast if absent
"${PIP[@]}" --no-deps "sglang==$SGLANG_VERSION"
echo "torch==2.13.0+cpu" > "$ENV_DIR/constraints.txt"
BASE=(numpy orjson psutil pybase64 requests packaging pillow msgspec starlette "pydantic>=2" pyzmq tqdm
      ipython aiohttp)
if [[ $FLAVOUR == bench ]]; then
  # + transformers' serving extra: `transformers serve`, the third-party OpenAI-compatible server of
  # tests/integration/test_transformers_serve.py (a tiny random model on CPU)
  EXTRA=(transformers sentencepiece tokenizers compressed-tensors gguf apache-tvm-ffi datasets
         fastapi uvicorn accelerate "openai>=1.98")
else
  EXTRA=(sglang-router setproctitle uvicorn fastapi)
fi
"${PIP[@]}" -c "$ENV_DIR/constraints.txt" "${BASE[@]}" "${EXTRA[@]}"
# refuse a CUDA torch if anything pulled one
"$ENV_DIR/bin/python" - "$NAME" <<'PYEOF'
import sys, torch
if torch.version.cuda:
    sys.exit(f"{sys.argv[1]}: a CUDA torch ({torch.__version__}) got installed; expected the CPU wheel")
PYEOF
# smoke test: the parsers (or bench_serving's argument parser) load
if [[ $FLAVOUR == bench ]]; then
  "$ENV_DIR/bin/python" benchmarks/loadgen_sglang_client.py --help >/dev/null
else
  echo '[]' | "$ENV_DIR/bin/python" scripts/check_sglang_args.py --selftest
fi
touch "$STAMP"
echo "$NAME: built $ENV_DIR in $(( $(date +%s) - start )) s"
