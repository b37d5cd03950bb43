"""The benchmark pipeline in plain Python: start a run, benchmark each plan item, finish.

Airflow tasks (operators/) and ``frontier run`` both call these functions, so the DAG and the
CLI produce the same warehouse. Every landing is per item (its own Parquet part), so parallel
mapped tasks never clobber each other and a retried item replaces only its own rows.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from frontier import labels
from frontier.errors import FrontierError
from frontier.plan import PlanItem
from frontier.spec import Spec

log = logging.getLogger("frontier.pipeline")

ITEM_STATUSES = ("success", "partial", "failed")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def code_version() -> str:
    """The git sha of the checkout this code runs from (``unknown`` outside git)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=Path(__file__).parent,
            capture_output=True, text=True, timeout=5,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@dataclass
class RunContext:
    run_id: str
    run_date: dt.date
    warehouse: str
    artifacts: str
    trigger: str = "cli"
    triggered_by: str = ""

    def item_dir(self, item: PlanItem) -> Path:
        return Path(self.artifacts) / _safe(self.run_id) / item.key


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in text)


def _wh(ctx: RunContext):
    from frontier.warehouse import Warehouse

    return Warehouse(ctx.warehouse)


def _runs_row(ctx: RunContext, spec: Spec, status: str, started: dt.datetime, ended=None,
              engine_version: str = "") -> dict[str, Any]:
    return {
        "trigger": ctx.trigger,
        "triggered_by": ctx.triggered_by,
        "spec_name": spec.name,
        "spec_hash": spec.spec_hash(),
        "spec_yaml": yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False),
        "code_version": code_version(),
        "engine": spec.engine,
        "engine_version": engine_version,
        "started_at": started,
        "ended_at": ended,
        "status": status,
    }


def start_run(spec: Spec, ctx: RunContext) -> None:
    """Record the run as running. A rerun of the same run id first removes its old results."""
    wh = _wh(ctx)
    wh.clear_run(ctx.run_id)
    wh.write("runs", [_runs_row(ctx, spec, "running", utcnow())], run_id=ctx.run_id, run_date=ctx.run_date)


def _key_cols(item: PlanItem) -> dict[str, Any]:
    return {
        "label": item.label,
        "model": item.model,
        "hardware": item.hardware,
        "precision": item.precision,
        "scenario": item.scenario["name"],
    }


def _failure(item: PlanItem, stage: str, reason: str, log_tail: str = "", concurrency=None) -> dict:
    return {**_key_cols(item), "max_concurrency": concurrency, "stage": stage, "reason": reason,
            "log_tail": log_tail, "at": utcnow()}


class _PlanFailure(FrontierError):
    """The item cannot run at all (e.g. it does not fit the GPUs); nothing is launched."""


