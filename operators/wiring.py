"""The task chain both benchmark DAGs share: plan -> benchmark (mapped) -> marts -> publish -> report."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from operators.assets import MARTS
from operators.frontier_ops import (
    BenchmarkDeploymentOperator,
    BuildMartsOperator,
    PlanSweepOperator,
    PublishSiteOperator,
    RunReportOperator,
)

# retries only where they help: a deployment that failed to launch (a port, a slow node, a flaky
# NCCL init) often comes up on the next try; points that ran and failed are results, not retried.
LAUNCH_RETRIES: dict[str, Any] = {
    "retries": 2,
    "retry_delay": dt.timedelta(seconds=30),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": dt.timedelta(minutes=10),
}


def deferrable() -> bool | str:
    """``FRONTIER_DEFERRABLE``: whether the benchmark task defers while its servers load.

    ``auto`` (default): only for targets ssh / kubernetes, whose servers live off the worker; a
    local-target deployment is the worker's own child processes on the worker's GPUs, and a task
    resumed on another worker could neither reach nor stop them. ``1``: always (one-machine
    Airflow). ``0``: never, for an Airflow without a triggerer.
    """
    value = os.environ.get("FRONTIER_DEFERRABLE", "auto").strip().lower()
    if value in ("0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on", "always"):
        return True
    return "auto"


def benchmark_chain(*, from_params: bool, deployment_timeout: dt.timedelta) -> dict[str, Any]:
    """Create the five tasks in the current DAG context; returns them by task id."""
    plan = PlanSweepOperator(
        task_id="plan", from_params=from_params, execution_timeout=dt.timedelta(minutes=10)
    )
    benchmark = BenchmarkDeploymentOperator.partial(
        task_id="benchmark",
        # the UI shows `DEP8 / 8k1k`, not `3`, from the start: Airflow renders this template once
        # before execute (with the mapped `entry` already resolved) and again at the end
        map_index_template="{{ task.entry['name'] }}",
        execution_timeout=deployment_timeout,
        max_active_tis_per_dagrun=int(os.environ.get("FRONTIER_PARALLEL_DEPLOYMENTS", "1")),
        # readiness waits (model loads, up to ready_timeout_s) run in the triggerer, not a worker slot
        deferrable=deferrable(),
        **LAUNCH_RETRIES,
    ).expand(entry=plan.output)
    marts = BuildMartsOperator(
        task_id="marts",
        plan_entries=plan.output,
        trigger_rule="all_done",
        outlets=[MARTS],
        execution_timeout=dt.timedelta(minutes=30),
    )
    # one red task per cause: `plan` failing leaves marts and publish skipped (marts skips itself:
    # no marts, no asset event) and report upstream_failed (a direct upstream), so the DAG run is
    # failed with `plan` its only red task; a partial night (failed points, even failed
    # deployments) still runs marts -> publish -> report, and the report is the red one.
    publish = PublishSiteOperator(
        task_id="publish",
        trigger_rule="none_failed_min_one_success",
        execution_timeout=dt.timedelta(minutes=30),
    )
    report = RunReportOperator(
        task_id="report", trigger_rule="none_failed", execution_timeout=dt.timedelta(minutes=10)
    )
    benchmark >> marts >> publish >> report
    plan >> report
    return {"plan": plan, "benchmark": benchmark, "marts": marts, "publish": publish, "report": report}
