"""predict_point / predict_csv contracts, CLI and HF config derivation."""

from __future__ import annotations

import argparse
import csv
import json
import math
import time

import pytest

from frontier.cli import predict as cli
from frontier.domain.catalog import get_model
from frontier.domain.catalog.hf_config import register_from_hf_config, spec_from_hf_config
from frontier.errors import FrontierError
from frontier.sim import SIM_VERSION
from frontier.sim.predict import OUT_EXTRA, predict_csv, predict_point
from frontier.warehouse.schemas import LATENCY_STAT_KEYS

R1 = "deepseek-ai/DeepSeek-R1"


def test_point_has_bench_serving_metrics_and_frontier_axes():
    m = predict_point("meta-llama/Llama-3.1-8B-Instruct", "h100_sxm", "fp8", "TP1", 1024, 128, 16)
    for k in (
        "completed",
        "duration",
        "request_throughput",
        "input_throughput",
        "output_throughput",
        "total_token_throughput",
        "concurrency",
        *LATENCY_STAT_KEYS,
    ):
        assert isinstance(m[k], (int, float)) and math.isfinite(m[k]), k
    assert m["completed"] == 160 and m["gpus"] == 1
    assert m["tok_s_gpu"] == pytest.approx(m["total_token_throughput"] / m["gpus"])
    assert m["tok_s_user"] == pytest.approx(1000 / m["median_tpot_ms"])
    assert m["total_token_throughput"] == pytest.approx(m["output_throughput"] * (1024 + 128) / 128)
    assert 14 < m["concurrency"] <= 16.0001
    assert m["p99_ttft_ms"] >= m["median_ttft_ms"] >= 0 and m["p99_itl_ms"] >= m["median_itl_ms"] > 0
    assert m["model_version"] == SIM_VERSION


def test_pd_label_counts_every_gpu():
    m = predict_point(R1, "b300_sxm", "fp8", "SEP4+1xDEP8", 8192, 512, 8)
    assert m["gpus"] == 12
    assert m["tok_s_gpu"] == pytest.approx(m["total_token_throughput"] / 12)
    with pytest.raises(FrontierError, match="does not fit"):  # 671 GB / 4 GPUs > 141 GB
        predict_point(R1, "h200_sxm", "fp8", "SEP4+1xDEP8", 8192, 512, 8)


@pytest.mark.parametrize(
    "args,match",
    [
        (("meta-llama/Llama-3.1-8B-Instruct", "h100_sxm", "fp8", "DEP8"), "needs a MoE model"),
        (("no/such-model", "h100_sxm", "fp8", "TP1"), "unknown model"),
        (("meta-llama/Llama-3.1-8B-Instruct", "tpu_v9", "fp8", "TP1"), "unknown hardware"),
        (("meta-llama/Llama-3.3-70B-Instruct", "h100_sxm", "bf16", "TP1"), "does not fit"),
        (("meta-llama/Llama-3.1-8B-Instruct", "h100_sxm", "fp8", "TQ8"), "TQ8"),
        ((R1, "h100_sxm", "fp8", "TP8"), "does not fit"),
    ],
)
def test_errors_are_one_line_frontier_errors(args, match):
    with pytest.raises(FrontierError, match=match) as ei:
        predict_point(*args, 1024, 128, 4)
    assert "\n" not in str(ei.value)


def test_prediction_is_well_under_a_second_per_point():
    for label, c in (("DEP8", 256), ("TP8", 64), ("1xTEP8+1xDEP8", 128)):
        t = time.perf_counter()
        predict_point(R1, "h200_sxm", "fp8", label, 8192, 1024, c)
        assert time.perf_counter() - t < 1.0, label


