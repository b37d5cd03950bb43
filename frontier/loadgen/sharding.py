"""Client sharding: one point's requests spread over several processes when one event loop is too slow.

A single asyncio loop parses a few thousand stream events per second before its own lag inflates
the latencies it measures (see benchmarks/loadgen_overhead.py). `run_sharded` deals requests
round-robin to ``cfg.client_processes`` spawned processes; each gets its share of the concurrency
cap (the shares add up to the cap) and the same arrival schedule, starting at one shared wall-clock
instant, then the parent merges the rows (timestamps are wall-clock UTC, comparable across
processes) and keeps the worst shard's loop lag. `processes_for` picks a process count from an
expected event rate, using at most half the machine's cores. Progress is reported per finished shard.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from frontier.loadgen.config import PointConfig
from frontier.loadgen.runner import Progress, Shard, run_requests

START_MARGIN_S = 0.3


def max_processes() -> int:
    """The client takes at most half the machine's cores (the rest: the OS, a local server, I/O)."""
    return max(1, (os.cpu_count() or 1) // 2)


def processes_for(
    expected_events_s: float, per_process_events_s: float, max_concurrency: int, limit: int | None = None
) -> int:
    """Client processes that keep each under ``per_process_events_s``: at least 1, at most the
    concurrency and ``limit`` (default `max_processes`)."""
    if expected_events_s <= per_process_events_s:
        return 1
    limit = max_processes() if limit is None else limit
    return max(1, min(max_concurrency, limit, math.ceil(expected_events_s / per_process_events_s)))


def _shard_main(cfg_json: str, shard: Shard) -> tuple[list[dict[str, Any]], float | None]:
    cfg = PointConfig.model_validate_json(cfg_json)
    return asyncio.run(run_requests(cfg, None, shard))


async def run_sharded(
    cfg: PointConfig, progress: Progress | None = None
) -> tuple[list[dict[str, Any]], float | None]:
    n = cfg.client_processes
    loop = asyncio.get_running_loop()
    ctx = multiprocessing.get_context("spawn")  # no fork of a process that runs an event loop
    with ProcessPoolExecutor(max_workers=n, mp_context=ctx) as pool:
        # start every worker before fixing the common start time
        await asyncio.gather(*(loop.run_in_executor(pool, time.sleep, 0.05) for _ in range(n)))
        start_wall = time.time() + START_MARGIN_S
        cfg_json = cfg.model_dump_json()
        futures = [
            loop.run_in_executor(pool, _shard_main, cfg_json, Shard(k, n, start_wall)) for k in range(n)
        ]
        rows: list[dict[str, Any]] = []
        lags: list[float] = []
        total = cfg.total_requests
        for fut in asyncio.as_completed(futures):
            shard_rows, lag = await fut
            rows.extend(shard_rows)
            if lag is not None:
                lags.append(lag)
            if progress is not None:
                progress(len(rows), total)
    rows.sort(key=lambda r: r["request_index"])
    return rows, (max(lags) if lags else None)
