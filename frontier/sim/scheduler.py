"""The continuous-batching scheduler of one simulated SGLang server, independent of time.

An :class:`Engine` holds a waiting queue, requests being prefilled (chunked), and a running
decode batch bounded by the KV pool and ``max_running``. It plans a *segment* (one prefill
iteration, or up to k identical-membership decode iterations) whose durations come from the
performance model, and commits it when a driver says the time has come: the virtual-time
driver (prediction) fast-forwards whole segments, the real-time driver (HTTP server) runs one
iteration per timer. Scheduling follows SGLang's defaults: new prefills take priority and stall
decode for that iteration (``mixed_chunk`` mixes them instead); a request is admitted when the
tokens in use plus ``new_token_ratio`` x the output still to come fit the KV pool (SGLang's
rule; retraction on overflow is not modelled).
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from dataclasses import dataclass, field

from frontier.sim.perf_model import StepModel, prefill_work


class SimRequest:
    """One request inside the simulator; token counts only (text is rendered by the server)."""

    __slots__ = (
        "aborted",
        "done",
        "engine",
        "error",
        "finish",
        "finish_step",
        "first_token",
        "gen_base",
        "isl",
        "join_step",
        "last_emit",
        "max_new",
        "measured",
        "on_event",
        "prefilled",
        "reserve",
        "rid",
        "sent",
        "waiter",
    )

    def __init__(self, rid: int, isl: int, max_new: int, sent: float = 0.0, measured: bool = True):
        self.rid, self.isl, self.max_new = rid, max(1, isl), max(1, max_new)
        self.sent, self.measured = sent, measured
        self.first_token: float | None = None
        self.finish: float | None = None
        self.prefilled = 0
        self.gen_base = 0
        self.join_step = 0
        self.finish_step = 0
        self.last_emit = 0.0
        self.engine: Engine | None = None
        self.done = False
        self.aborted = False
        self.error: str | None = None
        self.waiter = None  # real-time: future woken when tokens arrive
        self.on_event = None
        self.reserve = 0

    def generated(self) -> int:
        """Output tokens produced so far."""
        if self.done:
            return self.max_new if self.error is None else self.gen_base
        eng = self.engine
        if eng is not None and self.rid in eng.running:
            return self.gen_base + (eng.step_index - self.join_step)
        return self.gen_base


@dataclass
class Segment:
    kind: str  # prefill | decode
    durations: list[float]
    parts: list = field(default_factory=list)  # prefill: (req, tokens)
    batch: list | None = None  # decode requests (real-time only)
    mixed: bool = False


class Engine:
    """One server's scheduler: role single (prefill + decode), prefill (PD) or decode (PD)."""

    def __init__(
        self,
        sm: StepModel,
        role: str = "single",
        max_running: int | None = None,
        chunk: int = 8192,
        mixed_chunk: bool = False,
        seed: int = 0,
        name: str = "server0",
        record_itl: bool = False,
        snapshot: bool = False,
    ) -> None:
        self.sm, self.role, self.name = sm, role, name
        self.pool_tokens = sm.pool_tokens
        self.max_running = max_running or 1024 * sm.shape.attn_dp
        self.chunk = max(1, chunk)  # per request per iteration (one attention rank's chunk)
        self.budget = self.chunk * sm.shape.attn_dp
        self.mixed_chunk = mixed_chunk
        self.rng = random.Random(seed)
        self.noise = sm.p.step_noise
        self.waiting: deque[SimRequest] = deque()
        self.prefilling: list[SimRequest] = []
        self.running: dict[int, SimRequest] = {}
        self.heap: list[tuple[int, int, SimRequest]] = []
        self.step_index = 0
        self.ctx_sum = 0
        self.pool_used = 0
        self.fresh: list[SimRequest] = []
        self.last_decode_end = 0.0
        self.measured_running = 0
        self.rem_sum = 0  # output tokens still to come for the running batch
        self.prefill_pending = 0  # prompt tokens of admitted requests being prefilled
        self.ratio = sm.p.new_token_ratio
        self.record_itl = record_itl
        self.snapshot = snapshot
        self.itl_vals: list[float] = []
        self.itl_wts: list[float] = []
        self.steps = 0
        self.prefill_steps = 0
        self.busy_time = 0.0

    # ---- queue --------------------------------------------------------------------------------
    @property
    def outstanding(self) -> int:
        return len(self.waiting) + len(self.prefilling) + len(self.running)

    def _reserve(self, r: SimRequest) -> int:
        return r.isl if self.role == "prefill" else r.isl + r.max_new

    def fits_ever(self, isl: int, max_new: int) -> bool:
        need = isl if self.role == "prefill" else isl + max_new
        return need <= self.pool_tokens

    def add(self, r: SimRequest) -> None:
        r.engine = self
        self.waiting.append(r)

    def abort(self, r: SimRequest) -> None:
        """Drop a request (client went away); frees its KV at once."""
        if r.done or r.aborted:
            return
        r.aborted = True
        if r in self.prefilling:
            self.prefilling.remove(r)
            self.prefill_pending -= r.isl
            self.pool_used -= r.reserve
        elif r.rid in self.running:
            gen = r.generated()
            del self.running[r.rid]
            self.ctx_sum -= r.isl + gen
            self.rem_sum -= r.max_new - gen
            self.pool_used -= r.reserve
            if r.measured:
                self.measured_running -= 1
            if r in self.fresh:
                self.fresh.remove(r)
        r.done = True
        r.error = r.error or "aborted"

    # ---- planning -----------------------------------------------------------------------------
    def _admit(self, now: float, events: list) -> None:
        while self.waiting:
            r = self.waiting[0]
            if r.aborted:
                self.waiting.popleft()
                continue
            if len(self.running) + len(self.prefilling) >= self.max_running:
                return
            need = self._reserve(r)
            if self.role == "prefill":
                expect = self.pool_used + need
            else:  # SGLang: tokens in use + ratio x output tokens still to come
                expect = (
                    self.ctx_sum
                    + self.prefill_pending
                    + r.isl
                    + self.ratio * (self.rem_sum + r.max_new + sum(q.max_new for q in self.prefilling))
                )
            if expect > self.pool_tokens:
                if not self.running and not self.prefilling and need > self.pool_tokens:
                    self.waiting.popleft()
                    r.done, r.error = (
                        True,
                        (f"request needs {need} KV tokens, the pool holds {self.pool_tokens}"),
                    )
                    events.append(("error", r))
                    continue
                return
            if self.role != "decode" and self.prefilling:
                queued = sum(q.isl - q.prefilled for q in self.prefilling)
                if queued >= self.budget:
                    return
            self.waiting.popleft()
            self.pool_used += need
            r.reserve = need
            if self.role == "decode":
                self._join(r, now, events, gen=1)
            else:
                self.prefilling.append(r)
                self.prefill_pending += r.isl

    def _join(self, r: SimRequest, now: float, events: list, gen: int) -> None:
        """A request enters the decode batch holding ``gen`` tokens already produced."""
        r.gen_base = gen
        if gen >= r.max_new:
            self._finish(r, now, events)
            return
        r.join_step = self.step_index
        r.finish_step = self.step_index + (r.max_new - gen)
        r.last_emit = now
        self.running[r.rid] = r
        self.ctx_sum += r.isl + gen
        self.rem_sum += r.max_new - gen
        if r.measured:
            self.measured_running += 1
        heapq.heappush(self.heap, (r.finish_step, r.rid, r))
        self.fresh.append(r)
        if self.role == "decode":
            r.first_token = r.first_token if r.first_token is not None else now
            events.append(("first", r))

    def _finish(self, r: SimRequest, now: float, events: list) -> None:
        self.pool_used -= r.reserve
        r.done = True
        r.finish = now
        events.append(("done", r))

    def _noise(self) -> float:
        if self.noise <= 0:
            return 1.0
        return max(0.5, self.rng.gauss(1.0, self.noise))

    def plan(self, now: float, max_steps: int = 1, events: list | None = None) -> Segment | None:
        """The next segment to run from ``now``; None when there is nothing to do."""
        ev = events if events is not None else []
        self._admit(now, ev)
        if self.prefilling:
            left = self.budget
            parts, ntok, work, big = [], 0, 0.0, (0, 0.0)
            for r in self.prefilling:
                take = min(r.isl - r.prefilled, left, self.chunk)
                if take <= 0:
                    break
                parts.append((r, take))
                ntok += take
                w = prefill_work(r.prefilled, take)
                work += w
                if take > big[0]:
                    big = (take, w)
                left -= take
            dec = len(self.running) if self.mixed_chunk else 0
            d = self.sm.step_time(dec, self.ctx_sum if dec else 0, ntok, work, big) * self._noise()
            batch = list(self.running.values()) if (dec and self.snapshot) else None
            return Segment("prefill", [d], parts, batch, mixed=bool(dec))
        if not self.running:
            return None
        while self.heap and self.heap[0][2].aborted:
            heapq.heappop(self.heap)
        k = max(1, min(max_steps, self.heap[0][0] - self.step_index)) if self.heap else 1
        f = self._noise()
        durs = [d * f for d in self.sm.decode_times(len(self.running), self.ctx_sum, k)]
        batch = list(self.running.values()) if self.snapshot else None
        return Segment("decode", durs, batch=batch)

    # ---- committing ---------------------------------------------------------------------------
    def commit(self, seg: Segment, n: int, start: float) -> list:
        """Apply the first ``n`` iterations of ``seg`` begun at ``start``; returns events
        ``(kind, req)`` with kind in first | done | handoff | error."""
        events: list = []
        durs = seg.durations[:n]
        self.steps += n
        self.busy_time += sum(durs)
        if seg.kind == "prefill":
            end = start + durs[0]
            self.prefill_steps += 1
            if seg.mixed:
                self._decode_steps(durs, start, events)
            for r, take in seg.parts:
                if r.aborted:
                    continue
                r.prefilled += take
                if r.prefilled >= r.isl:
                    self.prefilling.remove(r)
                    self.prefill_pending -= r.isl
                    r.first_token = end
                    if self.role == "prefill":
                        self.pool_used -= r.reserve
                        r.gen_base = 1
                        events.append(("handoff", r))
                    else:
                        events.append(("first", r))
                        self._join(r, end, events, gen=1)
            return events
        self._decode_steps(durs, start, events)
        return events

    def _decode_steps(self, durs: list[float], start: float, events: list) -> None:
        n = len(durs)
        b = len(self.running)
        end1 = start + durs[0]
        if self.record_itl:
            fresh_measured = 0
            for r in self.fresh:
                if r.measured and not r.aborted:
                    fresh_measured += 1
                    self.itl_vals.append(end1 - r.last_emit)
                    self.itl_wts.append(1.0)
            old = self.measured_running - fresh_measured
            if old > 0:
                self.itl_vals.append(end1 - self.last_decode_end)
                self.itl_wts.append(float(old))
            if n > 1 and self.measured_running > 0:
                self.itl_vals.extend(durs[1:])
                self.itl_wts.extend([float(self.measured_running)] * (n - 1))
        self.fresh = []
        end = start + sum(durs)
        self.last_decode_end = end
        self.step_index += n
        self.ctx_sum += b * n
        self.rem_sum -= b * n
        heap = self.heap
        while heap and heap[0][0] <= self.step_index:
            _, _, r = heapq.heappop(heap)
            if r.aborted or r.rid not in self.running:
                continue
            del self.running[r.rid]
            self.ctx_sum -= r.isl + r.max_new
            if r.measured:
                self.measured_running -= 1
            self._finish(r, end, events)
