"""Wire details of the load generator against a scripted aiohttp server on 127.0.0.1: very large
cumulative ``/generate`` events, ``input_ids`` prompts, and ``/get_server_info`` in the result."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web

from frontier.loadgen import PointConfig, run_point
from frontier.loadgen.bench_serving import to_bench_serving_json

pytestmark = pytest.mark.timeout(60)


class Scripted:
    """/generate streams cumulative events whose text reaches ``big`` bytes in one event."""

    def __init__(self, big: int, info: dict | None = None) -> None:
        self.big, self.info, self.bodies = big, info, []

    async def generate(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.bodies.append(body)
        n = body["sampling_params"]["max_new_tokens"]
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        words = [f"w{i}" for i in range(n)]
        # token 1, then tokens 2..n-1 in one huge event (padded to `big` bytes), then the last token
        for upto, pad in ((1, 0), (n - 1, self.big), (n, self.big)):
            text = " ".join(words[:upto]) + " " + ("x" * pad if pad else "")
            meta = {"id": "r", "prompt_tokens": 7, "completion_tokens": upto, "finish_reason": None}
            await resp.write(b"data: " + json.dumps({"text": text, "meta_info": meta}).encode() + b"\n\n")
            await asyncio.sleep(0.002)
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    async def completions(self, request: web.Request) -> web.StreamResponse:
        self.bodies.append(await request.json())
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(b'data: {"choices":[{"text":"w1 w2"}]}\n\n')
        await resp.write(b'data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2}}\n\n')
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    async def server_info(self, request: web.Request) -> web.Response:
        if self.info is None:
            return web.Response(status=404)
        return web.json_response(self.info)

    async def run(self, **kw):
        app = web.Application()
        app.router.add_post("/generate", self.generate)
        app.router.add_post("/v1/completions", self.completions)
        app.router.add_get("/get_server_info", self.server_info)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        try:
            base = {"base_url": f"http://127.0.0.1:{port}", "model": "m", "isl": 7, "osl": 5,
                    "max_concurrency": 2, "num_prompts": 2, "request_timeout_s": 20}  # fmt: skip
            return await run_point(PointConfig(**{**base, **kw}))
        finally:
            await runner.cleanup()


@pytest.mark.parametrize("big", [200 * 1024, 3 * 1024 * 1024])
def test_large_cumulative_events_do_not_break_the_reader(big):
    r = asyncio.run(Scripted(big).run())
    assert r.summary["completed"] == 2 and r.summary["failed"] == 0, r.error
    row = r.requests[0]
    # tokens from meta_info: 3 tokens arrived in the big event, its gap split over them
    assert row["output_tokens"] == 5 and len(row["itl_ms"]) == 4 and row["input_tokens"] == 7


def test_input_ids_are_sent_instead_of_text():
    s = Scripted(0)
    r = asyncio.run(s.run(input_ids=True))
    assert r.summary["completed"] == 2
    for body in s.bodies:
        assert "text" not in body and len(body["input_ids"]) == 7
        assert all(isinstance(i, int) and 0 <= i < 32000 for i in body["input_ids"])
    s = Scripted(0)
    r = asyncio.run(s.run(input_ids=True, backend="openai"))
    assert r.summary["completed"] == 2
    assert all(isinstance(b["prompt"], list) and len(b["prompt"]) == 7 for b in s.bodies)
    with pytest.raises(ValueError, match="input_ids"):
        PointConfig(base_url="http://h", backend="openai-chat", model="m", isl=1, osl=1,
                    max_concurrency=1, num_prompts=1, input_ids=True)  # fmt: skip


def test_server_info_is_fetched_once_redacted_and_written_to_the_json():
    info = {"version": "0.5.23", "tp_size": 1, "api_key": "sk-very-secret"}
    r = asyncio.run(Scripted(0, info).run())
    assert r.server_info is not None and r.server_info["version"] == "0.5.23"
    assert r.server_info["api_key"] != "sk-very-secret"
    line = to_bench_serving_json(r)
    assert line["server_info"]["tp_size"] == 1
    # a server without the endpoint: None, the point is still fine
    r = asyncio.run(Scripted(0, None).run())
    assert r.server_info is None and r.ok
    r = asyncio.run(Scripted(0, info).run(fetch_server_info=False))
    assert r.server_info is None
