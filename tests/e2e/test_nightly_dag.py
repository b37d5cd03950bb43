"""The nightly DAG end to end through real Airflow (dag.test on SQLite) on the smoke spec.

Afterwards the test reads the Parquet with DuckDB and checks rows, labels, GPU counts, and that
the site has the chart.
"""

from pathlib import Path

import duckdb
import pytest
import yaml

from tests.support import frontier_env, set_env

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("airflow")


@pytest.fixture(scope="module")
def nightly_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nightly")
    with frontier_env(tmp):
        from operators.local_run import init_db, run_dag_once

        init_db(reset=True)
        run = run_dag_once("nightly_frontier", {"spec": "sweeps/smoke.yaml", "engine": "sim"})
    return run, tmp


def test_dag_run_succeeds(nightly_run):
    run, _ = nightly_run
    assert str(run.state).endswith("success"), run.state


def test_warehouse_has_every_label_and_point(nightly_run):
    run, tmp = nightly_run
    smoke = yaml.safe_load((ROOT / "sweeps/smoke.yaml").read_text())
    labels = {lab for m in smoke["matrix"] for lab in m["labels"]}
    ladder = smoke["concurrencies"]
    glob = str(tmp / "warehouse" / "points" / "**" / "*.parquet")
    rows = duckdb.sql(
        f"select label, gpus, max_concurrency, status, completed, run_id, total_token_throughput "
        f"from read_parquet('{glob}', hive_partitioning=true)"
    ).fetchall()
    assert {r[0] for r in rows} == labels
    assert len(rows) == len(labels) * len(ladder)
    gpus = {r[0]: r[1] for r in rows}
    assert gpus == {"TP1": 1, "TP2": 2, "TP8": 8, "DEP8": 8}
    assert all(r[3] == "ok" and r[4] > 0 and r[6] > 0 for r in rows)
    assert {r[5] for r in rows} == {run.run_id}
    req = str(tmp / "warehouse" / "requests" / "**" / "*.parquet")
    n_req, n_measured = duckdb.sql(
        f"select count(*), count(*) filter (where not is_warmup) from read_parquet('{req}', hive_partitioning=true)"
    ).fetchall()[0]
    load = smoke["load"]
    per_point = {c: max(load["min_prompts"], load["num_prompts_multiplier"] * c) for c in ladder}
    assert n_measured == len(labels) * sum(per_point.values())
    assert n_req > n_measured  # warm-up requests are kept, flagged
    runs = duckdb.sql(
        f"select status, engine from read_parquet('{tmp}/warehouse/runs/**/*.parquet', hive_partitioning=true)"
    ).fetchall()
    assert runs == [("success", "sim")]


def test_site_has_the_chart(nightly_run):
    _, tmp = nightly_run
    index = tmp / "site" / "index.html"
    assert index.is_file()
    html = index.read_text()
    assert "Interactivity (tok/s/user)" in html or "vega" in html.lower()
    specs = list((tmp / "site").rglob("*.vl.json")) + list((tmp / "site").rglob("*.json"))
    text = "\n".join(p.read_text() for p in specs)
    assert "Token Throughput per GPU (tok/s/GPU)" in text
    for label in ("TP1", "TP2", "TP8", "DEP8"):
        assert label in text


def test_mapped_tasks_are_named_by_label_and_scenario(nightly_run):
    run, _ = nightly_run
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(TaskInstance.rendered_map_index, TaskInstance.state).where(
                TaskInstance.dag_id == "nightly_frontier",
                TaskInstance.run_id == run.run_id,
                TaskInstance.task_id == "benchmark",
            )
        ).all()
    assert {r[0] for r in rows} == {"TP1 / 1k64", "TP2 / 1k64", "TP8 / 1k64", "DEP8 / 1k64"}
    assert all(str(r[1]).endswith("success") for r in rows)


def test_report_task_wrote_a_clean_report(nightly_run):
    run, tmp = nightly_run
    reports = list((tmp / "artifacts").rglob("report.json"))
    assert len(reports) == 1
    import json

    report = json.loads(reports[0].read_text())
    assert report["run_id"] == run.run_id and report["ok"] is True, report


def test_publish_frontier_republishes_the_nightly_run(nightly_run):
    run, tmp = nightly_run
    with set_env(FRONTIER_WAREHOUSE=str(tmp / "warehouse"), FRONTIER_SITE=str(tmp / "site2")):
        from operators.local_run import run_dag_once

        pub = run_dag_once("publish_frontier", {"run_id": run.run_id})
    assert str(pub.state).endswith("success"), pub.state
    index = tmp / "site2" / "index.html"
    assert index.is_file() and run.run_id.split("T")[0] in "".join(
        p.read_text(errors="ignore") for p in (tmp / "site2").rglob("*.html")
    )
