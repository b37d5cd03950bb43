"""One streamed request: send it, time every content event, and return its row.

Timing follows ``sglang.bench_serving``: the clock starts when the request is sent (after the
concurrency gate), TTFT is the first event carrying text, e2e ends at the last event (``[DONE]``).
ITL: for ``sglang`` the gap between content events is split evenly over the tokens the event added
(from ``meta_info.completion_tokens``); for the OpenAI routes one gap per content event, unless the
server reports cumulative usage on every event, in which case it is split the same way. Token
counts come from the server (meta_info / the final usage chunk, ``usage_source`` "server"); when
the server gives none, the client counts them (``usage_source`` "chunks": the fake tokenizer's
words of the text, or with a real tokenizer one token per content chunk). A stream is complete at
``[DONE]`` or at an event with a ``finish_reason`` (servers that end without ``[DONE]`` are fine).
Any failure (HTTP status, error event, dropped or truncated stream, timeout) gives a row with
``success=False`` and the reason; it never raises. An HTTP 4xx that names ``ignore_eos`` says to
set ``load.ignore_eos: false``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import aiohttp

from frontier.common import tokenizer
from frontier.loadgen.config import PointConfig
from frontier.loadgen.dataset import Prompt
from frontier.loadgen.protocol import DONE, parse_event, payload_for, url_for


@dataclass(slots=True)
class Outcome:
    """Raw timings of one request on the ``time.perf_counter`` clock (seconds)."""

    sent: float = 0.0
    ended: float = 0.0
    ttft: float | None = None
    itl: list[float] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    success: bool = False
    error: str | None = None
    intended_input_tokens: int = 0  # the prompt's length on the client's tokenizer
    max_tokens: int = 0  # output tokens asked for (its drawn output length)
    server_prompt_tokens: int | None = None  # what the server reported, when it did
    usage_source: str | None = None  # server | chunks: where output_tokens came from


IGNORE_EOS_HINT = (
    "the server rejects `ignore_eos` (not part of the OpenAI API); set `load.ignore_eos: false` in the"
    " spec (or `frontier bench --disable-ignore-eos`)"
)


async def _stream(session: aiohttp.ClientSession, cfg: PointConfig, prompt: Prompt, out: Outcome) -> None:
    backend = cfg.backend
    cumulative = backend == "sglang"
    generated = ""
    last_event = out.sent
    last_tokens = 0
    reported = False  # the server gave completion_tokens
    seen_done = False
    finished = False  # an event carried a finish_reason
    chunks = 0  # content events
    async with session.post(url_for(cfg), json=payload_for(cfg, prompt)) as resp:
        if resp.status != 200:
            body = (await resp.text())[:300]
            out.error = f"HTTP {resp.status} {resp.reason}: {body}".strip()
            if 400 <= resp.status < 500 and cfg.ignore_eos and "ignore_eos" in body:
                out.error = f"{out.error} -- {IGNORE_EOS_HINT}"
            out.ended = time.perf_counter()
            return
        async for line in resp.content:
            line = line.strip()
            if not line:
                continue
            now = time.perf_counter()
            if line.startswith(b"data:"):
                line = line[5:].lstrip()
            elif line[:1] == b":" or line.startswith((b"event:", b"id:", b"retry:")):
                continue  # SSE comment (keep-alive) or a field other than data
            if line == DONE:
                seen_done = True
                out.ended = now
                continue
            ev = parse_event(backend, line)
            out.ended = now
            if ev.error is not None:
                out.error = f"server error event: {ev.error}"
                return
            if ev.prompt_tokens:
                out.input_tokens = out.server_prompt_tokens = ev.prompt_tokens
            if ev.completion_tokens is not None:
                out.output_tokens, reported = ev.completion_tokens, True
            if ev.finish_reason is not None:
                finished = True
            if not ev.content:
                continue
            chunks += 1
            new_tokens = None
            if ev.completion_tokens is not None:
                new_tokens = ev.completion_tokens - last_tokens
                if new_tokens <= 0 and cumulative:
                    continue  # no new token: bench_serving skips such events
                last_tokens = ev.completion_tokens
            if ev.text:
                generated = ev.text if cumulative else generated + ev.text
            if out.ttft is None:
                out.ttft = now - out.sent
            elif new_tokens and new_tokens > 1:
                out.itl.extend([(now - last_event) / new_tokens] * new_tokens)
            else:
                out.itl.append(now - last_event)
            last_event = now
    if reported:
        out.usage_source = "server"
    else:
        out.output_tokens = chunks if cfg.tokenizer else tokenizer.count_tokens(generated)
        out.usage_source = "chunks"
    if not (seen_done or finished):
        out.error = f"stream ended without [DONE] or a finish_reason after {out.output_tokens} tokens"
        return
    if out.ttft is None:
        out.error = "stream finished without any generated text"
        return
    out.success = True


async def send(session: aiohttp.ClientSession, cfg: PointConfig, prompt: Prompt) -> Outcome:
    """Send one request now and wait for its whole stream (bounded by ``cfg.request_timeout_s``)."""
    out = Outcome(
        input_tokens=prompt.input_tokens,
        intended_input_tokens=prompt.input_tokens,
        max_tokens=prompt.output_len,
    )
    out.sent = time.perf_counter()
    try:
        async with asyncio.timeout(cfg.request_timeout_s):
            await _stream(session, cfg, prompt, out)
    except TimeoutError:
        out.error = f"timeout: no complete response within {cfg.request_timeout_s:g} s"
    except aiohttp.ClientPayloadError as e:
        out.error = f"stream dropped: {type(e).__name__}: {e}"
    except (aiohttp.ClientError, OSError, ValueError) as e:
        out.error = f"{type(e).__name__}: {e}"
    if not out.success:
        if out.error is None:
            out.error = "unknown failure"
        out.ended = time.perf_counter()
    return out
