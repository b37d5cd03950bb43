"""`frontier predict SPEC`, length distributions (range ratio) and the --points columns."""

from __future__ import annotations

import argparse
import csv
import io
import json
import statistics

import pytest

from frontier.cli import predict as cli
from frontier.cli.predict import predict_spec
from frontier.domain.load import DEFAULT_LOAD
from frontier.domain.spec import SpecError, parse_spec
from frontier.errors import FrontierError
from frontier.planning.planner import plan
from frontier.sim.cluster import Cluster
from frontier.sim.predict import (
    DEFAULT_RANGE_RATIO,
    SPEC_COLUMNS,
    build_spec,
    check_range_ratio,
    parse_row,
    predict_csv,
    predict_point,
    server_flags_of,
)
from frontier.sim.virtual import closed_loop

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
R1 = "deepseek-ai/DeepSeek-R1"
ROW = {"model": LLAMA, "hardware": "h100_sxm", "precision": "fp8", "label": "TP1", "isl": "1024"}
ROW = {**ROW, "osl": "128", "concurrency": "8"}


# ---- --points rows and the range ratio ----------------------------------------------------------


def test_default_range_ratio_is_the_load_default():
    assert DEFAULT_RANGE_RATIO == DEFAULT_LOAD.range_ratio == 0.8


def test_row_parses_ints_and_an_optional_range_ratio():
    a = parse_row(ROW)
    assert (a["isl"], a["osl"], a["concurrency"], a["label"]) == (1024, 128, 8, "TP1")
    assert a["range_ratio"] == DEFAULT_RANGE_RATIO  # absent column
    assert parse_row({**ROW, "range_ratio": ""})["range_ratio"] == DEFAULT_RANGE_RATIO
    assert parse_row({**ROW, "range_ratio": " "}, default_range_ratio=1.0)["range_ratio"] == 1.0
    assert parse_row({**ROW, "range_ratio": "0.5"})["range_ratio"] == 0.5
    assert parse_row({**ROW, "range_ratio": "1"})["range_ratio"] == 1.0


@pytest.mark.parametrize(
    "patch,match",
    [
        ({"range_ratio": "abc"}, r"column range_ratio must be a number in \(0, 1\], got 'abc'"),
        ({"range_ratio": "0"}, r"column range_ratio must be a number in \(0, 1\]"),
        ({"range_ratio": "1.5"}, r"column range_ratio .*use 1 for exact lengths"),
        ({"range_ratio": "nan"}, "column range_ratio"),
        ({"isl": "1k"}, "column isl must be a positive integer, got '1k'"),
        ({"concurrency": "0"}, "column concurrency must be a positive integer"),
        ({"label": ""}, r"missing column value\(s\): label"),
    ],
)
def test_bad_row_values_name_the_column_and_the_fix(patch, match):
    with pytest.raises(FrontierError, match=match):
        parse_row({**ROW, **patch})


def test_check_range_ratio_names_its_field():
    assert check_range_ratio(0.25) == 0.25 and check_range_ratio("1") == 1.0
    for bad in (0, -0.1, 1.01, None, "x"):
        with pytest.raises(FrontierError, match="--random-range-ratio must be a number in"):
            check_range_ratio(bad, "--random-range-ratio")
    assert check_range_ratio(0, allow_zero=True) == 0.0  # the library / a spec's load: [1, L]
    with pytest.raises(FrontierError, match=r"range_ratio must be a number in \[0, 1\]"):
        predict_point(LLAMA, "h100_sxm", "fp8", "TP1", 512, 64, 4, range_ratio=1.2)


@pytest.mark.parametrize("ratio", [0.5, 0.8])
def test_lengths_are_bench_serving_uniform_in_range(ratio):
    """ISL and OSL each uniform integers in [max(1, int(L x R)), L]: in range, mean ~ L (1 + R) / 2."""
    isl, osl = 1000, 201
    cluster = Cluster(build_spec(LLAMA, "h100_sxm", "fp8", "TP1"))
    reqs = closed_loop(cluster, isl, osl, 64, 2000, seed=3, range_ratio=ratio)
    ins, outs = [r.isl for r in reqs], [r.max_new for r in reqs]
    assert min(ins) >= int(isl * ratio) and max(ins) <= isl
    assert min(outs) >= int(osl * ratio) and max(outs) <= osl
    assert statistics.mean(ins) == pytest.approx((int(isl * ratio) + isl) / 2, rel=0.02)
    assert statistics.mean(outs) == pytest.approx((int(osl * ratio) + osl) / 2, rel=0.02)
    assert len(set(ins)) > 0.8 * (isl - int(isl * ratio))  # spread over the range, not a few values
    exact = closed_loop(Cluster(cluster.spec), isl, osl, 8, 40, range_ratio=1.0)
    assert {r.isl for r in exact} == {isl} and {r.max_new for r in exact} == {osl}


