#!/usr/bin/env bash
# The real deployment tier: Airflow 3 on PostgreSQL, exactly as users run it.
#
#   Debian's postgresql (installed if missing) on 127.0.0.1 with a throwaway data dir ->
#   `airflow db migrate` -> api-server + scheduler + dag-processor + triggerer (LocalExecutor) ->
#   `frontier pools sync` over the REST API -> trigger `frontier_adhoc` through the REST API with
#   a small form (as the UI does) -> wait for success -> check the warehouse, the site, the report,
#   the mapped task names and GPU pools, and the asset-triggered `publish_frontier` run.
#
# Cleans up every process it started (trap on EXIT: process groups, then postgres). Needs root
# (apt-get, and postgres runs as the postgres user). Exit 77 = skipped (not root / no apt).
# Usage: bash scripts/ci-airflow-postgres.sh     (FRONTIER_PG_KEEP=1 keeps the temp folder)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
T0=$(date +%s)
PY="$ROOT/.venv/bin/python"
AIRFLOW="$ROOT/.venv/bin/airflow"
say() { printf '[pg-tier %3ds] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }

if [ "$(id -u)" != 0 ]; then echo "skip: needs root (installs and runs postgresql)"; exit 77; fi
if [ ! -x "$PY" ] || ! "$PY" -c "import airflow" 2>/dev/null; then
  echo "skip: .venv with apache-airflow missing (run scripts/bootstrap.sh)"; exit 77
fi

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then
  command -v apt-get >/dev/null || { echo "skip: no apt-get to install postgresql"; exit 77; }
  say "installing Debian's postgresql"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
# the Airflow postgres driver (sync psycopg2 + async asyncpg), from the project's `postgres` extra
if ! "$PY" -c "import psycopg2, asyncpg" 2>/dev/null; then
  say "installing apache-airflow-providers-postgres"
  "$ROOT/.venv/bin/uv" pip install --python "$PY" -q "apache-airflow-providers-postgres>=6,<8"
fi

WORK=$(mktemp -d /tmp/frontier-pg.XXXXXX)
chmod 755 "$WORK"
PIDS=()
PG_STARTED=0
cleanup() {
  rc=$?
  set +e
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null; done
  for _ in $(seq 1 20); do
    alive=0
    for pid in "${PIDS[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.5
  done
  for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null; done
  if [ $PG_STARTED = 1 ]; then
    su postgres -s /bin/sh -c "'$PG_BIN/pg_ctl' -D '$WORK/pg/data' -m fast -w stop" >/dev/null 2>&1
  fi
  if [ $rc != 0 ]; then
    for f in "$WORK"/logs/*.log; do [ -f "$f" ] && { echo "--- tail $f"; tail -n 25 "$f"; }; done
  fi
  if [ "${FRONTIER_PG_KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
  echo "pg-tier: $([ $rc = 0 ] && echo PASSED || echo "FAILED (rc $rc)") in $(( $(date +%s) - T0 )) s"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { "$PY" -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }
PG_PORT=$(free_port)
API_PORT=$(free_port)
mkdir -p "$WORK/logs" "$WORK/sock" "$WORK/pg"
chown postgres "$WORK/sock" "$WORK/pg"

say "postgres: initdb + start on 127.0.0.1:$PG_PORT ($PG_BIN)"
su postgres -s /bin/sh -c "'$PG_BIN/initdb' -D '$WORK/pg/data' -U postgres --auth=trust -E UTF8 >'$WORK/sock/initdb.log' 2>&1"
su postgres -s /bin/sh -c "'$PG_BIN/pg_ctl' -D '$WORK/pg/data' -l '$WORK/sock/postgres.log' -w -t 60 \
  -o \"-c listen_addresses=127.0.0.1 -p $PG_PORT -k $WORK/sock -c fsync=off -c max_connections=100\" start" >/dev/null
PG_STARTED=1
psql_() { "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -q "$@"; }
psql_ -c "CREATE USER airflow PASSWORD 'airflow'" -c "CREATE DATABASE airflow OWNER airflow"

export AIRFLOW_HOME="$WORK/airflow"
mkdir -p "$AIRFLOW_HOME/config"
# the GPU-pool cluster policy (operators/policy.py): each mapped deployment -> its pool, slots = GPUs
cp docker/airflow/airflow_local_settings.py "$AIRFLOW_HOME/config/airflow_local_settings.py"  # the README's line
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg2://airflow:airflow@127.0.0.1:$PG_PORT/airflow"
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__CORE__PARALLELISM=4
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$API_PORT/execution/"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin"
export AIRFLOW__API__HOST=127.0.0.1
export AIRFLOW__API__PORT=$API_PORT
export AIRFLOW__API__BASE_URL="http://127.0.0.1:$API_PORT"
export AIRFLOW__API__WORKERS=1
export AIRFLOW__API_AUTH__JWT_SECRET="frontier-ci-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC=2
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=30
export AIRFLOW__LOGGING__BASE_LOG_FOLDER="$WORK/logs/tasks"
export FRONTIER_HOME="$ROOT"
export FRONTIER_WAREHOUSE="$WORK/warehouse" FRONTIER_SITE="$WORK/site" FRONTIER_ARTIFACTS="$WORK/artifacts"

say "airflow db migrate"
"$AIRFLOW" db migrate >"$WORK/logs/migrate.log" 2>&1

for component in api-server scheduler dag-processor triggerer; do
  if [ "$component" = api-server ]; then args=(api-server --port "$API_PORT"); else args=("$component"); fi
  setsid "$AIRFLOW" "${args[@]}" >"$WORK/logs/$component.log" 2>&1 < /dev/null &
  PIDS+=("$!")
done
say "started api-server, scheduler, dag-processor, triggerer (process groups ${PIDS[*]})"

PASSWORDS="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
export FRONTIER_API="http://127.0.0.1:$API_PORT" PASSWORDS
export WAIT_RUN_S="${FRONTIER_PG_WAIT_S:-360}"
"$PY" - <<'PYEOF'
import json, os, subprocess, sys, time, urllib.error, urllib.request
from pathlib import Path

API, T0 = os.environ["FRONTIER_API"], time.monotonic()

def say(msg):
    print(f"[pg-tier driver {time.monotonic() - T0:5.0f}s] {msg}", flush=True)

def call(method, path, body=None, token=None, ok=(200, 201)):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(API + path, method=method, headers=headers,
                                 data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        if e.code in ok:
            raise
        return e.code, e.read().decode(errors="replace")[:400]
    except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
        return 0, str(e)

def wait(what, fn, limit):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        got = fn()
        if got:
            return got
        time.sleep(2)
    sys.exit(f"timed out after {limit} s waiting for {what}")

wait("api-server health", lambda: call("GET", "/api/v2/monitor/health")[0] == 200, 120)
pw_file = Path(os.environ["PASSWORDS"])
wait("SimpleAuthManager password file", pw_file.exists, 30)
password = json.loads(pw_file.read_text())["admin"]
status, body = call("POST", "/auth/token", {"username": "admin", "password": password})
assert status in (200, 201), (status, body)
token = body["access_token"]
say("api-server healthy, token issued")

# The README's Airflow commands, verbatim (tests/integration/test_readme_commands.py checks they are
# here): $AIRFLOW = the API server, $TOKEN / AIRFLOW_API_TOKEN = a token, `frontier` on PATH.
README_ENV = {**os.environ, "AIRFLOW": API, "TOKEN": token, "AIRFLOW_API_TOKEN": token,
              "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
README_POOLS = r'''frontier pools sync sweeps/nightly.yaml sweeps/smoke.yaml --api "$AIRFLOW"'''
README_TRIGGER = r"""curl -X POST "$AIRFLOW/api/v2/dags/frontier_adhoc/dagRuns" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"logical_date": null, "conf": {"model": "deepseek-ai/DeepSeek-R1",
  "hardware": "h200_sxm", "labels": "TP8, DEP8", "scenarios": "1k1k", "concurrencies": "4, 16, 64"}}'"""

def readme_cmd(cmd):
    out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, env=README_ENV, timeout=60)
    print(out.stdout.strip()[-1500:], out.stderr.strip()[-500:], flush=True)
    assert out.returncode == 0, (cmd, out.returncode, out.stderr[-2000:])
    return out.stdout

# GPU pools: the CLI over the REST API (the plan task also syncs them through the connection)
readme_cmd(README_POOLS)
s, pools = call("GET", "/api/v2/pools?limit=100", token=token)
names = {x["name"] for x in pools.get("pools", [])} if s == 200 else set()
assert {"frontier_gpu_h100_sxm", "frontier_gpu_h200_sxm"} <= names, (s, names)
say("README pools sync over the REST API: ok")

def dag_ready(dag_id):
    return call("GET", f"/api/v2/dags/{dag_id}", token=token)[0] == 200
for dag_id in ("frontier_adhoc", "publish_frontier", "nightly_frontier"):
    wait(f"DAG {dag_id} parsed", lambda: dag_ready(dag_id), 180)
status, errors = call("GET", "/api/v2/importErrors", token=token)
assert status == 200 and errors["total_entries"] == 0, errors
# the README's trigger (DeepSeek-R1 on H200: not run here): accepted while the DAG is still paused,
# then deleted before anything is unpaused
readme_run = json.loads(readme_cmd(README_TRIGGER))
assert readme_run.get("dag_run_id") and readme_run["conf"]["labels"] == "TP8, DEP8", readme_run
status, body = call("DELETE", f"/api/v2/dags/frontier_adhoc/dagRuns/{readme_run['dag_run_id']}", token=token,
                    ok=(204,))
assert status in (200, 204), (status, body)
say(f"README trigger accepted ({readme_run['dag_run_id']}) and deleted")
for dag_id in ("frontier_adhoc", "publish_frontier"):
    status, body = call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False}, token=token)
    assert status == 200, (status, body)
say("DAGs parsed, no import errors; frontier_adhoc and publish_frontier unpaused")

conf = {"model": "meta-llama/Llama-3.1-8B-Instruct", "hardware": "h100_sxm", "precision": "fp8",
        "labels": ["TP1", "TP2"], "scenarios": ["short:1024:128"], "concurrencies": [1, 4],
        "engine": "sim", "target": "local", "num_prompts_multiplier": 2, "min_prompts": 8,
        "sim_time_scale": 4.0}
status, run = call("POST", "/api/v2/dags/frontier_adhoc/dagRuns", {"logical_date": None, "conf": conf}, token=token)
assert status in (200, 201), (status, run)
run_id = run["dag_run_id"]
say(f"triggered frontier_adhoc run {run_id}")

# a bad form is rejected by the API's Param validation before any run exists
status, body = call("POST", "/api/v2/dags/frontier_adhoc/dagRuns",
                    {"logical_date": None, "conf": {**conf, "labels": ["TP0"]}}, token=token)
assert status >= 400 and ("TP0" in str(body) or "labels" in str(body)), (status, body)
say(f"bad form rejected by the API: HTTP {status}")

def finished():
    s, r = call("GET", f"/api/v2/dags/frontier_adhoc/dagRuns/{run_id}", token=token)
    return r["state"] if s == 200 and r["state"] in ("success", "failed") else None
state = wait("frontier_adhoc run to finish", finished, int(os.environ["WAIT_RUN_S"]))
s, tis = call("GET", f"/api/v2/dags/frontier_adhoc/dagRuns/{run_id}/taskInstances?limit=100", token=token)
rows = sorted((t["task_id"], t.get("rendered_map_index"), t["state"], t["pool"], t["pool_slots"])
              for t in tis["task_instances"])
for r in rows:
    print("   ", r, flush=True)
assert state == "success", f"run {run_id} ended {state}"
say(f"frontier_adhoc run {run_id}: success")
bench = {r[1]: (r[3], r[4]) for r in rows if r[0] == "benchmark"}
assert bench == {"TP1 / short": ("frontier_gpu_h100_sxm", 1), "TP2 / short": ("frontier_gpu_h100_sxm", 2)}, bench

import duckdb
wh = os.environ["FRONTIER_WAREHOUSE"]
pts = duckdb.sql(f"select label, max_concurrency, status from read_parquet('{wh}/points/**/*.parquet', "
                 f"hive_partitioning=true) where run_id = '{run_id}' order by 1, 2").fetchall()
assert pts == [("TP1", 1, "ok"), ("TP1", 4, "ok"), ("TP2", 1, "ok"), ("TP2", 4, "ok")], pts
site = Path(os.environ["FRONTIER_SITE"]) / "index.html"
assert site.is_file(), site
reports = [json.loads(p.read_text()) for p in Path(os.environ["FRONTIER_ARTIFACTS"]).rglob("report.json")]
assert [r["run_id"] for r in reports] == [run_id] and reports[0]["ok"], reports
say(f"warehouse: 4 points for {run_id}; site {site}; report ok")

def published():
    s, r = call("GET", "/api/v2/dags/publish_frontier/dagRuns?limit=10", token=token)
    runs = r.get("dag_runs", []) if s == 200 else []
    done = [x for x in runs if x["state"] in ("success", "failed")]
    return done[0] if done else None
pub = wait("the asset-triggered publish_frontier run", published, 180)
assert pub["state"] == "success" and pub["run_type"] == "asset_triggered", pub
say(f"publish_frontier ran on the frontier_marts asset: {pub['dag_run_id']} {pub['state']}")
PYEOF
say "all checks passed"
