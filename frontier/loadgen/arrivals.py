"""Inter-arrival times of requests, as ``sglang.bench_serving`` / vLLM draw them.

Unlimited rate: every request arrives at t=0 (the concurrency gate then paces them). Otherwise gaps
follow a gamma distribution with shape ``burstiness`` and mean ``1 / rate`` (burstiness 1 is a
Poisson process; < 1 is burstier, > 1 more regular).
"""

from __future__ import annotations

import numpy as np


def arrival_offsets(n: int, rate: float | None, burstiness: float = 1.0, seed: int = 0) -> list[float]:
    """Seconds from the start at which each of n requests arrives (first one at 0)."""
    if rate is None or n == 0:
        return [0.0] * n
    rng = np.random.default_rng(seed)
    theta = 1.0 / (rate * burstiness)
    gaps = rng.gamma(shape=burstiness, scale=theta, size=n - 1)
    return [0.0, *np.cumsum(gaps).tolist()]
