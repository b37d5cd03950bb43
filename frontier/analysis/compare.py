"""Run against run: what ``frontier compare RUN_A RUN_B`` prints and the site's compare page shows.

``compare_runs(con, run_a, run_b)`` gathers, from a :func:`frontier.warehouse.connect` connection:
the ``run_compare`` mart (per label, tok/s/GPU of both frontier curves at matched interactivity),
both runs' ``frontier_points`` (for the chart), and what differs between the runs: the ``runs``
rows (engine, engine version, code version, spec), each deployment's engine version and launch
commands (which name the image/binary and flags), and a unified diff of the two specs.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from frontier.errors import FrontierError

RUN_FIELDS = (
    "run_date",
    "trigger",
    "spec_name",
    "spec_hash",
    "engine",
    "engine_version",
    "code_version",
    "status",
)
DEPLOYMENT_KEY = ["model", "hardware", "precision", "scenario", "label"]


@dataclass
class RunComparison:
    run_a: str
    run_b: str
    labels: pd.DataFrame  # the run_compare mart
    points: pd.DataFrame  # frontier_points of both runs, with a ``run`` column: "A <id>" / "B <id>"
    run_diffs: list[tuple[str, Any, Any]] = field(default_factory=list)  # (field, A, B) that differ
    deployment_diffs: list[dict[str, Any]] = field(default_factory=list)
    spec_diff: list[str] = field(default_factory=list)

    def side(self, which: str) -> str:
        return f"A {self.run_a}" if which == "a" else f"B {self.run_b}"

    def text(self) -> str:
        """The plain-text report ``frontier compare`` prints."""
        out = [f"compare A {self.run_a} -> B {self.run_b}", ""]
        out.append("what differs between the runs:")
        if not (self.run_diffs or self.deployment_diffs or self.spec_diff):
            out.append("  nothing recorded (same engine, versions, commands and spec)")
        for name, a, b in self.run_diffs:
            out.append(f"  run {name}: {_show(a)} -> {_show(b)}")
        for d in self.deployment_diffs:
            out.append(f"  deployment {d['what']}: {d['field']}: {d['a']} -> {d['b']}")
        if self.spec_diff:
            out.append("  spec diff (A -> B):")
            out += [f"    {line}" for line in self.spec_diff]
        out += ["", "tok/s/GPU at matched interactivity (both frontier curves, interpolated):"]
        head = f"  {'model':<26} {'hardware':<10} {'scenario':<9} {'label':<12} {'A':>10} {'B':>10} {'change':>8}  over tok/s/user"
        out.append(head)
        for r in self.labels.itertuples(index=False):
            model = str(r.model).split("/")[-1][:26]
            if r.status == "compared":
                out.append(
                    f"  {model:<26} {r.hardware:<10} {r.scenario:<9} {r.label:<12} {r.a_tok_s_gpu:>10,.0f} "
                    f"{r.b_tok_s_gpu:>10,.0f} {r.change_pct:>+7.1f}%  {r.from_tok_s_user:,.1f}-{r.to_tok_s_user:,.1f}"
                )
            else:
                out.append(f"  {model:<26} {r.hardware:<10} {r.scenario:<9} {r.label:<12} {r.status}")
        return "\n".join(out) + "\n"


def _show(value: Any) -> str:
    return "-" if _blank(value) else str(value)


def _blank(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _argv_line(argv: list) -> str:
    """One process's argv as text, the port it happened to get replaced by PORT (not a difference)."""
    words = [str(a) for a in argv]
    return " ".join("PORT" if i and words[i - 1] == "--port" else w for i, w in enumerate(words))


def _argv_text(commands_json: Any) -> str:
    """Launch commands as one line per process (the image or binary and its flags)."""
    if _blank(commands_json):
        return ""
    try:
        data = json.loads(str(commands_json))
    except ValueError:
        return str(commands_json)
    lines = []
    for cmd in data if isinstance(data, list) else [data]:
        argv = cmd.get("argv") if isinstance(cmd, dict) else cmd
        if isinstance(argv, list):
            lines.append(_argv_line(argv))
        else:
            lines.append(json.dumps(cmd, sort_keys=True))
    return "\n".join(lines)


