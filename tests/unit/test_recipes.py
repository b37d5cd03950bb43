"""Recipe profiles, typed tuning overrides, fp4 and the speculative (MTP) axis.

The argv assertions name the public recipe each value reproduces (frontier/planning/recipes.py).
"""

from __future__ import annotations

import datetime as dt

import pytest

from frontier.domain.catalog import get_hardware, get_model
from frontier.domain.spec import SpecError, parse_spec
from frontier.domain.tuning import MTPSettings, ServerTuning, Tuning
from frontier.errors import FrontierError
from frontier.planning.memory import check_fit, estimate_fit
from frontier.planning.planner import fit_warnings, plan
from frontier.planning.sglang_args import LaunchOptions, build_launch_plan
from frontier.warehouse import Warehouse, connect, query, run_model
from tests.support import point_row

R1, LLAMA = "deepseek-ai/DeepSeek-R1", "meta-llama/Llama-3.1-8B-Instruct"


def _flag(argv, name):
    return argv[argv.index(name) + 1] if name in argv else None


def _servers(label, hw="h200_sxm", prec="fp8", **kw):
    return build_launch_plan(label, model=R1, hardware=hw, precision=prec, **kw).servers


def _spec(**matrix):
    entry = {"model": R1, "hardware": "h200_sxm", "precision": "fp8", "labels": ["DEP8"], **matrix}
    return {"name": "t", "engine": "sglang", "matrix": [entry], "scenarios": ["1k1k"], "concurrencies": [4]}


# ------------------------------------------------------------------------------------ recipes


def test_h200_aggregated_follows_inferencex_dsr1_fp8_h200():
    a = _servers("TP8")[0].argv
    assert "--trust-remote-code" in a and "--disable-radix-cache" in a
    assert _flag(a, "--mem-fraction-static") == "0.82"
    assert _flag(a, "--chunked-prefill-size") == "32768"
    assert _flag(a, "--max-running-requests") == "512"
    assert _flag(a, "--cuda-graph-max-bs-decode") == "512"
    assert "--cuda-graph-max-bs" not in a  # ambiguous in 0.5.23
    assert "--moe-a2a-backend" not in a  # TP: no expert parallel


def test_deepep_mode_per_role():
    single = _servers("DEP8")[0].argv
    assert (_flag(single, "--moe-a2a-backend"), _flag(single, "--deepep-mode")) == ("deepep", "auto")
    pre, dec = _servers("DEP8+1xDEP8")
    assert pre.role == "prefill" and _flag(pre.argv, "--deepep-mode") == "normal"
    assert dec.role == "decode" and _flag(dec.argv, "--deepep-mode") == "low_latency"
    assert _flag(pre.argv, "--disaggregation-transfer-backend") == "mooncake"
    # TEP prefill: EP without DP attention, no DeepEP (SGLang's PD docs pair DeepEP with DP attention)
    tep = _servers("TEP8+1xDEP8")[0].argv
    assert "--moe-a2a-backend" not in tep and _flag(tep, "--ep-size") == "8"


def test_gb200_pd_follows_inferencex_srt_recipe():
    servers = _servers("SEP4+1xDEP8", hw="gb200", prec="fp4")
    pre = next(s for s in servers if s.role == "prefill")
    dec = [s for s in servers if s.role == "decode"]
    assert _flag(pre.argv, "--mem-fraction-static") == "0.84"
    assert _flag(pre.argv, "--chunked-prefill-size") == "65536"
    assert _flag(pre.argv, "--disaggregation-bootstrap-port") == "30001"
    assert {_flag(s.argv, "--disaggregation-transfer-backend") for s in servers} == {"nixl"}
    for d in dec:  # DEP8 spans two 4-GPU trays
        assert _flag(d.argv, "--mem-fraction-static") == "0.83"
        assert _flag(d.argv, "--deepep-mode") == "low_latency"
        assert "--enable-eplb" in d.argv and _flag(d.argv, "--ep-num-redundant-experts") == "8"
        assert d.env["NCCL_MNNVL_ENABLE"] == "1"
    assert _flag(pre.argv, "--model-path") == "nvidia/DeepSeek-R1-FP4"
    assert _flag(pre.argv, "--quantization") == "modelopt_fp4"


def test_recipes_off_gives_the_bare_command():
    a = _servers("DEP8", options=LaunchOptions(recipes=False))[0].argv
    assert not {"--trust-remote-code", "--mem-fraction-static", "--moe-a2a-backend"} & set(a)


