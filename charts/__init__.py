"""Pure Altair chart builders for frontier: a ``frontier_points`` DataFrame in, an ``alt.Chart`` out.

No I/O here. ``charts.theme.to_spec(chart)`` turns a chart into its themed Vega-Lite dict.
"""

from charts.frontier import frontier_chart
from charts.history import history_chart, trend_chart
from charts.overlay import compare_chart, hardware_chart
from charts.slo import slo_band_chart
from charts.theme import THEME_NAME, to_spec

__all__ = [
    "THEME_NAME",
    "compare_chart",
    "frontier_chart",
    "hardware_chart",
    "history_chart",
    "slo_band_chart",
    "to_spec",
    "trend_chart",
]
