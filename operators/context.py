"""From an Airflow task context to frontier's RunContext and paths (no Airflow import needed).

The Airflow run id is the warehouse run id. Paths come from the DAG params, else the environment
(FRONTIER_WAREHOUSE, FRONTIER_SITE, FRONTIER_ARTIFACTS, FRONTIER_HOME), else folders under the
project root (the folder above dags/).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def home() -> Path:
    return Path(os.environ.get("FRONTIER_HOME", PROJECT_ROOT))


def resolve(path: str | None, env: str, default: str) -> str:
    value = path or os.environ.get(env) or default
    if "://" in value:  # an object-store root (s3://bucket/prefix): a fleet's shared warehouse / site
        return value
    p = Path(value)
    return str(p if p.is_absolute() else home() / p)


def warehouse_dir(params: dict[str, Any]) -> str:
    return resolve(params.get("warehouse"), "FRONTIER_WAREHOUSE", "warehouse")


def site_dir(params: dict[str, Any]) -> str:
    return resolve(params.get("site"), "FRONTIER_SITE", "site")


def artifacts_dir(params: dict[str, Any]) -> str:
    return resolve(params.get("artifacts"), "FRONTIER_ARTIFACTS", "artifacts")


def spec_path(params: dict[str, Any]) -> str:
    value = params.get("spec") or "sweeps/nightly.yaml"
    p = Path(value)
    if p.is_absolute():
        return str(p)
    for base in (home(), PROJECT_ROOT):
        if (base / p).exists():
            return str(base / p)
    return str(home() / p)


def run_date(context: dict[str, Any]) -> dt.date:
    dag_run = context.get("dag_run")
    for attr in ("run_after", "logical_date", "start_date"):
        value = getattr(dag_run, attr, None) if dag_run is not None else None
        if value is not None:
            return value.date()
    return dt.datetime.now(dt.UTC).date()


def trigger_of(context: dict[str, Any]) -> tuple[str, str]:
    dag_run = context.get("dag_run")
    run_type = str(getattr(dag_run, "run_type", "") or "")
    run_type = run_type.split(".")[-1].lower() or "unknown"
    who = str(getattr(dag_run, "triggering_user_name", "") or "")
    return run_type, who


def run_context(context: dict[str, Any]):
    from frontier.run.records import RunContext

    params = dict(context.get("params") or {})
    trigger, who = trigger_of(context)
    return RunContext(
        run_id=str(context["run_id"]),
        run_date=run_date(context),
        warehouse=warehouse_dir(params),
        artifacts=artifacts_dir(params),
        trigger=trigger,
        triggered_by=who,
    )
