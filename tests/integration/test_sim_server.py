"""The simulated SGLang server as a real subprocess on 127.0.0.1: streaming, errors, shutdown."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys

import aiohttp
import pytest

from tests.support import ROOT, SimServer, read_sse


@pytest.fixture(scope="module")
def server():
    s = SimServer(
        "--model-path",
        "meta-llama/Llama-3.1-8B-Instruct",
        "--hardware",
        "h100_sxm",
        "--tp-size",
        "1",
        "--context-length",
        "4096",
        "--time-scale",
        "5",
        "--enable-torch-compile",
        "--cuda-graph-max-bs",
        "256",
        "--trust-remote-code",
    )
    yield s
    if s.proc.poll() is None:
        s.stop()


def test_native_generate_streams_cumulative_text_with_meta_info(server):
    async def go():
        async with aiohttp.ClientSession() as s:
            prompt = " ".join(f"w{i}" for i in range(300))
            return await read_sse(
                s,
                server.url + "/generate",
                {
                    "text": prompt,
                    "sampling_params": {"max_new_tokens": 40, "ignore_eos": True},
                    "stream": True,
                },
            )

    chunks, times, done = asyncio.run(go())
    assert done and len(chunks) >= 2
    last = chunks[-1]
    assert last["meta_info"]["prompt_tokens"] == 300
    assert last["meta_info"]["completion_tokens"] == 40
    assert last["meta_info"]["finish_reason"] == {"type": "length", "length": 40}
    assert len(last["text"].split()) == 40
    for a, b in itertools.pairwise(chunks):  # cumulative text
        assert b["text"].startswith(a["text"])
        assert b["meta_info"]["completion_tokens"] > a["meta_info"]["completion_tokens"]
    assert times[-1] - times[0] > 0.01  # tokens arrive over time, not in one burst


def test_concurrent_streams_share_steps_and_openai_completions(server):
    async def one(s, n):
        return await read_sse(
            s,
            server.url + "/v1/completions",
            {
                "model": "m",
                "prompt": "a " * 100,
                "max_tokens": n,
                "stream": True,
                "ignore_eos": True,
                "stream_options": {"include_usage": True},
            },
        )

    async def go():
        async with aiohttp.ClientSession() as s:
            return await asyncio.gather(*(one(s, 20) for _ in range(16)))

    for chunks, _, done in asyncio.run(go()):
        assert done
        text = "".join(c["choices"][0]["text"] for c in chunks if c["choices"])
        assert len(text.split()) == 20
        assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 20
        assert chunks[-1]["usage"]["prompt_tokens"] == 100
        assert [c for c in chunks if c["choices"]][-1]["choices"][0]["finish_reason"] == "length"


def test_openai_client_streams_chat_with_usage(server):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="none")
    stream = client.chat.completions.create(
        model="meta-llama/Llama-3.1-8B-Instruct",
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "one two three four"},
        ],
        max_tokens=12,
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"ignore_eos": True},
    )
    content, usage, finish = [], None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for ch in chunk.choices:
            if ch.delta.content:
                content.append(ch.delta.content)
            finish = ch.finish_reason or finish
    assert len("".join(content).split()) == 12 and finish == "length"
    assert usage.prompt_tokens == 6 and usage.completion_tokens == 12
    full = client.completions.create(model="m", prompt="x y z", max_tokens=5)
    assert full.usage.completion_tokens == 5 and len(full.choices[0].text.split()) == 5
    assert [m.id for m in client.models.list().data] == ["meta-llama/Llama-3.1-8B-Instruct"]


def test_too_long_prompt_gets_400_like_sglang(server):
    async def go():
        async with aiohttp.ClientSession() as s:
            long = "w1 " * 5000
            r1 = await s.post(
                server.url + "/v1/completions", json={"model": "m", "prompt": long, "max_tokens": 4}
            )
            r2 = await s.post(
                server.url + "/generate", json={"text": long, "sampling_params": {"max_new_tokens": 4}}
            )
            r3 = await s.post(
                server.url + "/v1/chat/completions",
                json={
                    "model": "m",
                    "messages": [{"role": "user", "content": "w1 " * 4000}],
                    "max_tokens": 500,
                },
            )
            return [(r.status, await r.json()) for r in (r1, r2, r3)]

    (s1, b1), (s2, b2), (s3, b3) = asyncio.run(go())
    assert s1 == s2 == s3 == 400
    assert b1["object"] == "error" and b1["code"] == 400
    assert b1["message"] == "The input (5000 tokens) is longer than the model's context length (4096 tokens)."
    assert "longer than the model's context length" in b2["error"]["message"]
    assert "maximum context length of 4096 tokens" in b3["message"]
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="none")
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model="m", prompt="w1 " * 5000, max_tokens=4)


def test_server_info_lists_ignored_args_and_version(server):
    async def go():
        async with aiohttp.ClientSession() as s:
            out = {}
            for path in (
                "/health",
                "/health_generate",
                "/get_model_info",
                "/get_server_info",
                "/flush_cache",
            ):
                async with s.get(server.url + path) as r:
                    out[path] = (r.status, await r.text())
            return out

    out = asyncio.run(go())
    assert all(status == 200 for status, _ in out.values())
    info = json.loads(out["/get_server_info"][1])
    assert info["version"].endswith("-sim") and info["tp_size"] == 1 and info["label"] == "TP1"
    assert info["ignored_args"] == ["--enable-torch-compile", "--trust-remote-code"]
    # --cuda-graph-max-bs is one of the flags SGLang derives its settings from: read, not ignored
    assert info["cuda_graph_max_bs"] == 256 and info["sglang_derived"]["single"]["cuda_graph_max_bs"] == 256
    assert info["internal_states"][0]["max_total_num_tokens"] > 0
    assert json.loads(out["/get_model_info"][1])["model_path"] == "meta-llama/Llama-3.1-8B-Instruct"


def test_pd_deployment_in_one_process_and_sigterm():
    s = SimServer(
        "--model-path",
        "deepseek-ai/DeepSeek-R1",
        "--hardware",
        "h200_sxm",
        "--deployment",
        "SEP8+1xDEP8",
        "--time-scale",
        "20",
    )
    try:

        async def go():
            async with aiohttp.ClientSession() as sess:
                async with sess.get(s.url + "/get_server_info") as r:
                    info = await r.json()
                res = await read_sse(
                    sess,
                    s.url + "/generate",
                    {
                        "input_ids": list(range(2000)),
                        "sampling_params": {"max_new_tokens": 8},
                        "stream": True,
                    },
                )
                return info, res

        info, (chunks, _, done) = asyncio.run(go())
        assert info["deployment"] == "SEP8+1xDEP8" and info["gpus"] == 16
        roles = sorted(x["role"] for x in info["internal_states"][0]["servers"])
        assert roles == ["decode", "prefill"]
        assert done and chunks[-1]["meta_info"]["completion_tokens"] == 8
    finally:
        assert s.stop() == 0


def test_bad_deployment_exits_with_one_line_error():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "frontier.sim.launch_server",
            "--model-path",
            "meta-llama/Llama-3.1-8B-Instruct",
            "--deployment",
            "DEP8",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert r.returncode == 1 and "needs a MoE model" in r.stderr
