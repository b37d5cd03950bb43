"""--scheduler-recv-interval: SGLang's SchedulerRecvSkipper in the simulated scheduler."""

from __future__ import annotations

import pytest

from frontier.sim.predict import build_spec, predict_point
from frontier.sim.sglang_defaults import parse_flags

R1 = "deepseek-ai/DeepSeek-R1"
L8 = "meta-llama/Llama-3.1-8B-Instruct"


def _point(c: int, interval: int, model: str = L8, hw: str = "h200_sxm", label: str = "TP1") -> dict:
    flags = {"single": ("--scheduler-recv-interval", str(interval))}
    return predict_point(model, hw, "fp8", label, 1024, 256, c, range_ratio=0.8, server_flags=flags)


def test_new_requests_wait_for_the_poll_and_decode_stalls_less():
    every, skip = _point(32, 1), _point(32, 30)
    assert every["completed"] == skip["completed"] == 320
    # a request arriving mid-decode waits up to 30 decode iterations for the scheduler's poll ...
    assert skip["mean_ttft_ms"] > every["mean_ttft_ms"] + 5 * skip["median_tpot_ms"]
    # ... and the prefills it gathers interrupt the decode batch less often
    assert skip["mean_tpot_ms"] <= every["mean_tpot_ms"] * 1.01


def test_an_idle_server_receives_at_once():
    # one request at a time: each arrives at an idle server (SGLang's idle loop polls at once)
    every, skip = _point(1, 1), _point(1, 30)
    assert skip["mean_ttft_ms"] == pytest.approx(every["mean_ttft_ms"], rel=1e-9)


def test_the_interval_comes_from_the_flags_and_the_recipe_default_is_one():
    assert parse_flags(["--scheduler-recv-interval", "30"])["scheduler_recv_interval"] == 30
    spec = build_spec(
        R1, "b200_sxm", "fp8", "TP8", server_flags={"single": ("--scheduler-recv-interval", "10")}
    )
    g = spec.topology.groups[0]
    assert spec.derived("single", g.shape).recv_interval == 10
    plain = build_spec(R1, "b200_sxm", "fp8", "TP8")
    assert plain.derived("single", g.shape).recv_interval == 1
    with pytest.raises(Exception, match="scheduler-recv-interval"):
        parse_flags(["--scheduler-recv-interval", "0"])
