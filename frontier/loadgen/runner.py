"""Run one benchmark point: arrivals, the concurrency gate, warm-up, client health, the summary.

Every request (warm-up first, then measured) goes through one ``asyncio.Semaphore`` of
``max_concurrency``, so warm-up never exceeds the cap and measured requests start on a loaded
server. A request's clock starts when it passes the gate; ``queue_ms`` is its wait there (from its
arrival). One ``aiohttp`` session with no connection-pool limit and a 10 MiB read
buffer (long cumulative ``/generate`` events overflow the 64 KiB default). With
``client_processes > 1`` the requests are dealt round-robin to that many processes
(`frontier.loadgen.sharding`), each with its share of the cap, all starting at one wall time.
After the requests, ``GET /get_server_info`` (else ``/server_info``) is fetched once, as
bench_serving does, into ``PointResult.server_info`` (secrets redacted; None when unavailable).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp

from frontier.loadgen.arrivals import arrival_offsets
from frontier.loadgen.config import PointConfig
from frontier.loadgen.dataset import build_prompts
from frontier.loadgen.lag import LagProbe
from frontier.loadgen.request import Outcome, send
from frontier.loadgen.result import PointResult

Progress = Callable[[int, int], None]
READ_BUFSIZE = 10 * 1024**2


class _Clock:
    """Maps ``perf_counter`` readings to UTC datetimes (one anchor per point)."""

    def __init__(self) -> None:
        self.perf0 = time.perf_counter()
        self.wall0 = time.time()

    def utc(self, perf: float) -> datetime:
        return datetime.fromtimestamp(self.wall0 + (perf - self.perf0), tz=UTC)


def _row(index: int, warmup: bool, queue_s: float, out: Outcome, clock: _Clock) -> dict[str, Any]:
    e2e_ms = (out.ended - out.sent) * 1000
    ttft_ms = None if out.ttft is None else out.ttft * 1000
    tpot_ms = None
    if out.success and ttft_ms is not None and out.output_tokens > 1:
        tpot_ms = (e2e_ms - ttft_ms) / (out.output_tokens - 1)
    return {
        "request_index": index,
        "is_warmup": warmup,
        "start_ts": clock.utc(out.sent),
        "end_ts": clock.utc(out.ended),
        "queue_ms": queue_s * 1000,
        "ttft_ms": ttft_ms,
        "e2e_ms": e2e_ms,
        "tpot_ms": tpot_ms,
        "itl_ms": [g * 1000 for g in out.itl],
        "input_tokens": out.input_tokens,
        "output_tokens": out.output_tokens,
        "intended_input_tokens": out.intended_input_tokens,
        "max_tokens": out.max_tokens,
        "server_prompt_tokens": out.server_prompt_tokens,
        "usage_source": out.usage_source,
        "success": out.success,
        "error": out.error,
    }


def prompt_check(rows: list[dict[str, Any]], cfg: PointConfig) -> tuple[dict[str, Any], str | None]:
    """Point columns on token accounting over the successful measured rows, and an error when the
    server's prompt tokens deviate from the intended ones by more than ``cfg.max_prompt_deviation``.

    ``prompt_tokens_deviation`` = (server-reported - intended) / intended over the rows the server
    reported a prompt count for (null when it reported none); ``usage_source`` is server, chunks or
    mixed (where the completion token counts came from).
    """
    ok = [r for r in rows if r["success"] and not r["is_warmup"]]
    intended = sum(r.get("intended_input_tokens") or 0 for r in ok)
    reported = [r for r in ok if r.get("server_prompt_tokens") is not None]
    deviation = None
    if reported:
        want = sum(r.get("intended_input_tokens") or 0 for r in reported)
        got = sum(r["server_prompt_tokens"] for r in reported)
        deviation = (got - want) / want if want else None
    sources = {r.get("usage_source") for r in ok} - {None}
    cols = {
        "intended_input_tokens": intended,
        "prompt_tokens_deviation": deviation,
        "usage_source": None if not sources else sources.pop() if len(sources) == 1 else "mixed",
    }
    error = None
    limit = cfg.max_prompt_deviation
    if deviation is not None and limit is not None and abs(deviation) > limit:
        how = (
            "set --tokenizer / load.tokenizer to the served model's tokenizer"
            if not cfg.tokenizer
            else (
                f"is {cfg.tokenizer!r} the served model's tokenizer? (chat templates add tokens: use backend"
                " openai or sglang for exact lengths)"
            )
        )
        error = (
            f"prompt tokens off by {deviation:+.1%} (> {limit:.0%}): the server counted {got} prompt tokens"
            f" where {want} were intended; {how}"
        )
    return cols, error


def settings_of(cfg: PointConfig) -> dict[str, Any]:
    return {
        "backend": cfg.backend,
        "max_concurrency": cfg.max_concurrency,
        "request_rate": cfg.request_rate,
        "num_prompts": cfg.num_prompts,
        "warmup_requests": cfg.warmup_requests,
        "isl": cfg.isl,
        "osl": cfg.osl,
        "lag_threshold_ms": cfg.lag_threshold_ms,
    }


def load_columns(cfg: PointConfig) -> dict[str, Any]:
    """The load shape and client provenance recorded on every point row."""
    from frontier import __version__ as client_version

    return {
        "range_ratio": cfg.range_ratio,
        "ignore_eos": cfg.ignore_eos,
        "tokenizer": cfg.tokenizer,
        "served_model": cfg.model,
        "client_version": f"frontier {client_version}",
    }


def server_columns(info: dict[str, Any] | None) -> dict[str, Any]:
    """The server's version and model from its ``/get_server_info`` (null where it says nothing)."""
    info = info or {}
    version = info.get("version") or info.get("sglang_version")
    model = info.get("served_model_name") or info.get("model_path")
    return {"server_version": None if version is None else str(version), "server_model": model}


