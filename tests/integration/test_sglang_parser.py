"""Every command the nightly spec generates, parsed by SGLang 0.5.23's and sglang-router's own
argument parsers (``prepare_server_args`` / ``parse_router_args``) on CPU.

Needs the optional ``.venv-sglang`` environment: ``bash scripts/sglang-env.sh`` (about a minute).
Skips with that instruction when it is absent. One subprocess parses every command (~3 s).
"""

from __future__ import annotations

import json
import os
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest

from frontier.planning.sglang_args import LaunchOptions, build_launch_plan

ROOT = Path(__file__).resolve().parents[2]
ENV_PY = Path(os.environ.get("FRONTIER_SGLANG_PYTHON", ROOT / ".venv-sglang" / "bin" / "python"))
CHECK = ROOT / "scripts" / "check_sglang_args.py"
GOLDEN = ROOT / "tests" / "data" / "golden_commands"

pytestmark = pytest.mark.skipif(
    not ENV_PY.exists(),
    reason=f"sglang parser env absent ({ENV_PY}); build it with: bash scripts/sglang-env.sh",
)

R1, LLAMA = "deepseek-ai/DeepSeek-R1", "meta-llama/Llama-3.1-8B-Instruct"
NIGHTLY = [
    (lab, R1, "h200_sxm", "fp8")
    for lab in ("TP8", "TEP8", "DEP8", "SEP4+1xDEP8", "DEP4+1xDEP8", "SEP8+1xDEP8", "DEP16", "2xTEP4+1xDEP16")
] + [
    (lab, LLAMA, "h200_sxm", prec) for lab in ("TP1", "TP2", "TP4", "TP8", "DP8") for prec in ("bf16", "fp8")
]
OPTION_SETS = [
    LaunchOptions(),
    LaunchOptions(
        ib_device="mlx5_0,mlx5_1",
        moe_a2a_backend="deepep",
        mem_fraction_static=0.82,
        transfer_backend="nixl",
        nodes=[f"10-0-0-{i}.cluster.local" for i in range(4)],
    ),
]


def _parse(argvs: list) -> list[dict]:
    out = subprocess.run(
        [str(ENV_PY), str(CHECK)],
        input=json.dumps(argvs),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout)


@lru_cache(maxsize=1)
def _nightly() -> tuple[list, list]:
    items, argvs = [], []
    for opts in OPTION_SETS:
        for label, model, hw, prec in NIGHTLY:
            plan = build_launch_plan(label, model=model, hardware=hw, precision=prec, options=opts)
            for s in plan.servers:
                items.append((label, prec, "server", s))
                argvs.append(s.argv)
            if plan.router:
                items.append((label, prec, "router", plan.router))
                argvs.append(plan.router.argv)
    return items, _parse(argvs)


def _flag(argv, name):
    return int(argv[argv.index(name) + 1]) if name in argv else None


def test_every_nightly_command_parses():
    items, results = _nightly()
    assert len(items) == len(results) > 40
    bad = [(lab, prec, r["error"]) for (lab, prec, _, _), r in zip(items, results) if not r["ok"]]
    assert not bad, bad


def test_parsed_values_match_the_label():
    items, results = _nightly()
    for (label, _, kind, cmd), r in zip(items, results):
        f = r["fields"]
        if kind == "router":
            assert f["pd_disaggregation"] is True
            assert len(f["prefill_urls"]) == cmd.argv.count("--prefill")
            assert len(f["decode_urls"]) == cmd.argv.count("--decode")
            continue
        a = cmd.argv
        assert f["port"] == cmd.port
        assert f["tp_size"] == (_flag(a, "--tp-size") or 1)
        assert f["ep_size"] == (_flag(a, "--ep-size") or 1)
        assert f["attn_dp_size"] == (_flag(a, "--attn-dp-size") or 1)
        assert f["attn_cp_size"] == (_flag(a, "--attn-cp-size") or 1)
        assert f["nnodes"] == cmd.nnodes and f["node_rank"] == cmd.node_rank
        want_mode = cmd.role if cmd.role in ("prefill", "decode") else "null"
        assert f["disaggregation_mode"] == want_mode, label
        if "DEP" in label and cmd.role != "prefill":
            assert f["attn_dp_size"] == f["tp_size"] == f["ep_size"]


def test_parser_rejects_what_sglang_0_5_23_removed():
    """The check is not vacuous: flags sglang 0.5.23 dropped, and bad choices, fail."""
    base = ["python3", "-m", "sglang.launch_server", "--model-path", R1]
    res = _parse(
        [
            base + ["--enable-deepep-moe"],
            base + ["--disaggregation-mode", "both"],
            base + ["--tp-size", "8"],
            ["python3", "-m", "sglang_router.launch_router", "--prefill-bogus", "x"],
        ]
    )
    assert [r["ok"] for r in res] == [False, False, True, False]
    assert "unrecognized arguments" in res[0]["error"]


def test_shipped_nightly_every_argv_parses():
    """Every server and router command of sweeps/nightly.yaml as the sglang engine plans it
    (recipe profiles, fp4, MTP, PD roles), parsed by sglang's own parsers."""
    from frontier.domain.spec import load_spec
    from frontier.planning.planner import plan

    spec = load_spec(ROOT / "sweeps" / "nightly.yaml")
    assert spec.engine == "sglang"
    argvs, seen = [], set()
    for it in plan(spec):
        lp = it.launch_plan()
        for argv in [s.argv for s in lp.servers] + ([lp.router.argv] if lp.router else []):
            if tuple(argv) not in seen:
                seen.add(tuple(argv))
                argvs.append(argv)
    results = _parse(argvs)
    bad = [(a, r["error"]) for a, r in zip(argvs, results) if not r["ok"]]
    assert len(argvs) > 40 and not bad, bad
    servers = [(a, r["fields"]) for a, r in zip(argvs, results) if "sglang.launch_server" in a]
    assert all(f["trust_remote_code"] for _, f in servers)
    deepep = [f for a, f in servers if "--deepep-mode" in a]
    assert deepep and all(f["moe_a2a_backend"] == "deepep" for f in deepep)
    fp4 = [f for a, f in servers if "nvidia/DeepSeek-R1-FP4" in a]
    assert fp4 and all(f["quantization"] == "modelopt_fp4" for f in fp4)
    print(f"sglang parser: {len(argvs)} distinct argv of the nightly, all accepted")


def test_golden_commands_parse():
    argvs = []
    for path in sorted(GOLDEN.glob("*.json")):
        plan = json.loads(path.read_text())
        if plan["engine"] != "sglang":
            continue
        argvs += [s["argv"] for s in plan["servers"]]
        if plan["router"]:
            argvs.append(plan["router"]["argv"])
    results = _parse(argvs)
    assert argvs and all(r["ok"] for r in results), [r["error"] for r in results if not r["ok"]]
