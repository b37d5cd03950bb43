"""Runs: the item state machine, the result-to-rows adapter, run records and the sweep.

Airflow tasks (``operators/``) and ``frontier run`` both call these, so the DAG and the CLI
produce the same warehouse.

- :mod:`frontier.run.records`: :class:`RunContext`, ``start_run`` / ``finish_run``, audits.
- :mod:`frontier.run.item`: launch -> ready -> bench -> land for one plan item.
- :mod:`frontier.run.rows`: what an item lands in each warehouse table.
- :mod:`frontier.run.sweep`: every item of a spec in turn (``frontier run``).
"""

from __future__ import annotations

from frontier.planning.planner import deployment_groups
from frontier.run.item import (
    ItemOutcome,
    ItemRun,
    bench_item,
    launch_item,
    ready_item,
    resume_item,
    run_deployment,
    run_item,
    stop_item,
)
from frontier.run.records import (
    RunContext,
    build_marts,
    default_run_id,
    finish_run,
    label_summary,
    start_run,
    utcnow,
)
from frontier.run.sweep import run_sweep

__all__ = [
    "ItemOutcome",
    "ItemRun",
    "RunContext",
    "bench_item",
    "build_marts",
    "default_run_id",
    "deployment_groups",
    "finish_run",
    "label_summary",
    "launch_item",
    "ready_item",
    "resume_item",
    "run_deployment",
    "run_item",
    "run_sweep",
    "start_run",
    "stop_item",
    "utcnow",
]
