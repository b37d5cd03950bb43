"""Charts across nights for one (model, hardware, precision, scenario).

``history_chart``: the overall Pareto frontier of each of the last N nights overlaid (latest
darkest and thickest), so a shift of the envelope shows at a glance.
``trend_chart``: small multiples, one panel per label, of the label's best tok/s/GPU per night.
Both take ``frontier_points`` rows of several runs; failed points are never drawn.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from charts import theme
from charts.contract import TOOLTIP_FIELDS, chart_rows, ok_rows, require, single_group
from charts.frontier import YMetric, tooltip

NIGHT_SELECTION_NAME = "night_pick"


def _nights(df: pd.DataFrame, nights: int) -> pd.DataFrame:
    """Rows of the last ``nights`` runs (by run_date, then run_id), with a ``night`` text column."""
    if df.empty:
        return df.assign(night=pd.Series(dtype=str), _d=pd.Series(dtype="datetime64[ns]"))
    runs = (
        df[["run_date", "run_id"]].drop_duplicates().assign(_d=lambda d: pd.to_datetime(d["run_date"]))
        .sort_values(["_d", "run_id"]).tail(nights)
    )  # fmt: skip
    # one night = one run; two runs on one date are told apart by their run id
    dup = runs["_d"].duplicated(keep=False)
    runs["night"] = runs["_d"].dt.strftime("%Y-%m-%d") + runs["run_id"].where(dup, "").map(
        lambda r: f" ({r})" if r else ""
    )
    return df.merge(runs[["run_date", "run_id", "night", "_d"]], on=["run_date", "run_id"])


def night_ramp(n: int) -> list[str]:
    """``n`` colours from pale to dark ink (oldest night palest, latest darkest)."""
    pale, dark = (171, 196, 230), (12, 44, 110)
    if n <= 1:
        return ["#{:02x}{:02x}{:02x}".format(*dark)]
    steps = [
        tuple(round(p + (d - p) * i / (n - 1)) for p, d in zip(pale, dark, strict=True)) for i in range(n)
    ]
    return ["#{:02x}{:02x}{:02x}".format(*rgb) for rgb in steps]


def history_chart(
    df_nights: pd.DataFrame,
    *,
    y: YMetric = "tok_s_gpu",
    nights: int = 7,
    title: str | None = None,
    width: int = theme.WIDTH,
    height: int = theme.HEIGHT,
) -> alt.LayerChart:
    """The overall frontier of each of the last ``nights`` nights, one line per night."""
    require(df_nights, ["run_id", "run_date", "label", "status", "tok_s_user", y, "on_overall_frontier"],
            what="history_chart")  # fmt: skip
    group = single_group(df_nights, what="history_chart")
    rows = _nights(ok_rows(df_nights, y), nights)
    rows = rows[rows["on_overall_frontier"].astype("boolean").fillna(False).astype(bool)]
    order = sorted(rows["night"].unique(), key=lambda n: (rows.loc[rows["night"] == n, "_d"].iloc[0], n))
    latest = order[-1] if order else ""
    data = chart_rows(rows.assign(latest=rows["night"].eq(latest)),
                      [n for n, _, _ in TOOLTIP_FIELDS] + [y, "night", "run_id", "latest"])  # fmt: skip
    data = data.sort_values(["night", "tok_s_user"], kind="mergesort").reset_index(drop=True)

    pick = alt.selection_point(name=NIGHT_SELECTION_NAME, fields=["night"], bind="legend")
    color = alt.Color(
        "night:N", title="Night (click to isolate)", sort=order,
        scale=alt.Scale(domain=order, range=night_ramp(len(order))) if len(order) > 1 else alt.Scale(domain=order,
                                                                                        range=[theme.INK]),
        legend=alt.Legend(symbolType="stroke"),
    )  # fmt: skip
    x_enc = alt.X("tok_s_user:Q", title=theme.X_TITLE, scale=alt.Scale(zero=False, nice=True))
    y_enc = alt.Y(f"{y}:Q", title=theme.y_title(y), scale=alt.Scale(zero=True, nice=True))
    fade = alt.when(pick).then(alt.value(1.0)).otherwise(alt.value(0.1))
    tips = [alt.Tooltip("night:N", title="Night"), *tooltip(data.columns)]
    base = alt.Chart(data).encode(x=x_enc, y=y_enc, color=color, detail="night:N")
    lines = base.mark_line(interpolate="linear").encode(
        order=alt.Order("tok_s_user:Q"), opacity=fade,
        strokeWidth=alt.condition("datum.latest", alt.value(3.2), alt.value(1.6)),
    ).properties(description="night_frontiers")  # fmt: skip
    points = (base.mark_point(filled=True, size=34).encode(opacity=fade, tooltip=tips).add_params(pick)
              .properties(description="night_points"))  # fmt: skip

    if title is None and group is not None:
        heading = alt.Title(
            f"Frontier history · {' · '.join(group)}",
            subtitle=f"overall Pareto frontier of the last {len(order)} night(s); darkest = {latest}",
        )
    else:
        heading = alt.Title(title or "Frontier history")
    return alt.layer(lines, points, title=heading).properties(width=width, height=height)


def trend_chart(
    df_nights: pd.DataFrame,
    *,
    y: YMetric = "tok_s_gpu",
    nights: int = 30,
    columns: int = 4,
    title: str | None = None,
) -> alt.FacetChart:
    """Small multiples: per label, the best ``y`` of each night (max over its measured points)."""
    require(df_nights, ["run_id", "run_date", "label", "status", "tok_s_user", y], what="trend_chart")
    group = single_group(df_nights, what="trend_chart")
    rows = _nights(ok_rows(df_nights, y), nights)
    best = (
        rows.assign(**{y: pd.to_numeric(rows[y])})
        .sort_values(y, ascending=False, kind="mergesort")
        .drop_duplicates(["label", "night"])  # one row per (label, night): the best point
        .sort_values(["label", "_d"], kind="mergesort")
    )
    data = chart_rows(best.assign(run_date=best["_d"]),
                      ["label", "run_date", "night", "run_id", y, "tok_s_user", "max_concurrency"])  # fmt: skip
    labels = sorted(data["label"].unique())
    y_name = "best output tok/s/GPU" if y == "tok_s_gpu_output" else "best tok/s/GPU"
    panel = (
        alt.Chart(data)
        .mark_line(point=alt.OverlayMarkDef(filled=True, size=30), strokeWidth=1.8)
        .encode(
            x=alt.X("run_date:T", title=None, axis=alt.Axis(format="%m-%d", labelAngle=0, tickCount=6)),
            y=alt.Y(f"{y}:Q", title=y_name, scale=alt.Scale(zero=True, nice=True)),
            color=alt.Color("label:N", scale=theme.label_color_scale(labels), legend=None),
            tooltip=[
                alt.Tooltip("label:N", title="Label"),
                alt.Tooltip("night:N", title="Night"),
                alt.Tooltip(f"{y}:Q", title="best tok/s/GPU", format=",.1f"),
                alt.Tooltip("tok_s_user:Q", title="at tok/s/user", format=",.1f"),
                alt.Tooltip("max_concurrency:Q", title="at max concurrency"),
            ],
        )
        .properties(width=200, height=120)
    )
    heading = title or (
        f"Best per label per night · {' · '.join(group)}" if group else "Best per label per night"
    )
    return panel.facet(
        facet=alt.Facet("label:N", title=None, sort=labels, header=alt.Header(labelFontWeight="bold")),
        columns=columns,
        title=alt.Title(heading),
    ).resolve_scale(y="independent")
