"""Offline prediction: the simulator's scheduler in virtual time, no HTTP, one point or a batch.

``predict_point`` runs the closed-loop load of one ladder point (max concurrency C,
``num_prompts`` = 10 x C (min 20) measured after 2 x C warm-up requests, exact ISL/OSL, as the
nightly sweeps do) through the simulated deployment and returns bench_serving-named metrics plus
``gpus``, ``tok_s_gpu`` and ``tok_s_user``. ``predict_csv`` does it for every row of a file.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from frontier.domain.catalog import PRECISIONS, UnknownName, get_hardware, get_model
from frontier.domain.load import DEFAULT_LOAD
from frontier.errors import FrontierError
from frontier.sim import SIM_VERSION
from frontier.sim.cluster import Cluster, SimSpec
from frontier.sim.metrics import point_metrics
from frontier.sim.perf_model import Params
from frontier.sim.topology import from_label
from frontier.sim.virtual import closed_loop

IN_COLUMNS = ("model", "hardware", "precision", "label", "isl", "osl", "concurrency")
OUT_EXTRA = (
    "ttft_ms",
    "tpot_ms",
    "itl_ms",
    "output_throughput",
    "total_token_throughput",
    "tok_s_gpu",
    "tok_s_user",
    "gpus",
    "error",
)


def build_spec(
    model: str,
    hardware: str,
    precision: str,
    label: str,
    seed: int = 0,
    params: Params | None = None,
    kv_dtype: str = "bf16",
    **kw,
) -> SimSpec:
    """Resolve names into a :class:`SimSpec`; FrontierError with a one-line reason otherwise."""
    try:
        m = get_model(model)
        hw = get_hardware(hardware)
    except UnknownName as e:
        raise FrontierError(str(e)) from None
    if precision not in PRECISIONS:
        raise FrontierError(f"unknown precision {precision!r}; known: {', '.join(PRECISIONS)}")
    topo = from_label(label, m)
    return SimSpec(m, hw, precision, topo, kv_dtype=kv_dtype, seed=seed, params=params, **kw)


def predict_point(
    model: str,
    hardware: str,
    precision: str,
    label: str,
    isl: int,
    osl: int,
    concurrency: int,
    num_prompts: int | None = None,
    seed: int = 0,
    params: Params | None = None,
    warmup: int | None = None,
    kv_dtype: str = "bf16",
    range_ratio: float = 1.0,
    warmup_mode: str = "gate",
    **server: object,
) -> dict:
    """Predicted metrics of one point (bench_serving names, plus gpus/tok_s_gpu/tok_s_user).

    ``range_ratio`` < 1 draws prompt and output lengths as bench_serving's
    ``--random-range-ratio`` does; ``warmup_mode`` "gather" runs the warm-up as bench_serving
    does (see :func:`closed_loop`); ``server`` takes SGLang server knobs of :class:`SimSpec`
    (``chunk``, ``max_prefill_tokens``, ``mem_fraction``, ``max_running``, ``mixed_chunk``).
    """
    for name, v in (("isl", isl), ("osl", osl), ("concurrency", concurrency)):
        if not isinstance(v, int) or v < 1:
            raise FrontierError(f"{name} must be a positive integer, got {v!r}")
    spec = build_spec(
        model, hardware, precision, label, seed=seed, params=params, kv_dtype=kv_dtype, **server
    )
    if isl + osl > spec.model.max_context:
        raise FrontierError(
            f"isl {isl} + osl {osl} exceeds {spec.model.name}'s context length {spec.model.max_context}"
        )
    cluster = Cluster(spec, record_itl=True)
    why = cluster.fits_ever(isl, osl)
    if why:
        raise FrontierError(f"{label} on {hardware}: {why}")
    n = num_prompts if num_prompts is not None else DEFAULT_LOAD.prompts_for(concurrency)
    w = warmup if warmup is not None else DEFAULT_LOAD.warmups_for(concurrency)
    reqs = closed_loop(
        cluster,
        isl,
        osl,
        concurrency,
        n,
        warmup=w,
        seed=seed,
        range_ratio=range_ratio,
        warmup_mode=warmup_mode,
    )
    vals, wts = [], []
    for e in cluster.engines:
        vals.extend(e.itl_vals)
        wts.extend(e.itl_wts)
    m = {k: (float(v) if hasattr(v, "dtype") else v) for k, v in point_metrics(reqs, vals, wts).items()}
    if not m.get("completed"):
        raise FrontierError(f"{label}: no request completed in simulation")
    gpus = cluster.gpus
    m.update(
        {
            "model": spec.model.name,
            "hardware": hardware,
            "precision": precision,
            "label": spec.topology.label if "+" in label else label,
            "isl": isl,
            "osl": osl,
            "max_concurrency": concurrency,
            "num_prompts": n,
            "gpus": gpus,
            "tok_s_gpu": m["total_token_throughput"] / gpus,
            "tok_s_gpu_output": m["output_throughput"] / gpus,
            "tok_s_user": 1000.0 / m["median_tpot_ms"] if m.get("median_tpot_ms") else math.nan,
            "kv_pool_tokens": cluster.pool_tokens(),
            "model_version": SIM_VERSION,
        }
    )
    return m


def predict_row(row: dict) -> dict:
    """One IN.csv row -> one OUT.csv row (median latencies); errors land in ``error``."""
    out = {k: row.get(k, "") for k in IN_COLUMNS}
    out.update({k: "" for k in OUT_EXTRA})
    try:
        missing = [k for k in IN_COLUMNS if str(row.get(k, "") or "").strip() == ""]
        if missing:
            raise FrontierError(f"missing column value(s): {', '.join(missing)}")
        ints = {}
        for k in ("isl", "osl", "concurrency"):
            try:
                ints[k] = int(str(row[k]).strip())
            except ValueError:
                raise FrontierError(f"{k} must be an integer, got {row[k]!r}") from None
        m = predict_point(
            str(row["model"]).strip(),
            str(row["hardware"]).strip(),
            str(row["precision"]).strip(),
            str(row["label"]).strip(),
            ints["isl"],
            ints["osl"],
            ints["concurrency"],
        )
        out.update(
            ttft_ms=round(m["median_ttft_ms"], 3),
            tpot_ms=round(m["median_tpot_ms"], 4),
            itl_ms=round(m["median_itl_ms"], 4),
            output_throughput=round(m["output_throughput"], 3),
            total_token_throughput=round(m["total_token_throughput"], 3),
            tok_s_gpu=round(m["tok_s_gpu"], 3),
            tok_s_user=round(m["tok_s_user"], 3),
            gpus=m["gpus"],
            error="",
        )
    except FrontierError as e:
        out["error"] = str(e)
    return out


def predict_csv(in_path: str | Path, out_path: str | Path) -> int:
    """Predict every row of IN.csv into OUT.csv; returns the number of rows with an error."""
    with open(in_path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in IN_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise FrontierError(
                f"{in_path}: missing column(s) {', '.join(missing)}; need {','.join(IN_COLUMNS)}"
            )
        rows = [predict_row(r) for r in reader]
    with open(out_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(IN_COLUMNS) + list(OUT_EXTRA))
        w.writeheader()
        w.writerows(rows)
    return sum(1 for r in rows if r["error"])
