"""The load generator against a real aiohttp SGLang-shaped server on 127.0.0.1 (frontier.loadgen.fake_server)."""

from __future__ import annotations

import asyncio
import json
import time

import numpy as np
import pytest

from frontier.loadgen import PointConfig, run_ladder, run_point
from frontier.loadgen.fake_server import FakeServerConfig, FakeSGLangServer

pytestmark = pytest.mark.timeout(60)


def cfg(url, **kw) -> PointConfig:
    base = {
        "base_url": url,
        "model": "m",
        "isl": 32,
        "osl": 8,
        "max_concurrency": 4,
        "num_prompts": 20,
        "request_timeout_s": 5,
    }
    return PointConfig(**{**base, **kw})


async def run_against(server_cfg: FakeServerConfig, **kw):
    async with FakeSGLangServer(server_cfg) as server:
        result = await run_point(cfg(server.base_url, **kw))
    return server, result


def test_concurrency_never_exceeds_the_cap_warmup_included():
    server, r = asyncio.run(
        run_against(
            FakeServerConfig(ttft_s=0.01, itl_s=0.002), max_concurrency=5, num_prompts=30, warmup_requests=15
        )
    )
    assert server.requests == 45
    assert server.max_in_flight == 5  # reached, never exceeded (server-side counter)
    assert r.summary["completed"] == 30 and r.summary["failed"] == 0
    assert sum(row["is_warmup"] for row in r.requests) == 15
    assert [row["request_index"] for row in r.requests] == list(range(45))
    # measured concurrency close to the cap in a closed loop
    assert 3.5 <= r.summary["concurrency"] <= 5.0


@pytest.mark.parametrize("backend", ["sglang", "openai", "openai-chat"])
def test_timings_and_server_token_counts(backend):
    # 4 tokens per chunk: output tokens must come from meta_info/usage, not the 3 chunks
    _server, r = asyncio.run(
        run_against(
            FakeServerConfig(ttft_s=0.05, itl_s=0.02, tokens_per_chunk=4),
            backend=backend, osl=12, max_concurrency=2, num_prompts=4,
        )
    )  # fmt: skip
    s = r.summary
    assert s["completed"] == 4 and s["total_output_tokens"] == 48 and s["total_input_tokens"] == 128
    # lower bounds are exact (the server cannot be faster); upper bounds leave room for a busy CI box
    assert 50 <= s["median_ttft_ms"] < 150
    # e2e ~ 50 + 2 x 20 ms; tpot = (e2e - ttft) / 11 ~ 40/11
    assert 40 / 11 <= s["median_tpot_ms"] < 100 / 11
    row = r.requests[0]
    assert row["output_tokens"] == 12 and row["input_tokens"] == 32
    if backend == "sglang":  # bench_serving splits a chunk gap over its tokens
        assert len(row["itl_ms"]) == 8 and 5 <= np.median(row["itl_ms"]) < 12
    else:  # one gap per chunk on the OpenAI routes
        assert len(row["itl_ms"]) == 2 and 20 <= np.median(row["itl_ms"]) < 45


def test_early_eos_and_sse_comments():
    # the server stops at 5 tokens (EOS) and interleaves keep-alive comments: counts come from the server
    _, r = asyncio.run(
        run_against(
            FakeServerConfig(max_tokens_cap=5, sse_comments=True), osl=8, num_prompts=3, backend="openai"
        )
    )
    assert r.summary["completed"] == 3 and r.summary["total_output_tokens"] == 15
    assert all(len(row["itl_ms"]) == 4 for row in r.requests)


def test_ttft_is_timed_after_the_gate():
    # cap 1, 100 ms per request: later requests queue ~n x 100 ms but their TTFT stays ~ 100 ms
    _server, r = asyncio.run(
        run_against(FakeServerConfig(ttft_s=0.1), max_concurrency=1, num_prompts=4, osl=1)
    )
    rows = r.requests
    assert all(90 <= row["ttft_ms"] < 160 for row in rows)
    assert rows[3]["queue_ms"] >= 280
    assert r.summary["mean_tpot_ms"] is None  # one-token outputs


def test_dropped_stream_gives_failed_rows_with_reason_fast():
    t0 = time.perf_counter()
    _server, r = asyncio.run(run_against(FakeServerConfig(itl_s=0.001, drop_after_tokens=3), num_prompts=6))
    assert time.perf_counter() - t0 < 5
    assert r.summary["completed"] == 0 and r.summary["failed"] == 6 and r.summary["status"] == "failed"
    assert all(not row["success"] and "dropped" in row["error"] for row in r.requests)
    assert r.error and "dropped" in r.error


def test_hung_stream_times_out_with_reason():
    t0 = time.perf_counter()
    _server, r = asyncio.run(
        run_against(FakeServerConfig(hang_after_tokens=2), num_prompts=3, request_timeout_s=0.5)
    )
    assert time.perf_counter() - t0 < 5
    assert all("timeout" in row["error"] for row in r.requests)
    # what arrived before the hang is kept for diagnosis (2 tokens, a first-token time)
    assert all(row["output_tokens"] == 2 and row["ttft_ms"] is not None for row in r.requests)


def test_http_500_and_missing_done():
    _, r = asyncio.run(run_against(FakeServerConfig(status=500), num_prompts=3))
    assert all(row["error"].startswith("HTTP 500") for row in r.requests)
    # a stream that ends with a finish_reason is complete without [DONE] (as bench_serving counts it)
    _, r = asyncio.run(run_against(FakeServerConfig(omit_done=True), num_prompts=3))
    assert all(row["success"] for row in r.requests), r.requests[0]["error"]
    _, r = asyncio.run(run_against(FakeServerConfig(omit_done=True, omit_finish_reason=True), num_prompts=3))
    assert all("without [DONE] or a finish_reason" in row["error"] for row in r.requests)


