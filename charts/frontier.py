"""The headline chart: Token Throughput per GPU vs Interactivity for one (model, hardware,
precision, scenario), one line per deployment label plus the overall Pareto frontier.

Layers, back to front:
  1. ``predicted`` — optional predicted curves, thin dashed in the label's colour.
  2. ``lines``     — one line per label through its measured points, in max-concurrency order.
  3. ``frontier``  — the overall Pareto envelope (``on_overall_frontier`` rows sorted by x), thick
     translucent dashed grey over the lines; its data is exactly those rows.
  4. ``points``    — the measured points with the tooltip; owns the legend-bound label selection.
  5. ``client_limited`` — a ring around points where the load generator was the bottleneck.
  6. ``end_labels`` — the label text written at the end (highest concurrency) of each curve.
Failed points (status != ok, or a missing axis value) are not drawn. Points of the predict engine
(``source`` = ``predicted``) are drawn with dashed lines and hollow marks, the tooltip says so, and
the subtitle of an all-predicted chart starts with "PREDICTED".
"""

from __future__ import annotations

from typing import Literal

import altair as alt
import pandas as pd

from charts import theme
from charts.contract import TOOLTIP_FIELDS, chart_rows, ok_rows, require, single_group

PREDICTED_SOURCE = "predicted"  # frontier_points.source of the predict engine's points

YMetric = Literal["tok_s_gpu", "tok_s_gpu_output"]

SELECTION_NAME = "label_pick"
DIMMED_OPACITY = 0.12
END_LABEL_LIMIT = 120  # px: longer labels end in an ellipsis on the curve (full text in legend/tooltip)

_POINT_COLUMNS = [name for name, _, _ in TOOLTIP_FIELDS] + ["on_overall_frontier"]
_PREDICTED_COLUMNS = ["label", "max_concurrency", "tok_s_user", "tok_s_gpu", "tok_s_gpu_output", "gpus"]


def tooltip(columns: list[str] | pd.Index) -> list[alt.Tooltip]:
    """The tooltip of a measured point: the contract's tooltip fields that ``columns`` holds."""
    tips = []
    for name, title, fmt in TOOLTIP_FIELDS:
        if name in columns:
            kind = "N" if name in ("label", "client_limited") else "Q"
            tips.append(alt.Tooltip(f"{name}:{kind}", title=title, **({"format": fmt} if fmt else {})))
    return tips


def _default_title(df: pd.DataFrame, group: tuple[str, ...] | None) -> alt.Title | str:
    if group is None:
        return ""
    model, hardware, precision, scenario = group
    subtitle = []
    if {"isl", "osl"} <= set(df.columns) and not df.empty:
        isl, osl = df["isl"].iloc[0], df["osl"].iloc[0]
        if pd.notna(isl) and pd.notna(osl):
            subtitle.append(f"ISL {int(isl):,} / OSL {int(osl):,} tokens")
    if "run_date" in df.columns and not df.empty:
        subtitle.append(f"night of {pd.to_datetime(df['run_date'].iloc[0]).date()}")
    return alt.Title(f"{model} · {hardware} · {precision} · {scenario}", subtitle=" · ".join(subtitle))


def predicted_rows(predicted: pd.DataFrame, y: str) -> pd.DataFrame:
    """Predicted points with both axes (output-only y derived from output_throughput / gpus)."""
    require(predicted, ["label", "tok_s_user"], what="frontier_chart(predicted=...)")
    pred = predicted.copy()
    if y not in pred.columns:
        source = "output_throughput" if y == "tok_s_gpu_output" else "total_token_throughput"
        require(pred, [source, "gpus"], what=f"frontier_chart(predicted=...) for y={y!r}")
        pred[y] = pd.to_numeric(pred[source], errors="coerce") / pd.to_numeric(pred["gpus"])
    for col in ("tok_s_user", y):
        pred[col] = pd.to_numeric(pred[col], errors="coerce")
    pred = pred[pred["tok_s_user"].gt(0) & pred[y].gt(0)]
    if "max_concurrency" not in pred.columns:
        pred["max_concurrency"] = None
    return chart_rows(pred, _PREDICTED_COLUMNS)


