"""Run the nightly DAG once through Airflow (dag.test on SQLite) and print where the site is;
then draw the DeepSeek-R1 seed frontier PREDICTED in virtual time (engine predict, seconds).

Usage: python scripts/nightly_once.py [--spec sweeps/smoke.yaml] [--engine sim] [--no-predicted-seed]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from operators.local_run import prepare_airflow_home


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--spec", default="sweeps/smoke.yaml")
    p.add_argument("--engine", default="sim")
    p.add_argument("--dag", default="nightly_frontier")
    p.add_argument("--seed-spec", default="sweeps/seed_predicted.yaml", help="the predicted seed sweep")
    p.add_argument(
        "--predicted-seed",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the seed spec on the predict engine and publish its site beside the real one",
    )
    args = p.parse_args()
    t0 = time.monotonic()
    prepare_airflow_home()
    from operators.context import site_dir, warehouse_dir
    from operators.local_run import init_db, run_dag_once

    init_db()
    run = run_dag_once(args.dag, {"spec": args.spec, "engine": args.engine})
    state = str(getattr(run, "state", "unknown")).split(".")[-1]
    from frontier.cli.main import print_summary
    from frontier.run.records import label_summary

    wh, site = warehouse_dir({}), site_dir({})
    print(f"\nDAG {args.dag} run {run.run_id}: {state} in {time.monotonic() - t0:.0f} s")
    print(f"warehouse: {wh}")
    print(f"site: {Path(site) / 'index.html'}")
    print_summary(label_summary(wh, run.run_id))
    dag_s = time.monotonic() - t0
    seed_rc = predicted_seed(args.seed_spec, Path(wh), Path(site)) if args.predicted_seed else 0
    print(f"timings: DAG run {dag_s:.0f} s, total {time.monotonic() - t0:.0f} s")
    return 0 if state == "success" and seed_rc == 0 else 1


def predicted_seed(spec: str, wh: Path, site: Path) -> int:
    """``frontier run SPEC`` (engine predict) into a warehouse and site of its own, beside the
    nightly's (``<warehouse>-predicted``, ``<site>-predicted``): every chart says PREDICTED."""
    from frontier.cli.main import main as frontier_cli

    t0 = time.monotonic()
    wh_p = wh.parent / f"{wh.name}-predicted"
    site_p = site.parent / f"{site.name}-predicted"
    print(f"\npredicted seed ({spec}, engine predict, virtual time):")
    rc = frontier_cli(
        ["run", str(ROOT / spec), "--engine", "predict", "--run-id", "seed-predicted", "--warehouse",
         str(wh_p), "--artifacts", str(wh_p.parent / "artifacts-predicted"), "--site", str(site_p)]
    )  # fmt: skip
    print(f"predicted seed site: {site_p / 'index.html'} ({time.monotonic() - t0:.0f} s; labelled PREDICTED)")
    return rc


if __name__ == "__main__":
    sys.exit(main())
