#!/usr/bin/env bash
# The local Airflow UI in one command: Airflow 3 (api-server, scheduler, dag-processor, triggerer)
# on the project's SQLite home (.airflow/) with this checkout's DAGs, the GPU-pool cluster policy,
# the form checks and the GPU pools; the project's DAGs unpaused; prints the URL and the login;
# Ctrl-C stops every process. Options: --port N (8080), --home DIR, --keep-paused DAG_ID.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash scripts/bootstrap.sh
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec .venv/bin/python -m operators.airflow_ui "$@"
