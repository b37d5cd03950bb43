"""The load generator against the simulated SGLang server (`python -m frontier.sim.launch_server`)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import time

import pytest

from frontier.loadgen import PointConfig, run_ladder, run_point_sync

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(
        importlib.util.find_spec("frontier.sim.launch_server") is None, reason="frontier.sim not built yet"
    ),
]


@pytest.fixture(scope="module")
def sim_url():
    cmd = [
        sys.executable, "-m", "frontier.sim.launch_server", "--model-path", "meta-llama/Llama-3.1-8B-Instruct",
        "--hardware", "h100_sxm", "--port", "0", "--host", "127.0.0.1", "--time-scale", "10",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = None
    deadline = time.monotonic() + 30
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if m := re.search(r"Uvicorn running on (http://\S+)", line):
            url = m.group(1)
            break
    if url is None:
        proc.kill()
        pytest.fail("the simulated server did not print its address within 30 s")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.parametrize("backend", ["sglang", "openai", "openai-chat"])
def test_point_against_the_sim(sim_url, backend):
    cfg = PointConfig(
        base_url=sim_url, backend=backend, model="meta-llama/Llama-3.1-8B-Instruct", isl=256, osl=32,
        max_concurrency=4, num_prompts=12, warmup_requests=4, request_timeout_s=30,
    )  # fmt: skip
    r = run_point_sync(cfg)
    s = r.summary
    assert s["completed"] == 12 and s["failed"] == 0, r.error
    # exact ISL/OSL as the server counts them (fake tokenizer on both sides, ignore_eos)
    assert s["total_input_tokens"] == 12 * 256 and s["total_output_tokens"] == 12 * 32
    assert all(row["output_tokens"] == 32 for row in r.requests)
    # The server sends one event per decode step, but when a stream falls behind its engine (a loaded
    # CI machine) it sends the tokens due so far in one event, as SGLang does. The native backend
    # reports completion_tokens per event, so the client spreads such a gap over its tokens and keeps
    # 31 gaps; the OpenAI backends count one gap per event, as bench_serving does.
    for row in r.requests:
        if backend == "sglang":
            assert len(row["itl_ms"]) == 31
        else:
            assert 1 <= len(row["itl_ms"]) <= 31
    assert 0 < s["median_ttft_ms"] and 0 < s["median_tpot_ms"] and s["concurrency"] <= 4.0 + 1e-9
    # TPOT is (e2e - TTFT) / 31: the 31 gaps between tokens, coalesced or not, plus the end of the stream
    # (usage chunk and [DONE]) after the last token, which is never negative and only milliseconds long
    for row in r.requests:
        tail_ms = row["tpot_ms"] * 31 - sum(row["itl_ms"])
        assert -1e-6 <= tail_ms < max(50.0, 0.05 * sum(row["itl_ms"])), (tail_ms, row["itl_ms"])


def test_ladder_against_the_sim(sim_url):
    base = PointConfig(
        base_url=sim_url, model="meta-llama/Llama-3.1-8B-Instruct", isl=128, osl=16,
        max_concurrency=1, num_prompts=1, request_timeout_s=30,
    )  # fmt: skip
    ladder = run_ladder(base, [1, 8], num_prompts_for=lambda c: 2 * c, warmup_for=lambda c: c)
    assert [p.summary["completed"] for p in ladder] == [2, 16]
    tput = [p.summary["output_throughput"] for p in ladder]
    assert tput[1] > tput[0]  # batching: more concurrency, more tokens per second


def _start_sim(*extra: str) -> tuple[subprocess.Popen[str], str]:
    cmd = [
        sys.executable, "-m", "frontier.sim.launch_server", "--model-path", "meta-llama/Llama-3.1-8B-Instruct",
        "--hardware", "h100_sxm", "--port", "0", "--host", "127.0.0.1", "--time-scale", "10", *extra,
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if m := re.search(r"Uvicorn running on (http://\S+)", line):
            return proc, m.group(1)
    proc.kill()
    pytest.fail("the simulated server did not print its address within 30 s")


def test_sim_chunk_trace_and_server_info(tmp_path, sim_url):
    import json

    trace = tmp_path / "trace.jsonl"
    proc, url = _start_sim("--trace-chunks", str(trace))
    try:
        for backend in ("sglang", "openai"):
            cfg = PointConfig(
                base_url=url, backend=backend, model="meta-llama/Llama-3.1-8B-Instruct", isl=64, osl=8,
                max_concurrency=2, num_prompts=4, request_timeout_s=30, input_ids=True,
            )  # fmt: skip
            r = run_point_sync(cfg)
            assert (
                r.summary["completed"] == 4 and r.summary["total_input_tokens"] == 4 * 64
            )  # exact ISL via ids
            assert r.server_info is not None and r.server_info["simulated"] is True
            assert "trace_chunks" not in r.server_info  # the opt-in flag leaves server_info as it was
        time.sleep(0.3)
        lines = [json.loads(x) for x in trace.read_text().splitlines()]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert len(lines) == 8 and {x["path"] for x in lines} == {"/generate", "/v1/completions"}
    for x in lines:
        assert x["ok"] and len(x["chunks"]) == 8 and x["tokens"] == list(range(1, 9))
        assert x["received"] < x["chunks"][0] <= x["chunks"][-1] <= x["done"]
    # the client's TTFT contains the server's (received -> first chunk written), same clock
    server_ttft = sorted((x["chunks"][0] - x["received"]) * 1000 for x in lines[:4])
    client_ttft = sorted(row["ttft_ms"] for row in r.requests)
    assert client_ttft[0] > 0 and server_ttft[0] > 0
    # default server (no flag): no trace key in server_info either
    info = run_point_sync(
        PointConfig(base_url=sim_url, model="m", isl=8, osl=2, max_concurrency=1, num_prompts=1)
    ).server_info
    assert info is not None and "trace_chunks" not in info
