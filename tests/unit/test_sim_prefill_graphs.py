"""Prefill CUDA graphs: eager by default (as every public measurement ran), on when the flags ask."""

from __future__ import annotations

import pytest

from frontier.sim.cluster import Cluster
from frontier.sim.perf_model import prefill_work
from frontier.sim.predict import build_spec

R1 = "deepseek-ai/DeepSeek-R1"
ASK = ("--cuda-graph-backend-prefill", "breakable")


def _engine(flags=(), label="TP8", role="single"):
    spec = build_spec(R1, "h200_sxm", "fp8", label, server_flags={role: flags} if flags else None)
    return next(e for e in Cluster(spec).engines if e.role in (role, "single"))


def _prefill(e, tokens: int) -> float:
    w = prefill_work(0, tokens)
    return e.sm.step_time(0, 0, tokens, w, (tokens, w))


def test_a_prefill_within_the_graph_skips_the_eager_cost_and_a_longer_one_pays_it():
    eager, graphed = _engine(), _engine(ASK)
    assert eager.sm.prefill_graph_tokens == 0 and graphed.sm.prefill_graph_tokens == 2048
    assert _prefill(eager, 1024) - _prefill(graphed, 1024) == pytest.approx(eager.sm.eager_time, rel=1e-6)
    assert _prefill(eager, 4096) == pytest.approx(_prefill(graphed, 4096), rel=1e-9)
    bigger = _engine((*ASK, "--cuda-graph-max-bs-prefill", "8192"))
    assert _prefill(bigger, 4096) < _prefill(eager, 4096)


def test_prefill_graphs_stay_off_where_sglang_turns_them_off():
    # two-batch overlap, an unvalidated all-to-all backend, an explicit disable
    for extra in (("--enable-two-batch-overlap",), ("--moe-a2a-backend", "mooncake")):
        assert _engine((*ASK, *extra), label="DEP8").sm.prefill_graph_tokens == 0
    assert _engine(("--cuda-graph-backend-prefill", "disabled")).sm.prefill_graph_tokens == 0
