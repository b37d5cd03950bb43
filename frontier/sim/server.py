"""The simulated SGLang HTTP server (aiohttp): SGLang's endpoints over a real-time simulated
deployment.

Endpoints: /health, /health_generate, /get_model_info, /get_server_info, /v1/models,
/flush_cache, /generate (native), /v1/completions, /v1/chat/completions. Prompt length is
``len(input_ids)``, or the text counted by ``SimConfig.count_tokens``: the real tokenizer of
``--tokenizer-path`` (special tokens included, as SGLang counts), else the fake tokenizer's words;
for chat, the sum over every message's text content (no chat template tokens). Every request generates exactly ``max_new_tokens`` tokens (there is
no EOS), finish_reason ``length``. Reported timings are wall-clock, so with ``--time-scale F``
they are F times shorter than simulated GPU time.

Fault injection (``--fault-*``, :mod:`frontier.sim.faults`) hooks in here: every generation
request is counted and given its faults on arrival (crash, freeze, HTTP error, broken event,
cut connection); a frozen server answers nothing; ``--fault-slow-tokens`` slows the clock.

``--trace-chunks PATH`` (off by default; responses are the same either way) appends one JSON line
per streamed request to PATH (`ChunkTracer`), so a client's measured TTFT/ITL can be compared with
the server's own timestamps.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import Callable

from aiohttp import web

from frontier.sim import SGLANG_VERSION, SIM_VERSION
from frontier.sim import faults as F
from frontier.sim import protocol as P
from frontier.sim.cluster import Cluster
from frontier.sim.config import SimConfig
from frontier.sim.realtime import RealtimeDriver
from frontier.sim.scheduler import SimRequest

CONFIG = web.AppKey("config", SimConfig)
STATE = web.AppKey("state", object)
SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}


class BadRequest(Exception):
    pass


class ChunkTracer:
    """Per-request server timestamps, one JSON line per streamed request (``--trace-chunks PATH``).

    Line: ``{"id", "path", "prompt_tokens", "received", "received_wall", "chunks": [t, ...],
    "tokens": [cumulative completion tokens at each chunk], "done": t | null, "ok": bool}``.
    ``received`` is ``time.perf_counter()`` when the handler got the request (before parsing its
    body); each chunk time is taken right after ``write()`` handed the event to the transport, and
    ``done`` after ``[DONE]``. perf_counter is CLOCK_MONOTONIC on Linux, shared by every process
    of the machine, so a local client's own perf_counter readings compare directly;
    ``received_wall`` (time.time()) anchors it to wall-clock time. Lines are flushed per request.
    """

    def __init__(self, path: str) -> None:
        self._f = open(path, "a", buffering=1)  # noqa: SIM115 (closed on app cleanup)

    def record(self, line: dict) -> None:
        self._f.write(json.dumps(line, separators=(",", ":")) + "\n")

    def close(self) -> None:
        self._f.close()


class _Trace:
    """The timestamps of one streamed request (only when a `ChunkTracer` is on)."""

    __slots__ = ("line", "tracer")

    def __init__(self, tracer: ChunkTracer, path: str, rid: str, isl: int, received: float) -> None:
        self.tracer = tracer
        self.line = {
            "id": rid, "path": path, "prompt_tokens": isl, "received": received,
            "received_wall": time.time() - (time.perf_counter() - received),
            "chunks": [], "tokens": [], "done": None, "ok": False,
        }  # fmt: skip

    def chunk(self, tokens: int) -> None:
        self.line["chunks"].append(time.perf_counter())
        self.line["tokens"].append(tokens)

    def finish(self, ok: bool) -> None:
        if ok:
            self.line["done"] = time.perf_counter()
        self.line["ok"] = ok
        self.tracer.record(self.line)


def _trace(state: _State, path: str, rid: str, isl: int, received: float) -> _Trace | None:
    return None if state.tracer is None else _Trace(state.tracer, path, rid, isl, received)


class _State:
    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.cluster = Cluster(cfg.spec, snapshot=True)
        self.faults = F.FaultState(cfg.faults)
        # a degraded GPU: every iteration takes slow_tokens x longer on the wall clock
        self.driver = RealtimeDriver(self.cluster, cfg.time_scale / max(1.0, cfg.faults.slow_tokens))
        self.rids = itertools.count()
        self.started = time.time()
        self.tracer = ChunkTracer(cfg.trace_chunks) if cfg.trace_chunks else None


def _check_length(cfg: SimConfig, cluster: Cluster, isl: int, max_new: int) -> None:
    ctx = cfg.context_length
    if isl >= ctx:
        raise BadRequest(
            f"The input ({isl} tokens) is longer than the model's context length ({ctx} tokens)."
        )
    if isl + max_new > ctx:
        raise BadRequest(
            f"Requested token count exceeds the model's maximum context length of {ctx} tokens. "
            f"You requested a total of {isl + max_new} tokens: {isl} tokens from the input messages "
            f"and {max_new} tokens for the completion. Please reduce the number of tokens in the "
            f"input messages or the completion to fit within the limit."
        )
    why = cluster.fits_ever(isl, max_new)
    if why:
        raise BadRequest(f"The request cannot be scheduled: {why}.")


def _int(value, name: str, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadRequest(f"{name} must be a non-negative integer, got {value!r}")
    return value


async def _tokens(state: _State, isl: int, max_new: int):
    """Submit one request and yield ``(rid, first_index, count, done)`` as its tokens are due."""
    rid = next(state.rids)
    r = SimRequest(rid, isl, max(1, max_new))
    loop = asyncio.get_running_loop()
    state.driver.submit(r)
    sent = 0
    try:
        while True:
            g, done = r.generated(), r.done
            if state.faults.frozen:  # --fault-hang-after: the stream stops mid-response
                await state.faults.hang_forever()
            if g > sent or done:
                yield rid, sent, g - sent, done
                sent = g
            if done:
                return
            r.waiter = loop.create_future()
            await r.waiter
            r.waiter = None
    finally:
        if not r.done:
            state.driver.abort(r)


def _text(rid: int, start: int, n: int) -> str:
    if n == 1:
        return P.token_piece(rid, start)
    return "".join(P.token_piece(rid, i) for i in range(start, start + n))


# ---- simple endpoints -------------------------------------------------------------------------
async def health(request: web.Request) -> web.Response:
    return web.Response(status=200)


async def health_generate(request: web.Request) -> web.Response:
    async for _ in _tokens(request.app[STATE], 1, 1):
        pass
    return web.Response(status=200)


async def model_info(request: web.Request) -> web.Response:
    cfg = request.app[CONFIG]
    return web.json_response(
        {
            "model_path": cfg.model_path,
            "tokenizer_path": cfg.server_args.get("tokenizer_path") or cfg.model_path,
            "is_generation": True,
            "preferred_sampling_params": None,
            "weight_version": "default",
            "has_image_understanding": False,
            "has_audio_understanding": False,
            "model_type": cfg.spec.model.attention,
            "architectures": None,
        }
    )


async def server_info(request: web.Request) -> web.Response:
    cfg, st = request.app[CONFIG], request.app[STATE]
    body = dict(cfg.server_args)
    body.update(
        {
            "version": SGLANG_VERSION,
            "sim_version": SIM_VERSION,
            "simulated": True,
            "deployment": cfg.deployment,
            "label": cfg.topology.label,
            "gpus": cfg.topology.gpus,
            "context_length": cfg.context_length,
            "ignored_args": cfg.ignored_args,
            "time_scale": cfg.time_scale,
            "faults": cfg.faults.describe() if cfg.faults.any else None,
            "internal_states": [
                {
                    "max_total_num_tokens": st.cluster.pool_tokens(),
                    "servers": [
                        {
                            "name": e.name,
                            "role": e.role,
                            "kv_pool_tokens": e.pool_tokens,
                            "max_running_requests": e.max_running,
                        }
                        for e in st.cluster.engines
                    ],
                    "sim": st.driver.stats(),
                }
            ],
        }
    )
    return web.json_response(body)


async def models(request: web.Request) -> web.Response:
    cfg = request.app[CONFIG]
    return web.json_response(
        {
            "object": "list",
            "data": [
                {
                    "id": cfg.served_model_name,
                    "object": "model",
                    "created": int(request.app[STATE].started),
                    "owned_by": "sglang",
                    "root": cfg.served_model_name,
                    "max_model_len": cfg.context_length,
                }
            ],
        }
    )


async def flush_cache(request: web.Request) -> web.Response:
    request.app[STATE].driver.reset_stats()  # the simulator has no cache; restart its step statistics
    return web.Response(
        text="Cache flushed.\nPlease check backend logs for more details. "
        "(When there are running or waiting requests, the operation will not be performed.)\n"
    )


async def _json(request: web.Request, openai: bool) -> dict:
    try:
        body = await request.json()
    except ValueError:  # aiohttp raises JSONDecodeError (a ValueError)
        raise BadRequest("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    return body


def _error(e: Exception, openai: bool) -> web.Response:
    body = P.openai_error(str(e)) if openai else P.native_error(str(e))
    return web.json_response(body, status=400)


# ---- native /generate -------------------------------------------------------------------------
async def _arrive(request: web.Request, openai: bool) -> tuple[F.RequestFaults, web.Response | None]:
    """Count a generation request; its faults, and the error response when it gets one.

    A server frozen by --fault-hang-after never returns from here.
    """
    faults = request.app[STATE].faults
    rf = faults.arrive()
    if faults.frozen:
        await faults.hang_forever()
    if rf.http_error is not None:
        return rf, web.json_response(F.http_error_body(rf.http_error, openai), status=rf.http_error)
    return rf, None


def _cut(request: web.Request) -> None:
    """Drop the connection now, mid-response (--fault-cut-stream)."""
    if request.transport is not None:
        request.transport.abort()
    raise ConnectionResetError("fault injection: connection cut")


async def generate(request: web.Request) -> web.StreamResponse:
    received = time.perf_counter()
    state: _State = request.app[STATE]
    rf, err = await _arrive(request, False)
    if err is not None:
        return err
    try:
        body = await _json(request, False)
        if body.get("input_ids") is not None:
            ids = body["input_ids"]
            if not isinstance(ids, list) or (ids and not isinstance(ids[0], int)):
                raise BadRequest(
                    "the simulator serves one request per call: input_ids must be a list of ints"
                )
            isl = len(ids)
        elif isinstance(body.get("text"), str):
            isl = state.cfg.count_tokens(body["text"])
        else:
            raise BadRequest("the simulator serves one request per call: give text (a string) or input_ids")
        sp = body.get("sampling_params") or {}
        max_new = _int(sp.get("max_new_tokens"), "max_new_tokens", 128)
        _check_length(state.cfg, state.cluster, isl, max_new)
    except BadRequest as e:
        return _error(e, False)
    t0 = time.perf_counter()
    rid_s = uuid.uuid4().hex
    text, completion = [], 0
    if not body.get("stream"):
        async for rid, start, n, done in _tokens(state, isl, max_new):
            text.append(_text(rid, start, n))
            completion = start + n
        if rf.cut:
            _cut(request)
        meta = P.meta_info(rid_s, isl, completion, True, time.perf_counter() - t0)
        ids = [P.token_id(rid, i) for i in range(completion)]
        return web.json_response({"text": "".join(text), "output_ids": ids, "meta_info": meta})
    resp = web.StreamResponse(headers=SSE_HEADERS)
    await resp.prepare(request)
    acc = bytearray()  # fake-tokenizer text is plain ASCII: JSON-safe without escaping
    trace = _trace(state, "/generate", rid_s, isl, received)
    ok = False
    try:
        async for rid, start, n, done in _tokens(state, isl, max_new):
            acc += _text(rid, start, n).encode()
            meta = P.meta_bytes(rid_s, isl, start + n, done, time.perf_counter() - t0)
            event = b'data: {"text":"' + acc + b'","meta_info":' + meta + b"}\n\n"
            if rf.malformed:
                event, rf.malformed = F.break_event(event), False
            await resp.write(event)
            if trace is not None:
                trace.chunk(start + n)
            if rf.cut and (start + n) * 2 >= max_new:
                _cut(request)
        await resp.write(P.DONE)
        ok = True
        await resp.write_eof()
    except ConnectionError:  # client went away: its request was aborted by _tokens
        pass
    finally:
        if trace is not None:
            trace.finish(ok)
    return resp


# ---- OpenAI endpoints -------------------------------------------------------------------------
def _max_tokens(body: dict, default: int) -> int:
    v = body.get("max_completion_tokens")
    if v is None:
        v = body.get("max_tokens")
    return _int(v, "max_tokens", default)


def _chat_prompt_tokens(messages, count_tokens: Callable[[str], int]) -> int:
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages must be a non-empty list")
    n = 0
    for m in messages:
        content = m.get("content") if isinstance(m, dict) else None
        if isinstance(content, str):
            n += count_tokens(content)
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    n += count_tokens(part["text"])
    return n


def _completion_prompt_tokens(prompt, count_tokens: Callable[[str], int]) -> int:
    if isinstance(prompt, str):
        n = count_tokens(prompt)
    elif isinstance(prompt, list) and prompt and all(isinstance(x, int) for x in prompt):
        n = len(prompt)
    elif isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        n = count_tokens(prompt[0])
    else:
        raise BadRequest(
            "the simulator serves one prompt per call: prompt must be a string or a list of ints"
        )
    if n == 0:
        raise BadRequest("Prompt cannot be empty")
    return n


async def _openai(request: web.Request, chat: bool) -> web.StreamResponse:
    received = time.perf_counter()
    state: _State = request.app[STATE]
    rf, err = await _arrive(request, True)
    if err is not None:
        return err
    try:
        body = await _json(request, True)
        isl = (
            _chat_prompt_tokens(body.get("messages"), state.cfg.count_tokens)
            if chat
            else _completion_prompt_tokens(body.get("prompt"), state.cfg.count_tokens)
        )
        max_new = _max_tokens(body, 128 if chat else 16)
        _check_length(state.cfg, state.cluster, isl, max_new)
    except BadRequest as e:
        return _error(e, True)
    model = body.get("model") or state.cfg.served_model_name
    cid = ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex
    created = int(time.time())
    obj = "chat.completion.chunk" if chat else "text_completion"
    if not body.get("stream"):
        parts, completion = [], 0
        async for rid, start, n, done in _tokens(state, isl, max_new):
            parts.append(_text(rid, start, n))
            completion = start + n
        if rf.cut:
            _cut(request)
        text = "".join(parts)
        if chat:
            choice = {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": text,
                    "reasoning_content": None,
                    "tool_calls": None,
                },
                "logprobs": None,
                "finish_reason": "length",
                "matched_stop": None,
            }
        else:
            choice = {
                "index": 0,
                "text": text,
                "logprobs": None,
                "finish_reason": "length",
                "matched_stop": None,
            }
        return web.json_response(
            {
                "id": cid,
                "object": "chat.completion" if chat else "text_completion",
                "created": created,
                "model": model,
                "choices": [choice],
                "usage": P.usage(isl, completion),
            }
        )
    opts = body.get("stream_options") or {}
    include_usage = bool(opts.get("include_usage")) if isinstance(opts, dict) else False
    resp = web.StreamResponse(headers=SSE_HEADERS)
    await resp.prepare(request)
    trace = _trace(state, request.path, cid, isl, received)
    ok = False
    try:
        await _stream_openai(
            resp, state, chat, cid, created, model, obj, isl, max_new, include_usage, rf, request, trace
        )
        ok = True
    except ConnectionError:  # client went away: its request was aborted by _tokens
        pass
    finally:
        if trace is not None:
            trace.finish(ok)
    return resp


async def _stream_openai(
    resp,
    state,
    chat,
    cid,
    created,
    model,
    obj,
    isl,
    max_new,
    include_usage,
    rf: F.RequestFaults | None = None,
    request: web.Request | None = None,
    trace: _Trace | None = None,
) -> None:
    rf = rf or F.RequestFaults()
    if chat:
        await resp.write(P.sse(P.chat_chunk(cid, created, model, {"role": "assistant", "content": ""}, None)))
    completion = 0
    if chat:
        tpl = P.SseTemplate(lambda t, fin: P.chat_chunk(cid, created, model, {"content": t}, fin))
    else:
        tpl = P.SseTemplate(lambda t, fin: P.completion_chunk(cid, created, model, t, fin))
    async for rid, start, n, done in _tokens(state, isl, max_new):
        completion = start + n
        event = tpl.event(_text(rid, start, n).encode(), done)
        if rf.malformed:
            event, rf.malformed = F.break_event(event), False
        await resp.write(event)
        if trace is not None:
            trace.chunk(completion)
        if rf.cut and request is not None and completion * 2 >= max_new:
            _cut(request)
    if include_usage:
        await resp.write(P.sse(P.usage_chunk(cid, created, model, obj, isl, completion)))
    await resp.write(P.DONE)
    await resp.write_eof()


async def completions(request: web.Request) -> web.StreamResponse:
    return await _openai(request, chat=False)


async def chat_completions(request: web.Request) -> web.StreamResponse:
    return await _openai(request, chat=True)


async def _startup(app: web.Application) -> None:
    app[STATE] = _State(app[CONFIG])


async def _cleanup(app: web.Application) -> None:
    st = app.get(STATE)
    if st is not None and st.tracer is not None:
        st.tracer.close()


@web.middleware
async def _frozen(request: web.Request, handler):
    """--fault-hang-start / a frozen server: the connection is accepted, nothing is answered."""
    state = request.app.get(STATE)
    if state is not None and state.faults.frozen:
        await state.faults.hang_forever()
    return await handler(request)


def build_app(config: SimConfig) -> web.Application:
    """The aiohttp application of a simulated server (the deployment starts with the app)."""
    middlewares = [_frozen] if (config.faults.hang_start or config.faults.hang_after is not None) else []
    app = web.Application(client_max_size=256 * 1024 * 1024, middlewares=middlewares)
    app[CONFIG] = config
    app.on_startup.append(_startup)
    app.on_cleanup.append(_cleanup)
    r = app.router
    r.add_get("/health", health)
    r.add_get("/health_generate", health_generate)
    r.add_get("/get_model_info", model_info)
    r.add_get("/model_info", model_info)
    r.add_get("/get_server_info", server_info)
    r.add_get("/server_info", server_info)
    r.add_get("/v1/models", models)
    r.add_route("*", "/flush_cache", flush_cache)
    r.add_post("/generate", generate)
    r.add_post("/v1/completions", completions)
    r.add_post("/v1/chat/completions", chat_completions)
    return app
