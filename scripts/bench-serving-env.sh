#!/usr/bin/env bash
# Build .venv-bench/ for sglang.bench_serving on CPU: the --bench flavour of scripts/sglang-env.sh.
exec bash "$(dirname "$0")/sglang-env.sh" --bench "$@"
