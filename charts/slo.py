"""InferenceX-style interactivity bands: for one (model, precision, scenario), the best tok/s/GPU
each hardware reaches at or above each interactivity band (rows of the ``slo_bands`` mart), as
grouped bars (one group per band, one bar per hardware, the winning label written on each bar)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from charts import theme
from charts.contract import require


def slo_band_chart(df: pd.DataFrame, *, title: str | None = None, width: int = theme.WIDTH,
                   height: int = theme.HEIGHT) -> alt.LayerChart:  # fmt: skip
    """Grouped bars: x = band (at least N tok/s/user), y = best tok/s/GPU, colour = hardware."""
    require(df, ["min_tok_s_user", "hardware", "label", "tok_s_gpu", "tok_s_user", "max_concurrency"],
            what="slo_band_chart")  # fmt: skip
    rows = df.loc[:, [c for c in ("min_tok_s_user", "hardware", "label", "tok_s_gpu", "tok_s_user",
                                  "max_concurrency", "p99_ttft_ms", "gpus") if c in df.columns]].copy()  # fmt: skip
    rows["band"] = rows["min_tok_s_user"].map(lambda v: f"≥ {v:g}")
    order = [f"≥ {v:g}" for v in sorted(rows["min_tok_s_user"].unique())]
    rows["hardware"] = rows["hardware"].astype(str)
    rows["label"] = rows["label"].astype(str)
    scale = theme.label_color_scale(rows["hardware"])
    x = alt.X("band:N", sort=order, title="Interactivity band (tok/s/user at least)")
    y = alt.Y("tok_s_gpu:Q", title="Best Token Throughput per GPU (tok/s/GPU)", scale=alt.Scale(zero=True))
    tips = [alt.Tooltip("band:N", title="Band"), alt.Tooltip("hardware:N", title="Hardware"),
            alt.Tooltip("label:N", title="Label"), alt.Tooltip("max_concurrency:Q", title="Max concurrency"),
            alt.Tooltip("tok_s_gpu:Q", title="tok/s/GPU", format=",.1f"),
            alt.Tooltip("tok_s_user:Q", title="tok/s/user", format=",.1f")]  # fmt: skip
    if "p99_ttft_ms" in rows.columns:
        tips.append(alt.Tooltip("p99_ttft_ms:Q", title="TTFT p99 (ms)", format=",.0f"))
    base = alt.Chart(rows).encode(x=x, xOffset=alt.XOffset("hardware:N"), y=y)
    bars = base.mark_bar().encode(
        color=alt.Color("hardware:N", title="Hardware", scale=scale), tooltip=tips
    ).properties(description="bars")  # fmt: skip
    text = base.mark_text(angle=270, align="left", dx=4, fontSize=10, fontWeight=600).encode(
        text="label:N", color=alt.Color("hardware:N", scale=scale, legend=None)
    ).properties(description="labels")  # fmt: skip
    return alt.layer(bars, text, title=alt.Title(title or "", subtitle="best measured configuration per band")
                     ).properties(width=width, height=height)  # fmt: skip
