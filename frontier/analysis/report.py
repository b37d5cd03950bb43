"""The outcome of one run: failed points / deployments and flagged regressions, as Markdown + JSON.

``build_report(warehouse, run_id)`` reads the ``run_failures`` and ``regressions`` marts;
``write_report(report, folder)`` writes ``report.md`` and ``report.json`` there. The Airflow
``report`` task and anyone else (CLI, notebooks) share it. No Airflow import.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class RunReport:
    run_id: str
    status: str  # the run's status in the warehouse: success | partial | failed | missing
    failures: list[dict[str, Any]] = field(default_factory=list)
    regressions: list[dict[str, Any]] = field(default_factory=list)
    engine: str | None = None  # the run's engine; ``predict``: every figure is predicted, not measured
    skipped: list[dict[str, Any]] = field(default_factory=list)  # points an adaptive ladder did not measure

    @property
    def predicted(self) -> bool:
        return self.engine == "predict"

    @property
    def ok(self) -> bool:
        return self.status == "success" and not self.failures and not self.regressions

    def headline(self) -> str:
        tag = "PREDICTED (engine predict, virtual time, nothing measured): " if self.predicted else ""
        extra = f"; {len(self.skipped)} point(s) skipped by the adaptive ladder" if self.skipped else ""
        if self.ok:
            return f"{tag}run {self.run_id}: success, no failed points, no regressions{extra}"
        parts = [f"{tag}run {self.run_id}: {self.status}"]
        if self.failures:
            where = sorted({f"{f.get('label')} / {f.get('scenario')}" for f in self.failures})
            parts.append(
                f"{len(self.failures)} failure(s) in {', '.join(where[:6])}"
                + (" ..." if len(where) > 6 else "")
            )
        if self.regressions:
            what = sorted(
                {
                    f"{r.get('label')} {r.get('metric')} {r.get('change_pct', 0):+.1f}%"
                    for r in self.regressions
                }
            )
            parts.append(
                f"{len(self.regressions)} regression(s): {', '.join(what[:6])}"
                + (" ..." if len(what) > 6 else "")
            )
        return "; ".join(parts) + extra

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "ok": self.ok,
            "headline": self.headline(),
            "failures": self.failures,
            "regressions": self.regressions,
            "engine": self.engine,
            "predicted": self.predicted,
            "skipped": self.skipped,
        }

    def markdown(self) -> str:
        lines = [f"# frontier run `{self.run_id}`", "", f"**{self.headline()}**", ""]
        lines += ["## Failed points and deployments", ""]
        if self.failures:
            lines += [
                "| label | scenario | model | hardware | concurrency | stage | reason |",
                "|---|---|---|---|---|---|---|",
            ]
            for f in self.failures:
                reason = str(f.get("reason") or "").replace("|", "\\|").replace("\n", " ")[:300]
                conc = f.get("max_concurrency")
                lines.append(
                    f"| {f.get('label')} | {f.get('scenario')} | {f.get('model')} | {f.get('hardware')} "
                    f"| {'-' if conc is None else conc} | {f.get('stage')} | {reason} |"
                )
        else:
            lines.append("None.")
        if self.skipped:
            lines += ["", "## Points skipped by the adaptive ladder", "", "| label | scenario | concurrency | why |",
                      "|---|---|---|---|"]  # fmt: skip
            for f in self.skipped:
                reason = str(f.get("reason") or "").replace("|", "\\|").replace("\n", " ")[:300]
                lines.append(
                    f"| {f.get('label')} | {f.get('scenario')} | {f.get('max_concurrency')} | {reason} |"
                )
        lines += ["", "## Regressions (step detection over the nightly series)", ""]
        if self.regressions:
            lines += [
                "| label | scenario | model | hardware | metric | before | after | change |",
                "|---|---|---|---|---|---|---|---|",
            ]
            for r in self.regressions:
                lines.append(
                    f"| {r.get('label')} | {r.get('scenario')} | {r.get('model')} | {r.get('hardware')} "
                    f"| {r.get('metric')} | {r.get('before', 0):,.0f} | {r.get('after', 0):,.0f} "
                    f"| {r.get('change_pct', 0):+.1f}% |"
                )
        else:
            lines.append("None.")
        return "\n".join(lines) + "\n"


def _records(df) -> list[dict[str, Any]]:
    out = []
    for row in df.to_dict(orient="records"):
        clean = {}
        for k, v in row.items():
            if hasattr(v, "isoformat"):
                v = v.isoformat()
            elif isinstance(v, float) and math.isnan(v):
                v = None
            elif hasattr(v, "item"):
                v = v.item()
            clean[k] = v
        out.append(clean)
    return out


def build_report(warehouse: str | Path, run_id: str) -> RunReport:
    from frontier.warehouse import connect, run_model

    con = connect(warehouse)
    try:
        status_rows = con.execute(
            "select status, engine from runs where run_id = ? order by ended_at desc nulls last limit 1",
            [run_id],
        ).fetchall()
        failures = run_model(con, "marts/run_failures", run_id=run_id)
        regs = run_model(con, "marts/regressions", run_id=run_id)
    finally:
        con.close()
    if "log_tail" in failures.columns:
        failures = failures.drop(columns=["log_tail"])
    if len(regs) and "latest_run_id" in regs.columns:
        regs = regs[regs["latest_run_id"] == run_id]
    skipped = failures.iloc[0:0]
    if "stage" in failures.columns:
        is_skip = failures["stage"].astype("string").fillna("").eq("skipped")
        skipped, failures = failures[is_skip], failures[~is_skip]
    return RunReport(
        run_id=run_id,
        status=status_rows[0][0] if status_rows else "missing",
        failures=_records(failures),
        regressions=_records(regs),
        engine=status_rows[0][1] if status_rows else None,
        skipped=_records(skipped),
    )


def write_report(report: RunReport, folder: str | Path) -> Path:
    """Write report.md and report.json into ``folder``; returns the Markdown path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report.to_dict(), indent=2, default=str))
    md = folder / "report.md"
    md.write_text(report.markdown())
    return md
