"""Prefill capacity from first principles, the CUDA-graph cap and FP4 in the performance model."""

from __future__ import annotations

import pytest

from frontier.domain.catalog import get_hardware, get_model
from frontier.errors import FrontierError
from frontier.sim.perf_model import StepModel, default_params, grouped_gemm_eta, prefill_work
from frontier.sim.topology import from_label

R1 = "deepseek-ai/DeepSeek-R1"
L8 = "meta-llama/Llama-3.1-8B-Instruct"


def _sm(model, hw, label, precision="fp8", params=None, **kw):
    m = get_model(model)
    return StepModel(m, get_hardware(hw), precision, from_label(label, m).groups[0].shape, params, **kw)


def _prefill_tok_s_gpu(sm, isl=4096, reqs=2):
    t = sm.step_time(0, 0, reqs * isl, reqs * prefill_work(0, isl), (isl, prefill_work(0, isl)))
    return reqs * isl / t / sm.shape.gpus


def test_params_come_from_params_yaml():
    p = default_params()
    assert 0 < p.eager_layer_ms_dense < p.eager_layer_ms_moe
    assert p.grouped_gemm_ref_peak_tflops == 1979
    assert p.grouped_gemm_tflops[0][0] == 64 and p.fp4_scale_bytes_per_param == 0.0625
    sm = _sm(L8, "h100_sxm", "TP1")
    assert sm.eager_time == pytest.approx(32 * p.eager_layer_ms_dense * 1e-3)


def test_prefill_throughput_falls_with_a_launch_overhead():
    p = default_params()
    for model, label in ((L8, "TP1"), (R1, "DEP8")):
        none = _prefill_tok_s_gpu(
            _sm(model, "h200_sxm", label, params=p.replace(eager_layer_ms_dense=0.0, eager_layer_ms_moe=0.0))
        )
        some = _prefill_tok_s_gpu(_sm(model, "h200_sxm", label, params=p))
        more = _prefill_tok_s_gpu(
            _sm(model, "h200_sxm", label, params=p.replace(eager_layer_ms_dense=1.0, eager_layer_ms_moe=5.0))
        )
        assert none > some > more, (model, none, some, more)


def test_decode_above_the_graph_cap_runs_eagerly():
    capped = _sm(L8, "h100_sxm", "TP1", cuda_graph_max_bs=64)
    free = _sm(L8, "h100_sxm", "TP1")
    at, above = capped.step_time(64, 64 * 1000), capped.step_time(65, 65 * 1000)
    assert above - at > 0.9 * capped.eager_time  # not just one more sequence's worth
    assert free.step_time(65, 65 * 1000) < above
    # under DP-attention the cap is per attention rank: DEP8 runs 8 x 64 in the graph
    dep = _sm(R1, "h200_sxm", "DEP8", cuda_graph_max_bs=64)
    assert not dep.graphs_off(512) and dep.graphs_off(513)
    # every prefill / extend iteration runs without graphs
    assert free.graphs_off(0, 128) and free.graphs_off(4, 128)


def test_grouped_gemm_efficiency_follows_deepgemm_table():
    p = default_params()
    assert grouped_gemm_eta(p, 4096) == pytest.approx(1280 / 1979)
    assert grouped_gemm_eta(p, 256) == pytest.approx(874 / 1979)
    assert grouped_gemm_eta(p, 32) == pytest.approx(grouped_gemm_eta(p, 64) / 2)
    ms = [16, 64, 100, 256, 700, 1024, 3000, 4096, 65536]
    etas = [grouped_gemm_eta(p, m) for m in ms]
    assert etas == sorted(etas)
    # so routed-expert prefill is cheaper per token with more tokens per expert
    sm = _sm(R1, "h200_sxm", "TP8")
    assert sm._moe_eta(16384) > sm._moe_eta(1024)


def test_fp4_faster_than_fp8_on_b200_at_compute_bound_prefill_with_the_same_kv():
    fp8 = _sm(R1, "b200_sxm", "DEP8", "fp8", kv_dtype="fp8")
    fp4 = _sm(R1, "b200_sxm", "DEP8", "fp4", kv_dtype="fp8")
    assert fp4.kv_bytes == fp8.kv_bytes
    assert _prefill_tok_s_gpu(fp4, 8192, 8) > 1.15 * _prefill_tok_s_gpu(fp8, 8192, 8)
    # weights at 0.5 byte + one E4M3 scale per 16 a parameter: more room for KV
    assert fp4.weights_per_gpu == pytest.approx(fp8.weights_per_gpu * 0.5625, rel=1e-6)
    assert fp4.pool_tokens > fp8.pool_tokens
    # and decode, memory bound, is faster too
    assert fp4.step_time(256, 256 * 2000) < fp8.step_time(256, 256 * 2000)


def test_long_prompt_chunk_sits_on_one_dp_attention_rank():
    sm = _sm(R1, "h200_sxm", "DEP8")
    isl = 8192
    spread = sm.step_time(0, 0, 8 * isl, 8 * prefill_work(0, isl), (isl, prefill_work(0, isl)))
    one = sm.step_time(0, 0, isl, prefill_work(0, isl), (isl, prefill_work(0, isl)))
    # one request's chunk alone costs far more than 1/8 of eight requests spread over the ranks
    assert one > 0.5 * spread


def test_moe_a2a_backends():
    with pytest.raises(FrontierError, match="moe_a2a_backend"):
        _sm(R1, "h200_sxm", "DEP8", moe_a2a_backend="nccl")
    deepep = _sm(R1, "h200_sxm", "DEP8", moe_a2a_backend="deepep")
    gather = _sm(R1, "h200_sxm", "DEP8", moe_a2a_backend="none")
    default = _sm(R1, "h200_sxm", "DEP8")
    tok = 8 * 8192
    # DeepEP sends one copy per destination GPU, fewer bytes than gathering every rank's tokens;
    # unset is SGLang's default, none
    assert 0 < deepep.comm_time(tok) < gather.comm_time(tok) == default.comm_time(tok)
    assert _sm(R1, "h200_sxm", "DEP8", moe_a2a_backend="mooncake").comm_time(tok) == deepep.comm_time(tok)
    # TP attention with EP (TEP8): tokens are on every rank; the MLP's all-reduce combines, as TP8
    tep, tp = _sm(R1, "h200_sxm", "TEP8"), _sm(R1, "h200_sxm", "TP8")
    assert tep.comm_time(tok) == pytest.approx(tp.comm_time(tok))
    # wide EP (multi-node) keeps its own model and still runs
    wide = _sm(R1, "h100_sxm", "DEP32", moe_a2a_backend="deepep")
    assert wide.wide_ep and _prefill_tok_s_gpu(wide, 2000, 8) > 0
