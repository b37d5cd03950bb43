"""Warehouse writes from concurrent processes (forked writers): two runs never clobber each other.
(The single-process storage rules: tests/unit/test_warehouse_store.py.)"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp

from frontier.warehouse import Warehouse, connect, query
from tests.support import point_row

D1 = dt.date(2026, 11, 25)


def point(mc):
    return point_row(
        mc=mc,
        total_token_throughput=1000.0 * mc,
        output_throughput=500.0 * mc,
        median_tpot_ms=5.0 * mc,
        mean_tpot_ms=5.0 * mc,
    )


def _writer(root, run_id, n):
    wh = Warehouse(root)
    for i in range(n):
        wh.write("points", [point(i + 1)], run_id=run_id, run_date=D1, part=f"p{i % 3}")


def test_concurrent_writers_of_two_runs_do_not_clobber(tmp_path):
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), run, 30)) for run in ("r1", "r2")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    df = query(
        connect(tmp_path),
        "SELECT run_id, count(*) n, sum(max_concurrency) s FROM points GROUP BY 1 ORDER BY 1",
    )
    # each run: parts p0, p1, p2 hold the last write of each: i = 27, 28, 29 -> mc 28 + 29 + 30
    assert df.values.tolist() == [["r1", 3, 87], ["r2", 3, 87]]
    assert not [p for p in tmp_path.rglob("*.tmp")]
