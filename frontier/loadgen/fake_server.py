"""A tiny SGLang-shaped streaming server for tests and the overhead benchmark (not a simulator).

Speaks ``/generate`` (cumulative ``text`` + ``meta_info``), ``/v1/completions`` and
``/v1/chat/completions`` (deltas, final usage chunk), all ending with ``data: [DONE]``. Timing is
fixed (``ttft_s``, then ``itl_s`` per chunk of ``tokens_per_chunk``); faults on demand: HTTP 500,
a dropped connection after ``drop_after_tokens``, a hang, a clean end without ``[DONE]``. It counts
requests in flight (``max_in_flight``) and records server-side timestamps (``perf_counter``, the
same clock as the client's on one machine) of every request for latency-overhead checks
(``GET /debug/traces`` returns and clears them). ``python -m frontier.loadgen.fake_server --port P
--itl-ms X`` runs it standalone.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web

from frontier.common import tokenizer


@dataclass
class FakeServerConfig:
    ttft_s: float = 0.0
    itl_s: float = 0.0
    tokens_per_chunk: int = 1
    status: int = 200  # anything else: answer with that status and a JSON error
    drop_after_tokens: int | None = None  # abort the connection after this many tokens
    hang_after_tokens: int | None = None  # stop sending (keep the connection open)
    omit_done: bool = False  # finish the stream cleanly but without [DONE]
    max_tokens_cap: int | None = None  # emit at most this many tokens (an EOS before max_tokens)
    sse_comments: bool = False  # send an SSE comment line (": ping") before every event
    omit_finish_reason: bool = False  # never set finish_reason (with omit_done: a truncated stream)
    omit_usage: bool = False  # OpenAI routes: no final usage chunk (the client counts the chunks)
    reject_fields: tuple[str, ...] = ()  # answer 422 naming the first of these found in a body
    served_model_name: str | None = None  # OpenAI routes: any other "model" gets a 404 (as vLLM)


@dataclass
class ServerTrace:
    """Server-side times (perf_counter seconds) of one request."""

    received: float
    chunks: list[float] = field(default_factory=list)


class FakeSGLangServer:
    def __init__(self, config: FakeServerConfig | None = None) -> None:
        self.config = config or FakeServerConfig()
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests = 0
        self.traces: list[ServerTrace] = []
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/generate", self._handle)
        app.router.add_post("/v1/completions", self._handle)
        app.router.add_post("/v1/chat/completions", self._handle)
        app.router.add_get("/health", self._health)
        app.router.add_get("/debug/traces", self._traces)
        return app

    async def start(self, port: int = 0) -> FakeSGLangServer:
        self._closing = asyncio.Event()
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._closing is not None:
            self._closing.set()  # releases hung handlers
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _traces(self, request: web.Request) -> web.Response:
        data = {"max_in_flight": self.max_in_flight, "traces": [[t.received, t.chunks] for t in self.traces]}
        self.traces = []
        return web.json_response(data)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        trace = ServerTrace(received=time.perf_counter())
        self.requests += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._serve(request, trace)
        finally:
            self.in_flight -= 1
            self.traces.append(trace)

    async def _serve(self, request: web.Request, trace: ServerTrace) -> web.StreamResponse:
        cfg = self.config
        body: dict[str, Any] = await request.json()
        if cfg.status != 200:
            return web.json_response({"error": {"message": "injected failure"}}, status=cfg.status)
        path = request.path
        for name in cfg.reject_fields:  # a strict server (transformers serve) validating its schema
            if name in body:
                msg = f"Unrecognized request argument supplied: {name}"
                return web.json_response({"error": {"message": msg}}, status=422)
        if path != "/generate" and cfg.served_model_name and body.get("model") != cfg.served_model_name:
            msg = f"The model `{body.get('model')}` does not exist."
            return web.json_response({"object": "error", "message": msg, "code": 404}, status=404)
        if path == "/generate":
            prompt = body.get("text", "")
            max_new = body["sampling_params"]["max_new_tokens"]
        elif path == "/v1/completions":
            prompt, max_new = body["prompt"], body["max_tokens"]
        else:
            prompt = " ".join(m["content"] for m in body["messages"])
            max_new = body.get("max_completion_tokens") or body.get("max_tokens")
        n_prompt = tokenizer.count_tokens(prompt)
        n_out = min(max_new, cfg.max_tokens_cap or max_new)

        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        if cfg.ttft_s:
            await asyncio.sleep(cfg.ttft_s)
        sent = 0
        words: list[str] = []
        while sent < n_out:
            hang = cfg.hang_after_tokens is not None and sent >= cfg.hang_after_tokens
            if hang:
                assert self._closing is not None
                await self._closing.wait()  # until the server stops
            if hang or (cfg.drop_after_tokens is not None and sent >= cfg.drop_after_tokens):
                assert request.transport is not None
                request.transport.abort()
                return resp
            if sent and cfg.itl_s:
                await asyncio.sleep(cfg.itl_s)
            k = min(cfg.tokens_per_chunk, n_out - sent)
            new = [tokenizer.token_text(sent + j) for j in range(k)]
            words.extend(new)
            sent += k
            last = sent == n_out
            last_fr = "length" if last and not cfg.omit_finish_reason else None
            if path == "/generate":
                finish = {"type": "length", "length": n_out} if last_fr else None
                meta = {"prompt_tokens": n_prompt, "completion_tokens": sent, "finish_reason": finish}
                event: dict[str, Any] = {"text": " ".join(words), "meta_info": meta}
            elif path == "/v1/completions":
                event = {"choices": [{"index": 0, "text": " ".join(new) + " ", "finish_reason": last_fr}]}
            else:
                delta = {"content": " ".join(new) + " "}
                event = {"choices": [{"index": 0, "delta": delta, "finish_reason": last_fr}]}
            if cfg.sse_comments:
                await resp.write(b": ping\n\n")
            trace.chunks.append(time.perf_counter())
            await resp.write(b"data: " + json.dumps(event).encode() + b"\n\n")
        if path != "/generate" and not cfg.omit_usage:
            usage = {"prompt_tokens": n_prompt, "completion_tokens": n_out, "total_tokens": n_prompt + n_out}
            await resp.write(b"data: " + json.dumps({"choices": [], "usage": usage}).encode() + b"\n\n")
        if not cfg.omit_done:
            await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp


def main(argv: list[str] | None = None) -> None:
    import argparse

    p = argparse.ArgumentParser(description="a tiny SGLang-shaped streaming server (tests, benchmarks)")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--ttft-ms", type=float, default=0.0)
    p.add_argument("--itl-ms", type=float, default=0.0)
    p.add_argument("--tokens-per-chunk", type=int, default=1)
    ns = p.parse_args(argv)
    config = FakeServerConfig(
        ttft_s=ns.ttft_ms / 1000, itl_s=ns.itl_ms / 1000, tokens_per_chunk=ns.tokens_per_chunk
    )

    async def serve() -> None:
        server = await FakeSGLangServer(config).start(ns.port)
        print(f"listening on {server.base_url}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
