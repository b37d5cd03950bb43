"""What the site reads, in one object: :class:`SiteData`, and :func:`load_site_data`, which fills
it from the warehouse (``frontier.warehouse.connect`` + ``run_model``).

Tests and other callers may build a ``SiteData`` from DataFrames directly. ``frontier_points`` is
required; the other marts are optional: a missing one is recorded in ``SiteData.missing`` and the
page says so instead of failing the whole publish.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from frontier.errors import FrontierError

OPTIONAL_MARTS = (
    "label_summary",
    "best_by_band",
    "night_over_night",
    "regressions",
    "run_failures",
    "hardware_points",
    "slo_bands",
    "latest_results",
    "cost_summary",
    "prediction_accuracy",
)
VIEWS = ("runs", "deployments", "failures", "predictions")
HISTORY_NIGHTS = 30


@dataclass
class SiteData:
    """Everything a publish needs. ``points`` holds frontier_points rows of every night shown
    (the selected one and earlier ones, for history); ``marts`` are scoped to the selected run."""

    points: pd.DataFrame
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)
    deployments: pd.DataFrame = field(default_factory=pd.DataFrame)
    failures: pd.DataFrame = field(default_factory=pd.DataFrame)
    predictions: pd.DataFrame = field(default_factory=pd.DataFrame)
    marts: dict[str, pd.DataFrame] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # mart or view name -> why it is absent

    def mart(self, name: str) -> pd.DataFrame | None:
        return self.marts.get(name)

    def run_ids(self) -> list[str]:
        """Every run id known, oldest first (by run_date, then started_at, then id)."""
        frames = []
        for df in (self.runs, self.points):
            if not df.empty and {"run_id", "run_date"} <= set(df.columns):
                cols = ["run_id", "run_date"] + (["started_at"] if "started_at" in df.columns else [])
                frames.append(df[cols])
        if not frames:
            return []
        allr = pd.concat(frames, ignore_index=True)
        allr["_d"] = pd.to_datetime(allr["run_date"])
        if "started_at" not in allr.columns:
            allr["started_at"] = pd.NaT
        allr["_s"] = pd.to_datetime(allr["started_at"], utc=True)
        first = allr.sort_values(["_d", "_s", "run_id"], na_position="first").drop_duplicates(
            "run_id", keep="last"
        )
        return list(first.sort_values(["_d", "_s", "run_id"], na_position="first")["run_id"].astype(str))

    def latest_run_id(self) -> str:
        ids = self.run_ids()
        if not ids:
            raise FrontierError("the warehouse holds no runs: run a sweep first (frontier_points is empty)")
        return ids[-1]

    def run_kind(self, run_id: str) -> str | None:
        """nightly | adhoc | imported (intermediate/int_run_kind), None when unknown."""
        kinds = self.marts.get("run_kinds")
        if kinds is None or kinds.empty:
            return None
        rows = kinds[kinds["run_id"].astype(str) == run_id]
        return None if rows.empty else str(rows["run_kind"].iloc[0])

    def run_row(self, run_id: str) -> dict[str, Any]:
        """The ``runs`` row of ``run_id`` as a dict ({} when the runs view has none)."""
        if self.runs.empty or "run_id" not in self.runs.columns:
            return {}
        rows = self.runs[self.runs["run_id"].astype(str) == run_id]
        return {} if rows.empty else rows.iloc[-1].to_dict()

    def run_date(self, run_id: str) -> dt.date | None:
        row = self.run_row(run_id)
        value = row.get("run_date")
        if value is None and not self.points.empty:
            sel = self.points[self.points["run_id"].astype(str) == run_id]
            value = sel["run_date"].iloc[0] if not sel.empty else None
        return None if value is None or pd.isna(value) else pd.to_datetime(value).date()


def for_run(df: pd.DataFrame | None, run_id: str) -> pd.DataFrame:
    """Rows of ``df`` that belong to ``run_id`` (all rows when it has no run_id column)."""
    if df is None:
        return pd.DataFrame()
    if "run_id" not in df.columns:
        return df
    return df[df["run_id"].astype(str) == run_id]


def _first_line(exc: Exception) -> str:
    return f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}"


def load_site_data(
    warehouse_root: str | Path, run_id: str | None = None, *, nights: int = HISTORY_NIGHTS
) -> SiteData:
    """Read the marts and views the site needs from the warehouse at ``warehouse_root``.

    ``points`` gets ``frontier_points`` of the selected run (default: the latest run with points)
    and of up to ``nights - 1`` earlier runs with points (the history charts). Marts are run for
    the selected run (they are scoped by ``$run_id`` in SQL).
    """
    try:
        from frontier.warehouse import connect, run_model
    except ImportError as exc:  # the warehouse package is a sibling part; say so plainly
        raise FrontierError(f"frontier.warehouse is not available ({exc}); cannot publish the site") from None
    root = Path(warehouse_root)
    if not root.is_dir():
        raise FrontierError(
            f"warehouse {root} does not exist: pass --warehouse DIR (the sweep's output root)"
        )
    con = connect(root)
    try:
        data = SiteData(points=pd.DataFrame())
        for view in VIEWS:
            try:
                setattr(data, view, con.execute(f'SELECT * FROM "{view}"').df())  # fixed names only
            except duckdb.Error as exc:
                data.missing[view] = _first_line(exc)
        try:
            order = con.execute(
                "SELECT run_id, run_date FROM int_run_order WHERE has_points ORDER BY points_rank"
            ).df()
        except duckdb.Error as exc:
            raise FrontierError(
                f"cannot list the runs with points (view int_run_order: {_first_line(exc)})"
            ) from None
        if order.empty:
            raise FrontierError(f"warehouse {root} holds no measured points yet: run a sweep first")
        ids = [str(r) for r in order["run_id"]]
        selected = run_id or ids[0]
        if selected not in ids:
            raise FrontierError(
                f"run {selected!r} has no points in {root} (latest runs with points: {', '.join(ids[:5])})"
            )
        history = ids[ids.index(selected) :][:nights]
        frames = []
        for rid in history:
            try:
                frames.append(run_model(con, "frontier_points", run_id=rid))
            except (FrontierError, duckdb.Error) as exc:
                raise FrontierError(f"mart frontier_points is unavailable ({_first_line(exc)})") from None
        data.points = (
            pd.concat([f for f in frames if not f.empty], ignore_index=True) if frames else pd.DataFrame()
        )
        try:  # nightly | adhoc | imported per run (intermediate/int_run_kind), for headings and the archive
            data.marts["run_kinds"] = con.execute("SELECT run_id, run_kind FROM int_run_kind").df()
        except duckdb.Error as exc:
            data.missing["run_kinds"] = _first_line(exc)
        for mart in OPTIONAL_MARTS:
            try:
                data.marts[mart] = run_model(con, mart, run_id=selected)
            except (
                FrontierError,
                duckdb.Error,
                KeyError,
                ValueError,
            ) as exc:  # optional: say why on the page
                data.missing[mart] = _first_line(exc)
        return data
    finally:
        con.close()
