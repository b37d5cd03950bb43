"""The predictor's fast paths (StepModel.decode_times, VirtualDriver._start) equal the plain formulas.

decode_times caches a step's coefficients per batch, runs long segments in one numpy pass and
short ones in a tight loop; these tests rebuild every step the plain way (step_time at the running
context, times the noise factor) on dense, MoE, DP-attention, wide-EP, MTP and graph-capped shapes,
on both sides of the numpy threshold, and ask for agreement to 1e-12 relative.
"""

from __future__ import annotations

import itertools
import math

import pytest

from frontier.domain.catalog import get_hardware, get_model
from frontier.sim import perf_model
from frontier.sim.cluster import Cluster
from frontier.sim.perf_model import StepModel
from frontier.sim.predict import build_spec
from frontier.sim.scheduler import SimRequest
from frontier.sim.specdec import SpecDecode
from frontier.sim.topology import from_label
from frontier.sim.virtual import VirtualDriver

R1 = "deepseek-ai/DeepSeek-R1"
L8 = "meta-llama/Llama-3.1-8B-Instruct"
STEPS = (1, 2, 7, perf_model._VECTOR_STEPS - 1, perf_model._VECTOR_STEPS, 300)


def _sm(model, hw, label, precision="fp8", **kw) -> StepModel:
    m = get_model(model)
    return StepModel(m, get_hardware(hw), precision, from_label(label, m).groups[0].shape, **kw)


SHAPES = {
    "llama8b TP1 h100": lambda: _sm(L8, "h100_sxm", "TP1"),
    "llama8b TP1 graph cap 16": lambda: _sm(L8, "h100_sxm", "TP1", cuda_graph_max_bs=16),
    "r1 TP8 h200": lambda: _sm(R1, "h200_sxm", "TP8"),
    "r1 DEP8 h200 MTP": lambda: _sm(R1, "h200_sxm", "DEP8", spec=SpecDecode()),
    "r1 DEP8 b200 fp4 deepep": lambda: _sm(R1, "b200_sxm", "DEP8", "fp4", moe_a2a_backend="deepep"),
    "r1 DEP16 h200 (wide EP)": lambda: _sm(R1, "h200_sxm", "DEP16"),
    "r1 DEP72 h100 (wide EP, two-batch overlap)": lambda: _sm(R1, "h100_sxm", "DEP72"),
    "r1 TEP16 b300 MTP (wide EP)": lambda: _sm(R1, "b300_sxm", "TEP16", spec=SpecDecode(accept_len=2.7)),
}


def _plain(sm: StepModel, batch: int, ctx_sum: float, steps: int, scale: float) -> list[float]:
    """What decode_times computes, one step_time call a step (the formula before the fast path)."""
    grow = batch * sm.accept_len
    out, ctx = [], ctx_sum
    for i in range(steps):
        at = ctx_sum + i * grow if sm.wide_ep else ctx
        out.append(sm.step_time(batch, at) * scale)
        ctx += grow
    return out


def _close(got: list[float], want: list[float]) -> None:
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        assert math.isclose(g, w, rel_tol=1e-12, abs_tol=0.0), (i, g, w)


@pytest.mark.parametrize("name", list(SHAPES))
def test_decode_times_equals_step_time_at_the_running_context(name):
    sm = SHAPES[name]()
    batches = (1, 3, 16, 17, 64, 256, 1152) if sm.wide_ep else (1, 3, 16, 17, 64, 256)
    for batch, steps, scale in itertools.product(batches, STEPS, (1.0, 1.0734)):
        for ctx_sum in (batch * 1000, batch * 8191.5):
            _close(
                sm.decode_times(batch, ctx_sum, steps, scale=scale), _plain(sm, batch, ctx_sum, steps, scale)
            )
    # the per-batch cache gives the same answer the second time
    _close(sm.decode_times(64, 64 * 1000, 40), _plain(sm, 64, 64 * 1000, 40, 1.0))
    assert sm.decode_times(8, 8000, 0) == []


def test_wide_ep_shapes_cover_both_branches_of_the_overlap_model():
    # below tbo_min_tokens per GPU the stages add up, above it two-batch overlap applies
    sm = SHAPES["r1 DEP72 h100 (wide EP, two-batch overlap)"]()
    assert sm.wide_ep
    lo = sm._decode_consts(72)[-1]
    hi = sm._decode_consts(256 * 72)[-1]
    assert lo[0] is False and hi[0] is True


class _PlainDriver(VirtualDriver):
    """VirtualDriver with segment ends summed one by one (the loop before the fast path)."""

    def _start(self, e, t):
        run = self.runs[id(e)]
        events: list = []
        seg = e.plan(t, self.max_steps, events)
        self._handle(e, events, t)
        run.seg = seg
        if seg is None:
            run.ends = []
            return
        run.start = t
        ends, acc = [], t
        for d in seg.durations:
            acc += d
            ends.append(acc)
        run.ends = ends
        run.version += 1
        self._push(ends[-1], "end", e, run.version)


def _stamps(label: str, driver: type, isl: int, osl: int, conc: int, n: int) -> list[tuple]:
    cl = Cluster(build_spec(R1, "h200_sxm", "fp8", label, seed=3))
    reqs = [SimRequest(i, isl - (i * 37) % 300, osl - (i * 11) % 100) for i in range(n)]
    drv = driver(cl)
    it = iter(reqs)
    drv.on_done = lambda r, t: (q := next(it, None)) is not None and drv.submit(q, t)
    for r in itertools.islice(it, conc):
        drv.submit(r, 0.0)
    drv.run()
    return [(r.first_token, r.finish, r.error) for r in reqs]


@pytest.mark.parametrize("label", ["TP8", "SEP8+1xDEP8", "DEP16"])
def test_virtual_driver_stamps_equal_the_plain_running_sum(label):
    fast = _stamps(label, VirtualDriver, 2048, 400, 24, 60)
    assert all(f is not None and e is None for _, f, e in fast)
    plain = _stamps(label, _PlainDriver, 2048, 400, 24, 60)
    for a, b in zip(fast, plain):
        assert math.isclose(a[0], b[0], rel_tol=1e-12) and math.isclose(a[1], b[1], rel_tol=1e-12)
