"""Event-loop lag probe: how late the client's own loop wakes up, i.e. whether the client is the bottleneck.

A task sleeps ``interval`` seconds in a loop and records how much later than asked it woke up. When the
loop is busy parsing streams, timestamps of every request are late by about that much, so a high p99
(over ``PointConfig.lag_threshold_ms``) marks the point ``client_limited``.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np


class LagProbe:
    def __init__(self, interval_s: float = 0.01) -> None:
        self.interval_s = interval_s
        self.samples_ms: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(self.interval_s)
            self.samples_ms.append(max(0.0, (time.perf_counter() - t0 - self.interval_s) * 1000))

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def p99_ms(self) -> float | None:
        return float(np.percentile(self.samples_ms, 99)) if self.samples_ms else None
