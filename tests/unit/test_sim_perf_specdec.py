"""Speculative decoding in the performance model: settings, public acceptance lengths, costs."""

from __future__ import annotations

import pytest

from frontier.domain.catalog import get_hardware, get_model
from frontier.errors import FrontierError
from frontier.sim.perf_model import StepModel
from frontier.sim.specdec import SpecDecode, from_flags
from frontier.sim.topology import from_label

R1 = "deepseek-ai/DeepSeek-R1"
L8 = "meta-llama/Llama-3.1-8B-Instruct"


def _sm(model, hw, label, precision="fp8", **kw):
    m = get_model(model)
    return StepModel(m, get_hardware(hw), precision, from_label(label, m).groups[0].shape, **kw)


def test_from_flags_reads_argparse_keys_and_defaults():
    assert from_flags({}) is None
    assert from_flags({"speculative_algorithm": None}) is None
    s = from_flags(
        {
            "speculative_algorithm": "EAGLE",
            "speculative_num_steps": 2,
            "speculative_num_draft_tokens": 3,
            "speculative_eagle_topk": 1,
            "speculative_accept_len": "1.9",
        }
    )
    assert s == SpecDecode("EAGLE", 2, 3, 1, 1.9)
    # only the steps: a chain of steps + 1 draft tokens (SGLang with topk 1)
    assert from_flags({"speculative-algorithm": "nextn", "speculative-num-steps": 1}) == SpecDecode(
        "NEXTN", 1, 2, 1, None
    )
    with pytest.raises(FrontierError, match="speculative_num_steps"):
        from_flags({"speculative_algorithm": "EAGLE", "speculative_num_steps": 0})
    with pytest.raises(FrontierError, match="speculative_accept_len"):
        SpecDecode(accept_len=5.0)  # more than the 4 draft tokens
    with pytest.raises(FrontierError, match="speculative_algorithm"):
        SpecDecode(algorithm="MEDUSA")


def test_public_acceptance_lengths_for_deepseek_and_settable():
    # LMSYS MTP blog: 3-token window 2.18, 4-token window 2.44; DeepSeek-V3 report: 85-90% 2nd token
    assert _sm(R1, "h200_sxm", "TP8", spec=SpecDecode()).accept_len == pytest.approx(2.44)
    assert _sm(R1, "h200_sxm", "TP8", spec=SpecDecode(num_steps=2, draft_tokens=3)).accept_len == 2.18
    assert 1.85 <= _sm(R1, "h200_sxm", "TP8", spec=SpecDecode(num_steps=1, draft_tokens=2)).accept_len <= 1.9
    assert _sm(R1, "h200_sxm", "TP8", spec=SpecDecode(accept_len=3.1)).accept_len == 3.1
    assert _sm(R1, "h200_sxm", "TP8").accept_len == 1.0
    # a model without a public figure needs one
    with pytest.raises(FrontierError, match="speculative_accept_len"):
        _sm(L8, "h100_sxm", "TP1", spec=SpecDecode())


def test_mtp_iteration_costs_more_but_pays_per_request_at_low_batch():
    plain = _sm(R1, "h200_sxm", "TP8")
    mtp = _sm(R1, "h200_sxm", "TP8", spec=SpecDecode())
    for b in (1, 8, 64):
        assert mtp.step_time(b, b * 4000) > plain.step_time(b, b * 4000)
    # tokens/s per request: accept_len / iteration time; SGLang's docs: 1.8x at batch 1 on H200 TP8
    gain = mtp.accept_len / mtp.step_time(1, 4000) * plain.step_time(1, 4000)
    assert 1.3 < gain < 2.44
    # decode_times agrees with step_time and grows the context by accept_len tokens a request
    d = mtp.decode_times(8, 8 * 4000, 2)
    assert d[0] == pytest.approx(mtp.step_time(8, 8 * 4000))
    assert d[1] == pytest.approx(mtp.step_time(8, 8 * 4000 + 8 * 2.44))


def test_spec_gain_shrinks_once_verify_is_compute_bound():
    plain = _sm(L8, "h100_sxm", "TP1")
    mtp = _sm(L8, "h100_sxm", "TP1", spec=SpecDecode(accept_len=2.0))

    def gain(b):
        return mtp.accept_len * plain.step_time(b, b * 256) / mtp.step_time(b, b * 256)

    assert gain(1) > 1.5
    assert gain(512) < 0.8 * gain(1)


def test_draft_layer_kv_and_weights_shrink_the_pool():
    plain = _sm(R1, "h200_sxm", "DEP8")
    mtp = _sm(R1, "h200_sxm", "DEP8", spec=SpecDecode())
    assert mtp.weights_per_gpu > plain.weights_per_gpu
    # at least the draft layer's KV share (1 of 62 layers) is gone
    assert mtp.pool_tokens < plain.pool_tokens * 61 / 62
    assert mtp.pool_tokens > 0.9 * plain.pool_tokens


def test_graph_cap_applies_to_requests_under_spec():
    sm = _sm(R1, "h200_sxm", "TP8", cuda_graph_max_bs=32, spec=SpecDecode())
    # 32 requests x 4 draft tokens = 128 tokens still run in the graph (SGLang captures bs x draft)
    assert not sm.graphs_off(32)
    assert sm.graphs_off(33)
