"""Virtual-time driver: runs a :class:`~frontier.sim.cluster.Cluster` under a closed-loop load
(max concurrency C, unlimited rate, as bench_serving does) without any waiting.

Events live in a heap. A decode segment covering many iterations is committed at once; when
a request arrives at an engine in the middle of one, the segment is cut at the first iteration
boundary at or after the arrival (a real scheduler only looks at its queue between
iterations), so the result equals stepping one iteration at a time. The same holds for the PD
handoff: a decode server's pre-allocation wakes the prefill server at its next boundary
(bootstrap queue), and a finished KV transfer reaches both sides at their next boundary.
Requests reach the servers through :meth:`Cluster.ingress` (HTTP parse, tokenizer queue, router).
"""

from __future__ import annotations

import bisect
import heapq
import itertools

from frontier.sim.cluster import Cluster
from frontier.sim.scheduler import Engine, Segment, SimRequest


class _Run:
    __slots__ = ("ends", "seg", "start", "version")

    def __init__(self) -> None:
        self.seg: Segment | None = None
        self.start = 0.0
        self.ends: list[float] = []
        self.version = 0


class VirtualDriver:
    def __init__(self, cluster: Cluster, max_steps: int = 1_000_000) -> None:
        self.cluster = cluster
        self.max_steps = max_steps
        self.heap: list = []
        self.seq = itertools.count()
        self.runs: dict[int, _Run] = {id(e): _Run() for e in cluster.engines}
        self.now = 0.0
        self.on_done = None  # callback(req, now)

    # ---- event plumbing -----------------------------------------------------------------------
    def _push(self, t: float, kind: str, a, b=None) -> None:
        heapq.heappush(self.heap, (t, next(self.seq), kind, a, b))

    def submit(self, r: SimRequest, t: float) -> None:
        """A client sends ``r`` at time ``t`` (router picks the entry engine at that time)."""
        r.sent = t
        self._push(t, "send", r)

    def _arrive(self, e: Engine, r: SimRequest, t: float) -> None:
        if r.done or r.aborted:
            return
        e.add(r)
        self._wake(e, t)

    def _wake(self, e: Engine, t: float) -> None:
        """Something changed for ``e`` at ``t``: it looks at it at its next iteration boundary."""
        run = self.runs[id(e)]
        if run.seg is None:
            self._start(e, t)
            return
        ends = run.ends
        if len(ends) > 1:
            i = bisect.bisect_left(ends, t)
            if i < len(ends) - 1:
                run.ends = ends[: i + 1]
                run.version += 1
                self._push(run.ends[-1], "end", e, run.version)

    def _start(self, e: Engine, t: float) -> None:
        run = self.runs[id(e)]
        events: list = []
        seg = e.plan(t, self.max_steps, events)
        self._handle(e, events, t)
        run.seg = seg
        if seg is None:
            run.ends = []
            return
        run.start = t
        ends = list(itertools.accumulate(seg.durations, initial=t))  # t + d0, + d1, ... as a loop adds
        del ends[0]
        run.ends = ends
        run.version += 1
        self._push(ends[-1], "end", e, run.version)

    def _end(self, e: Engine, version: int, t: float) -> None:
        run = self.runs[id(e)]
        if version != run.version or run.seg is None:
            return
        seg, n = run.seg, len(run.ends)
        run.seg = None
        events = e.commit(seg, n, run.start)
        self._handle(e, events, t)
        self._start(e, t)

    def _handle(self, e: Engine, events: list, t: float) -> None:
        for kind, r in events:
            if kind == "handoff":  # prefill done: the KV goes to the decode server holding r
                self._push(t + self.cluster.transfer_time(r, e), "xfer", r)
            elif kind == "boot":  # decode side pre-allocated: the prefill side may run r
                if r.src is not None:
                    self._push(t, "poke", r.src)
            elif kind in ("done", "error"):
                if kind == "error":
                    self.cluster.drop(r)
                if r.finish is None:
                    r.finish = t
                if self.on_done is not None:
                    self.on_done(r, max(t, r.finish))

    def run(self) -> None:
        heap = self.heap
        while heap:
            t, _, kind, a, b = heapq.heappop(heap)
            self.now = t
            if kind == "end":
                self._end(a, b, t)
            elif kind == "send":
                for e, ta in self.cluster.ingress(a, t):
                    self._push(ta, "arrive", e, a)
            elif kind == "arrive":
                self._arrive(a, b, t)
            elif kind == "poke":
                self._wake(a, t)
            elif kind == "xfer":
                if a.aborted or a.done:
                    continue
                for e in (a.src, a.engine):
                    e.transfer_done(a)
                    self._wake(e, t)


def closed_loop(
    cluster: Cluster,
    isl: int,
    osl: int,
    concurrency: int,
    num_prompts: int,
    warmup: int = 0,
    seed: int = 0,
    range_ratio: float = 1.0,
    warmup_mode: str = "gate",
    driver: VirtualDriver | None = None,
) -> list[SimRequest]:
    """Run ``warmup + num_prompts`` requests at max concurrency C; returns every request.

    As the project's load generator does, warm-up requests go through the same concurrency
    gate just before the measured ones, with the same lengths. With ``range_ratio`` = 1 every
    request has exactly ``isl`` / ``osl`` tokens (``ignore_eos``), so the C requests sent
    together at t=0 stay in lock-step waves, as they do on a real SGLang server: they finish in
    the same iteration and the next C prompts arrive together and queue behind each other's
    prefill. ``range_ratio`` < 1 draws lengths uniformly from [int(L x ratio), L] as
    bench_serving's random dataset does (``--random-range-ratio``), which breaks the waves.

    ``warmup_mode`` "gate" (the project's load generator) sends warm-up requests through the
    gate just before the measured ones; "gather" (bench_serving's ``--num-warmups``,
    InferenceX) waits for every warm-up request to finish, so the measured run starts on an
    idle server with C prompts at once (a simulated server keeps no state across that pause,
    so the warm-up is not simulated).

    ``driver``: the :class:`VirtualDriver` over ``cluster`` to run on (one a caller observes, e.g. a
    test reading its clock); by default a new one.
    """
    if warmup_mode not in ("gate", "gather"):
        raise ValueError(f"warmup_mode must be gate or gather, got {warmup_mode!r}")
    if warmup_mode == "gather":
        warmup = 0
    import random

    drv = driver if driver is not None else VirtualDriver(cluster)
    total = warmup + num_prompts
    rng = random.Random(seed)

    def length(n: int) -> int:
        return n if range_ratio >= 1.0 else rng.randint(max(1, int(n * range_ratio)), n)

    reqs = []
    for i in range(total):
        a, b = length(isl), length(osl)
        reqs.append(SimRequest(i, a, b, measured=i >= warmup))
    nxt = [0]

    def send_next(t: float) -> None:
        if nxt[0] < total:
            drv.submit(reqs[nxt[0]], t)
            nxt[0] += 1

    drv.on_done = lambda r, t: send_next(t)
    for _ in range(min(concurrency, total)):
        send_next(0.0)
    drv.run()
    return reqs
