"""One red task per cause, through real Airflow (dag.test on SQLite).

- planning fails (DEP8 on a dense model): `plan` is the only red task; marts and publish are
  skipped, report is upstream_failed (so the run is failed), no `frontier_marts` asset event is
  emitted, and the run's report names the cause;
- a good run: each mapped benchmark task carries its deployment's name the whole time it runs (a
  thread watches the metadata DB during the run): the cluster policy names it when the scheduler
  creates it, and the map_index_template renders the same name before execute.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from tests.support import frontier_env

pytest.importorskip("airflow")
pytestmark = [pytest.mark.timeout(240)]

TINY = {
    "model": "meta-llama/Llama-3.1-8B-Instruct",
    "hardware": "h100_sxm",
    "precision": "fp8",
    "labels": ["TP1", "TP2"],
    "scenarios": ["short:1024:128"],
    "concurrencies": [1, 4],
    "engine": "sim",
    "target": "local",
    "num_prompts_multiplier": 2,
    "min_prompts": 8,
    "sim_time_scale": 1.0,
}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cascade")
    with frontier_env(tmp):
        from operators.local_run import init_db
        from tests.support import register_cluster_policy

        init_db(reset=True)
        # the cluster policy, as airflow_local_settings.py installs it: names the mapped tasks at creation
        register_cluster_policy()
        yield tmp


def _states(dag_id: str, run_id: str) -> dict[str, list[str]]:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(TaskInstance.task_id, TaskInstance.state).where(
                TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id
            )
        ).all()
    out: dict[str, list[str]] = {}
    for task_id, state in rows:
        out.setdefault(task_id, []).append(str(state).split(".")[-1].lower())
    return out


def _asset_events(run_id: str) -> list:
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return session.execute(select(AssetEvent.id).where(AssetEvent.source_run_id == run_id)).all()


def test_plan_failure_is_one_red_task_and_the_report_names_it(env):
    from operators.local_run import run_dag_once

    run = run_dag_once("frontier_adhoc", {**TINY, "labels": ["TP1", "DEP8"]})
    assert str(run.state).endswith("failed")
    states = _states("frontier_adhoc", run.run_id)
    assert states == {
        "plan": ["failed"],
        "benchmark": ["upstream_failed"],
        "marts": ["skipped"],
        "publish": ["skipped"],
        "report": ["upstream_failed"],
    }, states
    assert sum(s.count("failed") for s in states.values()) == 1  # exactly one red task
    assert _asset_events(run.run_id) == []  # publish_frontier is not started for nothing
    reports = [json.loads(p.read_text()) for p in (env / "artifacts").rglob("report.json")]
    mine = [r for r in reports if r["run_id"] == run.run_id]
    assert len(mine) == 1 and mine[0]["ok"] is False and mine[0]["status"] == "failed"
    assert mine[0]["cause"].startswith(
        "planning failed: invalid input: labels: label 'DEP8': DEP needs a MoE"
    )
    assert "DEP needs a MoE model" in mine[0]["headline"]
    assert not (env / "site" / "index.html").exists()


def test_mapped_tasks_are_named_while_running(env):
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from operators.local_run import run_dag_once

    seen: set[tuple[int, str | None]] = set()
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            try:
                with create_session() as session:
                    rows = session.execute(
                        select(TaskInstance.map_index, TaskInstance.rendered_map_index).where(
                            TaskInstance.dag_id == "frontier_adhoc",
                            TaskInstance.task_id == "benchmark",
                            TaskInstance.state == "running",
                        )
                    ).all()
            except Exception:  # noqa: BLE001 - SQLite busy while the run writes: try again
                rows = []
            seen.update((r[0], r[1]) for r in rows)
            time.sleep(0.05)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    try:
        run = run_dag_once("frontier_adhoc", TINY)
    finally:
        stop.set()
        t.join(5)
    assert str(run.state).endswith("success"), _states("frontier_adhoc", run.run_id)
    assert {mi for mi, _ in seen} == {0, 1}, "never saw both benchmark tasks running"
    assert seen == {(0, "TP1 / short"), (1, "TP2 / short")}, seen  # never `0` / `1`
    assert len(_asset_events(run.run_id)) == 1  # a good run emits its marts event once