def compare_runs(con, run_a: str, run_b: str) -> RunComparison:
    from frontier.warehouse import run_model

    known = {r[0] for r in con.execute("SELECT run_id FROM int_run_order").fetchall()}
    for name, rid in (("RUN_A", run_a), ("RUN_B", run_b)):
        if rid not in known:
            recent = [
                r[0]
                for r in con.execute("SELECT run_id FROM int_run_order ORDER BY run_rank LIMIT 5").fetchall()
            ]
            raise FrontierError(
                f"{name} {rid!r} is not in the warehouse (latest runs: {', '.join(recent) or 'none'})"
            )
    if run_a == run_b:
        raise FrontierError(f"RUN_A and RUN_B are both {run_a!r}: name two different runs")
    labels = run_model(con, "run_compare", run_a=run_a, run_b=run_b)
    frames = []
    for which, rid in (("a", run_a), ("b", run_b)):
        pts = run_model(con, "frontier_points", run_id=rid)
        frames.append(pts.assign(run=f"{which.upper()} {rid}"))
    points = pd.concat(frames, ignore_index=True)
    cmp = RunComparison(run_a=run_a, run_b=run_b, labels=labels, points=points)

    runs = con.execute(
        "SELECT * FROM runs WHERE run_id IN (?, ?) ORDER BY ended_at NULLS FIRST", [run_a, run_b]
    ).df()
    rows = {rid: runs[runs["run_id"] == rid].iloc[-1].to_dict() if (runs["run_id"] == rid).any() else {}
            for rid in (run_a, run_b)}  # fmt: skip
    ra, rb = rows[run_a], rows[run_b]
    for name in RUN_FIELDS:
        a, b = ra.get(name), rb.get(name)
        if _show(a) != _show(b) and name != "run_date":
            cmp.run_diffs.append((name, a, b))
    spec_a, spec_b = ra.get("spec_yaml"), rb.get("spec_yaml")
    if not _blank(spec_a) or not _blank(spec_b):
        cmp.spec_diff = [
            line.rstrip("\n")
            for line in difflib.unified_diff(
                ("" if _blank(spec_a) else str(spec_a)).splitlines(),
                ("" if _blank(spec_b) else str(spec_b)).splitlines(),
                f"A {run_a}", f"B {run_b}", lineterm="", n=1,
            )
        ]  # fmt: skip

    deps = con.execute(
        "SELECT run_id, model, hardware, precision, scenario, label, engine, engine_version, commands_json "
        "FROM deployments WHERE run_id IN (?, ?)",
        [run_a, run_b],
    ).df()
    if not deps.empty:
        deps["argv"] = deps["commands_json"].map(_argv_text)
        a = (
            deps[deps["run_id"] == run_a]
            .drop_duplicates(DEPLOYMENT_KEY, keep="last")
            .set_index(DEPLOYMENT_KEY)
        )
        b = (
            deps[deps["run_id"] == run_b]
            .drop_duplicates(DEPLOYMENT_KEY, keep="last")
            .set_index(DEPLOYMENT_KEY)
        )
        for key in a.index.intersection(b.index):
            what = " ".join(str(k) for k in (key[4], key[1], key[3]))
            for col in ("engine", "engine_version"):
                if _show(a.at[key, col]) != _show(b.at[key, col]):
                    cmp.deployment_diffs.append({"what": what, "field": col, "a": _show(a.at[key, col]),
                                                 "b": _show(b.at[key, col])})  # fmt: skip
            if a.at[key, "argv"] != b.at[key, "argv"]:
                changed = [
                    line
                    for line in difflib.ndiff(a.at[key, "argv"].split(), b.at[key, "argv"].split())
                    if line[:1] in "+-"
                ]
                cmp.deployment_diffs.append({"what": what, "field": "launch command",
                                             "a": " ".join(x[2:] for x in changed if x[0] == "-") or "-",
                                             "b": " ".join(x[2:] for x in changed if x[0] == "+") or "-"})  # fmt: skip
    return cmp
