"""Warehouse benchmark: landing rate, the frontier mart in DuckDB, the same work in pandas.

    .venv/bin/python benchmarks/warehouse.py [--rows 1000000] [--parts 8] [--keep DIR]

Generates ``--rows`` synthetic point rows (one run, spread over model x hardware x scenario x
label groups) and as many request rows, lands both through ``Warehouse.write`` in ``--parts``
parts, then times ``marts/frontier_points`` (axes + label and overall Pareto flags) against the
same computation in pandas on the same rows, and checks both agree.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time

import numpy as np
import pandas as pd
import pyarrow as pa

from frontier.warehouse import Warehouse, connect, run_model

LABELS = ["TP8", "TP4", "DEP8", "TEP8", "DP8", "SEP4+1xDEP8", "2xTEP4+1xDEP16", "DPATP8"]
GPUS = {"TP8": 8, "TP4": 4, "DEP8": 8, "TEP8": 8, "DP8": 8, "SEP4+1xDEP8": 12, "2xTEP4+1xDEP16": 24, "DPATP8": 8}


def synth_points(n: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    labels = np.array(LABELS)[rng.integers(0, len(LABELS), n)]
    gpus = np.array([GPUS[x] for x in LABELS])[np.searchsorted(np.array(LABELS), labels, sorter=np.argsort(LABELS))]
    tpot = rng.uniform(2.0, 100.0, n).round(3)
    thr = (gpus * (20000.0 / tpot) * rng.uniform(0.5, 1.0, n)).round(1)
    return pa.table(
        {
            "label": labels,
            "model": np.array([f"model-{i}" for i in range(10)])[rng.integers(0, 10, n)],
            "hardware": np.array(["h100_sxm", "h200_sxm", "b200_sxm", "mi300x"])[rng.integers(0, 4, n)],
            "precision": np.array(["fp8", "bf16"])[rng.integers(0, 2, n)],
            "scenario": np.array(["1k1k", "1k8k", "8k1k"])[rng.integers(0, 3, n)],
            "gpus": gpus.astype(np.int32),
            "max_concurrency": rng.integers(1, 512, n).astype(np.int32),
            "completed": np.full(n, 100, np.int32),
            "total_token_throughput": thr,
            "output_throughput": thr / 2,
            "median_tpot_ms": tpot,
            "mean_tpot_ms": tpot * 1.05,
            "status": np.where(rng.random(n) < 0.02, "failed", "ok"),
        }
    )


def synth_requests(n: int, seed: int = 1) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "label": np.array(LABELS)[rng.integers(0, len(LABELS), n)],
            "model": np.full(n, "model-0"),
            "hardware": np.full(n, "h100_sxm"),
            "precision": np.full(n, "fp8"),
            "scenario": np.full(n, "1k1k"),
            "max_concurrency": rng.integers(1, 512, n).astype(np.int32),
            "request_index": np.arange(n, dtype=np.int32),
            "ttft_ms": rng.uniform(10, 1000, n),
            "e2e_ms": rng.uniform(1000, 60000, n),
            "tpot_ms": rng.uniform(2, 100, n),
            "input_tokens": np.full(n, 1024, np.int32),
            "output_tokens": np.full(n, 1024, np.int32),
            "success": np.ones(n, bool),
        }
    )


def pandas_frontier(df: pd.DataFrame) -> pd.DataFrame:
    """The frontier_points computation in pandas (same rule and tie-break as the SQL)."""
    df = df.copy()
    df["tok_s_gpu"] = df.total_token_throughput / df.gpus
    df["tok_s_gpu_output"] = df.output_throughput / df.gpus
    df["tok_s_user"] = 1000.0 / df.median_tpot_ms
    df["tok_s_user_mean"] = 1000.0 / df.mean_tpot_ms
    group = ["model", "hardware", "precision", "scenario"]
    cand = df[(df.status == "ok") & np.isfinite(df.tok_s_gpu) & np.isfinite(df.tok_s_user)]

    def flags(keys: list[str], order: list[str]) -> pd.Series:
        best = cand.groupby(keys + ["tok_s_user"], sort=False).tok_s_gpu.max().reset_index()
        best = best.sort_values(keys + ["tok_s_user"], ascending=[True] * len(keys) + [False])
        right = best.groupby(keys, sort=False).tok_s_gpu.transform(lambda s: s.cummax().shift(1))
        pos = best[right.isna() | (best.tok_s_gpu > right)]
        hit = cand.merge(pos, on=keys + ["tok_s_user", "tok_s_gpu"], how="inner")
        hit = hit.sort_values(order).drop_duplicates(keys + ["tok_s_user", "tok_s_gpu"])
        return df.index.isin(hit["_i"])

    df["_i"] = np.arange(len(df))
    cand = cand.assign(_i=df.loc[cand.index, "_i"])
    df["on_label_frontier"] = flags(group + ["label"], ["max_concurrency", "_i"])
    df["on_overall_frontier"] = flags(group, ["max_concurrency", "label", "_i"])
    return df.drop(columns="_i")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="point rows and request rows (default 1M; try 10M)")
    ap.add_argument("--parts", type=int, default=8)
    ap.add_argument("--keep", default=None, help="warehouse folder to use (default: a temp folder)")
    args = ap.parse_args()
    root = args.keep or tempfile.mkdtemp(prefix="frontier-bench-")
    wh = Warehouse(root)
    n = args.rows
    date = dt.date(2026, 11, 25)

    points, requests = synth_points(n), synth_requests(n)
    for name, table in (("points", points), ("requests", requests)):
        t0 = time.perf_counter()
        step = -(-n // args.parts)
        for i in range(args.parts):
            wh.write(name, table.slice(i * step, step), run_id="bench", run_date=date, part=f"part-{i}")
        dt_s = time.perf_counter() - t0
        print(f"land {name:8s}: {n:>11,} rows in {dt_s:7.2f} s = {n / dt_s:>12,.0f} rows/s ({args.parts} parts)")

    t0 = time.perf_counter()
    merged = wh.compact("requests")
    print(f"compact requests: {len(merged)} file(s) in {time.perf_counter() - t0:.2f} s")

    t0 = time.perf_counter()
    con = connect(root)
    t_connect = time.perf_counter() - t0
    t0 = time.perf_counter()
    sql = run_model(con, "frontier_points")
    t_sql = time.perf_counter() - t0
    print(f"duckdb  frontier_points: connect {t_connect:.2f} s + mart {t_sql:.2f} s ({len(sql):,} rows, "
          f"{int(sql.on_label_frontier.sum()):,} label-frontier, {int(sql.on_overall_frontier.sum()):,} overall)")

    t0 = time.perf_counter()
    pdf = pd.read_parquet(wh.parts("points"), partitioning=None)
    t_read = time.perf_counter() - t0
    t0 = time.perf_counter()
    pd_out = pandas_frontier(pdf)
    t_pd = time.perf_counter() - t0
    print(f"pandas  frontier       : read {t_read:.2f} s + compute {t_pd:.2f} s "
          f"({int(pd_out.on_label_frontier.sum()):,} label-frontier, {int(pd_out.on_overall_frontier.sum()):,} overall)")
    agree = (int(sql.on_label_frontier.sum()), int(sql.on_overall_frontier.sum())) == (
        int(pd_out.on_label_frontier.sum()),
        int(pd_out.on_overall_frontier.sum()),
    )
    print(f"ratio pandas/duckdb: compute {t_pd / t_sql:.2f}x, end to end {(t_read + t_pd) / (t_connect + t_sql):.2f}x; "
          f"frontier counts agree: {agree}")

    t0 = time.perf_counter()
    agg = con.sql("SELECT label, count(*), median(ttft_ms), quantile_cont(tpot_ms, 0.99) FROM requests GROUP BY 1").fetchall()
    t_rq = time.perf_counter() - t0
    t0 = time.perf_counter()
    rq = pd.read_parquet(wh.parts("requests"), columns=["label", "ttft_ms", "tpot_ms"], partitioning=None)
    rq.groupby("label").agg(n=("ttft_ms", "size"), ttft=("ttft_ms", "median"), tpot=("tpot_ms", lambda s: s.quantile(0.99)))
    t_rq_pd = time.perf_counter() - t0
    print(f"requests per-label stats: duckdb {t_rq:.2f} s, pandas (read+agg) {t_rq_pd:.2f} s, ratio {t_rq_pd / t_rq:.2f}x "
          f"({len(agg)} labels)")


if __name__ == "__main__":
    main()
