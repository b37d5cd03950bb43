"""Shape checks of the simulator's performance model and scheduler (virtual time)."""

from __future__ import annotations

import itertools

import pytest

from frontier.domain.catalog import get_hardware, get_model
from frontier.errors import FrontierError
from frontier.sim.perf_model import StepModel, default_params
from frontier.sim.predict import predict_point
from frontier.sim.topology import from_label

R1 = "deepseek-ai/DeepSeek-R1"
L70 = "meta-llama/Llama-3.3-70B-Instruct"
L8 = "meta-llama/Llama-3.1-8B-Instruct"
LADDER = (4, 8, 16, 32, 64, 128, 256)


def _ladder(model, hw, label, isl, osl, ladder=LADDER, **kw):
    return [predict_point(model, hw, "fp8", label, isl, osl, c, **kw) for c in ladder]


@pytest.mark.parametrize(
    "model,hw,label",
    [(L8, "h100_sxm", "TP1"), (L70, "h200_sxm", "TP4"), (R1, "h200_sxm", "DEP8"), (R1, "h200_sxm", "TP8")],
)
def test_throughput_per_gpu_falls_as_interactivity_rises(model, hw, label):
    pts = sorted(_ladder(model, hw, label, 1024, 256), key=lambda m: m["tok_s_user"])
    users = [m["tok_s_user"] for m in pts]
    gpus = [m["tok_s_gpu"] for m in pts]
    assert len({round(u, 6) for u in users}) == len(users)
    # ordered by interactivity, throughput per GPU never rises (allow 1% noise on a plateau)
    for lo, hi in itertools.pairwise(gpus):
        assert hi <= lo * 1.01, (users, gpus)
    assert gpus[0] > 3 * gpus[-1]


def test_dep8_beats_tp8_at_high_concurrency_on_deepseek():
    # short prompts at high concurrency: DP attention runs 8 decode batches of MLA side by side
    # where TP8 replicates the latent KV and the attention work on every rank
    # (both at one memory fraction: SGLang's own default reserves ~18 GB more under DP attention
    # for its graphs, frontier.sim.sglang_defaults, which recipes override with --mem-fraction-static)
    dep = predict_point(R1, "h200_sxm", "fp8", "DEP8", 1024, 1024, 256, mem_fraction=0.9)
    tp = predict_point(R1, "h200_sxm", "fp8", "TP8", 1024, 1024, 256, mem_fraction=0.9)
    assert dep["tok_s_gpu"] > tp["tok_s_gpu"], (dep["tok_s_gpu"], tp["tok_s_gpu"])
    # and TP8 is the faster one per user at low concurrency
    assert (
        predict_point(R1, "h200_sxm", "fp8", "TP8", 1024, 1024, 4)["tok_s_user"]
        > predict_point(R1, "h200_sxm", "fp8", "DEP8", 1024, 1024, 4)["tok_s_user"]
    )


def _frontier_at(points, user):
    """Best tok/s/GPU among points with interactivity >= user (0 when none reach it)."""
    return max((m["tok_s_gpu"] for m in points if m["tok_s_user"] >= user), default=0.0)