def test_predicted_point_carries_the_range_ratio():
    full = predict_point(LLAMA, "h100_sxm", "fp8", "TP1", 1000, 100, 8, num_prompts=400, range_ratio=1.0)
    half = predict_point(LLAMA, "h100_sxm", "fp8", "TP1", 1000, 100, 8, num_prompts=400, range_ratio=0.5)
    assert full["total_input_tokens"] == 400 * 1000
    assert half["total_input_tokens"] / half["completed"] == pytest.approx(750, rel=0.03)
    assert half["total_output_tokens"] / half["completed"] == pytest.approx(75, rel=0.03)


def test_points_csv_range_ratio_column(tmp_path):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    head = ",".join(ROW) + ",range_ratio\n"
    line = ",".join(ROW.values())
    src.write_text(head + f"{line},\n{line},1\n{line},2\n")
    assert predict_csv(src, out, default_range_ratio=0.5) == 1
    rows = list(csv.DictReader(out.open()))
    assert [r["range_ratio"] for r in rows] == ["0.5", "1.0", "2"]
    assert rows[0]["error"] == rows[1]["error"] == ""
    assert "column range_ratio must be a number in (0, 1]" in rows[2]["error"]
    # drawn lengths (mean 0.75 L) are another load than exact ones: fewer tokens, other waves
    assert float(rows[0]["output_throughput"]) != float(rows[1]["output_throughput"])


def test_server_flags_are_checked_and_accepted():
    flags = {"single": ["--tp-size", "1", "--mem-fraction-static", "0.85"]}
    m = predict_point(LLAMA, "h100_sxm", "fp8", "TP1", 512, 64, 4, server_flags=flags)
    assert m["completed"] > 0
    with pytest.raises(FrontierError, match="server_flags: unknown role 'router'"):
        predict_point(LLAMA, "h100_sxm", "fp8", "TP1", 512, 64, 4, server_flags={"router": []})
    with pytest.raises(FrontierError, match="list of argv strings"):
        predict_point(LLAMA, "h100_sxm", "fp8", "TP1", 512, 64, 4, server_flags={"single": "--tp 1"})


# ---- a whole spec ----------------------------------------------------------------------------------

SMALL = {
    "name": "small",
    "engine": "sglang",
    "scenarios": [{"name": "1k128", "isl": 1024, "osl": 128}],
    "concurrencies": [1, 4, 16, 64],
    "matrix": [
        {"model": LLAMA, "hardware": "h100_sxm", "precision": "fp8", "labels": ["TP1", "TP2"]},
        {"model": R1, "hardware": "h200_sxm", "precision": "fp8", "labels": ["TP8", "SEP4+1xDEP8"]},
    ],
}


@pytest.fixture(scope="module")
def small_rows():
    seen = []
    rows = predict_spec(SMALL, on_item=lambda it, got, s: seen.append((it.label, len(got), s)))
    return rows, seen


def test_spec_gives_one_row_per_item_and_concurrency(small_rows):
    rows, seen = small_rows
    assert [(lab, n) for lab, n, _ in seen] == [("TP1", 4), ("TP2", 4), ("TP8", 4), ("SEP4+1xDEP8", 4)]
    assert len(rows) == 16 and all(set(r) == set(SPEC_COLUMNS) for r in rows)
    assert [r["concurrency"] for r in rows[:4]] == [1, 4, 16, 64]
    assert {(r["scenario"], r["isl"], r["osl"], r["range_ratio"]) for r in rows} == {
        ("1k128", 1024, 128, DEFAULT_LOAD.range_ratio)
    }
    assert [r["num_prompts"] for r in rows[:4]] == [20, 40, 160, 640]
    ok = [r for r in rows if r["label"] != "SEP4+1xDEP8"]
    assert all(r["error"] is None and r["tpot_ms"] > 0 and r["ttft_ms"] > 0 for r in ok)
    assert {r["gpus"] for r in rows if r["label"] == "TP2"} == {2}


