"""Any OpenAI-compatible server: served model names, `ignore_eos` only when enabled (a strict server
rejects it with a reason naming the fix), streams that end with a finish_reason and no [DONE], usage
from the final chunk or counted from the chunks. Against a real aiohttp server on 127.0.0.1
(frontier.loadgen.fake_server) shaped like vLLM / transformers serve."""

from __future__ import annotations

import argparse
import asyncio
import json

import pytest

from frontier.loadgen import PointConfig, run_point
from frontier.loadgen.fake_server import FakeServerConfig, FakeSGLangServer

pytestmark = pytest.mark.timeout(60)


def cfg(url, **kw) -> PointConfig:
    base = {"base_url": url, "backend": "openai", "model": "tiny", "isl": 16, "osl": 6,
            "max_concurrency": 2, "num_prompts": 6, "request_timeout_s": 5}  # fmt: skip
    return PointConfig(**{**base, **kw})


async def against(server_cfg: FakeServerConfig, **kw):
    async with FakeSGLangServer(server_cfg) as server:
        return await run_point(cfg(server.base_url, **kw))


@pytest.mark.parametrize("backend", ["openai", "openai-chat"])
def test_strict_server_rejects_ignore_eos_with_the_fix_named(backend):
    strict = FakeServerConfig(reject_fields=("ignore_eos",))
    r = asyncio.run(against(strict, backend=backend))
    assert r.summary["status"] == "failed"
    assert all("HTTP 422" in row["error"] and "load.ignore_eos: false" in row["error"] for row in r.requests)
    assert "load.ignore_eos: false" in r.error
    r = asyncio.run(against(strict, backend=backend, ignore_eos=False))  # not sent at all now
    assert r.error is None and r.summary["completed"] == 6 and r.summary["ignore_eos"] is False


def test_served_model_name_is_sent():
    srv = FakeServerConfig(served_model_name="tiny-served")
    r = asyncio.run(against(srv, model="catalog/id"))
    assert r.summary["completed"] == 0 and "does not exist" in r.requests[0]["error"]
    r = asyncio.run(against(srv, model="tiny-served"))
    assert r.summary["completed"] == 6 and r.summary["served_model"] == "tiny-served"


@pytest.mark.parametrize("backend", ["openai", "openai-chat"])
def test_finish_reason_without_done_is_complete_and_usage_source(backend):
    r = asyncio.run(against(FakeServerConfig(omit_done=True, tokens_per_chunk=2), backend=backend))
    assert r.error is None and r.summary["completed"] == 6
    assert r.summary["usage_source"] == "server" and r.summary["total_output_tokens"] == 36
    rows = [row for row in r.requests if not row["is_warmup"]]
    assert all(row["server_prompt_tokens"] == row["intended_input_tokens"] == 16 for row in rows)
    # no usage chunk: the client counts (server_prompt_tokens unknown, no deviation to judge)
    r = asyncio.run(against(FakeServerConfig(omit_done=True, omit_usage=True), backend=backend))
    assert r.error is None and r.summary["completed"] == 6
    assert r.summary["usage_source"] == "chunks" and r.summary["total_output_tokens"] == 36
    assert r.summary["prompt_tokens_deviation"] is None
    assert all(row["server_prompt_tokens"] is None for row in r.requests)
    # neither [DONE] nor a finish_reason: truncated
    r = asyncio.run(against(FakeServerConfig(omit_done=True, omit_finish_reason=True), backend=backend))
    assert r.summary["completed"] == 0 and "without [DONE] or a finish_reason" in r.requests[0]["error"]


def _bench(argv_tail, server_cfg, tmp_path):
    from frontier.loadgen.cli import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    out = tmp_path / "res.json"

    async def main():
        async with FakeSGLangServer(server_cfg) as server:
            argv = ["bench", "--base-url", server.base_url, "--backend", "openai", "--isl", "16", "--osl", "4",
                    "--concurrency", "2", "--num-prompts", "6", "--json", str(out), *argv_tail]  # fmt: skip
            ns = parser.parse_args(argv)
            return await asyncio.get_running_loop().run_in_executor(None, ns.handler, ns)

    rc = asyncio.run(main())
    return rc, (json.loads(out.read_text()) if out.exists() else None)


def test_bench_cli_bench_serving_names(tmp_path, capsys):
    srv = FakeServerConfig(reject_fields=("ignore_eos",), served_model_name="tiny")
    rc, _ = _bench(["--model", "tiny"], srv, tmp_path)
    err = capsys.readouterr().err
    assert rc == 1 and "load.ignore_eos: false" in err and "--disable-ignore-eos" in err
    assert "word tokenizer" in err  # no --tokenizer and `tiny` not in the local cache: says how
    rc, line = _bench(
        ["--model", "tiny", "--disable-ignore-eos", "--random-range-ratio", "0.5", "--warmup-requests", "3"],
        srv, tmp_path,
    )  # fmt: skip
    assert rc == 0 and line["completed"] == 6 and line["random_range_ratio"] == 0.5
    assert "Prompt tokens: intended " in capsys.readouterr().out
    # default warm-up is 2 x C, and the default range ratio InferenceX's 0.8
    rc, line = _bench(["--model", "tiny", "--disable-ignore-eos"], srv, tmp_path)
    assert rc == 0 and line["random_range_ratio"] == 0.8


def test_bench_cli_unknown_tokenizer_says_how(tmp_path):
    from frontier.errors import FrontierError

    with pytest.raises(FrontierError, match="not in the local Hugging Face cache.*--tokenizer"):
        _bench(["--tokenizer", "no-such-org/no-such-model"], FakeServerConfig(), tmp_path)
