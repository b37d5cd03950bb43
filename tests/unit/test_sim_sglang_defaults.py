"""SGLang 0.5.23's derived server settings (frontier.sim.sglang_defaults) against hand-computed values.

Every expected number below is worked out by hand from SGLang's formulas (memory_hook.
handle_gpu_memory_settings, parallel_hook.handle_data_parallelism, speculative_hook, kv_cache_configurator.
resolve_max_num_reqs), with nvidia-smi's memory.total: H200 143771 MiB, B200 183359 MiB.
"""

from __future__ import annotations

import pytest

from frontier.domain.catalog import get_hardware, get_model
from frontier.errors import FrontierError
from frontier.planning.engines import get_engine, recipe_argv, role_server_flags
from frontier.sim.cluster import Cluster, SimSpec
from frontier.sim.config import parse_config
from frontier.sim.perf_model import StepModel
from frontier.sim.sglang_defaults import derive, parse_flags
from frontier.sim.topology import from_label
from tests.support import spec_for

R1, LLAMA = "deepseek-ai/DeepSeek-R1", "meta-llama/Llama-3.1-8B-Instruct"
MIB = 2**20
H200, B200 = 143771, 183359


def _group(label: str, model, role: str):
    return next(g for g in from_label(label, model).groups if g.role == role)


def _weights(model, hw, precision, shape, spec=None) -> float:
    """Weight bytes a GPU as the simulator's perf model counts them (draft model and NVFP4 scales
    included where it models them)."""
    import inspect

    kw = (
        {"spec": spec}
        if spec is not None and "spec" in inspect.signature(StepModel.__init__).parameters
        else {}
    )
    return StepModel(model, hw, precision, shape, **kw).weights_per_gpu


