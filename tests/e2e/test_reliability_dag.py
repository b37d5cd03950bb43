"""Issue 10 through Airflow (dag.test on SQLite): two representative faults in one nightly run.

One tiny sweep, three labels: TP1 healthy, TP2 answers every request with HTTP 500 (points fail,
the server stays up), TP4 crashes after 2 requests (the point fails with the exit reason, the
rest of its ladder is not run). Every task runs through end to end: every failure is in the
``failures`` table with its reason, TP1's results land, the run is ``partial``, the site shows the
failures, and no simulated server is left running.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.support import frontier_env, sim_children

pytest.importorskip("airflow")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

SPEC = {
    "name": "reliability",
    "engine": "sim",
    "scenarios": [{"name": "t", "isl": 16, "osl": 4}],
    "concurrencies": [1, 2],
    "num_prompts": 4,
    "warmup_multiplier": 0,
    "ready_timeout_s": 10,
    "request_timeout_s": 3,
    "matrix": [
        {
            "model": "meta-llama/Llama-3.1-8B-Instruct",
            "hardware": "h100_sxm",
            "labels": ["TP1", "TP2", "TP4"],
            "faults": {"TP2": {"http_error": 1.0, "http_status": 500}, "TP4": {"crash_after": 2}},
        }
    ],
}


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reliability")
    spec_path = tmp / "reliability.yaml"
    spec_path.write_text(yaml.safe_dump(SPEC))
    with frontier_env(tmp):
        from operators.local_run import init_db, run_dag_once

        init_db()
        t0 = time.monotonic()
        run = run_dag_once("nightly_frontier", {"spec": str(spec_path), "engine": "sim"})
    return run, tmp, time.monotonic() - t0


def _q(tmp: Path, table: str, sql: str) -> list[tuple]:
    glob = str(tmp / "warehouse" / table / "**" / "*.parquet")
    return duckdb.sql(sql.replace("T", f"read_parquet('{glob}', hive_partitioning=true)", 1)).fetchall()


def _task_states(run) -> dict[str, list[str]]:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(TaskInstance.task_id, TaskInstance.state).where(
                TaskInstance.dag_id == "nightly_frontier", TaskInstance.run_id == run.run_id
            )
        ).all()
    out: dict[str, list[str]] = {}
    for task_id, state in rows:
        out.setdefault(task_id, []).append(str(state).split(".")[-1].lower())
    return out


def test_every_task_runs_through_and_failures_are_recorded(faulty_run):
    run, tmp, took = faulty_run
    assert took < 200
    states = _task_states(run)
    # the benchmark tasks succeed (failed points are results), marts and publish run; only the
    # run report (if the DAG has one) turns a partial night red
    for task in ("plan", "marts", "publish"):
        assert states[task] == ["success"], states
    assert states["benchmark"] == ["success"] * 3, states
    assert set(states) - {"plan", "benchmark", "marts", "publish"} <= {"report"}
    fails = _q(
        tmp,
        "failures",
        "select label, max_concurrency, stage, reason from T where run_id = "
        f"'{run.run_id}' order by label, max_concurrency",
    )
    tp2 = [f for f in fails if f[0] == "TP2"]
    assert [f[1] for f in tp2] == [1, 2]
    assert all("4 of 4 requests failed" in f[3] and "HTTP 500 Internal Server Error" in f[3] for f in tp2)
    tp4 = [f for f in fails if f[0] == "TP4"]
    assert [f[1] for f in tp4] == [1, 2]
    assert "exited with code 1" in tp4[0][3] and tp4[1][3].startswith("not run: the deployment is gone")
    assert not [f for f in fails if f[0] == "TP1"]
    pts = _q(tmp, "points", "select label, max_concurrency, status from T order by 1, 2")
    assert [p for p in pts if p[0] == "TP1"] == [("TP1", 1, "ok"), ("TP1", 2, "ok")]
    assert _q(tmp, "runs", "select status from T") == [("partial",)]


def test_site_shows_the_failures(faulty_run):
    _, tmp, _ = faulty_run
    html = "\n".join(p.read_text() for p in (tmp / "site").rglob("*.html"))
    assert "failure(s)" in html
    assert "HTTP 500 Internal Server Error" in html and "not run: the deployment is gone" in html


def test_no_server_left_and_logs_kept(faulty_run):
    _, tmp, _ = faulty_run
    assert not [c.pid for c in sim_children()]
    logs = list((tmp / "artifacts").rglob("sim-server.log"))
    assert len(logs) == 3
    crashed = [p for p in logs if "TP4" in str(p)]
    assert "Scheduler hit an exception" in crashed[0].read_text()
