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

PD disaggregation (``disaggregation/decode.py`` and ``prefill.py``): the router sends a request
to a prefill and a decode server together. The decode server's pre-allocation queue takes KV for
the prompt only when its pool has room for it plus ``SGLANG_NUM_RESERVED_DECODE_TOKENS`` (512) per
active request (running, in transfer, transferred) and for the request's own output; only then
may the prefill server's bootstrap queue let the request into its waiting queue. Both queues,
the prefill side's in-flight (sending) queue and the decode side's transfer queue are polled
once per scheduler iteration, so a handoff completes at an iteration boundary of each side. The
first token the client sees comes from the decode server when it merges the transferred request
into its running batch (``process_batch_result_prebuilt`` streams it). A decode server that runs
out of KV retracts requests to host memory (``retracted_queue``): they keep their tokens and
resume before any new pre-allocation once the pool has room again.

``--scheduler-recv-interval N`` (``SchedulerRecvSkipper``): new requests wait in the server's inbox
until the scheduler polls, once every N decode iterations, at once after a prefill batch, and at
once when the server is idle.

Speculative decoding (MTP/EAGLE): one decode iteration gives each running request
``StepModel.accept_len`` tokens on average. The client sees whole tokens: after ``k`` iterations a
request holds ``floor(k x accept_len)`` new tokens (capped at its ``max_new``), and the KV grows by
the tokens accepted.
"""

from __future__ import annotations

import heapq
import itertools
import math
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
# PD decode server (disaggregation/decode.py): KV budget held back per active request
# (SGLANG_NUM_RESERVED_DECODE_TOKENS, default 512), and extra request slots for pre-allocation
# (scheduler.py: pre_alloc_size = 2 x max_running_requests when that is <= 32, else 0)
NUM_RESERVED_DECODE_TOKENS = 512
PRE_ALLOC_SLOTS_MAX_RUNNING = 32
_EPS = 1e-9


def _tokens(steps: int, accept: float) -> int:
    """Whole tokens a request holds after ``steps`` decode iterations of ``accept`` tokens each."""
    return int(steps * accept + _EPS)


def _steps_for(tokens: int, accept: float) -> int:
    """Fewest decode iterations after which a request holds at least ``tokens`` new tokens."""
    if tokens <= 0:
        return 0
    s = max(1, math.ceil(tokens / accept - _EPS))
    while _tokens(s, accept) < tokens:
        s += 1
    while s > 1 and _tokens(s - 1, accept) >= tokens:
        s -= 1
    return s


class SimRequest:
    """One request inside the simulator; token counts only (text is rendered by the server)."""

    __slots__ = (
        "aborted",
        "booted",
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
        "src",
        "waiter",
        "xfer_done",
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
        self.src: Engine | None = None  # PD: the prefill server (self.engine is the decode server)
        self.booted = False  # PD: the decode server pre-allocated its KV (bootstrap done)
        self.xfer_done = False  # PD: its KV reached the decode server

    def generated(self) -> int:
        """Output tokens produced so far."""
        if self.done:
            return self.max_new if self.error is None else self.gen_base
        eng = self.engine
        if eng is not None and self.rid in eng.running:
            return min(self.max_new, self.gen_base + _tokens(eng.step_index - self.join_step, eng.accept))
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
        recv_interval: int = 1,
    ) -> None:
        self.sm, self.role, self.name = sm, role, name
        # --scheduler-recv-interval: new requests wait in the inbox (the ZMQ socket) until the
        # scheduler polls (SchedulerRecvSkipper: each loop adds the last batch's weight, 1 for a
        # decode or verify batch or an idle loop, 1000 for anything else; it polls at the interval)
        self.recv_interval = max(1, int(recv_interval))
        self.recv_count = 0
        self.inbox: list[SimRequest] = []
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
        # mean tokens a running request gains per decode iteration (speculative decoding); kept an
        # int when 1 so the token arithmetic stays exact integers without speculation
        acc = max(1.0, float(sm.accept_len))
        self.accept: float = 1 if acc == 1.0 else acc
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
        # per-request path (set by the cluster): the client sees a token emit_delay after the
        # iteration that made it (detokenizer, tokenizer manager, HTTP, router); tok_free is when
        # this server's TokenizerManager (one process) is next free
        self.emit_delay = 0.0
        self.tok_free = 0.0
        # PD prefill server: requests waiting for the decode side's pre-allocation (bootstrap
        # queue), and prefilled requests whose KV is still being sent (in-flight queue)
        self.bootstrap: dict[int, SimRequest] = {}
        self.boot_ready: list[SimRequest] = []  # bootstrapped since the last poll
        self.sending: list[tuple[SimRequest, int]] = []  # (request, KV tokens it holds here)
        # PD decode server: pre-allocation queue, transfer queue (KV allocated: prompt tokens),
        # transferred requests not yet merged, and retracted requests (KV offloaded to host)
        self.reserve_decode = NUM_RESERVED_DECODE_TOKENS
        self.prealloc: list[SimRequest] = []
        self.xfer: list[SimRequest] = []
        self.landed: list[SimRequest] = []
        self.retracted_q: deque[SimRequest] = deque()
        self.retracted_need = 0  # their resume needs, summed
        self.xfer_tokens = 0
        self._top = 0  # upper bound of isl + min(max_new, clip) over the running batch
        # decode iterations a segment actually ran before a cut (moving average): planning far
        # beyond it only computes step times that are thrown away
        self._seg_ran = 64.0
        mr = self.max_running
        self.slots = mr + (2 * mr if mr <= PRE_ALLOC_SLOTS_MAX_RUNNING else 0)

    # ---- queue --------------------------------------------------------------------------------
    @property
    def outstanding(self) -> int:
        n = len(self.inbox) + len(self.waiting) + len(self.prefilling) + len(self.running)
        if self.role == "prefill":
            n += len(self.bootstrap)
        elif self.role == "decode":
            n += len(self.prealloc) + len(self.xfer) + len(self.landed) + len(self.retracted_q)
        return n

    def _reserve(self, r: SimRequest) -> int:
        """Tokens SGLang sets aside when it admits ``r``: prompt (+ output still to come)."""
        if self.role == "prefill":
            return r.fill
        return r.fill + min(r.max_new - r.gen_base, CLIP_MAX_NEW_TOKENS)

    def fits_ever(self, isl: int, max_new: int) -> bool:
        need = isl if self.role == "prefill" else isl + max_new
        return need <= self.pool_tokens

    def add(self, r: SimRequest) -> None:
        if self.recv_interval > 1:
            r.engine = self if self.role != "prefill" else r.engine
            self.inbox.append(r)
            return
        self._receive(r)

    def _recv(self) -> None:
        """The scheduler's poll: every queued request is received when the skipper allows (an
        idle server polls at once: its loop spins with weight 1 and nothing to run)."""
        if self.recv_count >= self.recv_interval:
            self.recv_count = 0  # this loop polls (empty inbox or not)
        elif self.running or self.prefilling or not self.inbox:
            return
        inbox, self.inbox = self.inbox, []
        for r in inbox:
            if not (r.aborted or r.done):
                self._receive(r)

    def _receive(self, r: SimRequest) -> None:
        if self.role == "prefill":
            r.src = self
            self.bootstrap[id(r)] = r
            if r.booted:
                self.boot_ready.append(r)
            return
        r.engine = self
        if self.role == "decode":
            self.prealloc.append(r)
        else:
            self.waiting.append(r)

    def transfer_done(self, r: SimRequest) -> None:
        """PD: ``r``'s KV reached the decode server; both sides see it at their next poll."""
        r.xfer_done = True
        if self.role == "decode" and r in self.xfer:
            self.xfer.remove(r)
            self.landed.append(r)

    def _ctx_of(self, r: SimRequest) -> float:
        """KV tokens counted for running request ``r`` in ``ctx_sum``."""
        return r.isl + r.gen_base + (self.step_index - r.join_step) * self.accept

    def _drop_running(self, r: SimRequest) -> None:
        del self.running[r.rid]
        ctx = self._ctx_of(r)
        self.ctx_sum -= ctx
        self.rem_sum -= r.max_new + r.isl - ctx
        self.pool_used -= r.reserve
        r.reserve = 0
        if r.measured:
            self.measured_running -= 1
        if r in self.fresh:
            self.fresh.remove(r)

    def drop(self, r: SimRequest) -> None:
        """Remove ``r`` from every queue of this server and free its KV (no state on ``r``)."""
        if r in self.prefilling:
            self.prefilling.remove(r)
            self.prefill_pending -= r.fill
            self.prefill_reserved -= r.reserve
            self.pool_used -= r.reserve
        elif r.rid in self.running and self.running[r.rid] is r:
            self._drop_running(r)
        elif any(q is r for q, _ in self.sending):
            self.pool_used -= sum(t for q, t in self.sending if q is r)
            self.sending = [(q, t) for q, t in self.sending if q is not r]
        elif r in self.xfer:
            self.xfer.remove(r)
            self.xfer_tokens -= r.isl
        elif r in self.landed:
            self.landed.remove(r)
            self.xfer_tokens -= r.isl
        self.bootstrap.pop(id(r), None)
        if r in self.retracted_q:
            self.retracted_q.remove(r)
            self.retracted_need -= self._resume_need(r)
        for q in (self.waiting, self.prealloc, self.inbox):
            if r in q:
                q.remove(r)

    def abort(self, r: SimRequest) -> None:
        """Drop a request (client went away) from every server holding it; frees its KV at once."""
        if r.done or r.aborted:
            return
        r.aborted = True
        for e in {id(x): x for x in (r.src, r.engine, self) if x is not None}.values():
            e.drop(r)
        r.done = True
        r.error = r.error or "aborted"

    # ---- planning -----------------------------------------------------------------------------
    def _kv_used(self) -> float:
        return self.ctx_sum + self.prefill_pending + self.xfer_tokens

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
            if self.prefilling:
                queued = self.prefill_pending - sum(q.prefilled for q in self.prefilling)
                if queued >= self.budget or queued + r.fill > self.max_prefill:
                    return
            self.waiting.popleft()
            self.pool_used += need
            r.reserve = need
            self.prefilling.append(r)
            self.prefill_pending += r.fill
            self.prefill_reserved += need

    # ---- PD -----------------------------------------------------------------------------------
    def _poll_prefill_side(self) -> None:
        """Prefill server, once per iteration: bootstrapped requests join the waiting queue
        (``PrefillBootstrapQueue.pop_bootstrapped``) and sent KV is freed (in-flight queue)."""
        if self.boot_ready:
            ready, self.boot_ready = self.boot_ready, []
            ready.sort(key=lambda q: (q.sent, q.rid))  # the bootstrap queue's order
            for r in ready:
                if self.bootstrap.pop(id(r), None) is not None and not (r.aborted or r.done):
                    self.waiting.append(r)
        if self.sending:
            keep = []
            for r, tokens in self.sending:
                if r.xfer_done or r.aborted:
                    self.pool_used -= tokens
                else:
                    keep.append((r, tokens))
            self.sending = keep

    def _need_single(self) -> float:
        if not self.running:
            self._top = 0
            return 0.0
        n_active = len(self.running) + len(self.xfer) + len(self.landed)
        if self._top - self.ctx_sum <= self.reserve_decode * n_active:
            return self._top - self.ctx_sum  # bounded by the reserve term: exact value not needed
        top = max(r.isl + min(r.max_new, CLIP_MAX_NEW_TOKENS) for r in self.running.values())
        self._top = top
        return top - self.ctx_sum

    def _allocatable(self, count_retracted: bool, need_single: float | None = None) -> float:
        """``DecodePreallocQueue._allocatable_token_budgets``: free KV minus the decode reserve
        of every active request (or the largest single request's need) minus the retracted."""
        n_active = len(self.running) + len(self.xfer) + len(self.landed)
        if need_single is None:
            need_single = self._need_single()
        alloc = self.pool_tokens - self._kv_used() - max(self.reserve_decode * n_active, need_single)
        if count_retracted:
            alloc -= self.retracted_need
        return alloc

    def _resume_need(self, r: SimRequest) -> int:
        """KV a retracted request needs to resume (``_prealloc_required_tokens``)."""
        return r.isl + r.gen_base - 1 + self.reserve_decode

    def _decode_queue(self, now: float, events: list) -> None:
        """Decode server, once per iteration (``process_decode_queue``): resume retracted
        requests, pre-allocate KV for new ones (FIFO), merge the transferred ones."""
        used = lambda: len(self.running) + len(self.xfer) + len(self.landed)
        while self.retracted_q and used() < self.slots:
            r = self.retracted_q[0]
            if self._resume_need(r) > self._allocatable(False):
                break
            self.retracted_q.popleft()
            self.retracted_need -= self._resume_need(r)
            self._join(r, now, events, gen=r.gen_base)
        if self.prealloc:
            single = self._need_single()
            i, queue = 0, self.prealloc
            for i, r in enumerate(queue):
                if r.aborted or r.done:
                    continue
                if used() >= self.slots:
                    break
                alloc = self._allocatable(True, single)
                need = r.isl + self.reserve_decode
                own = r.isl + min(r.max_new, CLIP_MAX_NEW_TOKENS) - self.ctx_sum
                if max(need, own) > alloc:
                    if not used() and not self.retracted_q and max(need, own) > self.pool_tokens:
                        r.done = True
                        r.error = (
                            f"request needs {max(need, own)} KV tokens on the decode server, "
                            f"the pool holds {self.pool_tokens}"
                        )
                        events.append(("error", r))
                        continue
                    break
                self.xfer.append(r)
                self.xfer_tokens += r.isl
                r.booted = True
                if r.src is not None:
                    r.src.boot_ready.append(r)
                events.append(("boot", r))
            else:
                i = len(queue)
            self.prealloc = queue[i:]
        if self.landed:
            room = self.max_running - len(self.running)
            take, self.landed = self.landed[: max(0, room)], self.landed[max(0, room) :]
            for r in take:
                self.xfer_tokens -= r.isl
                if r.aborted or r.done:
                    continue
                self._join(r, now, events, gen=1)

    def _retract(self) -> None:
        """SGLang's retract_decode: free the requests with the fewest output tokens until the
        batch has room for RETRACT_DECODE_STEPS more iterations (keep at least one). A PD decode
        server keeps their tokens (KV offloaded to host) and resumes them later; otherwise they
        go back to the waiting queue and their prompt + output is prefilled again."""
        # each request's output so far, once (retracting one request leaves the others' unchanged)
        gens = {q.rid: q.generated() for q in self.running.values()}
        order = sorted(self.running.values(), key=lambda q: (gens[q.rid], -q.isl), reverse=True)
        first = True
        while len(order) > 1 and (
            first or self.pool_tokens - self._kv_used() < RETRACT_DECODE_STEPS * len(order) * self.accept
        ):
            first = False
            r = order.pop()
            gen = gens[r.rid]
            self._drop_running(r)
            r.reserve = 0
            r.gen_base = gen
            r.retracted += 1
            self.retractions += 1
            if self.role == "decode":
                self.retracted_q.append(r)
                self.retracted_need += self._resume_need(r)
                continue
            r.fill = r.isl + gen
            r.prefilled = 0
            self.waiting.append(r)
        decoded = sum(gens[q.rid] for q in order)
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
        grow = b * self.accept
        free = self.pool_tokens - self._kv_used()
        k = min(k, max(1, int(free // grow)))
        if self.waiting and self.role == "single" and len(self.running) < self.max_running:
            need = self._reserve(self.waiting[0])
            # _expected(need, grow * t, ratio_t, rem_sum - grow * t) inlined, same operations in order
            ctx, held, rem, pool = self.ctx_sum, self.prefill_reserved, self.rem_sum, self.pool_tokens
            lo, r0, decay = self.min_ratio, self.ratio, self.ratio_decay
            for t in range(1, k):
                ratio = r0 - decay * t
                ratio = ratio if ratio > lo else lo  # noqa: FURB136 - max() without the call, hot loop
                if ctx + grow * t + held + ratio * (rem - grow * t) + need < pool:
                    return t
        return k

    def plan(self, now: float, max_steps: int = 1, events: list | None = None) -> Segment | None:
        """The next segment to run from ``now``; None when there is nothing to do."""
        ev = events if events is not None else []
        self._recv()
        if self.role == "decode":
            self._decode_queue(now, ev)
        else:
            if self.role == "prefill":
                self._poll_prefill_side()
            self._admit(now, ev)
        if self.running and not self.prefilling:
            free = self.pool_tokens - self._kv_used()
            if free < len(self.running) * math.ceil(self.accept):  # the next tokens do not fit
                self._retract()
                if self.role != "decode":
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
        k = min(self._decode_horizon(k), max(16, int(2 * self._seg_ran)))
        if self.inbox:  # run up to the skipper's next poll, where the inbox is received
            k = max(1, min(k, self.recv_interval - self.recv_count))
        f = self._noise()
        durs = self.sm.decode_times(len(self.running), self.ctx_sum, k, scale=f)
        batch = list(self.running.values()) if self.snapshot else None
        return Segment("decode", durs, batch=batch)

    def _join(self, r: SimRequest, now: float, events: list, gen: int) -> None:
        """A request enters the decode batch holding ``gen`` tokens already produced."""
        r.gen_base = gen
        first = r.first_token is None
        if first and self.role == "decode":  # PD: the first token comes from the decode server
            r.first_token = now + self.emit_delay
            events.append(("first", r))
        if gen >= r.max_new:
            self._finish(r, now, events)
            return
        r.join_step = self.step_index
        r.finish_step = self.step_index + _steps_for(r.max_new - gen, self.accept)
        r.last_emit = now
        self.running[r.rid] = r
        self.ctx_sum += r.isl + gen
        self.rem_sum += r.max_new - gen
        self._top = max(self._top, r.isl + min(r.max_new, CLIP_MAX_NEW_TOKENS))
        if r.measured:
            self.measured_running += 1
        heapq.heappush(self.heap, (r.finish_step, next(self._seq), r))
        self.fresh.append(r)

    def _finish(self, r: SimRequest, now: float, events: list) -> None:
        self.pool_used -= r.reserve
        r.reserve = 0
        r.done = True
        r.finish = now + self.emit_delay
        events.append(("done", r))

    # ---- committing ---------------------------------------------------------------------------
    def commit(self, seg: Segment, n: int, start: float) -> list:
        """Apply the first ``n`` iterations of ``seg`` begun at ``start``; returns events
        ``(kind, req)`` with kind in first | done | handoff | boot | error."""
        events: list = []
        durs = seg.durations[:n]
        self.steps += n
        self.busy_time += sum(durs)
        if self.recv_interval > 1:  # the skipper's weights (see __init__)
            if seg.kind == "prefill":
                self.recv_count = self.recv_interval
            else:  # polls at every multiple of the interval; one due at this boundary stays armed
                c = (self.recv_count + n) % self.recv_interval
                self.recv_count = c or self.recv_interval
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
                    if self.role == "prefill":
                        # the KV stays here until the decode side has it (in-flight queue)
                        self.sending.append((r, r.reserve))
                        r.reserve = 0
                        events.append(("handoff", r))
                    else:
                        r.first_token = end + self.emit_delay
                        events.append(("first", r))
                        self._join(r, end, events, gen=1)
            return events
        self._seg_ran = 0.8 * self._seg_ran + 0.2 * n
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
        self.ctx_sum += b * n * self.accept
        self.rem_sum -= b * n * self.accept
        self.ratio = max(self.min_ratio, self.ratio - self.ratio_decay * n)
        heap = self.heap
        while heap and heap[0][0] <= self.step_index:
            fs, _, r = heapq.heappop(heap)
            if r.aborted or r.rid not in self.running or r.finish_step != fs or self.running[r.rid] is not r:
                continue
            self._drop_running(r)
            self._finish(r, end, events)