@dataclass
class ItemOutcome:
    key: str
    label: str
    scenario: str
    status: str
    points_ok: int = 0
    points_failed: int = 0
    best_tok_s_gpu: float | None = None
    engine_version: str = ""
    failures: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def run_item(
    item: PlanItem,
    spec: Spec,
    ctx: RunContext,
    *,
    progress: Callable[[str], None] | None = None,
    on_started: Callable[[Any], None] | None = None,
) -> ItemOutcome:
    """Launch one deployment, run its concurrency ladder, land its rows, stop it.

    Never raises for a benchmark failure: launch failures and failed points are recorded in
    ``failures`` and reflected in the outcome's status. Raises only for a broken warehouse.
    """
    from frontier.engines import LaunchError, launch
    from frontier.loadgen import PointConfig, run_point_sync

    say = progress or (lambda msg: log.info("%s", msg))
    started = utcnow()
    workdir = ctx.item_dir(item)
    points: list[dict] = []
    requests: list[dict] = []
    failures: list[dict] = []
    outcome = ItemOutcome(item.key, item.label, item.scenario["name"], "failed")
    dep = None
    error = None
    try:
        if item.fit_error and spec.engine == "sglang":
            raise _PlanFailure(item.fit_error)
        say(f"{item.name}: launching {spec.engine} deployment on {item.gpus} GPU(s)")
        dep = launch(item, spec, workdir)
        if on_started:
            on_started(dep)
        outcome.engine_version = dep.engine_version
        say(f"{item.name}: healthy at {dep.base_url} (engine version {dep.engine_version})")
        for c in item.concurrencies:
            gone = dep.dead_reason()
            if gone:
                failures.append(_failure(item, "point", f"server gone before the point: {gone}",
                                         dep.log_tail(), c))
                continue
            cfg = PointConfig(
                base_url=dep.base_url, backend=dep.backend, model=item.model,
                isl=item.scenario["isl"], osl=item.scenario["osl"], max_concurrency=c,
                num_prompts=item.num_prompts[c], warmup_requests=item.warmup_requests[c],
                seed=spec.seed, request_timeout_s=spec.request_timeout_s,
            )
            result = run_point_sync(cfg)
            summary = dict(result.summary)
            bad = summary.get("error_rate") or 0.0
            status = "ok" if summary.get("completed", 0) > 0 and bad <= spec.max_error_rate else "failed"
            gone = dep.dead_reason()
            if gone and status == "ok" and bad > 0:
                status = "failed"
            points.append({**_key_cols(item), **summary, "isl": item.scenario["isl"],
                           "osl": item.scenario["osl"], "gpus": item.gpus, "engine": spec.engine,
                           "source": "frontier", "status": status, "max_concurrency": c})
            requests.extend({**_key_cols(item), "max_concurrency": c, **r} for r in result.requests)
            tps = (summary.get("total_token_throughput") or 0) / item.gpus
            if status == "ok":
                outcome.points_ok += 1
                outcome.best_tok_s_gpu = max(outcome.best_tok_s_gpu or 0.0, tps)
                say(f"{item.name}: c={c} ok  {tps:,.0f} tok/s/GPU  "
                    f"median TPOT {summary.get('median_tpot_ms') or float('nan'):.1f} ms  "
                    f"errors {bad:.1%}")
            else:
                outcome.points_failed += 1
                first_err = next((r.get("error") for r in result.requests if r.get("error")), None)
                reason = (f"{summary.get('failed', 0)} of {summary.get('failed', 0) + summary.get('completed', 0)}"
                          f" requests failed ({bad:.0%} > max_error_rate {spec.max_error_rate:.0%})")
                if gone:
                    reason += f"; {gone}"
                if first_err:
                    reason += f"; first error: {first_err}"
                failures.append(_failure(item, "point", reason, dep.log_tail() if gone else "", c))
                say(f"{item.name}: c={c} FAILED: {reason}")
    except _PlanFailure as e:
        error = str(e)
        failures.append(_failure(item, "plan", str(e)))
        say(f"{item.name}: not launched: {e}")
    except LaunchError as e:
        error = str(e)
        failures.append(_failure(item, e.stage, str(e), e.log_tail))
        say(f"{item.name}: launch FAILED: {e}")
    except FrontierError as e:
        error = str(e)
        failures.append(_failure(item, "launch", str(e)))
        say(f"{item.name}: FAILED: {e}")
    finally:
        if dep is not None:
            dep.stop()
    for f in failures:
        outcome.failures.append(f["reason"])
    # points that never ran because the deployment failed to come up
    if error is not None:
        outcome.points_failed = len(item.concurrencies)
    if outcome.points_ok and not outcome.points_failed:
        outcome.status = "success"
    elif outcome.points_ok:
        outcome.status = "partial"
    deployment_row = {
        **_key_cols(item),
        "label_canonical": item.label_canonical,
        "isl": item.scenario["isl"], "osl": item.scenario["osl"], "gpus": item.gpus,
        "groups_json": json.dumps([g.__dict__ for g in labels.parse(item.label).groups]),
        "engine": spec.engine,
        "engine_version": outcome.engine_version,
        "commands_json": json.dumps(dep.commands if dep else [s["argv"] for s in item.servers]),
        "server_info_json": json.dumps(dep.server_info if dep else {}, default=str),
        "started_at": started, "ended_at": utcnow(),
        "status": outcome.status, "error": error,
    }
    wh = _wh(ctx)
    kw = {"run_id": ctx.run_id, "run_date": ctx.run_date, "part": item.key}
    # requests first, summary tables last: a reader that sees a point also sees its requests
    wh.write("requests", requests, **kw)
    wh.write("failures", failures, **kw)
    wh.write("points", points, **kw)
    wh.write("deployments", [deployment_row], **kw)
    return outcome


