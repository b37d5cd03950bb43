"""frontier.planning.sglang_args: golden command lines per mode / PD / multi-node, and plan-time rejections.

Regenerate the golden files after a deliberate change with
``FRONTIER_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_commands.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pydantic
import pytest

from frontier.errors import FrontierError
from frontier.planning.sglang_args import (
    SGLANG_VERSION,
    LaunchOptions,
    UnsupportedLabel,
    build_launch_plan,
    build_sim_command,
    total_nodes,
)

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden_commands"
R1, LLAMA = "deepseek-ai/DeepSeek-R1", "meta-llama/Llama-3.1-8B-Instruct"

# name -> (label, model, hardware, precision, engine, options)
CASES = {
    "tp8_deepseek_r1_fp8": ("TP8", R1, "h200_sxm", "fp8", "sglang", {}),
    "tep8_deepseek_r1_fp8": ("TEP8", R1, "h200_sxm", "fp8", "sglang", {}),
    "dep8_deepseek_r1_fp8": ("DEP8", R1, "h200_sxm", "fp8", "sglang", {"moe_a2a_backend": "deepep"}),
    "dep16_multinode": ("DEP16", R1, "h200_sxm", "fp8", "sglang", {"nodes": ["gpu-a", "gpu-b"]}),
    "sep4_1xdep8_pd": ("SEP4+1xDEP8", R1, "h200_sxm", "fp8", "sglang", {"ib_device": "mlx5_0"}),
    "2xtep4_1xdep16_pd_multinode": ("2xTEP4+1xDEP16", R1, "h200_sxm", "fp8", "sglang", {}),
    "tp1_llama_fp8": ("TP1", LLAMA, "h100_sxm", "fp8", "sglang", {}),
    "tp2_llama_bf16": ("TP2", LLAMA, "h100_sxm", "bf16", "sglang", {"mem_fraction_static": 0.85}),
    "dp8_llama_bf16": ("DP8", LLAMA, "h100_sxm", "bf16", "sglang", {}),
    "sim_sep4_1xdep8": ("SEP4+1xDEP8", R1, "h200_sxm", "fp8", "sim", {}),
    # recipe profiles (frontier.planning.recipes): InferenceX FP4 B200, GB200 PD, H200 PD
    "dep8_r1_fp4_b200": ("DEP8", R1, "b200_sxm", "fp4", "sglang", {}),
    "sep4_1xdep8_r1_fp4_gb200_pd": ("SEP4+1xDEP8", R1, "gb200", "fp4", "sglang", {}),
    "sep8_1xdep8_r1_fp8_h200_pd": ("SEP8+1xDEP8", R1, "h200_sxm", "fp8", "sglang", {"ib_device": "mlx5_0"}),
    "tp8_r1_fp8_no_recipes": ("TP8", R1, "h200_sxm", "fp8", "sglang", {"recipes": False}),
    "extra_args": (
        "1xTEP8+1xDEP8",
        R1,
        "h200_sxm",
        "fp8",
        "sglang",
        {
            "extra_args": {
                "*": ["--trust-remote-code"],
                "decode": ["--cuda-graph-max-bs-decode", "128"],
                "TEP8": ["--chunked-prefill-size", "16384"],
            },
            "env": {"NCCL_IB_HCA": "mlx5"},
        },
    ),
}


def _plan(name):
    label, model, hw, prec, engine, opts = CASES[name]
    if engine == "sim":  # the simulated engine's plan: one process for the whole deployment
        from tests.support import engine_plan

        return engine_plan(label, model=model, hardware=hw, precision=prec, **opts)
    return build_launch_plan(label, model=model, hardware=hw, precision=prec, options=LaunchOptions(**opts))


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name):
    got = _plan(name).to_json()
    path = GOLDEN / f"{name}.json"
    if os.environ.get("FRONTIER_UPDATE_GOLDEN"):
        path.write_text(json.dumps(got, indent=2) + "\n")
    assert path.exists(), f"missing golden {path}; run with FRONTIER_UPDATE_GOLDEN=1"
    assert got == json.loads(path.read_text())


def test_version_pinned():
    assert SGLANG_VERSION == "0.5.23"


def test_single_server_endpoint_is_server():
    p = build_launch_plan("TP8", model=R1, hardware="h200_sxm", precision="fp8")
    assert p.router is None and p.endpoint_url == "http://127.0.0.1:30000"
    assert p.servers[0].argv[:3] == ["python3", "-m", "sglang.launch_server"]


def test_fp8_quantization_only_for_bf16_checkpoints():
    r1 = build_launch_plan("TP8", model=R1, hardware="h200_sxm", precision="fp8").servers[0].argv
    ll = build_launch_plan("TP8", model=LLAMA, hardware="h200_sxm", precision="fp8").servers[0].argv
    bf = build_launch_plan("TP8", model=LLAMA, hardware="h200_sxm", precision="bf16").servers[0].argv
    assert "--quantization" not in r1 and "fp8_e4m3" in r1
    assert ll[ll.index("--quantization") + 1] == "fp8" and "fp8_e4m3" in ll
    assert "--quantization" not in bf and "--kv-cache-dtype" not in bf


def test_multinode_ranks_share_addr_and_port():
    p = build_launch_plan("DEP16", model=R1, hardware="h200_sxm", precision="fp8")
    assert [s.node_rank for s in p.servers] == [0, 1]
    assert [s.host for s in p.servers] == ["node0", "node1"]
    for s in p.servers:
        a = s.argv
        assert a[a.index("--nnodes") + 1] == "2"
        assert a[a.index("--dist-init-addr") + 1] == "node0:5000"
        assert s.url == "http://node0:30000" and s.gpus == 8
    assert p.servers[1].serves_http is False
    assert total_nodes("2xTEP4+1xDEP16", "h200_sxm") == 3


def test_pd_router_lists_every_prefill_with_bootstrap():
    p = build_launch_plan(
        "2xTEP4+1xDEP8",
        model=R1,
        hardware="h200_sxm",
        precision="fp8",
        options=LaunchOptions(nodes=["n0", "n1"], router_port=8000),
    )
    a = p.router.argv
    assert a[2] == "sglang_router.launch_router" and "--pd-disaggregation" in a
    assert a.count("--prefill") == 2 and a.count("--decode") == 1
    i = a.index("--prefill")
    assert a[i + 1 : i + 3] == ["http://n0:30000", "8998"]
    assert p.endpoint_url == "http://127.0.0.1:8000"
    pre = [s for s in p.servers if s.role == "prefill"]
    assert [s.bootstrap_port for s in pre] == [8998, 8999]
    assert pre[1].base_gpu_id == 4 and pre[1].host == "n0"


def test_json_roundtrip():
    p = _plan("sep4_1xdep8_pd")
    assert json.loads(json.dumps(p.to_json()))["router"]["argv"] == p.router.argv


@pytest.mark.parametrize(
    "label,model,match",
    [
        ("EP8", R1, "TP width"),
        ("DPAEP8", R1, "TP width"),
        ("DEP8", LLAMA, "dense"),
        ("TEP4", LLAMA, "dense"),
        ("SEP4", LLAMA, "dense"),
        ("SEP4+1xDEP8", "openai/gpt-oss-120b", "prefill context parallel"),
        ("DP16", LLAMA, "one node"),
        ("TEP12", R1, "multiple of 8"),
        ("TEP6", R1, "experts"),
    ],
)
def test_unsupported_labels(label, model, match):
    with pytest.raises(UnsupportedLabel, match=match) as e:
        build_launch_plan(label, model=model, hardware="h200_sxm", precision="bf16")
    assert label in str(e.value)
    assert isinstance(e.value, FrontierError)


def test_bad_inputs_are_frontier_errors():
    for kw in ({"model": "nope"}, {"hardware": "nope"}, {"precision": "int4"}):
        args = {"model": R1, "hardware": "h200_sxm", "precision": "fp8", **kw}
        with pytest.raises(FrontierError):
            build_launch_plan("TP8", **args)
    with pytest.raises(FrontierError, match="needs 2 nodes"):
        build_launch_plan(
            "DEP16", model=R1, hardware="h200_sxm", precision="fp8", options=LaunchOptions(nodes=["only-one"])
        )
    with pytest.raises(FrontierError):
        build_launch_plan("TP8x", model=R1, hardware="h200_sxm", precision="fp8")
    with pytest.raises(pydantic.ValidationError):
        LaunchOptions(unknown_field=1)


def test_sim_command_accepts_any_label():
    argv = build_sim_command("EP8", R1, "h200_sxm", "fp8", port=31000, time_scale=0.5)
    assert argv[:3] == ["python3", "-m", "frontier.sim.launch_server"]
    assert argv[argv.index("--deployment") + 1] == "EP8"
    assert argv[argv.index("--time-scale") + 1] == "0.5"
    assert build_sim_command("SEP4+1xDEP8", R1, "h200_sxm", "fp8")[-1] == "1xSEP4+1xDEP8"


def test_sim_plan_one_process_per_deployment_on_its_first_node():
    from tests.support import engine_plan

    p = engine_plan("DEP16", model=R1, hardware="h200_sxm", nodes=["n0", "n1"])
    assert len(p.servers) == 1 and p.servers[0].gpus == 16 and "--nnodes" not in p.servers[0].argv
    assert "--hardware" in p.servers[0].argv and p.servers[0].host == "n0" and p.router is None