def test_predict_csv_keeps_going_past_bad_rows(tmp_path):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text(
        "model,hardware,precision,label,isl,osl,concurrency\n"
        "meta-llama/Llama-3.1-8B-Instruct,h100_sxm,fp8,TP1,1024,128,8\n"
        "meta-llama/Llama-3.1-8B-Instruct,h100_sxm,fp8,DEP8,1024,128,8\n"
        "meta-llama/Llama-3.1-8B-Instruct,h100_sxm,fp8,TP1,abc,128,8\n"
        "meta-llama/Llama-3.1-8B-Instruct,h100_sxm,fp8,TP2,1024,128,8\n"
    )
    assert predict_csv(src, out) == 2
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 4 and all(k in rows[0] for k in OUT_EXTRA)
    assert rows[0]["error"] == "" and float(rows[0]["tok_s_gpu"]) > 0 and rows[0]["gpus"] == "1"
    assert "MoE" in rows[1]["error"] and "isl" in rows[2]["error"]
    assert rows[3]["error"] == "" and rows[3]["gpus"] == "2"
    assert float(rows[0]["tok_s_user"]) == pytest.approx(1000 / float(rows[0]["tpot_ms"]), rel=1e-3)


def test_cli_predict_single_point_and_batch(tmp_path, capsys):
    ap = argparse.ArgumentParser()
    cli.register(ap.add_subparsers())
    ns = ap.parse_args(
        [
            "predict",
            "--model",
            "meta-llama/Llama-3.1-8B-Instruct",
            "--hardware",
            "h100_sxm",
            "--label",
            "TP1",
            "--isl",
            "512",
            "--osl",
            "64",
            "--concurrency",
            "2",
            "8",
        ]
    )
    assert ns.handler(ns) == 0
    out = capsys.readouterr().out
    assert "tok_s_gpu" in out and len(out.strip().splitlines()) == 4
    src = tmp_path / "in.csv"
    src.write_text(
        "model,hardware,precision,label,isl,osl,concurrency\nmeta-llama/Llama-3.1-8B-Instruct,h100_sxm,fp8,TP1,512,64,4\n"
    )
    ns = ap.parse_args(["predict", "--points", str(src), "--out", str(tmp_path / "o.csv")])
    assert ns.handler(ns) == 0 and (tmp_path / "o.csv").exists()
    ns = ap.parse_args(["predict", "--model", "x"])
    with pytest.raises(FrontierError, match="missing"):
        ns.handler(ns)


DSV3_CONFIG = {
    "architectures": ["DeepseekV3ForCausalLM"],
    "hidden_size": 7168,
    "intermediate_size": 18432,
    "moe_intermediate_size": 2048,
    "num_hidden_layers": 61,
    "num_attention_heads": 128,
    "num_key_value_heads": 128,
    "n_routed_experts": 256,
    "n_shared_experts": 1,
    "num_experts_per_tok": 8,
    "first_k_dense_replace": 3,
    "moe_layer_freq": 1,
    "kv_lora_rank": 512,
    "q_lora_rank": 1536,
    "qk_rope_head_dim": 64,
    "qk_nope_head_dim": 128,
    "v_head_dim": 128,
    "vocab_size": 129280,
    "max_position_embeddings": 163840,
    "tie_word_embeddings": False,
}
LLAMA8_CONFIG = {
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "vocab_size": 128256,
    "max_position_embeddings": 131072,
    "tie_word_embeddings": False,
}


def test_hf_config_derivation_matches_catalog():
    ds = spec_from_hf_config(DSV3_CONFIG, "my/dsv3")
    cat = get_model(R1)
    assert ds.kv_bytes_per_token == cat.kv_bytes_per_token == 70272
    assert ds.attention == "mla" and ds.moe.experts == 256 and ds.moe.moe_layers == 58
    assert ds.params_b == pytest.approx(cat.params_b, rel=0.05)
    assert ds.active_params_b == pytest.approx(cat.active_params_b, rel=0.1)
    ll = spec_from_hf_config(LLAMA8_CONFIG, "my/llama8")
    assert ll.kv_bytes_per_token == 131072 and ll.moe is None
    assert ll.params_b == pytest.approx(8.03, rel=0.02)


def test_model_config_registers_a_predictable_model(tmp_path):
    p = tmp_path / "config.json"
    p.write_text(json.dumps(LLAMA8_CONFIG))
    register_from_hf_config(p, name="acme/llama-clone")
    a = predict_point("acme/llama-clone", "h100_sxm", "fp8", "TP1", 1024, 128, 8)
    b = predict_point("meta-llama/Llama-3.1-8B-Instruct", "h100_sxm", "fp8", "TP1", 1024, 128, 8)
    assert a["median_tpot_ms"] == pytest.approx(b["median_tpot_ms"], rel=0.05)
