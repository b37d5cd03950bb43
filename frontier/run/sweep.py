"""The whole sweep without Airflow (``frontier run``): plan, every item in turn, finish, audits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from frontier.domain.spec import Spec
from frontier.planning.planner import deployment_groups, plan
from frontier.run.item import ItemOutcome, run_deployment
from frontier.run.records import RunContext, build_marts, finish_run, start_run, utcnow


def run_sweep(
    spec: Spec,
    ctx: RunContext,
    *,
    progress: Callable[[str], None] | None = None,
    on_item: Callable[[int, int, ItemOutcome], None] | None = None,
    on_started: Callable[[Any], None] | None = None,
    launch_attempts: int = 2,
    retry_delay_s: float = 2.0,
) -> tuple[str, list[dict]]:
    """Every deployment launched once for all its scenarios (:func:`run_deployment`).

    Returns (run status, item outcomes). Audit failures raise after the run is recorded. A
    failed launch is retried once (``launch_attempts``), as the DAG's task retries would."""
    items = plan(spec)
    started = utcnow()
    start_run(spec, ctx)
    outcomes: list[dict] = []

    def landed(out: ItemOutcome) -> None:
        outcomes.append(out.to_dict())
        if on_item:
            on_item(len(outcomes), len(items), out)

    for group in deployment_groups(items):  # one launch serves every scenario of a deployment
        run_deployment(
            group,
            spec,
            ctx,
            progress=progress,
            on_started=on_started,
            on_item=landed,
            launch_attempts=launch_attempts,
            retry_delay_s=retry_delay_s,
        )
    status = finish_run(spec, ctx, len(items), started)
    build_marts(ctx)
    return status, outcomes
