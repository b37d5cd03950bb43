"""The input contract of the chart builders: the ``frontier_points`` mart (docs/contracts.md).

Builders accept any DataFrame holding at least the columns they use; :func:`require` names the
missing ones. :func:`chart_rows` keeps only the columns a chart embeds (small, JSON-safe specs).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

FRONTIER_POINTS_COLUMNS: tuple[str, ...] = (
    "run_id", "run_date", "model", "hardware", "precision", "scenario", "isl", "osl", "label",
    "gpus", "max_concurrency", "engine", "source", "status", "tok_s_gpu", "tok_s_gpu_output",
    "tok_s_user", "tok_s_user_mean", "median_ttft_ms", "p99_ttft_ms", "median_tpot_ms",
    "p99_tpot_ms", "median_e2e_latency_ms", "total_token_throughput", "output_throughput",
    "completed", "failed", "error_rate", "client_limited", "on_label_frontier",
    "on_overall_frontier",
)  # fmt: skip

GROUP_KEY: tuple[str, ...] = ("model", "hardware", "precision", "scenario")

# what a tooltip shows, in order: (column, title, format or None)
TOOLTIP_FIELDS: tuple[tuple[str, str, str | None], ...] = (
    ("label", "Label", None),
    ("max_concurrency", "Max concurrency", None),
    ("gpus", "GPUs", None),
    ("tok_s_gpu", "tok/s/GPU", ",.1f"),
    ("tok_s_gpu_output", "output tok/s/GPU", ",.1f"),
    ("tok_s_user", "tok/s/user", ",.1f"),
    ("median_ttft_ms", "TTFT p50 (ms)", ",.1f"),
    ("p99_ttft_ms", "TTFT p99 (ms)", ",.1f"),
    ("median_tpot_ms", "TPOT p50 (ms)", ",.2f"),
    ("p99_tpot_ms", "TPOT p99 (ms)", ",.2f"),
    ("client_limited", "Client-limited", None),
)


def require(df: pd.DataFrame, columns: Iterable[str], *, what: str) -> None:
    """Raise ValueError naming the columns ``what`` needs that ``df`` lacks."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"{what}: input lacks column(s) {missing}; pass rows of the frontier_points mart "
            f"(docs/contracts.md)"
        )


def ok_rows(df: pd.DataFrame, y: str) -> pd.DataFrame:
    """Measured points that can be drawn: status ok and both axes finite and positive."""
    mask = df["status"].astype("string").fillna("").str.lower().eq("ok")
    for col in ("tok_s_user", y):
        values = pd.to_numeric(df[col], errors="coerce")
        mask &= values.notna() & (values > 0)
    return df[mask]


def chart_rows(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Only ``columns`` (those present), JSON-safe: dates as ISO text, booleans as bool, NaN kept."""
    keep = [c for c in dict.fromkeys(columns) if c in df.columns]
    out = df.loc[:, keep].copy()
    for col in keep:
        series = out[col]
        if col == "run_date" or pd.api.types.is_datetime64_any_dtype(series):
            out[col] = pd.to_datetime(series).dt.strftime("%Y-%m-%d")
        elif col in ("client_limited", "on_label_frontier", "on_overall_frontier"):
            out[col] = series.astype("boolean").fillna(False).astype(bool)
        elif col in ("label", "run_id", "status", "model", "hardware", "precision", "scenario"):
            out[col] = series.astype(str)
        elif col in ("gpus", "max_concurrency", "isl", "osl", "completed", "failed"):
            out[col] = pd.to_numeric(series, errors="coerce").astype("Int64").astype(object)
            out[col] = out[col].where(out[col].notna(), None)
    return out.reset_index(drop=True)


def single_group(df: pd.DataFrame, *, what: str) -> tuple[str, ...] | None:
    """The one (model, hardware, precision, scenario) of ``df``; ValueError if it mixes several."""
    present = [c for c in GROUP_KEY if c in df.columns]
    if not present or df.empty:
        return None
    groups = df[present].drop_duplicates()
    if len(groups) > 1:
        listed = "; ".join(" / ".join(map(str, row)) for row in groups.itertuples(index=False))
        raise ValueError(f"{what} draws one (model, hardware, precision, scenario); got {listed}")
    return tuple(str(v) for v in groups.iloc[0])
