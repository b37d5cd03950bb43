"""The four operators of the frontier DAGs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator

from operators import context as fctx


class PlanSweepOperator(BaseOperator):
    """Validate the spec (narrowed by the trigger's params), record the run, return the items.

    Returns a list of small dicts ``{"spec_path", "item"}`` for dynamic task mapping. The
    resolved spec is written next to the run's artifacts so every mapped task reads the same one.
    """

    ui_color = "#e8f0fe"

    def execute(self, context: dict[str, Any]) -> list[dict[str, Any]]:
        from frontier import pipeline
        from frontier.plan import plan
        from frontier.spec import load_spec, narrow

        params = dict(context["params"])
        spec = load_spec(fctx.spec_path(params))
        spec = narrow(
            spec,
            labels_subset=list(params.get("labels") or []),
            scenarios_subset=list(params.get("scenarios") or []),
            concurrencies=[int(c) for c in params.get("concurrencies") or []],
            engine=params.get("engine") or None,
        )
        items = plan(spec)
        ctx = fctx.run_context(context)
        run_dir = Path(ctx.artifacts) / pipeline._safe(ctx.run_id)
        run_dir.mkdir(parents=True, exist_ok=True)
        resolved = run_dir / "spec.json"
        resolved.write_text(spec.model_dump_json(indent=2))
        pipeline.start_run(spec, ctx)
        self.log.info("run %s: %d item(s) from spec %s (engine %s)", ctx.run_id, len(items), spec.name, spec.engine)
        for it in items:
            self.log.info("  %s  %s on %s, %d GPU(s), ladder %s", it.name, it.model, it.hardware, it.gpus,
                          it.concurrencies)
        return [{"spec_path": str(resolved), "name": it.name, "item": it.model_dump(mode="json")} for it in items]


class BenchmarkDeploymentOperator(BaseOperator):
    """Start one deployment, run its concurrency ladder, land Parquet, stop it.

    A launch failure raises after the failure is landed, so Airflow's retries (with backoff) can
    try again; points that ran and failed are results, recorded, and do not fail the task.
    """

    template_fields = ("entry",)
    ui_color = "#fce8e6"

    def __init__(self, *, entry: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.entry = entry
        self._running = None

    def execute(self, context: dict[str, Any]) -> dict[str, Any]:
        from frontier import pipeline
        from frontier.plan import PlanItem
        from frontier.spec import parse_spec

        entry = self.entry
        item = PlanItem.model_validate(entry["item"])
        context["frontier_item"] = item.name  # rendered by map_index_template
        spec = parse_spec(json.loads(Path(entry["spec_path"]).read_text()), source=entry["spec_path"])
        ctx = fctx.run_context(context)

        def started(dep):
            self._running = dep

        try:
            outcome = pipeline.run_item(item, spec, ctx, progress=self.log.info, on_started=started)
        finally:
            self._running = None
        result = outcome.to_dict()
        if outcome.status == "failed" and outcome.points_ok == 0 and not any(
            "requests failed" in f for f in outcome.failures
        ):
            from airflow.exceptions import AirflowException

            raise AirflowException(f"{item.name}: deployment failed: {'; '.join(outcome.failures)[:2000]}")
        return result

    def on_kill(self) -> None:
        dep = self._running
        if dep is not None:
            self.log.warning("task killed: stopping %d server process(es)", len(dep.processes))
            dep.stop()


class BuildMartsOperator(BaseOperator):
    """Close the run record and run every audit; a failing audit fails with the offending rows."""

    template_fields = ("plan_entries",)

    def __init__(self, *, plan_entries: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan_entries = plan_entries

    def execute(self, context: dict[str, Any]) -> dict[str, Any]:
        from frontier import pipeline
        from frontier.spec import parse_spec

        entries = list(self.plan_entries or [])
        ctx = fctx.run_context(context)
        if entries:
            spec = parse_spec(json.loads(Path(entries[0]["spec_path"]).read_text()))
            status = pipeline.finish_run(spec, ctx, expected_items=len(entries))
            self.log.info("run %s finished: %s", ctx.run_id, status)
        else:
            status = "failed"
        result = pipeline.build_marts(ctx)
        summary = pipeline.label_summary(ctx.warehouse, ctx.run_id)
        self.log.info("best tok/s/GPU per label:\n%s", summary.to_string(index=False))
        return {"run_id": ctx.run_id, "status": status, **result}


class PublishSiteOperator(BaseOperator):
    """Build the static site from the warehouse and swap it in atomically."""

    def execute(self, context: dict[str, Any]) -> str:
        from frontier.site import publish

        params = dict(context.get("params") or {})
        index = publish(fctx.warehouse_dir(params), fctx.site_dir(params), run_id=str(context["run_id"]))
        self.log.info("site published: %s", index)
        return str(index)
