"""Run the nightly DAG once through Airflow (dag.test on SQLite) and print where the site is;
then draw the DeepSeek-R1 seed frontier PREDICTED in virtual time (engine predict, seconds).

Quiet by default: Airflow's own output (and the simulated servers') goes to a log file in the
Airflow home (``logs/nightly_once.log``); the terminal shows one line per task and per deployment
as it starts and ends, then the summary table. ``--verbose`` keeps everything on the terminal.

Usage: python scripts/nightly_once.py [--spec sweeps/smoke.yaml] [--engine sim] [--verbose]
       [--no-predicted-seed]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from operators.local_run import prepare_airflow_home


@contextlib.contextmanager
def quiet_to(log_path: Path) -> Iterator[Callable[[str], None]]:
    """Send file descriptors 1 and 2 (Airflow, its task runner, child processes) to ``log_path``;
    yields a ``say`` that still writes to the terminal."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(saved_out), "w", buffering=1)
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    try:
        yield lambda line: print(line, file=terminal, flush=True)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        os.close(saved_out)
        os.close(saved_err)
        terminal.close()


class Progress(threading.Thread):
    """Watches the run's task instances in the metadata DB; one line per start and end."""

    def __init__(self, dag_id: str, run_after, say: Callable[[str], None]) -> None:
        super().__init__(daemon=True)
        self.dag_id, self.run_after, self.say = dag_id, run_after, say
        self.done = threading.Event()
        self.seen: dict[tuple[str, int], tuple[str, float]] = {}

    def poll(self) -> None:
        from airflow.models import DagRun, TaskInstance
        from airflow.utils.session import create_session
        from sqlalchemy import select

        with create_session() as session:
            run_ids = select(DagRun.run_id).where(
                DagRun.dag_id == self.dag_id, DagRun.run_after == self.run_after
            )
            rows = session.execute(
                select(
                    TaskInstance.task_id,
                    TaskInstance.map_index,
                    TaskInstance.rendered_map_index,
                    TaskInstance.state,
                ).where(TaskInstance.dag_id == self.dag_id, TaskInstance.run_id.in_(run_ids))
            ).all()
        total = sum(1 for r in rows if r[0] == "benchmark" and r[1] >= 0)
        order = {t: i for i, t in enumerate(("plan", "benchmark", "marts", "publish", "report"))}
        for task_id, map_index, name, state in sorted(rows, key=lambda r: (order.get(r[0], 9), r[1])):
            state = str(state or "").split(".")[-1].lower()
            key = (task_id, map_index)
            before = self.seen.get(key)
            if state in ("", "none", "scheduled", "queued") or (before and before[0] == state):
                continue
            now = time.monotonic()
            self.seen[key] = (state, before[1] if before else now)
            what = f"{task_id} {name or ''}".strip() if map_index < 0 else f"[{map_index + 1}/{total}] {name}"
            if state == "running" or state == "deferred":
                self.say(f"  {what}: {state}")
            elif before:
                self.say(f"  {what}: {state} in {now - before[1]:.0f} s")
            else:
                self.say(f"  {what}: {state}")

    def run(self) -> None:
        while not self.done.is_set():
            try:
                self.poll()
            except Exception:  # noqa: BLE001 - SQLite busy while the run writes: next time
                time.sleep(0.2)
            self.done.wait(0.3)
        with contextlib.suppress(Exception):
            self.poll()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--spec", default="sweeps/smoke.yaml")
    p.add_argument("--engine", default="sim")
    p.add_argument("--dag", default="nightly_frontier")
    p.add_argument("--verbose", action="store_true", help="Airflow's log on the terminal too")
    p.add_argument("--seed-spec", default="sweeps/seed_predicted.yaml", help="the predicted seed sweep")
    p.add_argument(
        "--predicted-seed",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the seed spec on the predict engine and publish its site beside the real one",
    )
    args = p.parse_args()
    t0 = time.monotonic()
    home = prepare_airflow_home()
    log_path = home / "logs" / "nightly_once.log"
    run_after = dt.datetime.now(dt.UTC).replace(microsecond=0)
    print(f"running {args.dag} on {args.spec} (engine {args.engine}) through Airflow")
    if not args.verbose:
        print(f"Airflow's log: {log_path}")
    with contextlib.nullcontext(print) if args.verbose else quiet_to(log_path) as say:
        from operators.context import site_dir, warehouse_dir
        from operators.local_run import init_db, run_dag_once

        init_db()
        progress = Progress(args.dag, run_after, say)
        progress.start()
        try:
            run = run_dag_once(args.dag, {"spec": args.spec, "engine": args.engine}, run_after=run_after)
        finally:
            progress.done.set()
            progress.join(10)
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
