"""Run the nightly DAG once through Airflow (dag.test on SQLite) and print where the site is.

Usage: python scripts/nightly_once.py [--spec sweeps/smoke.yaml] [--engine sim]
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
    return 0 if state == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
