"""Step detection over nightly series (asv-style): is the latest level worse than the best before?

``detect(values)`` fits a piecewise-constant curve to the series (exact optimal partitioning,
least squares plus a penalty per step, as in asv's ``step_detect``: curves are steps plus noise of
constant amplitude), then compares the level of the last segment with the best earlier level. A
regression is reported when the drop exceeds both ``threshold`` (relative) and ``noise_factor``
times the noise estimated from the series itself (robust: the median absolute difference of
neighbouring values). Pure functions; no I/O.

``regressions(con, run_id=None)`` is the ``marts/regression_steps`` model (the morning-after check
against the previous night is the SQL mart ``marts/regressions``): it runs
``marts/regression_series`` (per label and metric: frontier tok/s/GPU at bands 20/50/100 tok/s/user
and the peak, one value per run up to ``run_id``) and returns one row per series whose latest level
is a regression.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from statistics import median

import pandas as pd


@dataclass(frozen=True)
class Regression:
    index: int  # position (in the input) where the current, worse level begins
    before: float  # the best earlier level
    after: float  # the current level (mean of the last segment)
    change: float  # (after - before) / |before|: negative = lower
    noise: float  # the noise (one sigma) estimated from the series, in value units


def _noise(y: list[float]) -> float:
    if len(y) < 3:
        return 0.0
    diffs = [abs(b - a) for a, b in itertools.pairwise(y)]
    return 1.4826 * median(diffs) / math.sqrt(2)


def segments(y: list[float], penalty: float) -> list[tuple[int, int, float]]:
    """Optimal piecewise-constant fit: [(start, end_exclusive, mean)], cost = SSE + penalty per segment."""
    n = len(y)
    s1 = [0.0] * (n + 1)
    s2 = [0.0] * (n + 1)
    for i, v in enumerate(y):
        s1[i + 1] = s1[i] + v
        s2[i + 1] = s2[i] + v * v

    def sse(i: int, j: int) -> float:
        m = j - i
        return max(0.0, (s2[j] - s2[i]) - (s1[j] - s1[i]) ** 2 / m)

    best = [0.0] + [math.inf] * n
    prev = [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(j):
            c = best[i] + sse(i, j) + penalty
            if c < best[j]:
                best[j], prev[j] = c, i
    out = []
    j = n
    while j > 0:
        i = prev[j]
        out.append((i, j, (s1[j] - s1[i]) / (j - i)))
        j = i
    return out[::-1]


def detect(
    values: list[float | None],
    *,
    higher_is_better: bool = True,
    threshold: float = 0.05,
    noise_factor: float = 3.0,
    min_points: int = 3,
) -> Regression | None:
    """The regression at the end of ``values`` (oldest first), or None. Missing values are skipped."""
    idx = [i for i, v in enumerate(values) if v is not None and not math.isnan(v)]
    y = [float(values[i]) for i in idx]
    if len(y) < min_points:
        return None
    sign = 1.0 if higher_is_better else -1.0
    sigma = _noise(y)
    scale = max((abs(v) for v in y), default=0.0)
    sigma = max(sigma, 1e-9 * scale, 1e-12)
    penalty = 2.0 * sigma**2 * math.log(max(len(y), 2)) * noise_factor
    segs = segments(y, penalty)
    if len(segs) < 2:
        return None
    last_start, _, last = segs[-1]
    best = max((m for _, _, m in segs[:-1]), key=lambda m: sign * m)
    drop = sign * (best - last)
    if drop <= 0 or drop <= noise_factor * sigma or drop <= threshold * abs(best):
        return None
    change = (last - best) / abs(best) if best else -math.inf
    return Regression(index=idx[last_start], before=best, after=last, change=change, noise=sigma)


def regressions(
    con, run_id: str | None = None, threshold: float | None = None, noise_factor: float | None = None
) -> pd.DataFrame:
    """The marts/regression_steps model (see the module docstring)."""
    from frontier.warehouse.runner import run_model

    series = run_model(con, "marts/regression_series", run_id=run_id)
    cols = ["model", "hardware", "precision", "scenario", "label", "metric"]
    rows = []
    kw = {
        "threshold": 0.05 if threshold is None else threshold,
        "noise_factor": 3.0 if noise_factor is None else noise_factor,
    }
    for key, g in series.groupby(cols, sort=True):
        g = g.reset_index(drop=True)
        r = detect(g["value"].tolist(), **kw)
        if r is None:
            continue
        rows.append(
            dict(
                zip(cols, key),
                run_id=g["run_id"].iloc[r.index],
                prev_run_id=g["run_id"].iloc[r.index - 1] if r.index > 0 else None,
                latest_run_id=g["run_id"].iloc[-1],
                before=r.before,
                after=r.after,
                change_pct=100.0 * r.change,
                noise=r.noise,
                runs=len(g),
            )
        )
    out_cols = cols + [
        "run_id",
        "prev_run_id",
        "latest_run_id",
        "before",
        "after",
        "change_pct",
        "noise",
        "runs",
    ]
    return pd.DataFrame(rows, columns=out_cols)


regressions.params = ("run_id", "threshold", "noise_factor")  # type: ignore[attr-defined]
