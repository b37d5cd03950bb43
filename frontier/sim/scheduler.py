"""The continuous-batching scheduler of one simulated SGLang server, independent of time.

An :class:`Engine` holds a waiting queue, requests being prefilled (chunked), and a running
decode batch bounded by the KV pool and ``max_running``. It plans a *segment* (one prefill
iteration, or up to k identical-membership decode iterations) whose durations come from the
performance model, and commits it when a driver says the time has come: the virtual-time
driver (prediction) fast-forwards whole segments, the real-time driver (HTTP server) runs one
iteration per timer. Scheduling follows SGLang's scheduler (``PrefillAdder`` + ``retract_decode``):

- prefill first: while a new prefill batch can be formed it runs, and the decode batch waits for
  that iteration (``--enable-mixed-chunk``, off by default, mixes them instead);
- one prefill batch holds at most ``chunked_prefill_size`` new tokens (FCFS; a request that does
  not fit is cut and continues first in the next batch) and at most ``max_prefill_tokens`` unless
  it is the first request of the batch;
- under DP-attention SGLang divides ``chunked_prefill_size`` by the DP size (per-rank budget)
  and multiplies ``schedule_conservativeness`` by 0.3; the other ranks keep decoding in the same
  forward, so a prefill iteration there carries the decode batch;
- memory admission: a request is admitted when the KV in use + ``new_token_ratio`` x the output
  still to come for the running batch + (prompt + max_new) of the requests admitted with it fits
  the pool; ``new_token_ratio`` starts at 0.7, decays linearly to 0.7 x 0.14 over 600 decode
  iterations, and goes back to 0.7 when the server idles;
- retraction: when the next decode iteration does not fit the pool, the requests with the fewest
  output tokens go back to the waiting queue (their prompt + output is prefilled again later)
  and the ratio is re-estimated from the batch's progress.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import deque
from dataclasses import dataclass, field

from frontier.sim.perf_model import StepModel, prefill_work

# SGLang defaults (python/sglang/srt/managers/scheduler.py, global_config, schedule_policy.py)
INIT_NEW_TOKEN_RATIO = 0.7
MIN_NEW_TOKEN_RATIO_FACTOR = 0.14
NEW_TOKEN_RATIO_DECAY_STEPS = 600
CLIP_MAX_NEW_TOKENS = 4096
RETRACT_DECODE_STEPS = 20
DP_ATTENTION_CONSERVATIVENESS = 0.3
DEFAULT_MAX_PREFILL_TOKENS = 16384


class SimRequest:
    """One request inside the simulator; token counts only (text is rendered by the server)."""

    __slots__ = (
        "aborted",
        "done",
        "engine",
        "error",
        "fill",
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
        "retracted",
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
        self.fill = self.isl  # tokens to prefill: the prompt, plus the output after a retraction
        self.retracted = 0
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
        max_prefill_tokens: int | None = None,
    ) -> None:
        self.sm, self.role, self.name = sm, role, name
        self.pool_tokens = sm.pool_tokens
        dp = sm.shape.attn_dp
        self.max_running = max_running or 1024 * dp
        # ``chunk`` is the server's --chunked-prefill-size; SGLang divides it by the DP size under
        # DP-attention: one attention rank prefills at most chunk // dp tokens per iteration
        self.chunk = max(1, chunk // dp if dp > 1 else chunk)
        self.budget = self.chunk * dp
        self.max_prefill = (max_prefill_tokens or DEFAULT_MAX_PREFILL_TOKENS) * dp
        self.mixed_chunk = mixed_chunk
        self.dp_mixed = dp > 1  # other attention ranks keep decoding during one rank's prefill
        self.rng = random.Random(seed)
        self.noise = sm.p.step_noise
        self.waiting: deque[SimRequest] = deque()
        self.prefilling: list[SimRequest] = []
        self.running: dict[int, SimRequest] = {}
        self.heap: list[tuple[int, int, SimRequest]] = []
        self._seq = itertools.count()
        self.step_index = 0
        self.ctx_sum = 0
        self.pool_used = 0
        self.fresh: list[SimRequest] = []
        self.last_decode_end = 0.0
        self.measured_running = 0
        self.rem_sum = 0  # output tokens still to come for the running batch
        self.prefill_pending = 0  # tokens to prefill of admitted requests (prompt, or prompt + output)
        self.prefill_reserved = 0  # their full reservation: fill + max_new still to come
        cons = DP_ATTENTION_CONSERVATIVENESS if dp > 1 else 1.0
        self.init_ratio = min(1.0, sm.p.new_token_ratio * cons)
        self.min_ratio = self.init_ratio * MIN_NEW_TOKEN_RATIO_FACTOR
        self.ratio_decay = (self.init_ratio - self.min_ratio) / NEW_TOKEN_RATIO_DECAY_STEPS
        self.ratio = self.init_ratio
        self.record_itl = record_itl
        self.snapshot = snapshot
        self.itl_vals: list[float] = []
        self.itl_wts: list[float] = []
        self.steps = 0
        self.prefill_steps = 0
        self.busy_time = 0.0
        self.retractions = 0

    # ---- queue --------------------------------------------------------------------------------
    @property
    def outstanding(self) -> int:
        return len(self.waiting) + len(self.prefilling) + len(self.running)

    def _reserve(self, r: SimRequest) -> int:
        """Tokens SGLang sets aside when it admits ``r``: prompt (+ output still to come)."""
        if self.role == "prefill":
            return r.fill
        return r.fill + min(r.max_new - r.gen_base, CLIP_MAX_NEW_TOKENS)

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
            self.prefill_pending -= r.fill
            self.prefill_reserved -= r.reserve
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
    def _expected(
        self, extra: float = 0.0, ctx_add: float = 0.0, ratio: float | None = None, rem: float | None = None
    ) -> float:
        """KV tokens SGLang counts as taken: in use + ratio x output to come + admitted prefills."""
        ratio = self.ratio if ratio is None else ratio
        rem = self.rem_sum if rem is None else rem
        return self.ctx_sum + ctx_add + self.prefill_reserved + ratio * rem + extra

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
            else:
                expect = self._expected(need)
            if expect >= self.pool_tokens:
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
                queued = self.prefill_pending - sum(q.prefilled for q in self.prefilling)
                if queued >= self.budget or queued + r.fill > self.max_prefill:
                    return
            self.waiting.popleft()
            self.pool_used += need
            r.reserve = need
            if self.role == "decode":
                self._join(r, now, events, gen=max(1, r.gen_base))
            else:
                self.prefilling.append(r)
                self.prefill_pending += r.fill
                self.prefill_reserved += need

    def _retract(self) -> None:
        """SGLang's retract_decode: free the requests with the fewest output tokens until the
        batch has room for RETRACT_DECODE_STEPS more iterations (keep at least one)."""
        order = sorted(self.running.values(), key=lambda q: (q.generated(), -q.isl), reverse=True)
        first = True
        while len(order) > 1 and (
            first
            or self.pool_tokens - self.ctx_sum - self.prefill_pending < RETRACT_DECODE_STEPS * len(order)
        ):
            first = False
            r = order.pop()
            gen = r.generated()
            del self.running[r.rid]
            self.ctx_sum -= r.isl + gen
            self.rem_sum -= r.max_new - gen
            self.pool_used -= r.reserve
            r.reserve = 0
            if r.measured:
                self.measured_running -= 1
            if r in self.fresh:
                self.fresh.remove(r)
            r.gen_base = gen
            r.fill = r.isl + gen
            r.prefilled = 0
            r.retracted += 1
            self.retractions += 1
            self.waiting.append(r)
        decoded = sum(q.generated() for q in order)
        total = sum(q.max_new for q in order)
        if total:
            self.ratio = min(1.0, (decoded + RETRACT_DECODE_STEPS * len(order)) / total)

    def _noise(self) -> float:
        if self.noise <= 0:
            return 1.0
        return max(0.5, self.rng.gauss(1.0, self.noise))

    def _decode_horizon(self, k: int) -> int:
        """How many decode iterations may run before the scheduler must look again: the KV pool
        fills up (retraction), or the decaying new-token ratio lets the head of the queue in."""
        b = len(self.running)
        free = self.pool_tokens - self.ctx_sum - self.prefill_pending
        k = min(k, max(1, free // b))
        if self.waiting and self.role != "prefill" and len(self.running) < self.max_running:
            need = self._reserve(self.waiting[0])
            for t in range(1, k):
                ratio = max(self.min_ratio, self.ratio - self.ratio_decay * t)
                if self._expected(need, b * t, ratio, self.rem_sum - b * t) < self.pool_tokens:
                    return t
        return k

    def plan(self, now: float, max_steps: int = 1, events: list | None = None) -> Segment | None:
        """The next segment to run from ``now``; None when there is nothing to do."""
        ev = events if events is not None else []
        self._admit(now, ev)
        if self.running and not self.prefilling:
            free = self.pool_tokens - self.ctx_sum - self.prefill_pending
            if free < len(self.running):  # the next token of every request does not fit
                self._retract()
                self._admit(now, ev)
        if self.prefilling:
            left = self.budget
            parts, ntok, work, big = [], 0, 0.0, (0, 0.0)
            for r in self.prefilling:
                take = min(r.fill - r.prefilled, left, self.chunk)
                if take <= 0:
                    break
                parts.append((r, take))
                ntok += take
                w = prefill_work(r.prefilled, take)
                work += w
                if take > big[0]:
                    big = (take, w)
                left -= take
            mixed = self.mixed_chunk or self.dp_mixed
            dec = len(self.running) if mixed else 0
            d = self.sm.step_time(dec, self.ctx_sum if dec else 0, ntok, work, big) * self._noise()
            batch = list(self.running.values()) if (dec and self.snapshot) else None
            return Segment("prefill", [d], parts, batch, mixed=bool(dec))
        if not self.running:
            self.ratio = self.init_ratio  # SGLang resets the ratio when it idles
            return None
        while self.heap and (
            self.heap[0][2].aborted
            or self.heap[0][2].rid not in self.running
            or self.heap[0][2].finish_step != self.heap[0][0]
        ):
            heapq.heappop(self.heap)
        k = max(1, min(max_steps, self.heap[0][0] - self.step_index)) if self.heap else 1
        k = self._decode_horizon(k)
        f = self._noise()
        durs = [d * f for d in self.sm.decode_times(len(self.running), self.ctx_sum, k)]
        batch = list(self.running.values()) if self.snapshot else None
        return Segment("decode", durs, batch=batch)

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
        heapq.heappush(self.heap, (r.finish_step, next(self._seq), r))
        self.fresh.append(r)
        if self.role == "decode":
            r.first_token = r.first_token if r.first_token is not None else now
            events.append(("first", r))

    def _finish(self, r: SimRequest, now: float, events: list) -> None:
        self.pool_used -= r.reserve
        r.done = True
        r.finish = now
        events.append(("done", r))

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
                if r.prefilled >= r.fill:
                    self.prefilling.remove(r)
                    self.prefill_pending -= r.fill
                    self.prefill_reserved -= r.reserve
                    if r.retracted and r.first_token is not None:  # resumed after a retraction
                        self._join(r, end, events, gen=r.gen_base + 1)
                        continue
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
        self.ratio = max(self.min_ratio, self.ratio - self.ratio_decay * n)
        heap = self.heap
        while heap and heap[0][0] <= self.step_index:
            fs, _, r = heapq.heappop(heap)
            if r.aborted or r.rid not in self.running or r.finish_step != fs:
                continue
            del self.running[r.rid]
            self.ctx_sum -= r.isl + r.max_new
            if r.measured:
                self.measured_running -= 1
            self._finish(r, end, events)
