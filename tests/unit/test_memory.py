"""frontier.planning.memory: plan-time fit of weights + one request's KV per GPU."""

from __future__ import annotations

import pytest

from frontier.errors import FrontierError
from frontier.planning.memory import check_fit, estimate_fit

R1, LLAMA8, LLAMA70 = (
    "deepseek-ai/DeepSeek-R1",
    "meta-llama/Llama-3.1-8B-Instruct",
    "meta-llama/Llama-3.3-70B-Instruct",
)


def test_r1_bf16_tp4_h100_message():
    with pytest.raises(FrontierError) as e:
        check_fit("TP4", R1, "h100_sxm", "bf16", isl=1024, osl=1024)
    msg = str(e.value)
    assert msg.startswith("DeepSeek-R1 bf16 does not fit TP4 on h100_sxm: needs ~")
    assert "has 80 GB" in msg and "per GPU" in msg


@pytest.mark.parametrize(
    "label,model,hw,prec",
    [
        ("TP8", R1, "h200_sxm", "fp8"),
        ("TEP8", R1, "h200_sxm", "fp8"),
        ("DEP8", R1, "h200_sxm", "fp8"),
        ("DEP16", R1, "h100_sxm", "fp8"),
        ("2xTEP8+1xDEP16", R1, "h200_sxm", "fp8"),
        ("TP1", LLAMA8, "h100_sxm", "bf16"),
        ("DP8", LLAMA8, "h100_sxm", "fp8"),
        ("TP4", LLAMA70, "h100_sxm", "bf16"),
    ],
)
def test_fits(label, model, hw, prec):
    r = check_fit(label, model, hw, prec, isl=1024, osl=1024, concurrency=64)
    assert r.fits and r.concurrency_fits
    assert all(0 < g.needed_gb <= g.budget_gb for g in r.groups)


@pytest.mark.parametrize(
    "label,model,hw,prec",
    [
        ("TP8", R1, "h100_sxm", "fp8"),  # 671 GB / 8 = 84 GB > 70 GB static
        ("TP1", LLAMA70, "h100_sxm", "bf16"),
        ("SEP4+1xDEP8", R1, "h200_sxm", "fp8"),  # 4 GPUs cannot hold R1's experts
    ],
)
def test_does_not_fit(label, model, hw, prec):
    assert not estimate_fit(label, model, hw, prec, isl=1024, osl=1024).fits
    with pytest.raises(FrontierError, match="does not fit"):
        check_fit(label, model, hw, prec, isl=1024, osl=1024)


def test_pd_message_names_the_side():
    with pytest.raises(FrontierError, match=r"SEP4 \(prefill side of 1xSEP4\+1xDEP8\)"):
        check_fit("SEP4+1xDEP8", R1, "h200_sxm", "fp8", isl=1024, osl=1024)


def test_expert_parallel_and_dp_attention_shapes():
    tp = estimate_fit("TP8", R1, "h200_sxm", "fp8", isl=1024, osl=1024).groups[0]
    dep = estimate_fit("DEP8", R1, "h200_sxm", "fp8", isl=1024, osl=1024).groups[0]
    assert dep.weights_gb > tp.weights_gb  # attention replicated under DP-attention
    assert dep.max_requests > tp.max_requests  # but requests spread over 8 ranks
    dp = estimate_fit("DP8", LLAMA8, "h100_sxm", "bf16", isl=1024, osl=1024).groups[0]
    tp1 = estimate_fit("TP1", LLAMA8, "h100_sxm", "bf16", isl=1024, osl=1024).groups[0]
    assert dp.weights_gb == pytest.approx(tp1.weights_gb) and dp.max_requests == 8 * tp1.max_requests


def test_fp8_halves_weights_and_kv():
    b = estimate_fit("TP2", LLAMA8, "h100_sxm", "bf16", isl=2048, osl=0).groups[0]
    f = estimate_fit("TP2", LLAMA8, "h100_sxm", "fp8", isl=2048, osl=0).groups[0]
    assert f.weights_gb == pytest.approx(b.weights_gb / 2)
    assert f.kv_gb_one_request == pytest.approx(b.kv_gb_one_request / 2)


def test_huge_concurrency_reported_not_raised():
    r = check_fit("TP1", LLAMA8, "h100_sxm", "bf16", isl=8192, osl=8192, concurrency=100_000)
    assert r.fits and r.concurrency_fits is False


def test_context_and_input_errors():
    with pytest.raises(FrontierError, match="exceeds its context"):
        check_fit("TP8", LLAMA8, "h100_sxm", "bf16", isl=131072, osl=1)
    with pytest.raises(FrontierError):
        check_fit("TP8", "nope", "h100_sxm", "bf16", isl=1, osl=1)
    with pytest.raises(FrontierError):
        check_fit("TP8", LLAMA8, "h100_sxm", "int3", isl=1, osl=1)
    with pytest.raises(FrontierError):
        check_fit("TP8", LLAMA8, "h100_sxm", "bf16", isl=1, osl=1, mem_fraction_static=1.5)
