"""Warehouse benchmark: landing rate, the frontier in DuckDB, the same work in pandas, one run.

    .venv/bin/python benchmarks/warehouse.py [--rows 1000000] [--points-per-run 5000] [--parts 4]
        [--compare-sql DIR]

Generates ``--rows`` synthetic point rows spread over runs of ``--points-per-run`` points (a
warehouse holding many nights; ``--points-per-run 0`` puts every row in one run, the worst case
for a chart) and ``--rows`` request rows; lands both through ``Warehouse.write``, then times, with
DuckDB and with pandas on the same files in the same process:

1. ``frontier`` over every row (axes + label and overall Pareto flags of every run: the
   ``int_point_metrics`` view behind every mart), counted in DuckDB so no rows leave the engine,
   and fetched as an Arrow table (every row's key columns and both flags);
   pandas does the same computation (same rule and tie-break) after reading the Parquet files;
   the flagged points of both are checked equal;
2. ``marts/frontier_points`` of the latest run (what a chart reads), as an Arrow table and
   through ``run_model`` (a pandas DataFrame); pandas reads that run's files and computes it;
3. per-label request statistics (median TTFT, p99 TPOT) over every request row.

Each timing is the best of ``--repeat`` tries on a warm connection (``connect`` timed apart).
``--compare-sql DIR`` (e.g. a copy of HEAD's sql/: ``git archive HEAD sql | tar -x -C /tmp/head``)
also runs 1. and 2. with the models of DIR/sql (or DIR) on the same files, in the same process,
and prints both side by side (each with its own connection; ``FRONTIER_SQL_DIR`` set meanwhile).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from frontier.warehouse import Warehouse, connect, run_model
from frontier.warehouse.sqlfiles import model_sql

LABELS = ["TP8", "TP4", "DEP8", "TEP8", "DP8", "SEP4+1xDEP8", "2xTEP4+1xDEP16", "DPATP8"]
GPUS = {
    "TP8": 8,
    "TP4": 4,
    "DEP8": 8,
    "TEP8": 8,
    "DP8": 8,
    "SEP4+1xDEP8": 12,
    "2xTEP4+1xDEP16": 24,
    "DPATP8": 8,
}
GROUP = ["run_id", "model", "hardware", "precision", "scenario"]
FLAG_KEY = [*GROUP, "label", "max_concurrency", "tok_s_user", "tok_s_gpu"]
PANDAS_COLUMNS = [
    *GROUP,
    "label",
    "max_concurrency",
    "gpus",
    "status",
    "total_token_throughput",
    "output_throughput",
    "median_tpot_ms",
    "mean_tpot_ms",
]


def synth_points(n: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(LABELS), n)
    tpot = rng.uniform(2.0, 100.0, n).round(3)
    gpus = np.array([GPUS[x] for x in LABELS])[idx]
    thr = (gpus * (20000.0 / tpot) * rng.uniform(0.5, 1.0, n)).round(1)
    return pa.table(
        {
            "label": np.array(LABELS)[idx],
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
    """Axes and both frontier flags in pandas, vectorized, with the SQL's rule and tie-break.

    Per group, order by x desc, y desc, max_concurrency (then label); a candidate is on the
    frontier when its y beats the max y of every candidate before it (the running max, shifted).
    """
    out = pd.DataFrame(index=df.index)
    out["tok_s_gpu"] = df.total_token_throughput / df.gpus
    out["tok_s_gpu_output"] = df.output_throughput / df.gpus
    out["tok_s_user"] = 1000.0 / df.median_tpot_ms
    out["tok_s_user_mean"] = 1000.0 / df.mean_tpot_ms
    ok = (df.status == "ok") & np.isfinite(out.tok_s_gpu) & np.isfinite(out.tok_s_user)
    cand = pd.concat(
        [df.loc[ok, [*GROUP, "label", "max_concurrency"]], out.loc[ok, ["tok_s_user", "tok_s_gpu"]]], axis=1
    )

    def flags(keys: list[str], tie: list[str]) -> pd.Series:
        s = cand.sort_values(
            [*keys, "tok_s_user", "tok_s_gpu", *tie],
            ascending=[True] * len(keys) + [False, False] + [True] * len(tie),
        )
        before = s.groupby(keys, sort=False, observed=True).tok_s_gpu.cummax()
        before = before.groupby([s[k] for k in keys], sort=False, observed=True).shift(1)
        on = before.isna() | (s.tok_s_gpu > before)
        return on.reindex(df.index, fill_value=False)

    out["on_label_frontier"] = flags([*GROUP, "label"], ["max_concurrency"])
    out["on_overall_frontier"] = flags(GROUP, ["max_concurrency", "label"])
    return pd.concat([df, out], axis=1)


def best_of(repeat: int, fn):
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def _flagged(df: pd.DataFrame, col: str) -> list[tuple]:
    sub = df.loc[df[col].astype(bool), FLAG_KEY]
    return sorted(sub.itertuples(index=False, name=None))


@contextlib.contextmanager
def _sql_dir(folder: str | None):
    """FRONTIER_SQL_DIR = folder while inside (None: leave it as it is)."""
    old = os.environ.get("FRONTIER_SQL_DIR")
    if folder is not None:
        os.environ["FRONTIER_SQL_DIR"] = folder
    try:
        yield
    finally:
        if folder is not None:
            if old is None:
                os.environ.pop("FRONTIER_SQL_DIR", None)
            else:
                os.environ["FRONTIER_SQL_DIR"] = old


def duckdb_timings(root: str, repeat: int, sql_folder: str | None) -> dict:
    """1. and 2. in DuckDB with the models of ``sql_folder`` (None: the default sql/)."""
    with _sql_dir(sql_folder):
        t0 = time.perf_counter()
        con = connect(root)
        out = {"connect": time.perf_counter() - t0}
        count_sql = (
            "SELECT count(*), count(*) FILTER (WHERE on_label_frontier), "
            "count(*) FILTER (WHERE on_overall_frontier) FROM int_point_metrics"
        )
        out["count"], out["counts"] = best_of(repeat, lambda: con.execute(count_sql).fetchall()[0])
        flags_sql = (
            f"SELECT {', '.join(FLAG_KEY)}, on_label_frontier, on_overall_frontier FROM int_point_metrics"
        )
        out["flags"], _ = best_of(repeat, lambda: con.sql(flags_sql).to_arrow_table())
        out["flagged"] = con.sql(flags_sql + " WHERE on_label_frontier").df()
        sql = model_sql("marts/frontier_points")
        out["mart_arrow"], tbl = best_of(
            repeat, lambda: con.sql(sql, params={"run_id": None}).to_arrow_table()
        )
        out["mart_df"], out["mart"] = best_of(repeat, lambda: run_model(con, "frontier_points"))
        out["mart_rows"] = tbl.num_rows
        con.close()
    return out


def compare_sql(root: str, repeat: int, other: str, pd_all: float, pd_run: float) -> None:
    """Side by side: this checkout's sql/ against ``other`` on the same warehouse."""
    folder = Path(other)
    if (folder / "sql" / "marts").is_dir():
        folder = folder / "sql"
    # alternate the two so neither gets a warmer cache
    a, b = duckdb_timings(root, repeat, str(folder)), duckdb_timings(root, repeat, None)
    a2, b2 = duckdb_timings(root, repeat, str(folder)), duckdb_timings(root, repeat, None)
    for x, y in ((a, a2), (b, b2)):
        for k in ("count", "flags", "mart_arrow", "mart_df"):
            x[k] = min(x[k], y[k])
    same = a["counts"] == b["counts"] and all(
        _flagged(a[k], c) == _flagged(b[k], c)
        for k in ("flagged", "mart")
        for c in ("on_label_frontier", "on_overall_frontier")
    )
    print(f"\ncompare-sql: {folder} (A) vs this checkout's sql/ (B); same flags: {same}")
    print(f"   {'':34s}{'A':>10s}{'B':>10s}{'B/A':>7s}{'pandas/A':>10s}{'pandas/B':>10s}")
    rows = [
        ("1. all rows: count flags", "count", pd_all),
        ("1. all rows: flags -> Arrow", "flags", pd_all),
        (f"2. latest run mart -> Arrow ({a['mart_rows']:,})", "mart_arrow", pd_run),
        ("2. latest run mart -> DataFrame", "mart_df", pd_run),
    ]
    for name, k, pd_t in rows:
        print(
            f"   {name:34s}{a[k] * 1000:8.1f}ms{b[k] * 1000:8.1f}ms{b[k] / a[k]:7.2f}{pd_t / a[k]:9.1f}x{pd_t / b[k]:9.1f}x"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--rows", type=int, default=1_000_000, help="point rows and request rows (default 1M; try 10M)"
    )
    ap.add_argument(
        "--points-per-run", type=int, default=5000, help="points per run (0: all rows in one run)"
    )
    ap.add_argument("--parts", type=int, default=4, help="part files per run")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", default=None, help="warehouse folder to use (default: a temp folder)")
    ap.add_argument(
        "--compare-sql",
        default=None,
        metavar="DIR",
        help="also time 1. and 2. with the SQL models of DIR (e.g. HEAD's sql/) on the same files",
    )
    ap.add_argument("--skip-requests", action="store_true", help="skip 3. (requests)")
    args = ap.parse_args()
    root = args.keep or tempfile.mkdtemp(prefix="frontier-bench-")
    wh = Warehouse(root)
    n = args.rows
    per_run = args.points_per_run or n
    runs = -(-n // per_run)
    day0 = dt.date(2026, 1, 1)

    # ---------------------------------------------------------------- landing
    points = synth_points(n)
    t0 = time.perf_counter()
    for r in range(runs):
        run = points.slice(r * per_run, per_run)
        step = -(-run.num_rows // args.parts)
        for i in range(args.parts):
            wh.write(
                "points",
                run.slice(i * step, step),
                run_id=f"run-{r:05d}",
                run_date=day0 + dt.timedelta(days=r),
                part=f"part-{i}",
            )
    t_land = time.perf_counter() - t0
    print(
        f"land points  : {n:>11,} rows in {t_land:7.2f} s = {n / t_land:>12,.0f} rows/s "
        f"({runs:,} runs x {args.parts} parts)"
    )
    del points
    if not args.skip_requests:
        requests = synth_requests(n)
        t0 = time.perf_counter()
        step = -(-n // 8)
        for i in range(8):
            wh.write(
                "requests", requests.slice(i * step, step), run_id="requests", run_date=day0, part=f"part-{i}"
            )
        t_land = time.perf_counter() - t0
        print(f"land requests: {n:>11,} rows in {t_land:7.2f} s = {n / t_land:>12,.0f} rows/s (8 parts)")
        del requests

    t0 = time.perf_counter()
    con = connect(root)
    print(f"connect      : {time.perf_counter() - t0:.2f} s")
    latest = f"run-{runs - 1:05d}"
    files = [str(p) for p in wh.parts("points")]
    run_files = [str(p) for p in wh.parts("points", latest)]

    # ---------------------------------------------------------------- 1. every row
    count_sql = (
        "SELECT count(*), count(*) FILTER (WHERE on_label_frontier), count(*) FILTER (WHERE on_overall_frontier) "
        "FROM int_point_metrics"
    )
    t_db, (rows, n_label, n_overall) = best_of(args.repeat, lambda: con.execute(count_sql).fetchall()[0])
    flags_sql = f"SELECT {', '.join(FLAG_KEY)}, on_label_frontier, on_overall_frontier FROM int_point_metrics"
    t_arrow_flags, _ = best_of(args.repeat, lambda: con.sql(flags_sql).to_arrow_table())
    t0 = time.perf_counter()
    whole = pd.read_parquet(files, columns=PANDAS_COLUMNS, partitioning=None)  # only what it needs, as DuckDB
    t_rd = time.perf_counter() - t0
    t0 = time.perf_counter()
    pd_out = pandas_frontier(whole)
    t_pd = time.perf_counter() - t0
    db_flags = con.sql(
        f"SELECT {', '.join(FLAG_KEY)}, on_label_frontier, on_overall_frontier FROM int_point_metrics "
        "WHERE on_label_frontier"
    ).df()
    agree = all(
        _flagged(db_flags, c) == _flagged(pd_out, c) for c in ("on_label_frontier", "on_overall_frontier")
    )
    del whole, pd_out, db_flags
    print(
        f"\n1. frontier over every row ({rows:,} rows, {n_label:,} label-frontier, {n_overall:,} overall; "
        f"DuckDB and pandas flags equal: {agree})"
    )
    print(f"   {'':14s}{'DuckDB':>10s}{'pandas':>10s}{'pandas/DuckDB':>15s}")
    print(
        f"   {'compute':14s}{t_db:9.3f}s{t_pd:9.3f}s{t_pd / t_db:14.1f}x   (DuckDB reads the Parquet inside its time)"
    )
    print(f"   {'read+compute':14s}{t_db:9.3f}s{t_rd + t_pd:9.3f}s{(t_rd + t_pd) / t_db:14.1f}x")
    print(
        f"   {'flags->Arrow':14s}{t_arrow_flags:9.3f}s{t_rd + t_pd:9.3f}s{(t_rd + t_pd) / t_arrow_flags:14.1f}x"
        f"   (every row's key + both flags fetched as an Arrow table; pandas read+compute)"
    )

    # ---------------------------------------------------------------- 2. one run's mart
    sql = model_sql("marts/frontier_points")
    t_arrow, tbl = best_of(args.repeat, lambda: con.sql(sql, params={"run_id": None}).to_arrow_table())
    t_df, mart = best_of(args.repeat, lambda: run_model(con, "frontier_points"))
    t_pd_run, pd_run = best_of(
        args.repeat, lambda: pandas_frontier(pd.read_parquet(run_files, partitioning=None))
    )
    agree = all(
        _flagged(mart, c) == _flagged(pd_run, c) for c in ("on_label_frontier", "on_overall_frontier")
    )
    print(
        f"\n2. marts/frontier_points of the latest run ({tbl.num_rows:,} of {n:,} rows; flags equal to pandas: {agree})"
    )
    print(
        f"   DuckDB -> Arrow {t_arrow * 1000:8.1f} ms | run_model -> pandas {t_df * 1000:8.1f} ms | "
        f"pandas read+compute {t_pd_run * 1000:8.1f} ms | pandas/DuckDB {t_pd_run / t_arrow:.1f}x (Arrow), "
        f"{t_pd_run / t_df:.1f}x (DataFrame)"
    )

    if args.compare_sql:
        compare_sql(root, args.repeat, args.compare_sql, t_rd + t_pd, t_pd_run)
    if args.skip_requests:
        return

    # ---------------------------------------------------------------- 3. requests
    rq_sql = "SELECT label, count(*), median(ttft_ms), quantile_cont(tpot_ms, 0.99) FROM requests GROUP BY 1"
    t_rq, agg = best_of(args.repeat, lambda: con.execute(rq_sql).fetchall())

    def pandas_requests():
        rq = pd.read_parquet(wh.parts("requests"), columns=["label", "ttft_ms", "tpot_ms"], partitioning=None)
        g = rq.groupby("label")
        return pd.DataFrame({"n": g.size(), "ttft": g.ttft_ms.median(), "tpot": g.tpot_ms.quantile(0.99)})

    t_rq_pd, _ = best_of(args.repeat, pandas_requests)
    print(
        f"\n3. per-label request stats over {n:,} rows: DuckDB {t_rq * 1000:.1f} ms, pandas read+agg "
        f"{t_rq_pd * 1000:.1f} ms, pandas/DuckDB {t_rq_pd / t_rq:.1f}x ({len(agg)} labels)"
    )


if __name__ == "__main__":
    main()
