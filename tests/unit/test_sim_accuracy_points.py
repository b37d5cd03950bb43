"""The public calibration points (tests/data/calibration/public_points.yaml) and the pure parts of
benchmarks/sim_accuracy.py: schema, server flags built from a point's harness, the summary."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("sim_accuracy", ROOT / "benchmarks/sim_accuracy.py")
acc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(acc)

POINTS = yaml.safe_load((ROOT / "tests/data/calibration/public_points.yaml").read_text())


def test_every_public_point_is_valid_and_cited():
    assert acc.validate(POINTS) == []
    for p in POINTS:
        assert p["source"]["url"] and len(p["source"]["quote"]) > 20, p["id"]


def test_points_cover_the_classes_fp4_and_mtp():
    classes = {p["class"] for p in POINTS}
    assert classes == {"dense", "moe", "pd"}
    assert any(p["precision"] == "fp4" for p in POINTS)
    mtp = [p for p in POINTS if isinstance(p["speculative"], dict)]
    # acceptance lengths as published (null where the publication gives none)
    assert mtp and any(p["speculative"]["accept_len"] for p in mtp)
    # another engine counts as magnitude only
    assert all(p["weight"] < 1 for p in POINTS if p["engine"] != "sglang")


def _one(pid: str) -> dict:
    return copy.deepcopy(next(p for p in POINTS if p["id"] == pid))


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda p: p["source"].pop("quote"), "source needs url and quote"),
        (lambda p: p.pop("measured"), "missing measured"),
        (lambda p: p["measured"].update(ttft=3.0), "unknown measured figure 'ttft'"),
        (lambda p: p.update(engine="vllm"), "magnitude only"),
        (lambda p: p.update(kind="decode"), "kind must be one of"),
        (lambda p: p.update(concurrency=0), "concurrency must be a positive integer"),
        (lambda p: p.update(speculative={"algorithm": "EAGLE"}), "speculative is none or a mapping"),
        (lambda p: p["harness"].update(range_ratio=1.5), "range_ratio must be in [0, 1]"),
    ],
)
def test_validate_names_the_point_and_field(mutate, message):
    p = _one("sglang-0.5.9-r1-tp8-h200-8k1k-c4")
    mutate(p)
    errs = acc.validate([p])
    assert any(message in e and "sglang-0.5.9-r1-tp8-h200-8k1k-c4" in e for e in errs), errs


def test_duplicate_ids_are_refused():
    p = _one("sglang-0.5.9-r1-tp8-h200-8k1k-c4")
    assert any("duplicate id" in e for e in acc.validate([p, copy.deepcopy(p)]))


def test_server_flags_of_an_aggregated_point():
    p = _one("sglang-0.5.9-r1-tp8-h200-8k1k-c4")
    argv = acc.server_flags(p)["single"]
    assert argv[argv.index("--chunked-prefill-size") + 1] == "32768"
    assert argv[argv.index("--mem-fraction-static") + 1] == "0.82"
    assert argv[argv.index("--max-running-requests") + 1] == "256"
    assert "--speculative-algorithm" not in argv


def test_server_flags_of_a_pd_label_put_mtp_on_decode():
    p = _one("lmsys-2025-07-mtp-h200-decode-dep16-64k-mtp4")
    p["label"] = "DEP8+1xDEP16"
    p["harness"] = {"chunk": 16384, "decode": {"cuda_graph_max_bs": 64}}
    f = acc.server_flags(p)
    assert f["prefill"] == ("--chunked-prefill-size", "16384")
    d = f["decode"]
    assert d[d.index("--cuda-graph-max-bs") + 1] == "64"
    assert d[d.index("--speculative-num-steps") + 1] == "3"
    assert d[d.index("--speculative-num-draft-tokens") + 1] == "4"
    assert d[d.index("--speculative-eagle-topk") + 1] == "1"
    assert d[d.index("--speculative-accept-len") + 1] == "2.44"


def test_summary_separates_magnitude_points_and_counts_not_predicted():
    def row(cls, weight, err, metric="TPOT"):
        return {"class": cls, "weight": weight, "figures": {"x": {"metric": metric, "error": err}}}

    rows = [
        row("moe", 1.0, 0.10),
        row("moe", 1.0, -0.30),
        row("moe", 1.0, 0.20),
        row("moe", 0.25, 2.0),
        row("moe", 1.0, None),
        row("moe", 0.5, None, "TTFT"),
    ]
    s = {(x["class"], x["metric"]): x for x in acc.summarize(rows)}
    tpot = s[("moe", "TPOT")]
    assert tpot["n"] == 3 and tpot["median_abs_error"] == pytest.approx(0.20)
    assert tpot["median_error"] == pytest.approx(0.10)
    assert tpot["n_magnitude"] == 1 and tpot["median_abs_error_magnitude"] == pytest.approx(2.0)
    assert tpot["not_predicted"] == 1 and tpot["goal"] == 0.25
    ttft = s[("moe", "TTFT")]
    assert ttft["n"] == 0 and ttft["median_abs_error"] is None and ttft["not_predicted_magnitude"] == 1


def test_a_point_without_a_published_batch_is_listed_as_not_predicted():
    res = acc.evaluate([_one("lmsys-2025-06-gb200-decode-dep48-fp8-2k")], log=None)
    (r,) = res["points"]
    assert r["predicted"] is False and "batch per GPU" in r["error"]
    assert r["figures"]["output_tok_s_per_gpu"]["error"] is None
    assert res["summary"][0]["not_predicted"] == 1 and res["wall_s_per_point"] is None