def test_typed_overrides_win_in_order():
    opts = LaunchOptions(
        mem_fraction_static=0.7,
        tuning=Tuning(max_running_requests=64, decode=ServerTuning(cuda_graph_max_bs=32)),
    )
    pre, dec = _servers(
        "DEP8+1xDEP8",
        options=opts,
        tuning=Tuning(decode=ServerTuning(mem_fraction_static=0.75, deepep_mode="auto")),
    )
    assert _flag(pre.argv, "--mem-fraction-static") == "0.7"  # cluster shorthand over the recipe's 0.8
    assert _flag(dec.argv, "--mem-fraction-static") == "0.75"  # matrix decode section wins
    assert _flag(pre.argv, "--max-running-requests") == "64"
    assert _flag(dec.argv, "--max-running-requests") == "64"
    assert _flag(dec.argv, "--cuda-graph-max-bs-decode") == "32"
    assert _flag(dec.argv, "--deepep-mode") == "auto"
    assert _flag(pre.argv, "--deepep-mode") == "normal"


def test_spec_tuning_is_typed_and_reaches_plan():
    items = plan(
        parse_spec(_spec(tuning={"chunked_prefill_size": 8192, "decode": {"max_running_requests": 9}}))
    )
    assert _flag(items[0].launch_plan().servers[0].argv, "--chunked-prefill-size") == "8192"
    with pytest.raises(SpecError, match=r"matrix\[0\]\.tuning\.cuda_graph_max_bs_prefill.*unknown key"):
        parse_spec(_spec(tuning={"cuda_graph_max_bs_prefill": 8}))
    with pytest.raises(SpecError, match=r"deepep_mode"):
        parse_spec(_spec(tuning={"deepep_mode": "fast"}))


# ------------------------------------------------------------------------------------ fp4


def test_fp4_catalog_and_fit():
    assert get_hardware("b200_sxm").tflops("fp4") == 9000 and get_hardware("gb300").tflops("fp4") == 15000
    assert get_hardware("h200_sxm").supports_fp4 is False
    assert get_model(R1).weight_bytes("fp4") == pytest.approx(get_model(R1).weight_bytes("fp8") / 2)
    # R1 on 4 B200s: fp8 weights (~168 GB/GPU) do not fit, NVFP4 (~84 GB/GPU) does
    assert not estimate_fit("TP4", R1, "b200_sxm", "fp8", isl=1024, osl=1024).fits
    assert check_fit("TP4", R1, "b200_sxm", "fp4", isl=1024, osl=1024, mem_fraction_static=0.85).fits


def test_fp4_needs_blackwell_and_a_checkpoint():
    with pytest.raises(SpecError, match="fp4 needs FP4 tensor cores.*b200_sxm"):
        parse_spec(_spec(precision="fp4"))
    with pytest.raises(SpecError, match="no NVFP4 checkpoint.*cluster.model_path"):
        parse_spec(_spec(model=LLAMA, hardware="b200_sxm", precision="fp4", labels=["TP1"]))
    ok = _spec(model=LLAMA, hardware="b200_sxm", precision="fp4", labels=["TP1"])
    ok["cluster"] = {"model_path": "nvidia/Llama-3.1-8B-Instruct-FP4"}
    argv = plan(parse_spec(ok))[0].launch_plan().servers[0].argv
    assert _flag(argv, "--model-path") == "nvidia/Llama-3.1-8B-Instruct-FP4"
    assert _flag(argv, "--quantization") == "modelopt_fp4"


def test_sim_predicts_fp4_from_the_catalog():
    from frontier.sim.predict import predict_point

    fp4 = predict_point(R1, "b200_sxm", "fp4", "TP8", 1024, 1024, 16, num_prompts=32, warmup=0)
    fp8 = predict_point(R1, "b200_sxm", "fp8", "TP8", 1024, 1024, 16, num_prompts=32, warmup=0)
    assert fp4["output_throughput"] > fp8["output_throughput"] > 0


# ------------------------------------------------------------------------------------ MTP


def test_mtp_axis_plans_twin_items_with_eagle_flags():
    items = plan(parse_spec(_spec(speculative=["none", "mtp"], mtp={"steps": 3, "draft_tokens": 4})))
    assert [i.display_label for i in items] == ["DEP8", "DEP8 MTP"]
    assert len({i.key for i in items}) == 2 and items[1].key.endswith("__DEP8__mtp__1k1k")
    assert items[0].key == "deepseek-ai_DeepSeek-R1__h200_sxm__fp8__DEP8__1k1k"  # unchanged without MTP
    a = items[1].launch_plan().servers[0].argv
    assert _flag(a, "--speculative-algorithm") == "EAGLE"
    assert (_flag(a, "--speculative-num-steps"), _flag(a, "--speculative-num-draft-tokens")) == ("3", "4")
    assert "--speculative-algorithm" not in items[0].launch_plan().servers[0].argv
    assert items[1].public()["speculative"] == "mtp" and items[1].name == "DEP8 MTP / 1k1k"


