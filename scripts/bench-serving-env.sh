#!/usr/bin/env bash
# Build .venv-bench/: an optional, separate environment holding sglang 0.5.23 (--no-deps) with what
# its benchmark client `python -m sglang.bench_serving` needs on a CPU box, for the side-by-side
# benchmark benchmarks/loadgen_vs_bench_serving.py. The default install never needs it.
#
# - sglang --no-deps (its full dependency set pulls CUDA wheels); torch is the CPU wheel
#   (torch==2.13.0+cpu from local disk); triton is NOT installed: the benchmark loads sglang's own
#   _platform_stubs before importing sglang.
# - bench_serving's extra imports: transformers, sentencepiece, compressed-tensors, gguf,
#   apache-tvm-ffi, datasets (see shared/design/sglang-notes.md), plus aiohttp/requests/tqdm/numpy.
# - Offline use: HF_HUB_OFFLINE=1, `--dataset-name random-ids`, and a local tokenizer directory
#   (tests/data/tokenizer: word-level, the fake tokenizer's vocabulary w0..w31999).
# Usage: bash scripts/bench-serving-env.sh [--check] [DIR]   (default DIR .venv-bench)
#   idempotent: skips when DIR/.frontier-bench-VERSION exists; --check reports (exit 0 built / 1 not).
set -euo pipefail
cd "$(dirname "$0")/.."
CHECK=0
if [[ "${1:-}" == "--check" ]]; then CHECK=1; shift; fi
ENV_DIR="${1:-.venv-bench}"
SGLANG_VERSION="0.5.23"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
STAMP="$ENV_DIR/.frontier-bench-$SGLANG_VERSION"

if [[ -f "$STAMP" ]]; then
  echo "bench-serving-env: $ENV_DIR is up to date (sglang $SGLANG_VERSION)"
  exit 0
fi
if [[ $CHECK == 1 ]]; then
  echo "bench-serving-env: $ENV_DIR not built (bash scripts/bench-serving-env.sh)"
  exit 1
fi
start=$(date +%s)
rm -rf "$ENV_DIR"
"$PY" -m venv "$ENV_DIR"
echo '*' > "$ENV_DIR/.gitignore"
PIP=("$ENV_DIR/bin/python" -m pip install --quiet --disable-pip-version-check)
"${PIP[@]}" --only-binary :all: "torch==2.13.0+cpu"  # the CPU wheel on local disk; fails fast if absent
"${PIP[@]}" --no-deps "sglang==$SGLANG_VERSION"
# what `import sglang.benchmark.serving` needs (torch stays pinned: constrain it)
echo "torch==2.13.0+cpu" > "$ENV_DIR/constraints.txt"
"${PIP[@]}" -c "$ENV_DIR/constraints.txt" numpy orjson psutil pybase64 requests packaging pillow msgspec \
  starlette "pydantic>=2" pyzmq tqdm ipython aiohttp \
  transformers sentencepiece tokenizers compressed-tensors gguf apache-tvm-ffi datasets
"$ENV_DIR/bin/python" - <<'PYEOF'
import torch, sys
if torch.version.cuda:
    sys.exit(f"bench-serving-env: a CUDA torch ({torch.__version__}) got installed; expected the CPU wheel")
PYEOF
# smoke test: bench_serving's argument parser loads (triton stubbed the way sglang does on macOS)
"$ENV_DIR/bin/python" benchmarks/loadgen_sglang_client.py --help >/dev/null
touch "$STAMP"
echo "bench-serving-env: built $ENV_DIR in $(( $(date +%s) - start )) s"
