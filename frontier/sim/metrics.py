"""Per-point metrics of simulated requests, with ``sglang.bench_serving``'s names and rules.

TPOT per request = (e2e - ttft) / (output_tokens - 1); ITL samples come weighted from the
engines (one weight per request sharing an iteration); throughputs divide by the time from the
first measured send to the last measured completion; ``concurrency`` = sum(e2e) / duration.
"""

from __future__ import annotations

import numpy as np

from frontier.sim.scheduler import SimRequest

_STATS = ("mean", "median", "std", "p90", "p95", "p99")


def _stats(name: str, values: np.ndarray, weights: np.ndarray | None = None) -> dict[str, float]:
    out: dict[str, float] = {}
    if values.size == 0:
        return {f"{s}_{name}_ms": 0.0 for s in _STATS}
    if weights is None:
        out[f"mean_{name}_ms"] = float(values.mean())
        out[f"median_{name}_ms"] = float(np.median(values))
        out[f"std_{name}_ms"] = float(values.std())
        for q in (90, 95, 99):
            out[f"p{q}_{name}_ms"] = float(np.percentile(values, q))
        return out
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    mean = float(np.average(v, weights=w))
    cw = np.cumsum(w)
    total = cw[-1]

    def pct(q: float) -> float:
        return float(v[min(len(v) - 1, int(np.searchsorted(cw, q / 100.0 * total, side="left")))])

    out[f"mean_{name}_ms"] = mean
    out[f"median_{name}_ms"] = pct(50)
    out[f"std_{name}_ms"] = float(np.sqrt(np.average((v - mean) ** 2, weights=w)))
    for q in (90, 95, 99):
        out[f"p{q}_{name}_ms"] = pct(q)
    return out


def point_metrics(reqs: list[SimRequest], itl_vals: list[float], itl_wts: list[float]) -> dict[str, float]:
    """bench_serving-named metrics over the measured, successful requests."""
    ok = [r for r in reqs if r.measured and r.error is None and r.finish is not None]
    if not ok:
        return {"completed": 0}
    sent = np.array([r.sent for r in ok])
    first = np.array([r.first_token for r in ok])
    fin = np.array([r.finish for r in ok])
    outs = np.array([r.max_new for r in ok], dtype=float)
    ins = np.array([r.isl for r in ok], dtype=float)
    duration = float(fin.max() - sent.min())
    ttft = (first - sent) * 1e3
    e2e = (fin - sent) * 1e3
    multi = outs > 1
    tpot = (e2e[multi] - ttft[multi]) / (outs[multi] - 1)
    m: dict[str, float] = {
        "completed": len(ok),
        "failed": sum(1 for r in reqs if r.measured and r.error is not None),
        "duration": duration,
        "total_input_tokens": int(ins.sum()),
        "total_output_tokens": int(outs.sum()),
        "request_throughput": len(ok) / duration,
        "input_throughput": ins.sum() / duration,
        "output_throughput": outs.sum() / duration,
        "total_token_throughput": (ins.sum() + outs.sum()) / duration,
    }
    m.update(_stats("ttft", ttft))
    m.update(_stats("tpot", tpot))
    m.update(_stats("itl", np.array(itl_vals) * 1e3, np.array(itl_wts)))
    m.update(_stats("e2e_latency", e2e))
    m["concurrency"] = float(e2e.sum() / 1e3 / duration)
    return m
