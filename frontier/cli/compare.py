"""``frontier compare RUN_A RUN_B`` (run against run) and ``frontier best`` (the best configuration
under a latency objective). Registered by frontier/cli/main.py (AREA_CLIS)."""

from __future__ import annotations

import argparse
import math
import os
import sys

from frontier.errors import FrontierError

SLO_BOUNDS = (  # (flag, mart parameter, help)
    ("--max-ttft-p99-ms", "max_ttft_p99_ms", "p99 time to first token at most this (ms)"),
    ("--max-ttft-median-ms", "max_ttft_median_ms", "median time to first token at most this (ms)"),
    ("--max-tpot-p99-ms", "max_tpot_p99_ms", "p99 time per output token at most this (ms)"),
    ("--max-tpot-median-ms", "max_tpot_median_ms", "median time per output token at most this (ms)"),
    ("--min-tok-s-user", "min_tok_s_user", "interactivity (1000 / median TPOT) at least this (tok/s/user)"),
    ("--max-gpus", "max_gpus", "deployments of at most this many GPUs"),
)


def _root(ns) -> str:
    return ns.warehouse or os.environ.get("FRONTIER_WAREHOUSE", "warehouse")


def register(subparsers) -> None:
    c = subparsers.add_parser(
        "compare", help="run against run: both frontiers at matched interactivity, and what differs"
    )
    c.add_argument("run_a", metavar="RUN_A", help="the baseline run id")
    c.add_argument("run_b", metavar="RUN_B", help="the run compared with it")
    c.add_argument(
        "--warehouse", default=None, help="warehouse root (default $FRONTIER_WAREHOUSE or ./warehouse)"
    )
    c.add_argument("--site", default=None, help="also write the compare page into this published site")
    c.set_defaults(handler=cmd_compare)

    b = subparsers.add_parser(
        "best", help="the best configuration per model, hardware and scenario under latency bounds"
    )
    for flag, _, text in SLO_BOUNDS:
        b.add_argument(flag, type=float if "gpus" not in flag else int, default=None, help=text)
    b.add_argument(
        "--warehouse", default=None, help="warehouse root (default $FRONTIER_WAREHOUSE or ./warehouse)"
    )
    b.add_argument("--run-id", default=None, help="as of this run (default: every run; each group's latest)")
    b.add_argument("--format", choices=("table", "csv", "json"), default="table")
    b.set_defaults(handler=cmd_best)


def cmd_compare(ns: argparse.Namespace) -> int:
    from frontier.analysis.compare import compare_runs
    from frontier.warehouse import connect

    con = connect(_root(ns))
    try:
        cmp = compare_runs(con, ns.run_a, ns.run_b)
    finally:
        con.close()
    sys.stdout.write(cmp.text())
    if ns.site:
        from frontier.site.publish import publish_compare

        print(f"compare page: {publish_compare(cmp, ns.site)}")
    return 0


def slo_params(ns: argparse.Namespace) -> dict:
    params = {}
    for flag, name, _ in SLO_BOUNDS:
        value = getattr(ns, name)
        if value is None:
            continue
        if not math.isfinite(value) or value <= 0:
            raise FrontierError(f"{flag} {value}: must be a positive number (or leave it out for no bound)")
        params[name] = value
    return params


def objective_text(params: dict) -> str:
    names = {"max_ttft_p99_ms": "p99 TTFT <= {} ms", "max_ttft_median_ms": "median TTFT <= {} ms",
             "max_tpot_p99_ms": "p99 TPOT <= {} ms", "max_tpot_median_ms": "median TPOT <= {} ms",
             "min_tok_s_user": ">= {} tok/s/user", "max_gpus": "<= {} GPUs"}  # fmt: skip
    return ", ".join(names[k].format(f"{v:g}") for k, v in params.items()) or "no bound"


def cmd_best(ns: argparse.Namespace) -> int:
    from frontier.warehouse import connect, run_model
    from frontier.warehouse.cli import _print

    params = slo_params(ns)
    con = connect(_root(ns))
    try:
        df = run_model(con, "best_under_slo", run_id=ns.run_id, **params)
    finally:
        con.close()
    if ns.format != "table":
        _print(df, ns.format)
        return 0
    print(
        f"best tok/s/GPU under {objective_text(params)} (each model x hardware x scenario from its latest run)"
    )
    if df.empty:
        print("(no measured points)")
        return 0
    head = (f"{'model':<24} {'hardware':<10} {'prec':<5} {'scenario':<9} {'label':<12} {'GPUs':>4} {'conc':>5} "
            f"{'tok/s/GPU':>10} {'tok/s/user':>10} {'TTFT p50':>9} {'TTFT p99':>9} {'TPOT p99':>9}  run")  # fmt: skip
    print(head)
    for r in df.itertuples(index=False):
        model = str(r.model).split("/")[-1][:24]
        if not r.meets:
            print(f"{model:<24} {r.hardware:<10} {r.precision:<5} {r.scenario:<9} none of {r.points_total} "
                  f"point(s) meets the objective  {r.run_id}")  # fmt: skip
            continue
        print(f"{model:<24} {r.hardware:<10} {r.precision:<5} {r.scenario:<9} {r.label:<12} {int(r.gpus):>4} "
              f"{int(r.max_concurrency):>5} {r.tok_s_gpu:>10,.0f} {r.tok_s_user:>10,.1f} {r.median_ttft_ms:>9,.0f} "
              f"{r.p99_ttft_ms:>9,.0f} {r.p99_tpot_ms:>9,.2f}  {r.run_id}")  # fmt: skip
    return 0