def session_for(cfg: PointConfig) -> aiohttp.ClientSession:
    # limit=0: no pool cap below the concurrency; timeouts are per request (request.send)
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None),
        read_bufsize=READ_BUFSIZE,
    )


@dataclass(frozen=True)
class Shard:
    """The part of a point one process sends: request ``k`` for every k = index (mod count)."""

    index: int = 0
    count: int = 1
    start_wall: float | None = None  # time.time() at which arrivals start (shared by all shards)

    def cap(self, max_concurrency: int) -> int:
        """This shard's share of the concurrency cap (the shares add up to the cap)."""
        return max_concurrency // self.count + (1 if self.index < max_concurrency % self.count else 0)


async def run_requests(
    cfg: PointConfig, progress: Progress | None = None, shard: Shard = Shard()
) -> tuple[list[dict[str, Any]], float | None]:
    """Send the shard's requests; returns (rows in request order, client loop lag p99 in ms)."""
    prompts = build_prompts(cfg)
    offsets = arrival_offsets(len(prompts), cfg.request_rate, cfg.burstiness, cfg.seed)
    mine = range(shard.index, len(prompts), shard.count)
    total = len(mine)
    gate = asyncio.Semaphore(shard.cap(cfg.max_concurrency))
    probe = LagProbe()
    done = 0

    async with session_for(cfg) as session:
        if shard.start_wall is not None and (wait := shard.start_wall - time.time()) > 0:
            await asyncio.sleep(wait)
        clock = _Clock()
        start = time.perf_counter()
        probe.start()

        async def one(i: int) -> dict[str, Any]:
            nonlocal done
            arrival = start + offsets[i]
            delay = arrival - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            arrived = time.perf_counter()
            async with gate:
                queue_s = time.perf_counter() - arrived
                out = await send(session, cfg, prompts[i])
            done += 1
            if progress is not None:
                progress(done, total)
            return _row(i, i < cfg.warmup_requests, queue_s, out, clock)

        try:
            rows = await asyncio.gather(*(one(i) for i in mine))
        finally:
            await probe.stop()
    return list(rows), probe.p99_ms()


SERVER_INFO_PATHS = ("/get_server_info", "/server_info")


async def fetch_server_info(base_url: str, timeout_s: float = 5.0) -> dict[str, Any] | None:
    """The server's ``/get_server_info`` JSON (``/server_info`` as a fallback), redacted; None if
    neither answers a JSON object within ``timeout_s``."""
    from frontier.common.redact import redact_obj

    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for path in SERVER_INFO_PATHS:
            try:
                async with session.get(base_url.rstrip("/") + path) as resp:
                    if resp.status != 200:
                        continue
                    body = await resp.json(content_type=None)
            except (aiohttp.ClientError, OSError, TimeoutError, ValueError):
                continue
            if isinstance(body, dict):
                return redact_obj(body)
    return None


async def fetch_served_model(base_url: str, timeout_s: float = 5.0) -> str | None:
    """The first model id of ``GET /v1/models`` (any OpenAI-compatible server); None if unavailable."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session,
            session.get(base_url.rstrip("/") + "/v1/models") as resp,
        ):
            body = await resp.json(content_type=None) if resp.status == 200 else None
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError):
        return None
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, list) and data and isinstance(data[0], dict) and data[0].get("id"):
        return str(data[0]["id"])
    return None


async def run_point(cfg: PointConfig, *, progress: Progress | None = None) -> PointResult:
    """Run one point against a running server and summarize its measured requests."""
    from frontier.loadgen.metrics import summarize  # DuckDB: only where a summary is made

    if cfg.client_processes > 1:
        from frontier.loadgen.sharding import run_sharded

        rows, lag_p99 = await run_sharded(cfg, progress)
    else:
        rows, lag_p99 = await run_requests(cfg, progress)
    summary = summarize(rows, client_lag_p99_ms=lag_p99, **settings_of(cfg))
    tokens, deviation_error = prompt_check(rows, cfg)
    summary.update(tokens, **load_columns(cfg))
    error = None
    if summary["status"] != "ok":
        errors = [r["error"] for r in rows if not r["is_warmup"] and r["error"]]
        error = (
            f"no measured request succeeded; first error: {errors[0]}" if errors else "no measured request"
        )
    elif deviation_error is not None:
        summary["status"] = "failed"
        error = deviation_error
    info = await fetch_server_info(cfg.base_url) if cfg.fetch_server_info else None
    summary.update(server_columns(info))
    if cfg.fetch_server_info and summary["server_model"] is None:  # not SGLang: ask the OpenAI API
        summary["server_model"] = await fetch_served_model(cfg.base_url)
    return PointResult(config=cfg, requests=rows, summary=summary, error=error, server_info=info)


def run_point_sync(cfg: PointConfig, progress: Progress | None = None) -> PointResult:
    """`run_point` in a fresh event loop (for callers without one, e.g. an Airflow task)."""
    return asyncio.run(run_point(cfg, progress=progress))