def test_an_item_that_cannot_fit_says_why_and_the_others_continue(small_rows):
    rows, _ = small_rows
    bad = [r for r in rows if r["label"] == "SEP4+1xDEP8"]  # 671 GB of FP8 weights on a 4 x 141 GB server
    assert len(bad) == 4 and all(r["error"] and "fit" in r["error"] for r in bad)
    assert all(r["tpot_ms"] is None for r in bad)
    assert any(r["error"] is None for r in rows if r["label"] == "TP8")


def test_tp_label_is_monotonic_in_concurrency(small_rows):
    rows, _ = small_rows
    tp1 = [r for r in rows if r["label"] == "TP1"]
    gpu, tpot = [r["tok_s_gpu"] for r in tp1], [r["tpot_ms"] for r in tp1]
    assert gpu == sorted(gpu) and gpu[-1] > 4 * gpu[0]  # throughput per GPU grows with the batch
    assert tpot == sorted(tpot)  # and so does the time per output token
    assert all(r["tok_s_user"] == pytest.approx(1000 / r["tpot_ms"]) for r in tp1)


def test_item_flags_come_from_the_launch_plan():
    spec = parse_spec({**SMALL, "matrix": [{**SMALL["matrix"][1], "labels": ["TEP8+1xDEP8"]}]})
    (item,) = plan(spec)
    flags = server_flags_of(item)
    assert set(flags) == {"prefill", "decode"}
    assert flags["prefill"][:2] == ("--model-path", R1)
    assert "prefill" in flags["prefill"] and "decode" in flags["decode"]  # --disaggregation-mode
    (pred,) = plan(parse_spec({**SMALL, "engine": "predict"}))[:1]
    assert server_flags_of(pred) == {}


def test_bad_spec_key_gets_the_validators_message():
    with pytest.raises(SpecError, match="field `concurency`: unknown key"):
        predict_spec({**SMALL, "concurency": [1]})


# ---- the CLI --------------------------------------------------------------------------------------


def _parser():
    ap = argparse.ArgumentParser()
    cli.register(ap.add_subparsers())
    return ap


def test_render_csv_json_table(small_rows):
    rows, _ = small_rows
    got = list(csv.DictReader(io.StringIO(cli.render(rows, "csv"))))
    assert len(got) == 16 and list(got[0]) == list(SPEC_COLUMNS) and got[0]["error"] == ""
    js = json.loads(cli.render(rows, "json"))
    assert len(js) == 16 and js[0]["label"] == "TP1" and js[-1]["tpot_ms"] is None
    table = cli.render(rows, "table", title="t")
    assert "tok/s/GPU" in table and "1k128 (1024/128)" in table and "SEP4+1xDEP8" in table


@pytest.mark.parametrize(
    "argv,match",
    [
        (["predict", "s.yaml", "--model", LLAMA], "not several: drop --model"),
        (["predict", "s.yaml", "--points", "x.csv"], "not several: drop --points"),
        (["predict", "--format", "csv", "--model", LLAMA], "--format go with a SPEC"),
        (["predict", "--points", "x.csv", "--out", "o.csv", "--random-range-ratio", "1.5"], "--random-range"),
        (["predict", "no-such-spec.yaml"], "not found"),
    ],
)
def test_cli_forms_do_not_mix(argv, match):
    ns = _parser().parse_args(argv)
    with pytest.raises(FrontierError, match=match):
        ns.handler(ns)


def test_cli_spec_writes_csv_by_extension(tmp_path, capsys):
    import yaml

    src = tmp_path / "s.yaml"
    src.write_text(yaml.safe_dump(SMALL))
    out = tmp_path / "p.csv"
    ns = _parser().parse_args(
        ["predict", str(src), "--labels", "TP1", "--concurrencies", "2,8", "--out", str(out)]
    )
    assert ns.handler(ns) == 0
    cap = capsys.readouterr()
    assert f"wrote {out} (2 row(s), csv)" in cap.out and "s per item" in cap.out
    assert "h100_sxm TP1 / 1k128: 2 point(s) in" in cap.err
    assert [r["concurrency"] for r in csv.DictReader(out.open())] == ["2", "8"]