def test_disaggregation_beats_aggregated_peer_at_8k_in_low_latency_region():
    ladder = (2, 4, 8, 16, 32)
    pd = _ladder(R1, "h200_sxm", "1xTEP8+1xDEP8", 8192, 1024, ladder)
    agg = _ladder(R1, "h200_sxm", "DEP16", 8192, 1024, ladder)
    assert pd[0]["gpus"] == agg[0]["gpus"] == 16
    # low-latency region: interactivity targets between the aggregated ladder's median point
    # and its fastest point; the disaggregated frontier must be above at each of them
    targets = sorted(m["tok_s_user"] for m in agg)[len(agg) // 2 :]
    for u in targets:
        assert _frontier_at(pd, u) > _frontier_at(agg, u), (u, pd, agg)


def test_ttft_grows_with_isl():
    ttft = [
        predict_point(L70, "h200_sxm", "fp8", "TP4", isl, 128, 4)["median_ttft_ms"]
        for isl in (512, 2048, 8192, 16384)
    ]
    assert ttft == sorted(ttft) and ttft[-1] > 8 * ttft[0], ttft


def test_ttft_grows_with_queueing_once_kv_pool_is_full():
    hw, model = get_hardware("h100_sxm"), get_model(L70)
    sm = StepModel(model, hw, "fp8", from_label("TP2", model).groups[0].shape, default_params())
    fits = int(sm.pool_tokens / (8192 + 1024))  # requests the KV pool holds at once
    below = predict_point(L70, "h100_sxm", "fp8", "TP2", 8192, 1024, max(1, fits // 2))
    above = predict_point(L70, "h100_sxm", "fp8", "TP2", 8192, 1024, fits * 3)
    assert above["median_ttft_ms"] > 5 * below["median_ttft_ms"]
    # throughput saturates: tripling concurrency past the pool gives (almost) nothing
    at = predict_point(L70, "h100_sxm", "fp8", "TP2", 8192, 1024, fits)
    assert above["output_throughput"] < 1.25 * at["output_throughput"]


def test_same_seed_same_numbers_and_seed_matters():
    a = predict_point(L70, "h200_sxm", "fp8", "TP4", 1024, 256, 32, seed=7)
    b = predict_point(L70, "h200_sxm", "fp8", "TP4", 1024, 256, 32, seed=7)
    c = predict_point(L70, "h200_sxm", "fp8", "TP4", 1024, 256, 32, seed=8)
    assert a == b
    assert a["median_tpot_ms"] != c["median_tpot_ms"]
    assert abs(a["median_tpot_ms"] - c["median_tpot_ms"]) < 0.1 * a["median_tpot_ms"]


def test_memory_bounds_and_mla_replication():
    hw, r1 = get_hardware("h200_sxm"), get_model(R1)
    tp8 = StepModel(r1, hw, "fp8", from_label("TP8", r1).groups[0].shape)
    dep8 = StepModel(r1, hw, "fp8", from_label("DEP8", r1).groups[0].shape)
    # MLA's latent KV is replicated across TP ranks, not across DP-attention ranks
    assert dep8.pool_tokens > 3 * tp8.pool_tokens
    assert tp8.weights_per_gpu < dep8.weights_per_gpu  # DP-attention replicates dense weights
    bf16_70b = StepModel(
        get_model(L70), get_hardware("h100_sxm"), "bf16", from_label("TP1", get_model(L70)).groups[0].shape
    )
    with pytest.raises(FrontierError, match="does not fit"):
        bf16_70b.check_fits("TP1")


def test_decode_step_is_memory_bound_then_grows_with_batch():
    hw, m = get_hardware("h100_sxm"), get_model(L8)
    sm = StepModel(m, hw, "fp8", from_label("TP1", m).groups[0].shape)
    t1, t64, t512 = (sm.step_time(b, b * 2048) for b in (1, 64, 512))
    assert t1 < t64 < t512
    weights_time = sm.weights_per_gpu / (hw.hbm_bw_tbs * 1e12)
    assert weights_time < t1 < 4 * weights_time


def test_exact_lengths_keep_lock_step_waves_and_range_ratio_breaks_them():
    # ignore_eos + exact OSL: a wave of C requests finishes in one iteration, the next C prompts
    # queue behind each other's prefill (SGLang runs prefill batches first, one 8k chunk each)
    c4 = predict_point(R1, "h200_sxm", "fp8", "TP8", 8192, 1024, 4)
    c64 = predict_point(R1, "h200_sxm", "fp8", "TP8", 8192, 1024, 64)
    assert c64["median_ttft_ms"] > 8 * c4["median_ttft_ms"]
    # bench_serving's --random-range-ratio 0.8 spreads finish times: waves dissolve
    rr = predict_point(R1, "h200_sxm", "fp8", "TP8", 8192, 1024, 64, range_ratio=0.8)
    assert rr["median_ttft_ms"] < 0.2 * c64["median_ttft_ms"]


def test_kv_overcommit_retracts_and_every_request_still_completes():
    from frontier.sim.cluster import Cluster
    from frontier.sim.predict import build_spec
    from frontier.sim.virtual import closed_loop

    spec = build_spec(L70, "h100_sxm", "fp8", "TP2")
    cl = Cluster(spec)
    fits = int(cl.engines[0].pool_tokens / (2048 + 2048))
    reqs = closed_loop(cl, 2048, 2048, fits * 2, fits * 4, warmup=0)
    assert all(r.done and r.error is None and r.finish is not None for r in reqs)
    # the decaying new-token ratio admits more than the pool holds at full length: SGLang retracts
    assert cl.engines[0].retractions > 0


def test_dp_attention_divides_chunked_prefill_size():
    from frontier.sim.cluster import Cluster
    from frontier.sim.predict import build_spec

    dep = Cluster(build_spec(R1, "h200_sxm", "fp8", "DEP8", chunk=8192)).engines[0]
    tp = Cluster(build_spec(R1, "h200_sxm", "fp8", "TP8", chunk=8192)).engines[0]
    assert (dep.chunk, dep.budget) == (1024, 8192) and (tp.chunk, tp.budget) == (8192, 8192)
    assert dep.init_ratio == pytest.approx(0.3 * tp.init_ratio)  # schedule_conservativeness x 0.3


def test_wide_ep_model_only_touches_multi_node_expert_parallel_shapes():
    r1, hw = get_model(R1), get_hardware("h100_sxm")
    p = default_params()
    worse = p.replace(ep_balancedness=0.5, eta_a2a_rdma=0.5)
    dep8 = from_label("DEP8", r1).groups[0].shape
    assert StepModel(r1, hw, "fp8", dep8, p).step_time(2048, 2048 * 2000) == StepModel(
        r1, hw, "fp8", dep8, worse
    ).step_time(2048, 2048 * 2000)
    dep72 = from_label("DEP72", r1).groups[0].shape
    b = 256 * 72
    fast, slow = (StepModel(r1, hw, "fp8", dep72, q).step_time(b, b * 2000) for q in (p, worse))
    assert slow > fast
    # two-batch overlap hides part of the all-to-all: per-GPU decode throughput grows with batch
    sm = StepModel(r1, hw, "fp8", dep72, p)
    tput = [bb / sm.step_time(bb * 72, bb * 72 * 2000) for bb in (32, 128, 256)]
    assert tput == sorted(tput)
    # decode_times agrees with step_time under wide EP
    assert sm.decode_times(b, b * 2000, 2)[1] == sm.step_time(b, b * 2000 + b)
