"""A PD deployment served over real HTTP on 127.0.0.1: the simulated server with `--deployment P+D`
streams every request to completion, and each first token comes after the KV transfer."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from frontier.sim.cluster import Cluster
from frontier.sim.config import parse_config
from frontier.sim.perf_model import prefill_work
from tests.support import SimServer, read_sse

SCALE = 1.0
ARGS = [
    "--model-path", "meta-llama/Llama-3.1-8B-Instruct", "--hardware", "h100_sxm",
    "--deployment", "TP1+1xTP1", "--time-scale", str(SCALE),
]  # fmt: skip


async def _stream(s: aiohttp.ClientSession, url: str, isl: int, n: int) -> tuple[float, list[int], bool]:
    """TTFT (s) and the cumulative completion tokens of every chunk of one streamed request."""
    body = {"input_ids": list(range(isl)), "sampling_params": {"max_new_tokens": n}, "stream": True}
    t0 = time.perf_counter()
    chunks, times, done = await read_sse(s, url + "/generate", body)
    return times[0] - t0, [c["meta_info"]["completion_tokens"] for c in chunks], done


def test_pd_server_streams_every_request_with_first_token_after_the_transfer():
    cfg = parse_config(["--port", "0", *ARGS])
    cl = Cluster(cfg.spec)
    pre = cl.entry[0]
    isl = 3000
    w = prefill_work(0, isl)
    prefill = pre.sm.step_time(0, 0, isl, w, (isl, w))
    probe = type("R", (), {"isl": isl})()
    xfer = cl.transfer_time(probe, pre)
    # wall seconds before the decode server can have the KV: the prefill, then the transfer
    floor = (prefill + 0.8 * xfer) / SCALE

    server = SimServer(*ARGS, start_timeout_s=20)
    url = server.url
    try:

        async def go():
            async with aiohttp.ClientSession() as s:
                async with s.get(url + "/get_server_info") as r:
                    info = await r.json()
                solo = await asyncio.wait_for(_stream(s, url, isl, 16), 30)
                jobs = [_stream(s, url, isl, 24 + i) for i in range(8)]
                return info, solo, await asyncio.wait_for(asyncio.gather(*jobs), 60)

        info, solo, results = asyncio.run(go())
        roles = sorted(x["role"] for x in info["internal_states"][0]["servers"])
        assert roles == ["decode", "prefill"]
        ttft, counts, done = solo
        assert done and counts[-1] == 16
        assert floor < ttft < floor + 0.25, (ttft, prefill, xfer)  # first token after the transfer
        for i, (ttft, counts, done) in enumerate(results):
            assert done and counts[-1] == 24 + i  # every request streamed to completion
            assert counts == sorted(counts) and counts[0] >= 1
            assert ttft > floor
    finally:
        assert server.stop() == 0
