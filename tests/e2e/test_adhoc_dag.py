"""frontier_adhoc end to end through real Airflow (dag.test on SQLite) with a tiny form.

Also: the GPU-pool cluster policy gives each mapped deployment its hardware pool and its GPU
count; bad manual input fails `plan` with a line naming the field; the report is written.
"""

import json

import duckdb
import pytest

from tests.support import frontier_env

pytest.importorskip("airflow")

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
    "sim_time_scale": 4.0,
}


def _policy_registered():
    from tests.support import register_cluster_policy

    return register_cluster_policy()


@pytest.fixture(scope="module")
def adhoc_env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("adhoc")
    with frontier_env(tmp):
        from airflow.models.pool import Pool

        from operators.local_run import init_db

        init_db(reset=True)
        Pool.create_or_update_pool(
            "frontier_gpu_h100_sxm", slots=8, description="test", include_deferred=False
        )
        _policy_registered()
        yield tmp


@pytest.fixture(scope="module")
def adhoc_run(adhoc_env):
    from operators.local_run import run_dag_once

    return run_dag_once("frontier_adhoc", TINY), adhoc_env


def _tis(dag_id, run_id, task_id=None):
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    cols = (
        TaskInstance.task_id,
        TaskInstance.rendered_map_index,
        TaskInstance.state,
        TaskInstance.pool,
        TaskInstance.pool_slots,
    )
    with create_session() as session:
        q = select(*cols).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
        if task_id:
            q = q.where(TaskInstance.task_id == task_id)
        return session.execute(q).all()


def test_adhoc_run_succeeds_and_lands_points(adhoc_run):
    run, tmp = adhoc_run
    assert str(run.state).endswith("success"), _tis("frontier_adhoc", run.run_id)
    glob = str(tmp / "warehouse" / "points" / "**" / "*.parquet")
    rows = duckdb.sql(
        f"select label, gpus, max_concurrency, status, scenario, isl, osl, run_id "
        f"from read_parquet('{glob}', hive_partitioning=true) order by label, max_concurrency"
    ).fetchall()
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("TP1", 1, 1, "ok"),
        ("TP1", 1, 4, "ok"),
        ("TP2", 2, 1, "ok"),
        ("TP2", 2, 4, "ok"),
    ]
    assert {(r[4], r[5], r[6], r[7]) for r in rows} == {("short", 1024, 128, run.run_id)}
    assert (tmp / "site" / "index.html").is_file()


def test_mapped_tasks_named_and_pooled_by_gpu_count(adhoc_run):
    run, _ = adhoc_run
    rows = _tis("frontier_adhoc", run.run_id, "benchmark")
    got = {r[1]: (r[3], r[4]) for r in rows}
    assert got == {"TP1 / short": ("frontier_gpu_h100_sxm", 1), "TP2 / short": ("frontier_gpu_h100_sxm", 2)}


def test_report_written_and_clean(adhoc_run):
    run, tmp = adhoc_run
    states = {r[0]: str(r[2]) for r in _tis("frontier_adhoc", run.run_id) if r[0] != "benchmark"}
    assert states == {"plan": "success", "marts": "success", "publish": "success", "report": "success"}
    folder = next((tmp / "artifacts").glob("*"))
    report = json.loads((folder / "report.json").read_text())
    assert report["ok"] is True and report["failures"] == [] and report["run_id"] == run.run_id
    assert "No" not in (folder / "report.md").read_text().split("\n")[2]


def test_bad_manual_input_fails_plan_with_the_field_named(adhoc_env):
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from operators.local_run import run_dag_once

    bad = {**TINY, "labels": ["DEP8"]}  # expert parallel on a dense model: valid grammar, invalid spec
    run = run_dag_once("frontier_adhoc", bad)
    assert str(run.state).endswith("failed")
    with create_session() as session:
        plan = session.execute(
            select(TaskInstance.state).where(
                TaskInstance.dag_id == "frontier_adhoc",
                TaskInstance.run_id == run.run_id,
                TaskInstance.task_id == "plan",
            )
        ).scalar()
    assert str(plan).endswith("failed")
    from frontier.domain.adhoc import spec_from_params
    from frontier.domain.spec import SpecError

    with pytest.raises(SpecError, match=r"^labels: label 'DEP8': DEP needs a MoE model"):
        spec_from_params(bad)