def item_statuses(ctx: RunContext) -> list[dict]:
    """Status and engine version of every deployment item this run landed (from the warehouse)."""
    from frontier.warehouse import connect

    con = connect(ctx.warehouse)
    try:
        rows = con.execute(
            "select status, engine_version from deployments where run_id = ?", [ctx.run_id]
        ).fetchall()
    finally:
        con.close()
    return [{"status": s, "engine_version": v} for s, v in rows]


def run_started_at(ctx: RunContext) -> dt.datetime | None:
    from frontier.warehouse import connect

    con = connect(ctx.warehouse)
    try:
        row = con.execute("select min(started_at) from runs where run_id = ?", [ctx.run_id]).fetchone()
    finally:
        con.close()
    return row[0] if row else None


def finish_run(spec: Spec, ctx: RunContext, expected_items: int, started: dt.datetime | None = None) -> str:
    """Mark the run success / partial / failed from what its items landed.

    An item that landed nothing (its task died) counts as failed.
    """
    outcomes = item_statuses(ctx)
    statuses = [o["status"] for o in outcomes] + ["failed"] * max(0, expected_items - len(outcomes))
    if statuses and all(s == "success" for s in statuses):
        status = "success"
    elif any(s in ("success", "partial") for s in statuses):
        status = "partial"
    else:
        status = "failed"
    version = next((o["engine_version"] for o in outcomes if o.get("engine_version")), "")
    wh = _wh(ctx)
    row = _runs_row(ctx, spec, status, started or run_started_at(ctx) or utcnow(), utcnow(), version)
    wh.write("runs", [row], run_id=ctx.run_id, run_date=ctx.run_date)
    return status


def build_marts(ctx: RunContext) -> dict[str, Any]:
    """Run every audit for this run; raise with the offending rows when one fails."""
    from frontier.warehouse import connect, run_audits

    con = connect(ctx.warehouse)
    try:
        results = run_audits(con, run_id=ctx.run_id)
    finally:
        con.close()
    bad = {name: df for name, df in results.items() if len(df)}
    if bad:
        lines = [f"audit {name}: {len(df)} offending row(s)\n{df.head(20).to_string()}" for name, df in bad.items()]
        raise FrontierError("audits failed:\n" + "\n".join(lines))
    return {"audits": sorted(results), "failed": []}


def label_summary(warehouse: str, run_id: str | None = None):
    from frontier.warehouse import connect, run_model

    con = connect(warehouse)
    try:
        return run_model(con, "label_summary", run_id=run_id)
    finally:
        con.close()


def default_run_id(now: dt.datetime | None = None) -> str:
    now = now or utcnow()
    return "cli__" + now.strftime("%Y-%m-%dT%H:%M:%S")


def run_sweep(
    spec: Spec,
    ctx: RunContext,
    *,
    progress: Callable[[str], None] | None = None,
    on_item: Callable[[int, int, ItemOutcome], None] | None = None,
) -> tuple[str, list[dict]]:
    """The whole sweep without Airflow: plan, every item in turn, finish, audits.

    Returns (run status, item outcomes). Audit failures raise after the run is recorded.
    """
    from frontier.plan import plan

    items = plan(spec)
    started = utcnow()
    start_run(spec, ctx)
    outcomes = []
    for i, item in enumerate(items):
        out = run_item(item, spec, ctx, progress=progress)
        outcomes.append(out.to_dict())
        if on_item:
            on_item(i + 1, len(items), out)
    status = finish_run(spec, ctx, len(items), started)
    build_marts(ctx)
    return status, outcomes
