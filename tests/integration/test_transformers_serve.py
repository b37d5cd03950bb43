"""A real third-party OpenAI-compatible server on CPU: `transformers serve` with a tiny random-weight
Llama and a BPE tokenizer made inside the test (no hub). It rejects `ignore_eos` (422), ends its
streams with a finish_reason and usage but no [DONE], and counts prompts with its own tokenizer:
`frontier bench` and a `frontier run` on engine endpoint land points whose server-reported prompt
tokens equal the intended ones. Needs .venv-bench (scripts/bench-serving-env.sh) with
transformers' serving extra (fastapi, uvicorn, accelerate, openai); skips without it."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from frontier.loadgen import PointConfig, run_point_sync
from tests.support import make_tokenizer, q

ROOT = Path(__file__).resolve().parents[2]
PY = ROOT / ".venv-bench" / "bin" / "python"
SERVE = ROOT / ".venv-bench" / "bin" / "transformers"
MODEL = "meta-llama/Llama-3.1-8B-Instruct"


def _has_serving() -> bool:
    if not (PY.exists() and SERVE.exists()):
        return False
    code = "import torch, transformers, fastapi, uvicorn, accelerate, openai"
    return (
        subprocess.run([str(PY), "-c", code], check=False, capture_output=True, timeout=120).returncode == 0
    )


pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(not _has_serving(), reason="needs .venv-bench with transformers[serving] (CPU torch)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    model = tmp_path_factory.mktemp("tiny") / "model"
    make_tokenizer(model)
    subprocess.run([str(PY), str(ROOT / "tests" / "tiny_model.py"), str(model)], check=True, timeout=240,
                   capture_output=True)  # fmt: skip
    port = _free_port()
    log = open(model.parent / "serve.log", "w")  # noqa: SIM115
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.Popen(
        [str(SERVE), "serve", str(model), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("transformers serve did not become healthy:\n" + (model.parent / "serve.log").read_text())
    yield url, model
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


def test_bench_on_transformers_serve(server):
    url, model = server
    base = {"base_url": url, "backend": "openai", "model": str(model), "tokenizer": str(model), "isl": 200,
            "osl": 8, "max_concurrency": 2, "num_prompts": 6, "warmup_requests": 2, "range_ratio": 0.8,
            "request_timeout_s": 120}  # fmt: skip
    r = run_point_sync(PointConfig(**base))  # ignore_eos on: a strict server rejects the field
    assert r.summary["completed"] == 0 and "load.ignore_eos: false" in r.error and "422" in r.error
    r = run_point_sync(PointConfig(**base, ignore_eos=False))
    s = r.summary
    assert r.error is None and s["completed"] == 6, r.error
    assert s["prompt_tokens_deviation"] == 0.0 and s["usage_source"] == "server"  # no [DONE]: still complete
    assert s["server_model"] and s["client_version"].startswith("frontier ")  # provenance (GET /v1/models)
    rows = [x for x in r.requests if not x["is_warmup"]]
    assert all(x["server_prompt_tokens"] == x["intended_input_tokens"] for x in rows)
    assert all(160 <= x["intended_input_tokens"] <= 200 for x in rows)


def test_run_on_engine_endpoint_against_transformers_serve(server, tmp_path):
    from frontier.domain.spec import parse_spec
    from frontier.run import RunContext, run_sweep

    url, model = server
    data = {
        "name": "ts", "engine": "endpoint", "scenarios": [{"name": "t", "isl": 128, "osl": 8}],
        "concurrencies": [2], "request_timeout_s": 120,
        "endpoint": {"base_url": url, "backend": "openai", "served_model_name": str(model)},
        "load": {"num_prompts": 4, "warmup_multiplier": 1, "tokenizer": str(model), "ignore_eos": False},
        "matrix": [{"model": MODEL, "hardware": "h100_sxm", "labels": ["TP1"]}],
    }  # fmt: skip
    ctx = RunContext("ts-1", dt.date(2026, 3, 2), str(tmp_path / "wh"), str(tmp_path / "art"))
    status, _ = run_sweep(parse_spec(data), ctx)
    wh = tmp_path / "wh"
    rows = q(
        wh, "points", "select status, prompt_tokens_deviation, ignore_eos, served_model, completed from t"
    )
    assert rows == [("ok", 0.0, False, str(model), 4)], q(wh, "failures", "select reason from t")
    assert status == "success"
