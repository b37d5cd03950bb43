"""
### nightly_frontier

Benchmarks every deployment of a sweep spec (default `sweeps/nightly.yaml`) and publishes the
**Token Throughput per GPU vs Interactivity** frontier site. Daily at 02:00 UTC, no catch-up.

| task | what |
|---|---|
| `plan` | validates the spec (narrowed by this run's params), records the run, lists deployment x scenario items, syncs the GPU pools when the `frontier_airflow_api` connection exists |
| `benchmark` | one mapped task per item, named `DEP8 / 8k1k`: start the servers, run the concurrency ladder (one log line per point), land Parquet, stop the servers. Retried twice on a launch failure; runs in the hardware's GPU pool with one slot per GPU (cluster policy `operators.policy`) |
| `marts` | closes the run record, runs the SQL audits, emits the `frontier_marts` asset (`publish_frontier` listens) |
| `publish` | rebuilds the static site for this run |
| `report` | failed points + flagged regressions -> `report.md` / `report.json` in the run's artifacts; **fails** when there are any, so the run is marked failed and `on_failure_callback` notifies |

Trigger it manually with a form: another spec (e.g. `sweeps/smoke.yaml`), the engine (`sim`
runs anywhere, `sglang` needs GPUs), a subset of labels or scenarios, or another ladder. For a
sweep that is not in a spec file, use `frontier_adhoc`. The Airflow run id is the warehouse run id.
"""

from __future__ import annotations

import datetime as dt
import os

from airflow.sdk import DAG, Param

from operators.notify import on_run_failure
from operators.wiring import benchmark_chain

ENGINES = [None, "sim", "sglang", "endpoint", "predict"]

with DAG(
    dag_id="nightly_frontier",
    description="Nightly SGLang frontier: tok/s/GPU vs tok/s/user per deployment label",
    doc_md=__doc__,
    schedule=os.environ.get("FRONTIER_NIGHTLY_SCHEDULE", "0 2 * * *"),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=dt.timedelta(hours=20),
    tags=["frontier", "benchmark", "sglang", "nightly"],
    owner_links={"frontier": "https://github.com/sgl-project/sglang"},
    default_args={"owner": "frontier", "retries": 0},
    on_failure_callback=on_run_failure,
    params={
        "spec": Param(
            os.environ.get("FRONTIER_NIGHTLY_SPEC", "sweeps/nightly.yaml"),
            type="string",
            minLength=1,
            title="Sweep spec",
            description="Sweep spec YAML, relative to the project root (e.g. sweeps/smoke.yaml).",
        ),
        "engine": Param(
            os.environ.get("FRONTIER_ENGINE") or None,
            type=["null", "string"],
            enum=ENGINES,
            title="Engine override",
            description="Override the spec's engine: sim (simulated SGLang), sglang (real GPUs), endpoint.",
        ),
        "labels": Param(
            [],
            type="array",
            items={"type": "string"},
            title="Labels subset",
            description="Subset of the spec's deployment labels (empty = all), e.g. DEP8, SEP4+1xDEP8.",
        ),
        "scenarios": Param(
            [],
            type="array",
            items={"type": "string"},
            title="Scenarios subset",
            description="Subset of the spec's scenarios (empty = all), e.g. 1k1k, 8k1k.",
        ),
        "concurrencies": Param(
            [],
            type="array",
            items={"type": "integer", "minimum": 1},
            title="Concurrency ladder",
            description="Concurrency ladder replacing the spec's (empty = the spec's), ascending.",
        ),
    },
) as dag:
    benchmark_chain(from_params=False, deployment_timeout=dt.timedelta(hours=4))
