"""Run records: the ``runs`` row of a run (start, finish), its item statuses, audits and marts.

A run is recorded ``running`` when it starts (a rerun of the same run id first removes its old
results, so reruns never duplicate rows) and closed ``success`` / ``partial`` / ``failed`` from
what its items landed; an item that landed nothing (its task died) counts as failed.
"""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from frontier.common.redact import redact_obj
from frontier.errors import FrontierError

if TYPE_CHECKING:
    from frontier.domain.spec import Spec
    from frontier.planning.planner import PlanItem

log = logging.getLogger("frontier.run")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def safe_name(text: str) -> str:
    """``text`` as one file-name component."""
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in text)


def code_version() -> str:
    """The git sha of the checkout this code runs from (``unknown`` outside git)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
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

    @property
    def run_dir(self) -> Path:
        """``<artifacts>/<run>/``: the resolved spec, report and every item's logs."""
        return Path(self.artifacts) / safe_name(self.run_id)

    def item_dir(self, item: PlanItem) -> Path:
        return self.run_dir / item.key

    def warehouse_store(self):
        from frontier.warehouse import Warehouse

        return Warehouse(self.warehouse)


def default_run_id(now: dt.datetime | None = None) -> str:
    now = now or utcnow()
    return "cli__" + now.strftime("%Y-%m-%dT%H:%M:%S")


def runs_row(
    ctx: RunContext, spec: Spec, status: str, started: dt.datetime, ended=None, engine_version: str = ""
) -> dict[str, Any]:
    return {
        "trigger": ctx.trigger,
        "triggered_by": ctx.triggered_by,
        "spec_name": spec.name,
        "spec_hash": spec.spec_hash(),
        "spec_yaml": yaml.safe_dump(redact_obj(spec.model_dump(mode="json")), sort_keys=False),
        "code_version": code_version(),
        "engine": spec.engine,
        "engine_version": engine_version,
        "started_at": started,
        "ended_at": ended,
        "status": status,
        "cost_json": spec.cost_json(),
    }


def start_run(spec: Spec, ctx: RunContext) -> None:
    """Record the run as running. A rerun of the same run id first removes its old results."""
    wh = ctx.warehouse_store()
    wh.clear_run(ctx.run_id)
    wh.write("runs", [runs_row(ctx, spec, "running", utcnow())], run_id=ctx.run_id, run_date=ctx.run_date)


def _query(ctx: RunContext, sql: str) -> list[tuple]:
    from frontier.warehouse import connect

    con = connect(ctx.warehouse)
    try:
        return con.execute(sql, [ctx.run_id]).fetchall()
    finally:
        con.close()


def item_statuses(ctx: RunContext) -> list[dict]:
    """Status and engine version of every deployment item this run landed (from the warehouse)."""
    rows = _query(ctx, "select status, engine_version from deployments where run_id = ?")
    return [{"status": s, "engine_version": v} for s, v in rows]


def run_started_at(ctx: RunContext) -> dt.datetime | None:
    rows = _query(ctx, "select min(started_at) from runs where run_id = ?")
    return rows[0][0] if rows else None


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
    row = runs_row(ctx, spec, status, started or run_started_at(ctx) or utcnow(), utcnow(), version)
    ctx.warehouse_store().write("runs", [row], run_id=ctx.run_id, run_date=ctx.run_date)
    return status


def check_warehouse(ctx: RunContext) -> list[dict[str, str]]:
    """Quarantine unreadable Parquet files (Warehouse.check) and record each one as a failure row.

    Corrupt files are never skipped silently: each becomes a ``failures`` row of this run (stage
    ``audit``, part ``warehouse-check``) naming the file and why, and a warning in the log.
    """
    wh = ctx.warehouse_store()
    report = wh.check()
    out = []
    for path, dest, why in report.quarantined:
        rel = str(Path(path).relative_to(wh.root)) if Path(path).is_relative_to(wh.root) else str(path)
        out.append({"file": rel, "quarantined_to": str(dest), "reason": why})
        log.warning("corrupt Parquet file quarantined: %s -> %s (%s)", path, dest, why)
    if out:
        from frontier.run.rows import audit_failure_row

        rows = [audit_failure_row(q) for q in out]
        wh.write("failures", rows, run_id=ctx.run_id, run_date=ctx.run_date, part="warehouse-check")
    return out


def build_marts(ctx: RunContext) -> dict[str, Any]:
    """Check the warehouse (quarantine + report corrupt files), then run every audit for this run.

    Raises with the offending rows when an audit fails. The result lists the quarantined files.
    """
    from frontier.warehouse import connect, run_audits

    quarantined = check_warehouse(ctx)
    con = connect(ctx.warehouse)
    try:
        results = run_audits(con, run_id=ctx.run_id)
    finally:
        con.close()
    bad = {name: df for name, df in results.items() if len(df)}
    if bad:
        lines = [
            f"audit {name}: {len(df)} offending row(s)\n{df.head(20).to_string()}" for name, df in bad.items()
        ]
        raise FrontierError("audits failed:\n" + "\n".join(lines))
    return {"audits": sorted(results), "failed": [], "quarantined": quarantined}


def label_summary(warehouse: str, run_id: str | None = None):
    from frontier.warehouse import connect, run_model

    con = connect(warehouse)
    try:
        return run_model(con, "label_summary", run_id=run_id)
    finally:
        con.close()


__all__ = [
    "RunContext",
    "build_marts",
    "check_warehouse",
    "code_version",
    "default_run_id",
    "finish_run",
    "item_statuses",
    "label_summary",
    "run_started_at",
    "runs_row",
    "safe_name",
    "start_run",
    "utcnow",
]
