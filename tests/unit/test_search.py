"""Configuration search: label enumeration (pure) and the winners' spec."""

from __future__ import annotations

import pytest

from frontier.analysis.search import Candidate, SearchResult, enumerate_labels, scenario_name, winners_spec
from frontier.domain import labels
from frontier.domain.spec import parse_spec
from frontier.errors import FrontierError

R1 = "deepseek-ai/DeepSeek-R1"
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"


def test_enumeration_covers_every_family_within_the_gpus():
    got = enumerate_labels(R1, 16)
    assert len(got) == len(set(got))
    for want in ("TP8", "TEP8", "DEP8", "DPATP8", "SEP16", "DEP16", "1xSEP8+1xDEP8", "1xDEP4+1xDEP8",
                 "2xTEP4+1xDEP8", "1xTP8+1xTEP8", "3xTEP4+2xTP2"):  # fmt: skip
        assert want in got, want
    assert all(labels.parse(x).gpus <= 16 for x in got)
    assert "1xSEP8+1xDEP16" not in got  # 24 GPUs
    assert not any(g.mode in ("EP", "DPAEP") for x in got for g in labels.parse(x).groups)
    assert all(labels.canonical(x) == x for x in got)


def test_enumeration_of_a_dense_model_has_no_expert_modes():
    got = enumerate_labels(LLAMA, 8)
    assert {"TP1", "TP8", "DP8", "DPATP4", "1xTP2+1xTP4", "2xTP1+3xTP2"} <= set(got)
    assert not any(labels.parse(x).needs_moe for x in got)


def test_enumeration_rejects_a_bad_gpu_count():
    with pytest.raises(FrontierError, match="--gpus"):
        enumerate_labels(R1, 0)


def _result(points):
    cands = [Candidate(label, 8, [p for p in points if p["label"] == label]) for label in ("TP8", "DEP8")]
    allp = [p for c in cands for p in c.points]
    return SearchResult(R1, "h200_sxm", "fp8", 16, 8192, 1024, [4, 8, 16, 32, 64], cands,
                        frontier=[p for p in allp if p.get("front")],
                        bands=[{"band_tok_s_user": 20.0, **allp[0]}], enumerated=2,
                        limits={}, notes=[])  # fmt: skip


def test_winners_spec_measures_the_winners_around_their_frontier_points_and_validates():
    pts = [
        {"label": "DEP8", "max_concurrency": 64, "tok_s_gpu": 900.0, "tok_s_user": 20.0, "front": True},
        {"label": "TP8", "max_concurrency": 4, "tok_s_gpu": 100.0, "tok_s_user": 90.0, "front": True},
        {"label": "TP8", "max_concurrency": 64, "tok_s_gpu": 50.0, "tok_s_user": 10.0},
    ]
    spec = winners_spec(_result(pts))
    assert spec["matrix"][0]["labels"] == ["DEP8", "TP8"]  # best first
    assert spec["concurrencies"] == [4, 8, 32, 64]  # each frontier point and its neighbours
    assert spec["adaptive"] is True and spec["inventory"] == {"h200_sxm": 16}
    assert spec["scenarios"][0] == {"name": "8k1k", "isl": 8192, "osl": 1024}
    parsed = parse_spec(spec)
    assert parsed.engine == "sglang" and parsed.adaptive


def test_winners_spec_without_winners_says_how_to_fix():
    r = _result([{"label": "TP8", "max_concurrency": 4, "tok_s_gpu": 1.0, "tok_s_user": 1.0}])
    r.bands, r.frontier = [{"band_tok_s_user": 20.0}], []
    with pytest.raises(FrontierError, match="relax"):
        winners_spec(r)


def test_scenario_names():
    assert scenario_name(1024, 1024) == "1k1k" and scenario_name(8192, 1024) == "8k1k"
    assert scenario_name(1000, 64) == "isl1000-osl64"
