"""The operators of the frontier DAGs: plan, benchmark one deployment, marts, publish, report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator

from frontier.run.records import safe_name
from operators import context as fctx


class PlanSweepOperator(BaseOperator):
    """Validate the spec (narrowed by the trigger's params), record the run, return the items.

    ``from_params=False`` (nightly): the spec file of the ``spec`` param, narrowed by the other
    params. ``from_params=True`` (ad-hoc): the spec is built from the form's params
    (:func:`frontier.domain.adhoc.spec_from_params`). Bad input fails the task at once (no retry) with a
    one-line message naming the param.

    Returns a list of small dicts ``{"spec_path", "name", "item", "pool", "pool_slots"}`` for
    dynamic task mapping. The resolved spec is written next to the run's artifacts so every
    mapped task reads the same one.
    """

    ui_color = "#e8f0fe"

    def __init__(self, *, from_params: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.from_params = from_params

    def _spec(self, params: dict[str, Any]):
        from frontier.domain.spec import load_spec, narrow

        if self.from_params:
            from frontier.domain.adhoc import spec_from_params

            return spec_from_params(params)
        from frontier.domain.adhoc import parse_labels, parse_ladder, split_values

        spec = load_spec(fctx.spec_path(params))
        return narrow(
            spec,
            labels_subset=parse_labels(params.get("labels"), required=False),
            scenarios_subset=[str(s) for s in split_values(params.get("scenarios"), "scenarios")],
            concurrencies=parse_ladder(params.get("concurrencies"), required=False),
            engine=params.get("engine") or None,
        )

    def execute(self, context: dict[str, Any]) -> list[dict[str, Any]]:
        from frontier import run as frun
        from frontier.errors import FrontierError
        from frontier.planning import pools as fpools
        from frontier.planning.planner import plan

        params = dict(context["params"])
        ctx = fctx.run_context(context)
        run_dir = Path(ctx.artifacts) / safe_name(ctx.run_id)
        try:
            spec = self._spec(params)
            items = plan(spec)
        except FrontierError as e:
            from airflow.sdk.exceptions import AirflowFailException

            from frontier.analysis.report import plan_failure_report, write_report

            cause = f"invalid input: {e}".replace("\n", "; ")
            # the run's report names the cause; the tasks after this one are skipped, not failed
            path = write_report(plan_failure_report(ctx.run_id, cause), run_dir)
            self.log.error("planning failed; report written: %s", path)
            raise AirflowFailException(cause) from None
        run_dir.mkdir(parents=True, exist_ok=True)
        resolved = run_dir / "spec.json"
        resolved.write_text(spec.model_dump_json(indent=2))
        frun.start_run(spec, ctx)
        self.log.info(
            "run %s: %d item(s) from spec %s (engine %s)", ctx.run_id, len(items), spec.name, spec.engine
        )
        for it in items:
            self.log.info(
                "  %s  %s on %s, %d GPU(s), ladder %s",
                it.name,
                it.model,
                it.hardware,
                it.gpus,
                it.concurrencies,
            )
        pools = fpools.pools_for_spec(spec)
        from operators.pools import sync_pools

        try:
            sync_pools(pools, self.log.info, spec_hint=params.get("spec") or "SPEC")
        except FrontierError as e:  # pools are an optimisation of sharing; never block a run on them
            self.log.warning("GPU pools not synced: %s", e)
        from frontier.planning.planner import deployment_groups

        # one mapped task per deployment: its server serves every scenario before it stops
        groups = deployment_groups(items)
        self.log.info("%d launch(es) for %d item(s)", len(groups), len(items))
        return [
            {
                "spec_path": str(resolved),
                "name": deployment_name(g),
                "key": g[0].key,
                "keys": [it.key for it in g],
                "item": g[0].redacted().model_dump(mode="json"),
                "pool": fpools.pool_name(g[0].hardware),
                "pool_slots": g[0].gpus,
                "queue": g[0].hardware,  # a fleet's Celery queue: the workers of this hardware kind
            }
            for g in groups
        ]


def deployment_name(items) -> str:
    """What the UI calls a deployment's mapped task: ``DEP8 / 1k1k, 8k1k``."""
    return f"{items[0].display_label} / " + ", ".join(it.scenario["name"] for it in items)


def entry_keys(entry: dict[str, Any]) -> list[str]:
    """The plan item keys one mapped task serves (entries before one launch per deployment: one)."""
    return list(entry.get("keys") or [entry.get("key") or entry["item"]["key"]])


class BenchmarkDeploymentOperator(BaseOperator):
    """Start one deployment, run the concurrency ladder of each of its scenarios on it, land
    Parquet per scenario, stop it (one launch per deployment: ``frontier.run.run_deployment``).

    A launch failure raises after the failure is landed, so Airflow's retries (with backoff) can
    try again; points that ran and failed are results, recorded, and do not fail the task.

    ``deferrable=True`` (the DAGs): the task starts the processes (``frontier.run.launch_item(...,
    wait=False)``) and **defers** on :class:`~operators.triggers.ServerReadyTrigger`, so the model
    load does not hold a worker slot; it resumes in :meth:`execute_complete` (any worker) with the
    deployment's JSON handle (target, plan, pids = process groups / pods, log paths), attaches to
    it, runs the ladder, lands, and stops it. Readiness timeout: the failure lands with the
    servers' log tails, everything is stopped and the task raises (retried). ``on_kill`` stops the
    deployment in either half. ``deferrable=False``: all of it in the worker (``run_deployment``).
    Engine ``endpoint`` never defers (nothing to wait for).
    """

    template_fields = ("entry",)
    ui_color = "#fce8e6"

    def __init__(
        self,
        *,
        entry: dict[str, Any],
        deferrable: bool | str = False,
        poll_s: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.entry = entry
        self.deferrable = deferrable
        self.poll_s = poll_s
        self._running = None

    def _load(self, context: dict[str, Any]):
        """(the items this deployment serves, in order, the spec, the run context)."""
        from frontier.domain.spec import parse_spec
        from frontier.planning.planner import plan

        entry = self.entry
        spec = parse_spec(json.loads(Path(entry["spec_path"]).read_text()), source=entry["spec_path"])
        # the real items (their launch plan with any secret the XCom copy masks) from the run's spec
        by_key = {it.key: it for it in plan(spec)}
        keys = entry_keys(entry)
        missing = [k for k in keys if k not in by_key]
        if missing:
            from frontier.errors import FrontierError

            raise FrontierError(
                f"plan items {missing} are not in spec {spec.name!r} any more; re-run the plan task"
            )
        from frontier.launch.targets import is_remote

        if is_remote(spec.target):
            import operators.targets  # noqa: F401  registers SSHHook / KubernetesHook for frontier.launch.targets
        return [by_key[k] for k in keys], spec, fctx.run_context(context)

    def _started(self, dep) -> None:
        self._running = dep

    def _result(self, items, outcomes) -> dict[str, Any]:
        """The task's result: one item's outcome, or every scenario's with the worst status. A
        deployment that never ran a point (launch failure) raises after landing, so Airflow's
        retries apply; failed points are results."""
        if all(
            o.status == "failed" and o.points_ok == 0 and not any("requests failed" in f for f in o.failures)
            for o in outcomes
        ):
            from airflow.exceptions import AirflowException

            why = "; ".join(dict.fromkeys(f for o in outcomes for f in o.failures))
            raise AirflowException(f"{deployment_name(items)}: deployment failed: {why[:2000]}")
        if len(outcomes) == 1:
            return outcomes[0].to_dict()
        order = {"failed": 0, "partial": 1, "success": 2}
        return {
            "status": min((o.status for o in outcomes), key=lambda s: order.get(s, 0)),
            "points_ok": sum(o.points_ok for o in outcomes),
            "points_failed": sum(o.points_failed for o in outcomes),
            "items": [o.to_dict() for o in outcomes],
        }

    def execute(self, context: dict[str, Any]) -> dict[str, Any]:
        from frontier import run as frun
        from frontier.planning.engines import get_engine

        items, spec, ctx = self._load(context)
        engine = get_engine(spec.engine)
        from frontier.launch.targets import is_remote

        defer = self.deferrable is True or (self.deferrable == "auto" and is_remote(spec.target))
        launchable = [it for it in items if not (it.fit_error and engine.checks_fit)]
        if not defer or not engine.starts_servers or not launchable:
            try:
                outcomes = frun.run_deployment(
                    items, spec, ctx, progress=self.log.info, on_started=self._started
                )
            finally:
                self._running = None
            return self._result(items, outcomes)

        from airflow.sdk.exceptions import TaskDeferred

        from operators.triggers import ServerReadyTrigger

        item = launchable[0]
        run = frun.launch_item(item, spec, ctx, progress=self.log.info, on_started=self._started, wait=False)
        try:
            if run.error is not None or run.dep is None:  # lands every scenario's failure, raises (retried)
                return self._result(items, frun.run_deployment(items, spec, ctx, launched=run))
            state = run.to_json()
            # also beside the item's logs: Airflow's dag.test() resumes with the trigger event only
            # (it drops next_kwargs); a real triggerer hands ``state`` back through the kwargs
            (ctx.item_dir(item) / DEFERRED_STATE).write_text(json.dumps(state))
            poll_s = self.poll_s if self.poll_s is not None else (0.25 if engine.simulated else 5.0)
            self.log.info(
                "%s: deferring until healthy (up to %g s); the worker slot is free meanwhile",
                item.name,
                spec.ready_timeout_s,
            )
            self.defer(
                trigger=ServerReadyTrigger(
                    urls=run.dep.ready_urls(),
                    timeout_s=spec.ready_timeout_s,
                    poll_s=poll_s,
                    handle=state["deployment"],
                ),
                method_name="execute_complete",
                kwargs={"state": state},
            )
        except TaskDeferred:
            raise
        except BaseException:
            run.stop_deployment("deployment stopped (task failed before deferring)")
            raise
        finally:
            self._running = None

    def execute_complete(
        self,
        context: dict[str, Any],
        event: dict[str, Any] | None = None,
        state: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        from frontier import run as frun
        from frontier.planning.engines import get_engine

        items, spec, ctx = self._load(context)
        engine = get_engine(spec.engine)
        item = next(it for it in items if not (it.fit_error and engine.checks_fit))
        if state is None:  # dag.test() resumes with the event alone: the handle is kept on disk too
            state = json.loads((ctx.item_dir(item) / DEFERRED_STATE).read_text())
        run = frun.resume_item(item, spec, ctx, state, progress=self.log.info, on_started=self._started)
        try:
            frun.ready_item(run, event)
            outcomes = frun.run_deployment(items, spec, ctx, progress=self.log.info, launched=run)
        finally:
            self._running = None
        return self._result(items, outcomes)

    def on_kill(self) -> None:
        dep = self._running
        if dep is not None:
            self.log.warning("task killed: stopping %d server process(es)", len(dep.processes))
            dep.stop()


DEFERRED_STATE = "deployment.json"


class BuildMartsOperator(BaseOperator):
    """Close the run record and run every audit; a failing audit fails with the offending rows."""

    template_fields = ("plan_entries",)

    def __init__(self, *, plan_entries: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan_entries = plan_entries

    def execute(self, context: dict[str, Any]) -> dict[str, Any]:
        from frontier import run as frun
        from frontier.domain.spec import parse_spec

        entries = list(self.plan_entries or [])
        ctx = fctx.run_context(context)
        if not entries:  # `plan` failed (or planned nothing): no marts, no asset event, nothing to publish
            from airflow.sdk.exceptions import AirflowSkipException

            raise AirflowSkipException("nothing was planned (see the plan task): no marts, no asset event")
        spec = parse_spec(json.loads(Path(entries[0]["spec_path"]).read_text()))
        status = frun.finish_run(spec, ctx, expected_items=sum(len(entry_keys(e)) for e in entries))
        self.log.info("run %s finished: %s", ctx.run_id, status)
        result = frun.build_marts(ctx)
        summary = frun.label_summary(ctx.warehouse, ctx.run_id)
        self.log.info("best tok/s/GPU per label:\n%s", summary.to_string(index=False))
        # the asset event (outlets) says which run the marts are for: publish_frontier reads it
        events = context.get("outlet_events")
        for outlet in self.outlets or []:
            if events is not None:
                events[outlet].extra = {"run_id": ctx.run_id, "dag_id": self.dag_id, "status": status}
        return {"run_id": ctx.run_id, "status": status, **result}


class PublishSiteOperator(BaseOperator):
    """Build the static site from the warehouse and swap it in atomically.

    ``which="this_run"`` (the benchmark DAGs): the site shows this DAG run's warehouse run.
    ``which="triggering"`` (publish_frontier): the run named by the triggering asset event, else
    the ``run_id`` param, else the latest run in the warehouse.
    """

    def __init__(self, *, which: str = "this_run", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if which not in ("this_run", "triggering"):
            raise ValueError(f"which must be 'this_run' or 'triggering', got {which!r}")
        self.which = which

    @staticmethod
    def triggering_run_id(context: dict[str, Any]) -> str | None:
        events = context.get("triggering_asset_events") or {}
        latest = None
        for evs in events.values():
            for ev in evs:
                run_id = (getattr(ev, "extra", None) or {}).get("run_id")
                stamp = str(getattr(ev, "timestamp", ""))
                if run_id and (latest is None or stamp >= latest[0]):
                    latest = (stamp, run_id)
        return latest[1] if latest else None

    def execute(self, context: dict[str, Any]) -> str:
        from frontier.site import publish

        params = dict(context.get("params") or {})
        if self.which == "this_run":
            run_id = str(context["run_id"])
        else:
            run_id = self.triggering_run_id(context) or params.get("run_id") or None
        self.log.info("publishing run %s", run_id or "(latest in the warehouse)")
        index = publish(fctx.warehouse_dir(params), fctx.site_dir(params), run_id=run_id)
        self.log.info("site published: %s", index)
        return str(index)


class RunReportOperator(BaseOperator):
    """Summarise the run's failed points and flagged regressions; fail when there are any.

    Writes ``report.md`` and ``report.json`` into the run's artifacts folder and logs the
    Markdown. Runs when ``plan`` succeeded and nothing before it failed outright
    (``trigger_rule="none_failed"``, with ``plan`` a direct upstream): when planning fails, the
    ``plan`` task writes the report naming the cause and this task ends ``upstream_failed``, which
    marks the DAG run failed without a second red task (a skipped last task would mark it
    successful). A partial night (failed points) still gets here. Outcome: success when
    the run succeeded with no failures and no regressions; otherwise the task FAILS (no retry)
    with the one-line headline, so the DAG run is marked failed and ``on_failure_callback``
    notifies. The site is already published by then: a failed report never hides results.
    """

    ui_color = "#fef7e0"

    def execute(self, context: dict[str, Any]) -> dict[str, Any]:
        from frontier.analysis.report import build_report, write_report

        ctx = fctx.run_context(context)
        report = build_report(ctx.warehouse, ctx.run_id)
        path = write_report(report, Path(ctx.artifacts) / safe_name(ctx.run_id))
        self.log.info("report written: %s\n%s", path, report.markdown())
        if not report.ok:
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(report.headline())
        return {"report": str(path), **report.to_dict()}