def _running(pool: int, context: int) -> int:
    """resolve_max_num_reqs without --max-running-requests."""
    return min(max(min(int(pool / context * 512), 4096), 2048), pool // 2)


def test_h200_tp8_deepseek_r1_fp8():
    m, hw = get_model(R1), get_hardware("h200_sxm")
    shape = _group("TP8", m, "single").shape
    d = derive("single", [], m, hw, shape, "fp8", "fp8")
    # chunk 8192, decode graph max_bs 512 (H200, tp >= 4); reserved = 512 + 8192 * 1.5 + 8 / 8 * 1024
    # + decode graphs 512 * 2 + MLA prefill graphs 1536 = 16384 MiB
    assert d.reserved_mem_mib == 16384
    assert d.mem_fraction_static == round((H200 - 16384) / H200, 3) == 0.886
    assert (d.chunked_prefill_size, d.chunked_prefill_per_rank, d.max_prefill_tokens) == (8192, 8192, 16384)
    # KV pool = 0.886 x memory - weights (671 GB FP8 over 8 GPUs), 35136 B a token (FP8 MLA latent)
    assert _weights(m, hw, "fp8", shape) == pytest.approx(671e9 / 8)
    pool = int((0.886 * H200 * MIB - 671e9 / 8) / 35136)
    assert abs(d.kv_pool_tokens_per_rank - pool) <= 1
    assert d.max_running_requests == _running(pool, 163840) == 4096
    assert d.cuda_graph_max_bs == 512 and d.spec is None


def test_dep8_decode_role_with_deepep():
    m, hw = get_model(R1), get_hardware("h200_sxm")
    shape = _group("1xTEP8+1xDEP8", m, "decode").shape
    d = derive("decode", ["--moe-a2a-backend", "deepep"], m, hw, shape, "fp8", "fp8")
    # decode role: activation tokens max(512 running x 1 draft, 2048) = 2048; 512 + 3072 + 1024
    # + decode graphs 1024 + DP attention 512 * 8 * 3 + (max_bs > 300) 512 * 8 * 1.5 = 24064,
    # + DeepEP a2a buffers 2048 = 26112
    assert d.reserved_mem_mib == 26112
    assert d.mem_fraction_static == 0.818
    assert d.chunked_prefill_per_rank == 8192 // 8 and d.attn_dp == 8
    assert d.max_running_per_rank == _running(d.kv_pool_tokens_per_rank, 163840)
    assert d.max_running_requests == 8 * d.max_running_per_rank
    assert d.cuda_graph_max_bs == 512
    # with --max-running-requests 512: 64 per DP rank, decode graphs up to 64 a rank
    d = derive("decode", ["--max-running-requests", "512"], m, hw, shape, "fp8", "fp8")
    assert (d.max_running_per_rank, d.max_running_requests, d.cuda_graph_max_bs) == (64, 512, 64)
    # the prefill role: no decode graphs, MLA prefill graphs: 512 + 12288 + 1024 + 1536 = 15360
    p = derive("prefill", [], m, hw, _group("1xTEP8+1xDEP8", m, "prefill").shape, "fp8", "fp8")
    assert (p.reserved_mem_mib, p.mem_fraction_static, p.cuda_graph_max_bs) == (15360, 0.893, 0)


def test_b200_fp4_and_mtp():
    m, hw = get_model(R1), get_hardware("b200_sxm")
    shape = _group("TP8", m, "single").shape
    d = derive("single", [], m, hw, shape, "fp4", "fp8")
    # B200 (> 160 GiB): chunk 16384, max_bs 512; 512 + 24576 + 1024 + 1024 + 1536 = 28672
    assert d.reserved_mem_mib == 28672
    assert d.mem_fraction_static == round((B200 - 28672) / B200, 3) == 0.844
    assert d.chunked_prefill_size == 16384
    pool = int((0.844 * B200 * MIB - _weights(m, hw, "fp4", shape)) / 35136)
    assert abs(d.kv_pool_tokens_per_rank - pool) <= 1
    mtp = ["--speculative-algorithm", "EAGLE", "--speculative-num-steps", "2"]
    mtp += ["--speculative-eagle-topk", "1", "--speculative-num-draft-tokens", "3"]
    s = derive("single", mtp, m, hw, shape, "fp4", "fp8")
    # speculative decoding: 48 running requests unless given, graphs up to 48; the MTP layer's KV
    assert (s.max_running_requests, s.cuda_graph_max_bs) == (48, 48)
    assert s.mem_fraction_static == d.mem_fraction_static
    # the draft (MTP) layer's KV cells are part of every token's, its weights of the static budget
    pool = int((0.844 * B200 * MIB - _weights(m, hw, "fp4", shape, s.spec)) / (35136 * 62 / 61))
    assert abs(s.kv_pool_tokens_per_rank - pool) <= 1


def test_llama_8b_tp1_h200():
    m, hw = get_model(LLAMA), get_hardware("h200_sxm")
    shape = _group("TP1", m, "single").shape
    d = derive("single", [], m, hw, shape, "bf16", "bf16")
    # tp < 4: max_bs 256; non-MLA prefill graphs: 58 captured sizes up to 8192 x 8 MiB = 464;
    # 512 + 12288 + 1 / 8 * 1024 + 512 + 464 = 13904
    assert d.reserved_mem_mib == 13904
    assert d.mem_fraction_static == 0.903
    assert _weights(m, hw, "bf16", shape) == pytest.approx(8.03e9 * 2)
    pool = int((0.903 * H200 * MIB - 8.03e9 * 2) / 131072)
    assert abs(d.kv_pool_tokens_per_rank - pool) <= 1
    assert d.max_running_requests == _running(pool, 131072)
    assert d.cuda_graph_max_bs == 256


def test_explicit_flags_win():
    m, hw = get_model(R1), get_hardware("h200_sxm")
    shape = _group("TP8", m, "single").shape
    argv = "--mem-fraction-static 0.8 --cuda-graph-max-bs-decode 128 --chunked-prefill-size 4096"
    argv += " --max-prefill-tokens 8192 --max-running-requests 100"
    d = derive("single", argv, m, hw, shape, "fp8", "fp8")
    assert d.reserved_mem_mib is None and d.mem_fraction_static == 0.8
    assert (d.chunked_prefill_size, d.max_prefill_tokens, d.max_running_requests) == (4096, 8192, 100)
    assert d.cuda_graph_max_bs == 100  # graphs are captured up to the running-request cap
    assert derive("single", "--disable-cuda-graph", m, hw, shape, "fp8", "fp8").cuda_graph_max_bs == 0
    # SimSpec's own fields win over the role's flags, which win over the derivation
    spec = SimSpec(
        m, hw, "fp8", from_label("TP8", m), kv_dtype="fp8", mem_fraction=0.7,
        server_flags={"single": ("--mem-fraction-static", "0.8", "--max-running-requests", "64")},
    )  # fmt: skip
    assert spec.derived("single", shape).mem_fraction_static == 0.7
    (eng,) = Cluster(spec).engines
    assert eng.max_running == 64
    assert spec.server_flags == (
        ("single", ("--mem-fraction-static", "0.8", "--max-running-requests", "64")),
    )


def test_sim_server_per_role_flags():
    common = ["--model-path", R1, "--deployment", "1xTEP8+1xDEP8", "--kv-cache-dtype", "fp8_e4m3"]
    cfg = parse_config(
        common
        + ["--mem-fraction-static", "0.85", "--max-prefill-tokens", "32768"]
        + ["--prefill-server-args", "--chunked-prefill-size 4096 --mem-fraction-static 0.8"]
        + ["--decode-server-args=--cuda-graph-max-bs-decode 128 --max-running-requests 1024"]
    )
    der = cfg.server_args["sglang_derived"]
    assert (der["prefill"]["mem_fraction_static"], der["prefill"]["chunked_prefill_size"]) == (0.8, 4096)
    assert der["prefill"]["max_prefill_tokens"] == 32768  # the common flags apply to every role
    assert der["decode"]["mem_fraction_static"] == 0.85
    assert (der["decode"]["max_running_requests"], der["decode"]["cuda_graph_max_bs"]) == (1024, 128)
    cl = Cluster(cfg.spec)
    assert {e.max_running for e in cl.engines if e.role == "decode"} == {1024}
    assert cfg.spec.kv_dtype == "fp8"


@pytest.mark.parametrize(
    "argv,names",
    [
        (["--cuda-graph-max-bs-decode", "0"], ["--cuda-graph-max-bs-decode"]),
        (["--mem-fraction-static", "1.5"], ["--mem-fraction-static"]),
        (["--speculative-num-steps", "two"], ["--speculative-num-steps"]),
        (
            ["--deployment", "1xTEP8+1xDEP8", "--decode-server-args", "--max-running-requests x y"],
            ["--decode-server-args", "--max-running-requests"],
        ),
        (
            ["--prefill-server-args", "--chunked-prefill-size 1 --tp 2"],
            ["--prefill-server-args", "--deployment"],
        ),
    ],
)
def test_bad_flags_name_the_flag(argv, names):
    with pytest.raises(FrontierError) as e:
        parse_config(["--model-path", R1, *argv])
    assert all(n in str(e.value) for n in names), str(e.value)


def test_parse_flags_ignores_what_it_does_not_read():
    d = parse_flags(["--trust-remote-code", "--cuda-graph-max-bs", "96", "--quantization", "modelopt_fp4"])
    assert (d["cuda_graph_max_bs"], d["quantization"], d["moe_a2a_backend"]) == (96, "modelopt_fp4", None)
    with pytest.raises(FrontierError, match="role 'middle'"):
        derive("middle", [], get_model(LLAMA), get_hardware("h200_sxm"), None, "bf16")


def test_sim_engine_runs_the_real_recipe_and_mtp_differs():
    spec = spec_for("sim", "local", model=R1, hardware="b200_sxm", label="DEP8")
    eng = get_engine("sim")
    plain = eng.launch_plan(spec, "DEP8", R1, "b200_sxm", "fp4")
    mtp = eng.launch_plan(spec, "DEP8", R1, "b200_sxm", "fp4", speculative="mtp")
    real = get_engine("sglang").launch_plan(spec, "DEP8", R1, "b200_sxm", "fp4", speculative="mtp")
    # the simulator gets the real server's flags, without host, port and model path
    got = mtp.servers[0].argv
    want = recipe_argv(real.servers[0].argv)
    assert "--host" not in want and "--model-path" not in want
    assert got[got.index("--deployment") + 2 :][: len(want)] == want
    assert plain.servers[0].argv != mtp.servers[0].argv
    flags = role_server_flags(mtp)["single"]
    assert flags[flags.index("--speculative-num-draft-tokens") + 1] == "3"
    d = parse_config(mtp.servers[0].argv[3:]).server_args["sglang_derived"]["single"]
    mrr = int(flags[flags.index("--max-running-requests") + 1]) if "--max-running-requests" in flags else 48
    assert d["max_running_requests"] == mrr
    assert parse_config(plain.servers[0].argv[3:]).server_args["sglang_derived"]["single"] != d