def test_failed_requests_are_counted_but_not_in_latency():
    async def main():
        async with FakeSGLangServer(FakeServerConfig(ttft_s=0.01)) as server:
            c = cfg(server.base_url, num_prompts=10, max_concurrency=1)
            task = asyncio.create_task(run_point(c))
            while server.requests < 5:
                await asyncio.sleep(0.001)
            server.config.drop_after_tokens = 2  # the rest fail mid-stream
            return await task

    r = asyncio.run(main())
    s = r.summary
    assert s["completed"] + s["failed"] == 10 and s["failed"] >= 4
    ok = [row["e2e_ms"] for row in r.requests if row["success"]]
    assert s["mean_e2e_latency_ms"] == pytest.approx(np.mean(ok))
    assert s["error_rate"] == pytest.approx(s["failed"] / 10)


def test_poisson_rate_is_roughly_honoured():
    _, r = asyncio.run(
        run_against(
            FakeServerConfig(), request_rate=100.0, num_prompts=150, max_concurrency=64, osl=2, seed=7
        )
    )
    starts = sorted(row["start_ts"] for row in r.requests)
    span = (starts[-1] - starts[0]).total_seconds()
    rate = (len(starts) - 1) / span
    assert 75 <= rate <= 130  # mean 100/s; 150 draws keep it within ~+-20 %
    assert r.summary["failed"] == 0


def test_ladder_over_one_server_goes_on_after_a_failed_point():
    async def serve_and_run():
        async with FakeSGLangServer(FakeServerConfig(itl_s=0.001)) as server:
            base = cfg(server.base_url, osl=4)
            loop = asyncio.get_running_loop()
            ladder = await loop.run_in_executor(
                None,
                lambda: run_ladder(base, [1, 2, 4], num_prompts_for=lambda c: 5 * c, warmup_for=lambda c: c),
            )
            return server, ladder

    server, ladder = asyncio.run(serve_and_run())
    assert [p.summary["max_concurrency"] for p in ladder] == [1, 2, 4]
    assert [p.summary["completed"] for p in ladder] == [5, 10, 20]
    assert [p.summary["warmup_requests"] for p in ladder] == [1, 2, 4]
    assert server.max_in_flight == 4 and all(p.ok for p in ladder)

    # a server that is gone: every point fails with a reason, the ladder still returns all points
    dead = cfg("http://127.0.0.1:9", osl=4)
    ladder = run_ladder(dead, [1, 2], num_prompts_for=lambda c: 2, warmup_for=lambda c: 0)
    assert len(ladder) == 2 and not any(p.ok for p in ladder)
    assert all(p.error and "first error" in p.error for p in ladder)


def test_cli_bench_prints_and_writes_bench_serving_json(tmp_path, capsys):
    import argparse

    from frontier.loadgen.bench_serving import BENCH_SERVING_KEYS
    from frontier.loadgen.cli import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    out = tmp_path / "res.json"

    async def main():
        async with FakeSGLangServer(FakeServerConfig(itl_s=0.001)) as server:
            argv = ["bench", "--base-url", server.base_url, "--isl", "16", "--osl", "4", "--concurrency", "2",
                    "--num-prompts", "6", "--warmup", "2", "--json", str(out)]  # fmt: skip
            ns = parser.parse_args(argv)
            return await asyncio.get_running_loop().run_in_executor(None, ns.handler, ns)

    assert asyncio.run(main()) == 0
    printed = capsys.readouterr().out
    assert "Serving Benchmark Result" in printed and "Successful requests:" in printed
    line = json.loads(out.read_text())
    assert set(BENCH_SERVING_KEYS) <= set(line) and line["completed"] == 6 and line["max_concurrency"] == 2


def test_sharded_client_keeps_the_cap_and_merges_rows():
    server, r = asyncio.run(
        run_against(
            FakeServerConfig(ttft_s=0.01, itl_s=0.005),
            max_concurrency=5, num_prompts=30, warmup_requests=5, client_processes=2,
        )
    )  # fmt: skip
    assert server.requests == 35 and server.max_in_flight <= 5
    assert [row["request_index"] for row in r.requests] == list(range(35))
    assert sum(row["is_warmup"] for row in r.requests) == 5
    assert r.summary["completed"] == 30 and r.summary["client_lag_p99_ms"] is not None


def test_rows_fit_the_requests_table_and_progress_is_reported():
    import pyarrow as pa

    from frontier.warehouse.schemas import REQUESTS

    seen = []

    async def main():
        async with FakeSGLangServer(FakeServerConfig(itl_s=0.001)) as server:
            c = cfg(server.base_url, num_prompts=6, warmup_requests=2)
            return await run_point(c, progress=lambda done, total: seen.append((done, total)))

    r = asyncio.run(main())
    assert seen == [(i, 8) for i in range(1, 9)]
    fields = [REQUESTS.field(k) for k in r.requests[0]]
    table = pa.Table.from_pylist(r.requests, schema=pa.schema(fields))
    assert table.num_rows == 8 and table.column("start_ts").type.tz == "UTC"
    row = r.requests[-1]
    assert row["start_ts"] < row["end_ts"]
    assert (row["end_ts"] - row["start_ts"]).total_seconds() * 1000 == pytest.approx(row["e2e_ms"], abs=0.01)