def frontier_chart(
    df: pd.DataFrame,
    *,
    y: YMetric = "tok_s_gpu",
    title: str | None = None,
    predicted: pd.DataFrame | None = None,
    width: int = theme.WIDTH,
    height: int = theme.HEIGHT,
) -> alt.LayerChart:
    """Frontier chart of one (model, hardware, precision, scenario) from ``frontier_points`` rows.

    ``df`` holds one night's points of one group (ValueError if it mixes groups). ``y`` picks total
    (``tok_s_gpu``) or output-only (``tok_s_gpu_output``) throughput per GPU. ``predicted`` rows
    (label, tok_s_user, the y metric or throughput + gpus, optionally max_concurrency) are drawn
    dashed beside the measured curves. Pure: no I/O, the data is embedded in the chart.
    """
    y_title = theme.y_title(y)
    require(
        df,
        ["label", "status", "tok_s_user", y, "max_concurrency", "on_overall_frontier", "client_limited"],
        what="frontier_chart",
    )
    group = single_group(df, what="frontier_chart")
    measured = ok_rows(df, y)
    points = chart_rows(measured, _POINT_COLUMNS + [y])
    frontier_rows = (
        chart_rows(
            measured[measured["on_overall_frontier"].astype("boolean").fillna(False).astype(bool)],
            _POINT_COLUMNS + [y],
        )
        .sort_values(["tok_s_user", y], kind="mergesort")
        .reset_index(drop=True)
    )
    pred = predicted_rows(predicted, y) if predicted is not None and not predicted.empty else None
    # points of the predict engine (source "predicted"): drawn dashed, hollow, labelled predicted
    all_predicted = False
    if "source" in measured.columns and not measured.empty:
        is_pred = measured["source"].astype("string").fillna("").eq(PREDICTED_SOURCE)
        if bool(is_pred.any()):
            points["source"] = measured["source"].astype(str).to_numpy()
            all_predicted = bool(is_pred.all())
    has_source = "source" in points.columns

    labels = list(points["label"]) + (list(pred["label"]) if pred is not None else [])
    color_scale = theme.label_color_scale(labels)
    color = alt.Color("label:N", title="Deployment (click to isolate)", scale=color_scale,
                      legend=alt.Legend(symbolType="stroke"))  # fmt: skip
    pick = alt.selection_point(name=SELECTION_NAME, fields=["label"], bind="legend")
    fade = alt.when(pick).then(alt.value(1.0)).otherwise(alt.value(DIMMED_OPACITY))
    x_enc = alt.X("tok_s_user:Q", title=theme.X_TITLE, scale=alt.Scale(zero=False, nice=True))
    y_enc = alt.Y(f"{y}:Q", title=y_title, scale=alt.Scale(zero=True, nice=True))
    tips = tooltip(points.columns)
    if has_source:
        tips.append(alt.Tooltip("source:N", title="Source"))
    pred_test = f"datum.source === '{PREDICTED_SOURCE}'"

    frontier = (
        alt.Chart(frontier_rows, description="frontier")
        .mark_line(
            color=theme.FRONTIER_COLOR, strokeWidth=5, strokeDash=theme.FRONTIER_DASH, opacity=0.35,
            interpolate="linear", strokeCap="round",
        )
        .encode(x=x_enc, y=y_enc, order=alt.Order("tok_s_user:Q", sort="ascending"), tooltip=tips)
    )  # fmt: skip
    base = alt.Chart(points).encode(x=x_enc, y=y_enc, color=color)
    line_mark = {"strokeDash": theme.PREDICTED_DASH} if all_predicted else {}
    lines = base.mark_line(interpolate="linear", **line_mark).encode(
        order=alt.Order("max_concurrency:Q", sort="ascending"), opacity=fade
    ).properties(description="lines")  # fmt: skip
    if has_source and not all_predicted:  # some labels measured, some predicted: dash the predicted
        lines = lines.encode(
            strokeDash=alt.condition(pred_test, alt.value(theme.PREDICTED_DASH), alt.value([1, 0]))
        )
    point_mark = (
        {"filled": False, "strokeWidth": 1.5} if all_predicted else {"filled": True, "strokeWidth": 0}
    )
    marks = (
        base.mark_point(size=50, **point_mark)
        .encode(opacity=fade, tooltip=tips)
        .add_params(pick)
        .properties(description="points")
    )
    client_limited = (
        alt.Chart(points, description="client_limited")
        .transform_filter("datum.client_limited")
        .mark_point(shape="circle", size=190, filled=False, strokeWidth=1.6, color=theme.CLIENT_LIMITED_COLOR)
        .encode(x=x_enc, y=y_enc, tooltip=tips, opacity=fade)
    )  # fmt: skip
    end_labels = (
        alt.Chart(points, description="end_labels")
        .transform_joinaggregate(_end="max(max_concurrency)", groupby=["label"])
        .transform_filter("datum.max_concurrency === datum._end")
        .mark_text(align="left", baseline="middle", dx=7, fontWeight=600, fontSize=11, limit=END_LABEL_LIMIT)
        .encode(x=x_enc, y=y_enc, text="label:N", color=alt.Color("label:N", scale=color_scale, legend=None),
                opacity=fade)
    )  # fmt: skip

    layers: list[alt.Chart] = []
    if pred is not None:
        layers.append(
            alt.Chart(pred, description="predicted")
            .mark_line(strokeDash=theme.PREDICTED_DASH, strokeWidth=1.6, point=alt.OverlayMarkDef(
                filled=False, size=22))
            .encode(
                x=x_enc, y=y_enc, color=alt.Color("label:N", scale=color_scale, legend=None),
                detail="label:N", order=alt.Order("max_concurrency:Q"), opacity=fade,
                tooltip=[alt.Tooltip("label:N", title="Label (predicted)"),
                         alt.Tooltip("max_concurrency:Q", title="Max concurrency"),
                         alt.Tooltip(f"{y}:Q", title="tok/s/GPU (predicted)", format=",.1f"),
                         alt.Tooltip("tok_s_user:Q", title="tok/s/user (predicted)", format=",.1f")],
            )
        )  # fmt: skip
    layers += [lines, frontier, marks, client_limited, end_labels]

    notes = ["dashed grey: overall Pareto frontier"]
    if all_predicted:
        notes.insert(0, "PREDICTED in virtual time (engine predict), not measured")
    elif has_source:
        notes.append("dashed lines: predicted (engine predict)")
    if pred is not None:
        notes.append("thin dashed: predicted")
    if bool(points["client_limited"].any()) if not points.empty else False:
        notes.append("ringed: client-limited (load generator was the bottleneck)")
    chart_title = _default_title(df, group) if title is None else alt.Title(title)
    if isinstance(chart_title, alt.Title):
        sub = chart_title.subtitle if chart_title.subtitle is not alt.Undefined else ""
        chart_title = alt.Title(chart_title.text, subtitle=[s for s in [sub, " · ".join(notes)] if s])
    return alt.layer(*layers, title=chart_title).properties(width=width, height=height)
