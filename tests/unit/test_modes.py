"""frontier.domain.modes: the one table of parallelism-mode traits, and that every reader agrees with it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontier.domain import labels
from frontier.domain.catalog import get_model
from frontier.domain.modes import MODES, ModeTraits, traits
from frontier.errors import FrontierError
from frontier.planning import memory
from frontier.planning.sglang_args import SGLANG_VERSION, UnsupportedLabel, build_launch_plan, parallel_args
from frontier.sim import topology
from frontier.sim.config import parse_config

R1, LLAMA = "deepseek-ai/DeepSeek-R1", "meta-llama/Llama-3.1-8B-Instruct"
GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden_commands"
EXPRESSIBLE = sorted(m for m, t in MODES.items() if t.sglang is not None)


def _flags_in(argv: list[str], flags: list[str]) -> bool:
    """``flags`` appear in ``argv`` as one contiguous run."""
    k = len(flags)
    return any(argv[i : i + k] == flags for i in range(len(argv) - k + 1))


def test_every_grammar_mode_has_traits_and_back():
    assert set(get_args(labels.Mode)) == set(MODES) == set(labels.MODES)
    for name, t in MODES.items():
        assert isinstance(t, ModeTraits) and t.name == name
        assert traits(name) is t
    with pytest.raises(KeyError, match="unknown parallelism mode 'XP'; known: DEP, DP, DPAEP"):
        traits("XP")


def test_inconsistent_traits_are_rejected():
    base = {"attention": "tp", "expert_parallel": False, "needs_moe": False, "dense_alternative": ("TP",)}
    with pytest.raises(ValueError, match="mode X: give sglang flags or sglang_unsupported"):
        ModeTraits("X", **base, dense_sharded=True, sglang=None)
    with pytest.raises(ValueError, match="mode X: needs_moe without expert_parallel"):
        ModeTraits("X", **{**base, "needs_moe": True}, dense_sharded=True, sglang=("--tp-size", "{n}"))
    assert ModeTraits("X", **base, dense_sharded=True, sglang=("--tp-size", "{n}")).sglang_flags(3) == [
        "--tp-size",
        "3",
    ]


def test_grammar_alternation_lists_longer_modes_first():
    # labels.MODES feeds regex alternations (adhoc.LABEL_PATTERN): a prefix must come after its extensions
    order = labels.MODES
    assert len(order) == len(set(order))
    for i, m in enumerate(order):
        assert not any(m.startswith(earlier) and m != earlier for earlier in order[:i])


def test_derived_mode_sets_match_the_table():
    assert labels.EXPERT_PARALLEL_MODES == {"TEP", "DEP", "EP", "DPAEP", "SEP"}
    assert labels.DP_ATTENTION_MODES == {"DEP", "DPAEP", "DPATP"}
    assert {m for m, t in MODES.items() if t.sglang is None} == {"EP", "DPAEP"}
    assert {m for m, t in MODES.items() if t.one_node_only} == {"DP"}
    assert {m for m, t in MODES.items() if t.prefill_cp} == {"SEP"}


@pytest.mark.parametrize(
    "tp,ep,dpa", [(t, e, d) for t in (1, 2, 8) for e in (1, 2, 8) for d in (False, True)]
)
def test_inferencex_convention_agrees_with_the_table(tp, ep, dpa):
    t = MODES[labels.mode_of(tp, ep, dpa)]
    assert t.dp_attention == dpa
    assert t.expert_parallel == (ep > 1)


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("n", [1, 2, 4, 8, 16])
def test_one_server_covers_its_gpus(mode, n):
    """attention TP x attention ranks x context parallel = GPUs of one (simulated) server, for every mode."""
    t = MODES[mode]
    gpus, servers = t.sim_servers(n)
    assert gpus * servers == n
    assert t.attn_tp(gpus) * t.attn_dp(gpus) * t.cp(gpus) == gpus
    assert t.kv_ranks(n) in (1, n) and t.expert_shard(n) in (1, n)
    shape = topology.shape_of(mode, n, get_model(R1), f"{mode}{n}")
    assert (shape.gpus, shape.attn_tp, shape.attn_dp, shape.cp) == (
        gpus,
        t.attn_tp(gpus),
        t.attn_dp(gpus),
        t.cp(gpus),
    )
    assert shape.ep == (n if t.expert_parallel else 1)


# the simulator's server shape of MODE8 on a MoE model: (gpus, attn_tp, attn_dp, ep, dense_shard, cp), servers
SHAPES_8 = {
    "TP": ((8, 8, 1, 1, 8, 1), 1),
    "DP": ((1, 1, 1, 1, 1, 1), 8),
    "TEP": ((8, 8, 1, 8, 8, 1), 1),
    "EP": ((8, 8, 1, 8, 8, 1), 1),
    "DEP": ((8, 1, 8, 8, 1, 1), 1),
    "DPAEP": ((8, 1, 8, 8, 1, 1), 1),
    "DPATP": ((8, 1, 8, 1, 8, 1), 1),
    "SEP": ((8, 1, 1, 8, 8, 8), 1),
}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_sim_shapes_per_mode(mode):
    assert set(SHAPES_8) == set(MODES)
    (topo_group,) = topology.from_label(f"{mode}8", get_model(R1)).groups
    s = topo_group.shape
    assert ((s.gpus, s.attn_tp, s.attn_dp, s.ep, s.dense_shard, s.cp), topo_group.count) == SHAPES_8[mode]


def test_sim_dense_models():
    llama = get_model(LLAMA)
    # SEP on a dense model is plain context parallel; the other expert modes need a MoE model
    (g,) = topology.from_label("SEP4", llama).groups
    assert (g.shape.ep, g.shape.cp, g.shape.attn_tp) == (1, 4, 1)
    for mode in sorted(m for m, t in MODES.items() if t.needs_moe and not t.sim_dense_ok):
        with pytest.raises(FrontierError, match=f"{mode}4 needs a MoE model"):
            topology.from_label(f"{mode}4", llama)
    # expert flags on a dense model fall back to the mode without experts
    assert topology.from_server_flags(llama, tp=4, ep=4).label == "TP4"
    assert topology.from_server_flags(llama, tp=4, ep=4, attn_dp=4).label == "DPATP4"
    assert topology.from_server_flags(llama, tp=2, dp=4).groups[0].count == 4


@pytest.mark.parametrize("mode", EXPRESSIBLE)
@pytest.mark.parametrize("n", [2, 4, 8])
def test_table_flags_are_what_the_label_command_runs(mode, n):
    flags = MODES[mode].sglang_flags(n)
    assert flags and str(n) in flags
    plan = build_launch_plan(f"{mode}{n}", model=R1, hardware="h200_sxm", precision="fp8")
    (server,) = plan.servers
    assert _flags_in(server.argv, flags)
    assert parallel_args(labels.parse(f"{mode}{n}").groups[0], get_model(R1), f"{mode}{n}") == flags


@pytest.mark.parametrize("mode", EXPRESSIBLE)
@pytest.mark.parametrize("n", [2, 4, 8])
def test_table_flags_mean_what_the_table_says(mode, n):
    """The simulator reading the SGLang flags back gets the same topology as the label (flags round-trip)."""
    model = get_model(R1)
    plan = build_launch_plan(f"{mode}{n}", model=R1, hardware="h200_sxm", precision="fp8")
    (server,) = plan.servers
    cfg = parse_config([*server.argv[3:], "--hardware", "h200_sxm", "--precision", "fp8"])
    assert cfg.spec.topology == topology.from_label(f"{mode}{n}", model)


def test_golden_commands_carry_the_table_flags():
    seen = 0
    for path in sorted(GOLDEN.glob("*.json")):
        js = json.loads(path.read_text())
        if js["engine"] == "sim":  # one --deployment process: no per-group flags
            continue
        dep = labels.parse(js["label"])
        servers = iter(js["servers"])
        for g in dep.groups:
            for _ in range(g.count):
                nnodes = None
                while True:
                    s = next(servers)
                    assert s["role"] == g.role
                    assert _flags_in(s["argv"], g.traits.sglang_flags(g.gpus)), (path.name, s["argv"])
                    seen += 1
                    nnodes = s["nnodes"] if nnodes is None else nnodes
                    if s["node_rank"] == nnodes - 1:
                        break
        assert next(servers, None) is None
    assert seen >= 15


@pytest.mark.parametrize("mode", sorted(set(MODES) - set(EXPRESSIBLE)))
def test_inexpressible_modes_fail_with_the_table_reason(mode):
    reason = MODES[mode].unsupported_reason(8, SGLANG_VERSION)
    assert f"{mode}n means expert parallel n" in reason and "Use TEP8 or DEP8" in reason
    with pytest.raises(UnsupportedLabel) as e:
        build_launch_plan(f"{mode}8", model=R1, hardware="h200_sxm", precision="fp8")
    assert str(e.value).endswith(reason)
    # the simulated engine still models it
    assert topology.from_label(f"{mode}8", get_model(R1)).gpus == 8


@pytest.mark.parametrize("mode", sorted(m for m, t in MODES.items() if t.needs_moe and t.sglang is not None))
def test_dense_model_gets_the_table_alternative(mode):
    alts = " or ".join(f"{a}4" for a in MODES[mode].dense_alternative)
    with pytest.raises(UnsupportedLabel, match=f"is a dense model; use {alts}$"):
        build_launch_plan(f"{mode}4", model=LLAMA, hardware="h100_sxm", precision="bf16")
    for alt in MODES[mode].dense_alternative:  # the suggestion itself is launchable on the dense model
        build_launch_plan(f"{alt}4", model=LLAMA, hardware="h100_sxm", precision="bf16")


def test_one_node_mode_rejected_past_a_node():
    with pytest.raises(
        UnsupportedLabel, match=r"--dp-size replicas run inside one server on one node \(8 GPUs\)"
    ):
        build_launch_plan("DP16", model=LLAMA, hardware="h100_sxm", precision="bf16")


@pytest.mark.parametrize("mode", sorted(MODES))
def test_memory_widths_come_from_the_table(mode):
    spec = get_model(R1)
    g = labels.Group(mode, 8)  # type: ignore[arg-type]
    t = MODES[mode]
    assert memory._widths(g, spec) == (t.attn_tp(8), t.expert_shard(8), t.cp(8))
    fit = memory._group_fit(g, spec, "fp8", 141.0, 1024, 512, 0.88)
    one = max(0, int(fit.kv_pool_gb // fit.kv_gb_one_request))
    assert fit.max_requests == one * t.kv_ranks(8)


# --------------------------------------------------------------------------- random labels

SIZES = [1, 2, 4, 8, 16, 32]


@st.composite
def launchable_groups(draw, role):
    mode = draw(st.sampled_from(EXPRESSIBLE))
    t = MODES[mode]
    sizes = [n for n in SIZES if not (t.one_node_only and n > 8)]
    return labels.Group(mode, draw(st.sampled_from(sizes)), draw(st.integers(1, 3)), role)


@st.composite
def launchable_labels(draw):
    if draw(st.booleans()):
        g = draw(launchable_groups("single"))
        return labels.Deployment((labels.Group(g.mode, g.gpus, 1, "single"),))
    return labels.Deployment((draw(launchable_groups("prefill")), draw(launchable_groups("decode"))))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(launchable_labels())
def test_plan_gpus_equal_label_gpus(dep):
    label = str(dep)
    assert labels.parse(label) == dep
    plan = build_launch_plan(label, model=R1, hardware="h200_sxm", precision="fp8")
    assert sum(s.gpus for s in plan.servers) == dep.gpus
    # every server process carries its group's table flags, and one HTTP server per label server
    by_group = {gi: g for gi, g in enumerate(dep.groups)}
    for s in plan.servers:
        g = by_group[s.group_index]
        assert _flags_in(s.argv, g.traits.sglang_flags(g.gpus))
    assert sum(s.serves_http for s in plan.servers) == sum(g.count for g in dep.groups)
    topo = topology.from_label(label, get_model(R1))
    assert topo.gpus == dep.gpus
    fit = memory.estimate_fit(label, R1, "h200_sxm", "fp8", isl=1024, osl=256)
    assert [g.group for g in fit.groups] == [str(g) for g in dep.groups]


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(sorted(MODES)),
    st.sampled_from(SIZES),
    st.integers(1, 4),
    st.sampled_from(sorted(MODES)),
    st.sampled_from(SIZES),
)
def test_sim_topology_gpus_equal_label_gpus_for_every_mode(pmode, pn, count, dmode, dn):
    """The simulator models every mode, SGLang-expressible or not."""
    label = f"{count}x{pmode}{pn}+1x{dmode}{dn}"
    dep = labels.parse(label)
    topo = topology.from_label(label, get_model(R1))
    assert topo.gpus == dep.gpus == count * pn + dn
    assert topo.disaggregated
    assert dep.needs_moe == (MODES[pmode].needs_moe or MODES[dmode].needs_moe)