def test_cli_point_form_takes_the_range_ratio(capsys):
    base = ["predict", "--model", LLAMA, "--hardware", "h100_sxm", "--label", "TP1", "--isl", "512"]
    ns = _parser().parse_args([*base, "--osl", "64", "--concurrency", "4", "--random-range-ratio", "0.5"])
    assert ns.handler(ns) == 0
    assert "range ratio 0.5" in capsys.readouterr().out.splitlines()[0]
    ns = _parser().parse_args([*base, "--osl", "64", "--concurrency", "4"])
    assert ns.handler(ns) == 0
    assert f"range ratio {DEFAULT_RANGE_RATIO:g}" in capsys.readouterr().out


def test_spec_range_ratio_zero_draws_lengths_from_one():
    """The spec's ``load.range_ratio`` may be 0 (bench_serving: lengths in [1, L]); it predicts."""
    small = {**SMALL, "concurrencies": [4], "matrix": [{**SMALL["matrix"][0], "labels": ["TP1"]}]}
    (row,) = predict_spec({**small, "load": {"range_ratio": 0}})
    assert row["error"] is None and row["range_ratio"] == 0 and row["tpot_ms"] > 0


# ---- a point's servers: the recipe's flags, speculative decoding ---------------------------------


def test_a_point_runs_with_the_recipe_flags_frontier_run_would_give_it():
    from frontier.planning.engines import role_server_flags
    from frontier.planning.sglang_args import build_launch_plan
    from frontier.sim.predict import point_flags, predict_row

    args = {"model": R1, "hardware": "b200_sxm", "precision": "fp4", "label": "TP8", "speculative": "none"}
    flags = cli.recipe_flags(args)
    plan_flags = role_server_flags(build_launch_plan("TP8", model=R1, hardware="b200_sxm", precision="fp4"))
    assert flags == plan_flags and "--mem-fraction-static" in flags["single"]
    from frontier.sim.predict import kv_dtype_of_flags

    kw = point_flags(args, cli.recipe_flags)
    assert kv_dtype_of_flags(kw["server_flags"]) == "fp8"  # the fp4 recipe's --kv-cache-dtype fp8_e4m3
    row = {**ROW, "model": R1, "hardware": "b200_sxm", "precision": "fp4", "label": "TP8", "osl": "256"}
    row["concurrency"] = "4"
    plain = predict_row(row, flags_for=cli.recipe_flags)
    mtp = predict_row({**row, "speculative": "MTP"}, flags_for=cli.recipe_flags)
    assert plain["error"] == mtp["error"] == "" and mtp["speculative"] == "mtp"
    # the MTP head's accepted drafts: faster per user at low concurrency
    assert float(mtp["tok_s_user"]) > 1.3 * float(plain["tok_s_user"])
    defaults = predict_row(row)  # no flags_for: SGLang's own defaults (--no-recipes)
    assert defaults["error"] == "" and defaults["tpot_ms"] != plain["tpot_ms"]


def test_speculative_column_and_no_recipes_errors_name_the_fix():
    from frontier.sim.predict import point_flags, predict_row

    bad = predict_row({**ROW, "speculative": "eagle3"}, flags_for=cli.recipe_flags)
    assert "column speculative must be none or mtp" in bad["error"]
    with pytest.raises(FrontierError, match="drop --no-recipes"):
        point_flags({**ROW, "speculative": "mtp"}, None)
    # a label SGLang cannot express still predicts, with the simulator's defaults
    assert cli.recipe_flags({**ROW, "label": "EP8", "model": R1, "hardware": "h200_sxm"}) == {}


