"""Real tokenizers end to end: `frontier sim-server --tokenizer-path` counts text with a real
tokenizer, the load generator makes prompts of exact length on it, and a client on the wrong
tokenizer fails the point with a reason. The tokenizer is trained inside the test (no hub)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from frontier.loadgen import PointConfig, run_point_sync
from tests.support import make_tokenizer

pytestmark = [pytest.mark.timeout(120), pytest.mark.skipif(
    __import__("importlib").util.find_spec("tokenizers") is None, reason="needs `tokenizers` (extra hf)"
)]  # fmt: skip

ROOT = Path(__file__).resolve().parents[2]
MODEL = "meta-llama/Llama-3.1-8B-Instruct"


def _start(args: list[str]) -> tuple[subprocess.Popen, str | None, str]:
    cmd = [sys.executable, "-m", "frontier.cli.main", *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert proc.stdout is not None
    seen, url = [], None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if m := re.search(r"Uvicorn running on (http://\S+)", line):
            url = m.group(1)
        if "ready to roll" in line:
            break
    return proc, url, "".join(seen)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def tok_path(tmp_path_factory) -> Path:
    return make_tokenizer(tmp_path_factory.mktemp("tok"))


@pytest.fixture(scope="module")
def sim(tok_path):
    proc, url, out = _start([
        "sim-server", "--model-path", MODEL, "--tokenizer-path", str(tok_path), "--hardware", "h100_sxm",
        "--port", "0", "--time-scale", "20",
    ])  # fmt: skip
    if url is None:
        _stop(proc)
        pytest.fail(f"sim-server did not start:\n{out}")
    yield url
    _stop(proc)


def test_readme_sim_server_command_runs_verbatim():
    readme = (ROOT / "README.md").read_text()
    m = re.search(r"^\.venv/bin/frontier (sim-server .*?)\s+#", readme.replace("\\\n", " "), re.MULTILINE)
    assert m, "README has no `frontier sim-server` command"
    args = shlex.split(m.group(1))
    proc, url, out = _start(args)
    try:
        if url is None and "address already in use" in out.lower():
            pytest.skip(f"the README's port is taken on this machine: {out.strip().splitlines()[-1]}")
        assert url is not None and "ready to roll" in out, out
        assert "deployment=TP2" in out and "hardware=h100_sxm" in out, out
    finally:
        _stop(proc)


def test_sim_server_help_and_flags_after_double_dash():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = [sys.executable, "-m", "frontier.cli.main", "sim-server"]
    r = subprocess.run([*run, "-h"], check=False, capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0 and "--tokenizer-path" in r.stdout and "--tp-size" in r.stdout
    # `--` before the flags: they still count (a bad hardware name is reported, not dropped)
    r = subprocess.run(
        [*run, "--", "--hardware", "nope"], check=False, capture_output=True, text=True, env=env, timeout=60
    )
    assert r.returncode == 1 and "nope" in r.stderr
    r = subprocess.run([sys.executable, "-m", "frontier.cli.main", "validate", "x", "--bogus"],
                       check=False, capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
    assert r.returncode == 2 and "unrecognized arguments: --bogus" in r.stderr


@pytest.mark.parametrize("backend", ["sglang", "openai"])
def test_exact_prompt_tokens_on_a_real_tokenizer(sim, tok_path, backend):
    cfg = PointConfig(
        base_url=sim, backend=backend, model=MODEL, isl=300, osl=8, max_concurrency=4, num_prompts=16,
        warmup_requests=2, range_ratio=0.8, tokenizer=str(tok_path), request_timeout_s=30,
    )  # fmt: skip
    r = run_point_sync(cfg)
    assert r.error is None and r.summary["completed"] == 16
    rows = [row for row in r.requests if not row["is_warmup"]]
    # the server's count (special tokens included) is exactly the intended length, per request
    assert all(row["server_prompt_tokens"] == row["intended_input_tokens"] for row in rows)
    lengths = [row["intended_input_tokens"] for row in rows]
    assert all(240 <= n <= 300 for n in lengths) and len(set(lengths)) > 1  # uniform in [0.8 L, L]
    assert r.summary["prompt_tokens_deviation"] == 0.0
    assert r.summary["usage_source"] == "server" and r.summary["tokenizer"] == str(tok_path)
    assert r.summary["range_ratio"] == 0.8 and r.summary["ignore_eos"] is True


def test_wrong_tokenizer_fails_the_point_with_a_reason(sim):
    # the fake word tokenizer's prompts are several real tokens per word: far off the intended ISL
    cfg = PointConfig(
        base_url=sim, backend="openai", model=MODEL, isl=64, osl=4, max_concurrency=2, num_prompts=4,
        request_timeout_s=30,
    )  # fmt: skip
    r = run_point_sync(cfg)
    assert r.summary["status"] == "failed" and r.summary["completed"] == 4
    assert r.summary["prompt_tokens_deviation"] > 0.05
    assert "prompt tokens off by" in r.error and "--tokenizer" in r.error


def test_run_on_engine_endpoint_lands_exact_prompt_tokens(tmp_path, tok_path):
    """`frontier run` on engine endpoint: a server serving the model under another name, with a real
    tokenizer; points land with the server's prompt tokens equal to the intended ones and the load
    shape recorded; a client on the word tokenizer fails the point saying so."""
    import datetime as dt

    from frontier.domain.spec import parse_spec
    from frontier.run import RunContext, run_sweep
    from tests.support import q

    proc, url, out = _start([
        "sim-server", "--model-path", MODEL, "--tokenizer-path", str(tok_path), "--served-model-name", "tiny",
        "--hardware", "h100_sxm", "--port", "0", "--time-scale", "1",
    ])  # fmt: skip
    try:
        assert url, out
        data = {
            "name": "ep", "engine": "endpoint", "scenarios": [{"name": "t", "isl": 200, "osl": 8}],
            "concurrencies": [2], "request_timeout_s": 30,
            "endpoint": {"base_url": url, "backend": "openai", "served_model_name": "tiny"},
            "load": {"num_prompts": 8, "warmup_multiplier": 1, "tokenizer": str(tok_path)},
            "matrix": [{"model": MODEL, "hardware": "h100_sxm", "labels": ["TP1"]}],
        }  # fmt: skip
        ctx = RunContext("ep-1", dt.date(2026, 3, 1), str(tmp_path / "wh"), str(tmp_path / "art"))
        assert run_sweep(parse_spec(data), ctx)[0] == "success"
        wh = tmp_path / "wh"
        rows = q(wh, "points", "select status, prompt_tokens_deviation, range_ratio, ignore_eos, tokenizer,"
                 " served_model, usage_source, intended_input_tokens, total_input_tokens, server_model from t")  # fmt: skip
        assert rows == [
            ("ok", 0.0, 0.8, True, str(tok_path), "tiny", "server", rows[0][7], rows[0][7], "tiny")
        ]
        bad = q(wh, "requests", "select count(*) from t where server_prompt_tokens != intended_input_tokens")
        assert bad == [(0,)]
        # the same server measured with the word tokenizer: the point fails, the reason says why
        data["load"]["tokenizer"] = "words"
        ctx = RunContext("ep-2", dt.date(2026, 3, 1), str(tmp_path / "wh"), str(tmp_path / "art"))
        assert run_sweep(parse_spec(data), ctx)[0] != "success"
        reasons = q(wh, "failures", "select reason from t where run_id = 'ep-2'")
        assert len(reasons) == 1 and "prompt tokens off by" in reasons[0][0]
    finally:
        _stop(proc)


def test_run_without_a_tokenizer_in_the_cache_fails_saying_how(sim, tmp_path, monkeypatch):
    """engine endpoint, no load.tokenizer: the model id is looked up in the local HF cache only;
    a miss fails the item (no request sent) with how to provide one."""
    import datetime as dt

    from frontier.domain.spec import parse_spec
    from frontier.run import RunContext, run_sweep
    from tests.support import q

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    data = {
        "name": "nocache", "engine": "endpoint", "scenarios": [{"name": "t", "isl": 64, "osl": 4}],
        "concurrencies": [1], "endpoint": {"base_url": sim, "backend": "openai"},
        "load": {"num_prompts": 2, "warmup_multiplier": 0},
        "matrix": [{"model": MODEL, "hardware": "h100_sxm", "labels": ["TP1"]}],
    }  # fmt: skip
    ctx = RunContext("nc-1", dt.date(2026, 3, 1), str(tmp_path / "wh"), str(tmp_path / "art"))
    assert run_sweep(parse_spec(data), ctx)[0] == "failed"
    (reason,) = q(tmp_path / "wh", "failures", "select reason from t")[0]
    assert f"tokenizer '{MODEL}'" in reason and "not in the local Hugging Face cache" in reason
    assert "load.tokenizer" in reason
