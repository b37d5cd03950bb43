"""
### publish_frontier

Re-publishes the static frontier site, without running any benchmark.

Scheduled on the **`frontier_marts` asset**: each time the `marts` task of `nightly_frontier` or
`frontier_adhoc` finishes a run's marts, this DAG rebuilds the site for the run named in the
asset event. Also manual: trigger it (optionally with a `run_id`) after a chart or SQL change to
re-render the site from the warehouse as it is.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, Param

from operators.assets import MARTS
from operators.frontier_ops import PublishSiteOperator
from operators.notify import on_run_failure

with DAG(
    dag_id="publish_frontier",
    description="Re-publish the frontier site from the warehouse (on new marts, or manually)",
    doc_md=__doc__,
    schedule=[MARTS],
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=dt.timedelta(hours=1),
    tags=["frontier", "site"],
    default_args={"owner": "frontier", "retries": 1, "retry_delay": dt.timedelta(minutes=1)},
    on_failure_callback=on_run_failure,
    params={
        "run_id": Param(
            None,
            type=["null", "string"],
            title="Run id",
            description="Warehouse run to feature (empty = the triggering asset event's run, else the latest).",
        ),
    },
) as dag:
    PublishSiteOperator(task_id="publish", which="triggering", execution_timeout=dt.timedelta(minutes=30))
