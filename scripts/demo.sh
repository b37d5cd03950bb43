#!/usr/bin/env bash
# Quick start 1: install what is missing, then run the nightly DAG once through Airflow on the
# simulated SGLang engine (smoke spec): Parquet warehouse, DuckDB marts, static site; then the
# DeepSeek-R1 seed frontier PREDICTED in virtual time (sweeps/seed_predicted.yaml, engine predict).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python scripts/nightly_once.py "$@"
