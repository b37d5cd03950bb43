"""Arrival times (Poisson / gamma burstiness) and prompt generation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pydantic import ValidationError

from frontier.common import tokenizer
from frontier.loadgen import PointConfig
from frontier.loadgen.arrivals import arrival_offsets
from frontier.loadgen.dataset import build_prompts


def test_unlimited_rate_sends_everything_at_once():
    assert arrival_offsets(5, None) == [0.0] * 5


@pytest.mark.parametrize("burstiness", [0.5, 1.0, 4.0])
def test_gamma_arrivals_keep_the_mean_rate(burstiness):
    offs = arrival_offsets(20_000, rate=50.0, burstiness=burstiness, seed=1)
    gaps = np.diff(offs)
    assert np.mean(gaps) == pytest.approx(1 / 50, rel=0.03)
    # coefficient of variation of a gamma(k) is 1/sqrt(k): Poisson 1, burstier > 1, regular < 1
    assert np.std(gaps) / np.mean(gaps) == pytest.approx(1 / np.sqrt(burstiness), rel=0.05)


def test_arrivals_are_deterministic_per_seed():
    assert arrival_offsets(10, 5.0, seed=3) == arrival_offsets(10, 5.0, seed=3)
    assert arrival_offsets(10, 5.0, seed=3) != arrival_offsets(10, 5.0, seed=4)


def cfg(**kw):
    base = {
        "base_url": "http://x",
        "model": "m",
        "isl": 64,
        "osl": 16,
        "max_concurrency": 2,
        "num_prompts": 10,
    }
    return PointConfig(**{**base, **kw})


def test_random_prompts_have_exact_lengths_and_warmup_first():
    prompts = build_prompts(cfg(warmup_requests=3))
    assert len(prompts) == 13
    assert all(tokenizer.count_tokens(p.text) == p.input_tokens == 64 and p.output_len == 16 for p in prompts)
    assert build_prompts(cfg()) == build_prompts(cfg())


def test_range_ratio_draws_lengths_like_bench_serving():
    prompts = build_prompts(cfg(range_ratio=0.5, num_prompts=200))
    ins = [p.input_tokens for p in prompts]
    assert min(ins) >= 32 and max(ins) <= 64 and len(set(ins)) > 10
    assert all(tokenizer.count_tokens(p.text) == p.input_tokens for p in prompts)


def test_shared_prefix_prompts_share_their_start():
    prompts = build_prompts(cfg(dataset="shared-prefix", shared_prefix_len=48))
    prefixes = {" ".join(p.text.split()[:48]) for p in prompts}
    assert len(prefixes) == 1 and all(tokenizer.count_tokens(p.text) == 64 for p in prompts)
    with pytest.raises(ValidationError):
        cfg(dataset="shared-prefix", shared_prefix_len=64)


def test_sharegpt_prompts_from_a_file(tmp_path):
    data = [
        {
            "conversations": [
                {"from": "human", "value": "a b c"},
                {"from": "gpt", "value": " ".join(["x"] * 40)},
            ]
        },
        {"conversations": [{"from": "human", "value": "one"}, {"from": "gpt", "value": "too short"}]},
        {"conversations": [{"from": "human", "value": "d e f g"}]},
    ]
    f = tmp_path / "sharegpt.json"
    f.write_text(json.dumps(data))
    prompts = build_prompts(cfg(dataset="sharegpt", dataset_path=str(f), num_prompts=4))
    assert {p.text for p in prompts} == {"a b c"}
    assert all(p.output_len == 16 for p in prompts)  # the completion's 40 tokens, capped at osl
    with pytest.raises(ValidationError):
        cfg(dataset="sharegpt")


def test_config_rejects_unknown_fields_and_maps_inf():
    with pytest.raises(ValidationError):
        cfg(concurrency=3)
    assert cfg(request_rate=float("inf")).request_rate is None


def test_processes_for_and_shard_caps():
    from frontier.loadgen.runner import Shard
    from frontier.loadgen.sharding import processes_for

    assert processes_for(3000, 4000, 64) == 1
    assert processes_for(9000, 4000, 64, limit=8) == 3
    assert processes_for(9000, 4000, 2, limit=8) == 2
    assert processes_for(90000, 4000, 64, limit=8) == 8
    assert [Shard(k, 3).cap(8) for k in range(3)] == [3, 3, 2]
    with pytest.raises(ValidationError):
        cfg(max_concurrency=2, client_processes=3)
