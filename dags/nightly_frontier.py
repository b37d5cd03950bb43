"""
### nightly_frontier

Benchmarks every deployment of a sweep spec (default `sweeps/nightly.yaml`) and publishes the
**Token Throughput per GPU vs Interactivity** frontier site.

`plan` validates the spec (narrowed by this run's params) and records the run ->
`benchmark` runs once per deployment x scenario (start servers, run the concurrency ladder,
land Parquet, stop servers) -> `marts` closes the run record and runs the SQL audits ->
`publish` rebuilds the static site.

Trigger it manually with a form: pick another spec (e.g. `sweeps/smoke.yaml`), the engine
(`sim` runs anywhere, `sglang` needs GPUs), a subset of labels or scenarios, or another ladder.
The Airflow run id is the warehouse run id.
"""

from __future__ import annotations

import datetime as dt
import os

from airflow.sdk import DAG, Param

from operators import BenchmarkDeploymentOperator, BuildMartsOperator, PlanSweepOperator, PublishSiteOperator

ENGINES = [None, "sim", "sglang", "endpoint"]

with DAG(
    dag_id="nightly_frontier",
    description="Nightly SGLang frontier: tok/s/GPU vs tok/s/user per deployment label",
    doc_md=__doc__,
    schedule=os.environ.get("FRONTIER_NIGHTLY_SCHEDULE", "0 2 * * *"),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=dt.timedelta(hours=20),
    tags=["frontier", "benchmark", "sglang"],
    default_args={"owner": "frontier", "retries": 0},
    params={
        "spec": Param(
            os.environ.get("FRONTIER_NIGHTLY_SPEC", "sweeps/nightly.yaml"),
            type="string",
            minLength=1,
            description="Sweep spec YAML, relative to the project root (e.g. sweeps/smoke.yaml).",
        ),
        "engine": Param(
            os.environ.get("FRONTIER_ENGINE") or None,
            type=["null", "string"],
            enum=ENGINES,
            description="Override the spec's engine: sim (simulated SGLang), sglang (real GPUs), endpoint.",
        ),
        "labels": Param(
            [], type="array", items={"type": "string"},
            description="Subset of the spec's deployment labels (empty = all), e.g. DEP8, SEP4+1xDEP8.",
        ),
        "scenarios": Param(
            [], type="array", items={"type": "string"},
            description="Subset of the spec's scenarios (empty = all), e.g. 1k1k, 8k1k.",
        ),
        "concurrencies": Param(
            [], type="array", items={"type": "integer", "minimum": 1},
            description="Concurrency ladder replacing the spec's (empty = the spec's), ascending.",
        ),
    },
) as dag:
    plan = PlanSweepOperator(task_id="plan", execution_timeout=dt.timedelta(minutes=10))
    benchmark = BenchmarkDeploymentOperator.partial(
        task_id="benchmark",
        map_index_template="{{ frontier_item }}",
        retries=2,
        retry_delay=dt.timedelta(seconds=30),
        retry_exponential_backoff=2.0,
        execution_timeout=dt.timedelta(hours=4),
        max_active_tis_per_dagrun=int(os.environ.get("FRONTIER_PARALLEL_DEPLOYMENTS", "1")),
    ).expand(entry=plan.output)
    marts = BuildMartsOperator(
        task_id="marts", plan_entries=plan.output, trigger_rule="all_done",
        execution_timeout=dt.timedelta(minutes=30),
    )
    publish = PublishSiteOperator(
        task_id="publish", trigger_rule="all_done", execution_timeout=dt.timedelta(minutes=30)
    )
    benchmark >> marts >> publish