def test_mtp_rejected_for_a_model_without_mtp_layers():
    with pytest.raises(SpecError, match="speculative mtp.*no multi-token-prediction"):
        parse_spec(_spec(model=LLAMA, labels=["TP1"], speculative=["mtp"]))
    assert MTPSettings().flags()[:2] == ["--speculative-algorithm", "EAGLE"]


def test_warehouse_keeps_mtp_points_as_their_own_label(tmp_path):
    wh = Warehouse(tmp_path)
    wh.write(
        "points",
        [point_row("DEP8", 4, 100.0, 50.0), point_row("DEP8", 4, 120.0, 70.0, speculative="mtp")],
        run_id="r1",
        run_date=dt.date(2026, 12, 1),
    )
    df = query(connect(wh.root), "SELECT label, speculative FROM points ORDER BY label")
    assert df.label.tolist() == ["DEP8", "DEP8 MTP"]
    assert df.speculative.isna().tolist() == [True, False]
    # the chart's input (the frontier_points mart) has one line per label: DEP8 and DEP8 MTP
    front = run_model(connect(wh.root), "frontier_points")
    assert sorted(set(front.label)) == ["DEP8", "DEP8 MTP"]
    bad = query(connect(wh.root), "SELECT * FROM labels WHERE error IS NOT NULL OR gpus IS DISTINCT FROM 8")
    assert bad.empty


# ------------------------------------------------------------------------------------ validation


def test_fit_warnings_name_labels_that_cannot_hold_the_model():
    spec = parse_spec(_spec(labels=["DEP8", "SEP4+1xDEP8", "DEP4+1xDEP8"]))
    warnings = fit_warnings(spec)
    assert len(warnings) == 2
    assert all("does not fit" in w and "prefill side" in w for w in warnings)
    assert not fit_warnings(parse_spec(_spec(labels=["DEP8", "SEP8+1xDEP8"])))
    with pytest.raises(FrontierError):
        check_fit(
            "SEP4+1xDEP8", R1, "h200_sxm", "fp8", isl=1024, osl=1024, mem_fraction_static={"prefill": 0.8}
        )


def test_mtp_accept_len_pins_sglangs_simulated_acceptance_on_every_draft_server():
    """spec mtp.accept_len -> SGLANG_SIMULATE_ACC_* on each MTP server (InferenceX's golden-AL settings)."""
    items = plan(
        parse_spec(
            _spec(labels=["TEP8+1xDEP8"], speculative=["none", "mtp"], mtp={"steps": 3, "accept_len": 2.4})
        )
    )
    plain, mtp = (i.launch_plan() for i in items)
    assert {s.role for s in mtp.servers} == {"prefill", "decode"}
    for s in mtp.servers:
        assert s.env["SGLANG_SIMULATE_ACC_LEN"] == "2.4"
        assert s.env["SGLANG_SIMULATE_ACC_METHOD"] == "match-expected"
        assert s.env["SGLANG_SIMULATE_ACC_TOKEN_MODE"] == "real-draft-token"
    assert not any(k.startswith("SGLANG_SIMULATE") for s in plain.servers for k in s.env)
    # unset: SGLang's real acceptance, no environment
    unpinned = _servers("DEP8", speculative="mtp", mtp=MTPSettings(steps=3))
    assert not any(k.startswith("SGLANG_SIMULATE") for s in unpinned for k in s.env)
    # the launch options' own environment wins
    opts = LaunchOptions(env={"SGLANG_SIMULATE_ACC_LEN": "3.0"})
    pinned = _servers("DEP8", speculative="mtp", mtp=MTPSettings(steps=3, accept_len=2.4), options=opts)
    assert pinned[0].env["SGLANG_SIMULATE_ACC_LEN"] == "3.0"


def test_mtp_accept_len_above_the_draft_chain_is_refused_by_name():
    with pytest.raises(SpecError, match=r"accept_len 3.5 is more than steps \+ 1 = 3.*raise steps"):
        parse_spec(_spec(speculative=["mtp"], mtp={"steps": 2, "accept_len": 3.5}))
    assert MTPSettings(steps=2, accept_len=3.0).env()["SGLANG_SIMULATE_ACC_LEN"] == "3.0"