def test_engine_predict_items_run_the_flags_engine_sglang_would():
    from frontier.planning.engines import item_server_flags, role_server_flags
    from frontier.planning.sglang_args import build_launch_plan

    d = {
        "name": "pred",
        "engine": "predict",
        "scenarios": [{"name": "1k1k", "isl": 1024, "osl": 256}],
        "concurrencies": [16],
        "matrix": [
            {
                "model": R1,
                "hardware": "b200_sxm",
                "precision": "fp4",
                "labels": ["TP8"],
                "speculative": ["none", "mtp"],
            }
        ],
    }
    spec = parse_spec(d)
    plain, mtp = plan(spec)
    assert not plain.launch.get("servers")  # engine predict launches nothing ...
    want = role_server_flags(build_launch_plan("TP8", model=R1, hardware="b200_sxm", precision="fp4"))
    assert item_server_flags(plain, spec) == want  # ... but predicts the recipe SGLang would run
    assert "--speculative-algorithm" in item_server_flags(mtp, spec)["single"]
    rows = predict_spec(spec)
    by = {r["label"]: r for r in rows}
    assert by["TP8 MTP"]["tok_s_user"] > by["TP8"]["tok_s_user"]  # the MTP twin differs now


def test_a_spec_sets_the_acceptance_length_as_a_sim_flag_and_as_sglangs_environment():
    from frontier.planning.engines import item_server_flags
    from frontier.sim.config import parse_config

    d = {
        "name": "acc",
        "scenarios": [{"name": "1k1k", "isl": 1024, "osl": 256}],
        "concurrencies": [4],
        "matrix": [
            {
                "model": R1, "hardware": "b200_sxm", "precision": "fp4", "labels": ["TP8"],
                "speculative": ["mtp"], "mtp": {"accept_len": 1.4},
            }
        ],
    }  # fmt: skip
    real = plan(parse_spec({**d, "engine": "sglang"}))[0]
    assert "--speculative-accept-len" not in " ".join(real.launch["servers"][0]["argv"])  # not an SGLang flag
    assert real.launch["servers"][0]["env"]["SGLANG_SIMULATE_ACC_LEN"] == "1.4"  # its benchmark knob
    pred = parse_spec({**d, "engine": "predict"})
    assert item_server_flags(plan(pred)[0], pred)["single"][-2:] == ("--speculative-accept-len", "1.4")
    sim = plan(parse_spec({**d, "engine": "sim"}))[0]
    argv = sim.launch["servers"][0]["argv"]
    cfg = parse_config(argv[argv.index("--model-path") :])
    assert cfg.spec.derived("single", cfg.spec.topology.groups[0].shape).spec.accept_len == 1.4
    with pytest.raises(SpecError, match="accept_len"):
        parse_spec({**d, "matrix": [{**d["matrix"][0], "mtp": {"accept_len": 0.5}}]})


def test_sim_server_takes_sglangs_simulated_acceptance_from_its_environment():
    """A real SGLang MTP command with its SGLANG_SIMULATE_ACC_LEN environment, run by the simulated
    server, accepts the same mean length; an explicit flag wins; a bad value is named."""
    from frontier.errors import FrontierError
    from frontier.sim.config import parse_config
    from frontier.sim.launch_server import with_simulated_acceptance

    d = {
        "name": "env", "engine": "sglang", "scenarios": ["1k1k"], "concurrencies": [4],
        "matrix": [{
            "model": R1, "hardware": "b200_sxm", "precision": "fp8", "labels": ["TP8"],
            "speculative": ["mtp"], "mtp": {"accept_len": 1.4},
        }],
    }  # fmt: skip
    server = plan(parse_spec(d))[0].launch["servers"][0]
    argv = server["argv"][server["argv"].index("--model-path") :] + [
        "--hardware",
        "b200_sxm",
        "--precision",
        "fp8",
    ]

    def accept_len(args):
        cfg = parse_config(args)
        return cfg.spec.derived("single", cfg.spec.topology.groups[0].shape).spec.accept_len

    assert accept_len(with_simulated_acceptance(argv, server["env"])) == 1.4
    assert accept_len(with_simulated_acceptance(argv, {})) != 1.4  # the public default
    explicit = [*argv, "--speculative-accept-len", "1.9"]
    assert accept_len(with_simulated_acceptance(explicit, server["env"])) == 1.9
    assert with_simulated_acceptance(argv, {"SGLANG_SIMULATE_ACC_LEN": "-1"}) == argv  # SGLang's "off"
    no_mtp = [a for a in argv if not a.startswith("--speculative")]
    assert with_simulated_acceptance(no_mtp, server["env"]) == no_mtp
    with pytest.raises(FrontierError, match="SGLANG_SIMULATE_ACC_LEN='fast': not a number"):
        with_simulated_acceptance(argv, {"SGLANG_SIMULATE_ACC_LEN": "fast"})
