"""Fault injection for the simulated SGLang server: the failures a nightly GPU sweep meets.

Each fault is a ``launch_server`` flag (parsed in :mod:`frontier.sim.config`) and a key of a
spec's ``matrix[].faults.{LABEL}`` (:class:`frontier.domain.spec.Faults`; the planner turns the keys
into these flags with :func:`to_argv`):

==========================  ==================================================================
flag                        behaviour
==========================  ==================================================================
--fault-crash-after N       the process dies (exit 1, a scheduler traceback in the log) when
                            generation request N+1 arrives; in-flight streams are cut
--fault-hang-start          the port opens but nothing ever answers, /health included
--fault-hang-after N        when generation request N+1 arrives the whole server freezes:
                            in-flight streams stop mid-response, nothing answers any more
--fault-slow-start T        the port opens only after T seconds (slow weight loading)
--fault-oom-start           the server prints SGLang's CUDA out-of-memory failure and exits 1
                            before it opens its port
--fault-malformed-sse R     a fraction R of streamed responses carries a broken JSON event
--fault-http-error R        a fraction R of generation requests is answered with an HTTP error
--fault-http-status S       the status of those errors: 500 (default) or 503
--fault-cut-stream R        a fraction R of responses has its connection closed mid-response
--fault-slow-tokens F       every GPU iteration takes F x longer (a degraded GPU)
==========================  ==================================================================

Generation requests (``/generate``, ``/v1/completions``, ``/v1/chat/completions``) are counted
in arrival order; health probes and info endpoints are not. Per-request faults draw from one
``random.Random(seed)`` in arrival order, so a run with the same ``--seed`` and the same request
order injects the same faults.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
from dataclasses import dataclass, fields
from typing import Any

HTTP_STATUSES = (500, 503)

# spec key -> (flag, kind); kind "int" | "float" | "rate" | "bool" | "status"
FLAGS: dict[str, tuple[str, str]] = {
    "crash_after": ("--fault-crash-after", "int"),
    "hang_start": ("--fault-hang-start", "bool"),
    "hang_after": ("--fault-hang-after", "int"),
    "slow_start": ("--fault-slow-start", "float"),
    "oom_start": ("--fault-oom-start", "bool"),
    "malformed_sse": ("--fault-malformed-sse", "rate"),
    "http_error": ("--fault-http-error", "rate"),
    "http_status": ("--fault-http-status", "status"),
    "cut_stream": ("--fault-cut-stream", "rate"),
    "slow_tokens": ("--fault-slow-tokens", "float"),
}


@dataclass(frozen=True)
class FaultConfig:
    """The faults one server injects (all off by default)."""

    crash_after: int | None = None
    hang_start: bool = False
    hang_after: int | None = None
    slow_start: float = 0.0
    oom_start: bool = False
    malformed_sse: float = 0.0
    http_error: float = 0.0
    http_status: int = 500
    cut_stream: float = 0.0
    slow_tokens: float = 1.0
    seed: int = 0

    @property
    def any(self) -> bool:
        return self != FaultConfig(seed=self.seed)

    def describe(self) -> str:
        on = [
            f"{f.name}={getattr(self, f.name)}"
            for f in fields(self)
            if f.name != "seed" and getattr(self, f.name) != f.default
        ]
        return ", ".join(on) or "none"


def add_arguments(p) -> None:
    """Add the ``--fault-*`` flags to an argparse parser."""
    g = p.add_argument_group("fault injection (frontier)")
    g.add_argument("--fault-crash-after", type=int, default=None, metavar="N")
    g.add_argument("--fault-hang-start", action="store_true", default=False)
    g.add_argument("--fault-hang-after", type=int, default=None, metavar="N")
    g.add_argument("--fault-slow-start", type=float, default=0.0, metavar="SECONDS")
    g.add_argument("--fault-oom-start", action="store_true", default=False)
    g.add_argument("--fault-malformed-sse", type=float, default=0.0, metavar="RATE")
    g.add_argument("--fault-http-error", type=float, default=0.0, metavar="RATE")
    g.add_argument("--fault-http-status", type=int, default=500, metavar="STATUS")
    g.add_argument("--fault-cut-stream", type=float, default=0.0, metavar="RATE")
    g.add_argument("--fault-slow-tokens", type=float, default=1.0, metavar="FACTOR")


def check(values: dict[str, Any]) -> list[tuple[str, str]]:
    """Problems with fault settings given by spec key: ``[(key, "must be ...")]``; empty when valid."""
    bad: list[tuple[str, str]] = []
    for key, value in values.items():
        if key not in FLAGS:
            bad.append((key, f"is not a known fault; known: {', '.join(FLAGS)}"))
            continue
        kind = FLAGS[key][1]
        if value is None:
            continue
        if kind == "bool":
            if not isinstance(value, bool):
                bad.append((key, f"must be true or false, got {value!r}"))
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            bad.append((key, f"must be a number, got {value!r}"))
        elif kind == "int" and (not isinstance(value, int) or value < 0):
            bad.append((key, f"must be a whole number of requests >= 0, got {value!r}"))
        elif kind == "rate" and not 0.0 <= value <= 1.0:
            bad.append((key, f"is a rate between 0 and 1, got {value!r}"))
        elif kind == "status" and value not in HTTP_STATUSES:
            bad.append((key, f"must be one of {list(HTTP_STATUSES)}, got {value!r}"))
        elif key == "slow_start" and value < 0:
            bad.append((key, f"is seconds >= 0, got {value!r}"))
        elif key == "slow_tokens" and value < 1.0:
            bad.append((key, f"is a slowdown factor >= 1, got {value!r}"))
    return bad


def from_args(args, seed: int = 0) -> FaultConfig:
    """A FaultConfig from parsed ``--fault-*`` flags; ValueError naming the flag when invalid."""
    values = {key: getattr(args, flag[2:].replace("-", "_")) for key, (flag, _) in FLAGS.items()}
    problems = check(values)
    if problems:
        key, text = problems[0]
        raise ValueError(f"{FLAGS[key][0]} {text}")
    return FaultConfig(**values, seed=seed)


def to_argv(values: dict[str, Any] | None) -> list[str]:
    """Spec fault keys -> ``--fault-*`` flags (unset / false / default values are left out)."""
    argv: list[str] = []
    for key, value in (values or {}).items():
        flag, kind = FLAGS[key]
        if value is None or value is False:
            continue
        if kind == "bool":
            argv.append(flag)
        else:
            argv += [flag, str(value)]
    return argv


# ---- what the server does -----------------------------------------------------------------------
OOM_TEXT = """\
[{ts} TP0] Load weight end. type=LlamaForCausalLM, dtype=torch.bfloat16, avail mem=0.38 GB, mem usage=78.41 GB.
[{ts} TP0] Scheduler hit an exception: Traceback (most recent call last):
  File "/sgl-workspace/sglang/python/sglang/srt/managers/scheduler.py", line 2705, in run_scheduler_process
    scheduler = Scheduler(server_args, port_args, gpu_id, tp_rank, moe_ep_rank, pp_rank, dp_rank)
  File "/sgl-workspace/sglang/python/sglang/srt/model_executor/model_runner.py", line 1517, in init_memory_pool
    self.token_to_kv_pool = MHATokenToKVPool(
  File "/usr/local/lib/python3.12/dist-packages/torch/cuda/memory.py", line 178, in empty
    return torch.empty(size, dtype=dtype, device=device)
torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.50 GiB. GPU 0 has a total capacity of 79.19 GiB \
of which 1.06 GiB is free. Including non-PyTorch memory, this process has 78.12 GiB memory in use. Of the allocated \
memory 77.40 GiB is allocated by PyTorch, and 112.00 MiB is reserved by PyTorch but unallocated. If reserved but \
unallocated memory is large try setting PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid fragmentation.  \
See documentation for Memory Management  (https://pytorch.org/docs/stable/notes/cuda.html#environment-variables)

[{ts}] Received sigquit from a child process. It usually means the child failed.
"""

CRASH_TEXT = """\
[{ts} TP0] Scheduler hit an exception: Traceback (most recent call last):
  File "/sgl-workspace/sglang/python/sglang/srt/managers/scheduler.py", line 2705, in run_scheduler_process
    scheduler.event_loop_overlap()
  File "/sgl-workspace/sglang/python/sglang/srt/managers/scheduler.py", line 1046, in event_loop_overlap
    batch_result = self.run_batch(batch)
RuntimeError: CUDA error: an illegal memory access was encountered (frontier fault injection: \
--fault-crash-after {n})

[{ts}] Received sigquit from a child process. It usually means the child failed.
"""


def _ts() -> str:
    import datetime as dt

    return dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def die(text: str, code: int = 1) -> None:
    """Print SGLang-style failure text and end the process now (no cleanup, like a crash)."""
    sys.stdout.flush()
    sys.stderr.write(text)
    sys.stderr.flush()
    os._exit(code)


def oom_exit() -> None:
    die(OOM_TEXT.format(ts=_ts()))


@dataclass
class RequestFaults:
    """What happens to one generation request (decided when it arrives)."""

    http_error: int | None = None  # answer with this status instead
    malformed: bool = False  # break one streamed event
    cut: bool = False  # close the connection mid-response


class FaultState:
    """Per-server fault state: the request counter, the seeded draws, the hang switch."""

    def __init__(self, cfg: FaultConfig) -> None:
        self.cfg = cfg
        self.rng = random.Random(cfg.seed * 1_000_003 + 17)
        self.requests = 0
        self.frozen = cfg.hang_start

    def freeze(self) -> None:
        self.frozen = True

    async def hang_forever(self) -> None:
        """Never return (until the server is shut down and the handler cancelled)."""
        await asyncio.Event().wait()

    def arrive(self) -> RequestFaults:
        """Count one generation request and decide its faults (crash / hang act right here)."""
        self.requests += 1
        n = self.requests
        c = self.cfg
        if c.crash_after is not None and n > c.crash_after:
            die(CRASH_TEXT.format(ts=_ts(), n=c.crash_after))
        if c.hang_after is not None and n > c.hang_after and not self.frozen:
            print(
                f"[{_ts()} TP0] frontier fault injection: server frozen after {c.hang_after} request(s)",
                flush=True,
            )
            self.freeze()
        # always draw the same number of values per request, so one fault's rate does not shift
        # which requests another fault hits
        d_err, d_mal, d_cut = self.rng.random(), self.rng.random(), self.rng.random()
        out = RequestFaults()
        if d_err < c.http_error:
            out.http_error = c.http_status
        elif d_mal < c.malformed_sse:
            out.malformed = True
        elif d_cut < c.cut_stream:
            out.cut = True
        return out


def http_error_body(status: int, openai: bool) -> dict:
    msg = (
        "Internal server error: the scheduler failed to process the request (frontier fault injection)."
        if status == 500
        else "Service Unavailable: the server is overloaded or restarting (frontier fault injection)."
    )
    if openai:
        return {
            "object": "error",
            "message": msg,
            "type": "InternalServerError" if status == 500 else "ServiceUnavailableError",
            "param": None,
            "code": status,
        }
    return {"error": {"message": msg}}


def break_event(event: bytes) -> bytes:
    """A broken SSE event: the JSON of ``event`` cut in half (what a mangled stream looks like)."""
    body = event.rstrip(b"\n")
    if body.startswith(b"data: "):
        body = body[6:]
    return b"data: " + body[: max(1, len(body) // 2)] + b"\n\n"
