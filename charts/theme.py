"""The one place that says how frontier charts look: fonts, sizes, palette, axis titles.

Chart builders stay pure and unconfigured (so they can be layered and concatenated); the theme is
applied when a chart becomes a spec, through :func:`to_spec`, which renders with the registered
``frontier`` Altair theme. Label colours come from :func:`label_color_scale`, so a label keeps its
colour across every chart of a page (the domain is the sorted label set of the page).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import altair as alt

THEME_NAME = "frontier"

FONT = "Inter, 'Segoe UI', 'Helvetica Neue', Arial, 'DejaVu Sans', sans-serif"
MONO = "'JetBrains Mono', 'SFMono-Regular', Menlo, Consolas, 'DejaVu Sans Mono', monospace"
INK = "#1f2430"
MUTED = "#6b7280"
GRID = "#e8eaef"

# Tableau-10 reordered for contrast on white, then 10 more for large sweeps.
PALETTE: tuple[str, ...] = (
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
    "#17becf", "#8c564b", "#e377c2", "#bcbd22", "#7f7f7f",
    "#393b79", "#ad494a", "#637939", "#e6550d", "#7b4173",
    "#3182bd", "#843c39", "#31a354", "#de9ed6", "#636363",
)  # fmt: skip

FRONTIER_COLOR = "#2b2f36"
PREDICTED_DASH = [5, 4]
FRONTIER_DASH = [8, 5]
CLIENT_LIMITED_COLOR = "#b45309"

WIDTH = 620
HEIGHT = 380

X_TITLE = "Interactivity (tok/s/user)"
Y_TITLES = {
    "tok_s_gpu": "Token Throughput per GPU (tok/s/GPU)",
    "tok_s_gpu_output": "Output Token Throughput per GPU (tok/s/GPU)",
}
NUMBER_FORMAT = ",.1f"


def y_title(y: str) -> str:
    """Axis title of a y metric; raises ValueError naming the accepted metrics."""
    try:
        return Y_TITLES[y]
    except KeyError:
        raise ValueError(f"y={y!r} is not a frontier metric; use one of {sorted(Y_TITLES)}") from None


def label_color_scale(labels: Iterable[str]) -> alt.Scale:
    """A colour scale with a fixed label -> colour mapping (sorted labels, palette order)."""
    domain = sorted({str(label) for label in labels})
    colors = [PALETTE[i % len(PALETTE)] for i in range(len(domain))]
    return alt.Scale(domain=domain, range=colors)


def theme_config() -> dict[str, Any]:
    """The Vega-Lite top-level properties of the frontier theme."""
    return {
        "background": "white",
        "padding": {"left": 6, "right": 6, "top": 6, "bottom": 6},
        "config": {
            "font": FONT,
            "view": {"stroke": None, "continuousWidth": WIDTH, "continuousHeight": HEIGHT},
            "title": {
                "font": FONT,
                "fontSize": 15,
                "fontWeight": 600,
                "color": INK,
                "anchor": "start",
                "subtitleColor": MUTED,
                "subtitleFontSize": 11,
                "offset": 10,
            },
            "axis": {
                "labelFont": FONT,
                "titleFont": FONT,
                "labelColor": MUTED,
                "titleColor": INK,
                "labelFontSize": 11,
                "titleFontSize": 12,
                "titleFontWeight": 500,
                "gridColor": GRID,
                "domainColor": "#c5c9d3",
                "tickColor": "#c5c9d3",
            },
            "legend": {
                "labelFont": FONT,
                "titleFont": FONT,
                "labelFontSize": 11,
                "titleFontSize": 11,
                "titleColor": MUTED,
                "labelColor": INK,
                "symbolStrokeWidth": 3,
                "orient": "right",
                "labelLimit": 220,
            },
            "header": {"labelFont": FONT, "labelFontSize": 12, "labelColor": INK, "titleFontSize": 0},
            "line": {"strokeWidth": 2.2},
            "point": {"size": 46, "filled": True},
            "text": {"font": FONT, "fontSize": 11},
            "range": {"category": list(PALETTE)},
        },
    }


def _theme() -> alt.theme.ThemeConfig:
    return theme_config()  # type: ignore[return-value]


# registered, never globally enabled: importing charts changes no other chart's look
alt.theme.register(THEME_NAME, enable=False)(_theme)


def to_spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The Vega-Lite dict of ``chart`` with the frontier theme applied (validated by Altair).

    A missing value in the data (NaN, e.g. the concurrency of an imported bench_serving point
    that did not record one) becomes JSON ``null``, as Vega-Lite expects: never invalid JSON."""
    with alt.theme.enable(THEME_NAME):
        spec = chart.to_dict()
    for rows in (spec.get("datasets") or {}).values():
        for row in rows:
            if isinstance(row, dict):
                for k, v in row.items():
                    if isinstance(v, float) and not math.isfinite(v):
                        row[k] = None
    return spec
