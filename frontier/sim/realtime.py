"""Real-time driver: runs a :class:`~frontier.sim.cluster.Cluster` on the asyncio clock.

Each engine has exactly one timer: one iteration is planned, ``loop.call_at`` fires at its end
(simulated duration / time_scale), the iteration is committed, and every request in the batch
has its waiter woken in one pass (the HTTP handlers then write whatever tokens they are owed,
coalescing if they fell behind). Iteration deadlines are absolute, so a late timer does not
stretch the simulated clock; lateness is recorded as step jitter for the capacity benchmark.

The per-request path outside the GPUs is the virtual driver's (:meth:`Cluster.ingress`): a request
reaches its server(s) after the router hop, HTTP parse and tokenizer queue, and every token is
handed to the HTTP handler ``emit_delay`` after the iteration that made it. Under PD the decode
server's pre-allocation pokes the prefill server, and the KV transfer's end reaches both.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

from frontier.sim.cluster import Cluster
from frontier.sim.scheduler import Engine, SimRequest

_RESYNC_S = 0.25  # fallen this far behind: restart the schedule from now
_SHORT_S = 0.003  # wall iterations shorter than this wait for the handlers before the next


class RealtimeDriver:
    def __init__(self, cluster: Cluster, time_scale: float = 1.0) -> None:
        self.cluster = cluster
        self.scale = max(1e-6, float(time_scale))
        self.loop = asyncio.get_running_loop()
        self.state = {id(e): [None, 0.0, None] for e in cluster.engines}  # seg, deadline, handle
        self.lateness: deque[float] = deque(maxlen=20000)
        self.periods: deque[float] = deque(maxlen=20000)  # perf_counter between fires
        self.jitter: deque[float] = deque(maxlen=20000)  # |period - planned wall duration|
        self._last_fire: dict[int, tuple[float, float]] = {}  # engine -> (perf_counter, planned)
        self.tokens_out = 0

    # ---- public -------------------------------------------------------------------------------
    def submit(self, r: SimRequest) -> None:
        now = self.loop.time()
        r.sent = now
        for e, ta in self.cluster.ingress(r, now * self.scale):
            self.loop.call_at(ta / self.scale, self._arrive, e, r)

    def abort(self, r: SimRequest) -> None:
        if not r.done:
            self.cluster.abort(r)

    def reset_stats(self) -> None:
        self.lateness.clear()
        self.periods.clear()
        self.jitter.clear()
        self._last_fire.clear()

    def stats(self) -> dict:
        import statistics

        lat = sorted(self.lateness)
        per = sorted(self.periods)
        jit = sorted(self.jitter)

        def q(xs: list[float], f: float) -> float:
            return xs[min(len(xs) - 1, int(f * len(xs)))] * 1e3 if xs else 0.0

        return {
            "steps": sum(e.steps for e in self.cluster.engines),
            "step_lateness_ms_p50": q(lat, 0.5),
            "step_lateness_ms_p99": q(lat, 0.99),
            "step_period_ms_p50": q(per, 0.5),
            "step_period_ms_p99": q(per, 0.99),
            "step_period_ms_mean": statistics.fmean(per) * 1e3 if per else 0.0,
            "step_jitter_ms_p50": q(jit, 0.5),
            "step_jitter_ms_p99": q(jit, 0.99),
            "running": sum(len(e.running) for e in self.cluster.engines),
            "waiting": sum(len(e.waiting) + len(e.prefilling) for e in self.cluster.engines),
            "tokens_out": self.tokens_out,
            "cpu_s": time.process_time(),  # this process's CPU time: the benchmark's CPU per step
        }

    # ---- engine loop --------------------------------------------------------------------------
    def _arrive(self, e: Engine, r: SimRequest) -> None:
        if r.done or r.aborted:
            return
        e.add(r)
        self._poke(e)

    def _poke(self, e: Engine) -> None:
        """``e`` has news: an idle engine starts now, a busy one sees it at its next fire."""
        st = self.state[id(e)]
        if st[0] is None and st[2] is None:
            st[2] = self.loop.call_soon(self._start, e, None)

    def _start(self, e: Engine, deadline: float | None) -> None:
        st = self.state[id(e)]
        now = self.loop.time()
        start = deadline if deadline is not None and now - deadline < _RESYNC_S else now
        events: list = []
        seg = e.plan(start * self.scale, 1, events)
        self._handle(e, events)
        st[0] = seg
        if seg is None:
            st[2] = None
            return
        dur = seg.durations[0] / self.scale
        end = start + dur
        st[1] = end
        last = self._last_fire.get(id(e))
        if last is not None and start == deadline:  # back to back with the last fire
            self._last_fire[id(e)] = (last[0], dur)
        st[2] = self.loop.call_at(end, self._fire, e, start)

    def _fire(self, e: Engine, start: float) -> None:
        st = self.state[id(e)]
        now = self.loop.time()
        deadline = st[1]
        self.lateness.append(now - deadline)  # loop clock (1 ms resolution under uvloop)
        seg = st[0]
        pc = time.perf_counter()
        last = self._last_fire.get(id(e))
        if last is not None and last[1] > 0:
            self.periods.append(pc - last[0])
            self.jitter.append(abs(pc - last[0] - last[1]))
        # the next fire is due one planned duration after this one (0: idle gap, no period)
        self._last_fire[id(e)] = (pc, 0.0)
        st[0] = None
        events = e.commit(seg, 1, start * self.scale)
        if seg.batch:
            self.tokens_out += len(seg.batch)
            self._emit(e, seg.batch)
        self._handle(e, events)
        if seg.durations[0] / self.scale < _SHORT_S:
            # very short wall iterations (high --time-scale): plan the next one only after the
            # woken handlers have written, so each token still gets its own chunk
            st[2] = self.loop.call_soon(self._start, e, deadline)
        else:
            self._start(e, deadline)

    @staticmethod
    def _wake(reqs: list[SimRequest]) -> None:
        for r in reqs:
            w = r.waiter
            if w is not None and not w.done():
                w.set_result(None)

    def _emit(self, e: Engine, reqs: list[SimRequest]) -> None:
        """Hand the requests' new tokens to their HTTP handlers, emit_delay from now."""
        delay = e.emit_delay / self.scale
        if delay < 1e-4:
            self._wake(reqs)
        else:
            self.loop.call_later(delay, self._wake, reqs)

    def _transferred(self, r: SimRequest) -> None:
        if r.aborted or r.done:
            return
        for e in (r.src, r.engine):
            e.transfer_done(r)
            self._poke(e)

    def _handle(self, e: Engine, events: list) -> None:
        woken = []
        for kind, r in events:
            if kind == "handoff":  # prefill done: the KV goes to the decode server holding r
                delay = self.cluster.transfer_time(r, e) / self.scale
                self.loop.call_later(delay, self._transferred, r)
            elif kind == "boot":  # decode side pre-allocated: the prefill side may run r
                if r.src is not None:
                    self._poke(r.src)
            else:
                if kind == "error":
                    self.cluster.drop(r)
                woken.append(r)
        if woken:
            self._emit(e, woken)
