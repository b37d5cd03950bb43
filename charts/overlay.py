"""Charts that put several sets of curves on one frontier chart, coloured by what they compare.

- :func:`hardware_chart`: one (model, precision, scenario), every hardware's labels (rows of the
  ``hardware_points`` mart), coloured by hardware, with ONE overall frontier across them
  (``on_cross_frontier``).
- :func:`compare_chart`: two runs of the same (model, hardware, precision, scenario), coloured by
  run, each run's overall frontier drawn dashed in its colour.

Both: one line per (colour value, label) in max-concurrency order, the label written at the end
of each line, points with the frontier tooltip. Pure: a DataFrame in, an Altair chart out.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from charts import theme
from charts.contract import TOOLTIP_FIELDS, chart_rows, ok_rows, require
from charts.frontier import END_LABEL_LIMIT, YMetric

_BASE_COLUMNS = [name for name, _, _ in TOOLTIP_FIELDS]


def _tips(columns, by: str, by_title: str) -> list[alt.Tooltip]:
    tips = [alt.Tooltip(f"{by}:N", title=by_title)]
    for name, title, fmt in TOOLTIP_FIELDS:
        if name in columns:
            kind = "N" if name in ("label", "client_limited") else "Q"
            tips.append(alt.Tooltip(f"{name}:{kind}", title=title, **({"format": fmt} if fmt else {})))
    return tips


def overlay_chart(
    df: pd.DataFrame,
    *,
    by: str,
    by_title: str,
    frontier: str,
    frontier_per_group: bool,
    y: YMetric = "tok_s_gpu",
    title: str | alt.Title = "",
    width: int = theme.WIDTH,
    height: int = theme.HEIGHT,
) -> alt.LayerChart:
    """Curves of every (``by`` value, label), coloured by ``by``; the ``frontier`` flag's rows as a
    dashed envelope: one grey line (``frontier_per_group=False``) or one per ``by`` value."""
    require(df, ["label", by, "status", "tok_s_user", y, "max_concurrency", frontier], what="overlay_chart")
    measured = ok_rows(df, y).copy()
    measured[by] = measured[by].astype(str)
    measured["series"] = measured[by] + " · " + measured["label"].astype(str)
    points = chart_rows(measured, _BASE_COLUMNS + [by, "series", y, frontier])
    points[by] = points[by].astype(str)
    points["series"] = measured["series"].to_numpy() if len(measured) else points.get("series")
    if len(points):
        flag = points[frontier].astype("boolean").fillna(False).astype(bool)
        front = points[flag].sort_values([by, "tok_s_user", y] if frontier_per_group else ["tok_s_user", y],
                                          kind="mergesort").reset_index(drop=True)  # fmt: skip
    else:  # no measured point (every point of the group failed): an empty chart, not an error
        front = pd.DataFrame(columns=[by, "series", "label", "tok_s_user", y, "max_concurrency"])
    scale = theme.label_color_scale(points[by] if len(points) else [])
    color = alt.Color(f"{by}:N", title=by_title, scale=scale, legend=alt.Legend(symbolType="stroke"))
    x_enc = alt.X("tok_s_user:Q", title=theme.X_TITLE, scale=alt.Scale(zero=False, nice=True))
    y_enc = alt.Y(f"{y}:Q", title=theme.y_title(y), scale=alt.Scale(zero=True, nice=True))
    tips = _tips(points.columns, by, by_title)
    base = alt.Chart(points).encode(x=x_enc, y=y_enc, color=color)
    lines = base.mark_line(interpolate="linear", strokeWidth=1.8).encode(
        detail="series:N", order=alt.Order("max_concurrency:Q", sort="ascending")
    ).properties(description="lines")  # fmt: skip
    marks = (
        base.mark_point(filled=True, size=45, strokeWidth=0)
        .encode(tooltip=tips)
        .properties(description="points")
    )
    if frontier_per_group:
        env = alt.Chart(front, description="frontier").mark_line(
            strokeWidth=5, strokeDash=theme.FRONTIER_DASH, opacity=0.45, strokeCap="round"
        ).encode(x=x_enc, y=y_enc, color=alt.Color(f"{by}:N", scale=scale, legend=None), detail=f"{by}:N",
                 order=alt.Order("tok_s_user:Q"), tooltip=tips)  # fmt: skip
    else:
        env = alt.Chart(front, description="frontier").mark_line(
            color=theme.FRONTIER_COLOR, strokeWidth=5, strokeDash=theme.FRONTIER_DASH, opacity=0.35,
            strokeCap="round",
        ).encode(x=x_enc, y=y_enc, order=alt.Order("tok_s_user:Q"), tooltip=tips)  # fmt: skip
    end_labels = (
        alt.Chart(points, description="end_labels")
        .transform_joinaggregate(_end="max(max_concurrency)", groupby=["series"])
        .transform_filter("datum.max_concurrency === datum._end")
        .mark_text(align="left", baseline="middle", dx=7, fontWeight=600, fontSize=11, limit=END_LABEL_LIMIT)
        .encode(x=x_enc, y=y_enc, text="label:N", color=alt.Color(f"{by}:N", scale=scale, legend=None))
    )
    note = (
        f"dashed: each {by_title.lower()}'s overall frontier"
        if frontier_per_group
        else f"dashed grey: one overall Pareto frontier across every {by_title.lower()}"
    )
    if isinstance(title, alt.Title):
        sub = title.subtitle if title.subtitle is not alt.Undefined else ""
        full = alt.Title(title.text, subtitle=[s for s in [sub, note] if s])
    else:
        full = alt.Title(title or "", subtitle=note)
    return alt.layer(lines, env, marks, end_labels, title=full).properties(width=width, height=height)


def hardware_chart(df: pd.DataFrame, *, y: YMetric = "tok_s_gpu", **kw) -> alt.LayerChart:
    """Hardware against hardware for one (model, precision, scenario) from ``hardware_points`` rows."""
    require(df, ["model", "precision", "scenario"], what="hardware_chart")
    groups = df[["model", "precision", "scenario"]].drop_duplicates()
    if len(groups) > 1:
        raise ValueError("hardware_chart draws one (model, precision, scenario); filter the rows first")
    if "title" not in kw and not df.empty:
        m, p, s = (str(v) for v in groups.iloc[0])
        kw["title"] = alt.Title(
            f"{m} · {p} · {s}", subtitle=f"hardware: {', '.join(sorted(df['hardware'].astype(str).unique()))}"
        )
    return overlay_chart(df, by="hardware", by_title="Hardware", frontier="on_cross_frontier",
                         frontier_per_group=False, y=y, **kw)  # fmt: skip


def compare_chart(df: pd.DataFrame, *, y: YMetric = "tok_s_gpu", **kw) -> alt.LayerChart:
    """Run against run for one (model, hardware, precision, scenario): ``frontier_points`` rows of
    both runs with a ``run`` column naming each side (e.g. ``A good``, ``B slow``)."""
    return overlay_chart(df, by="run", by_title="Run", frontier="on_overall_frontier",
                         frontier_per_group=True, y=y, **kw)  # fmt: skip
