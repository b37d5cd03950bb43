"""The label grammar: parse, canonical form, GPU counts, round trip, clear errors."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontier.domain.labels import MODES, Deployment, Group, LabelError, canonical, mode_of, parse


@pytest.mark.parametrize(
    "label,gpus,disagg",
    [
        ("TP8", 8, False),
        ("DEP8", 8, False),
        ("DP4", 4, False),
        ("SEP4+1xDEP8", 12, True),
        ("2xTEP4+1xDEP16", 24, True),
        ("DPAEP16", 16, False),
    ],
)
def test_gpu_counts(label, gpus, disagg):
    d = parse(label)
    assert d.gpus == gpus
    assert d.disaggregated is disagg


def test_pd_roles_and_canonical():
    d = parse("SEP4+1xDEP8")
    assert [g.role for g in d.groups] == ["prefill", "decode"]
    assert d.prefill == Group("SEP", 4, 1, "prefill")
    assert d.decode == Group("DEP", 8, 1, "decode")
    assert canonical("SEP4+1xDEP8") == "1xSEP4+1xDEP8"
    assert parse("1xSEP4+1xDEP8") == d


def test_moe_need():
    assert parse("DEP8").needs_moe and parse("TEP8").needs_moe
    assert not parse("TP8").needs_moe and not parse("DPATP8").needs_moe


@pytest.mark.parametrize(
    "bad,fragment",
    [
        ("", "empty"),
        ("XP8", "not MODE+GPUS"),
        ("TP0", "not MODE+GPUS"),
        ("TP", "not MODE+GPUS"),
        ("2xTP8", "replica count"),
        ("TP4+DEP8", "decode side needs its server count"),
        ("TP4+1xDEP8+1xTP2", "exactly one '+'"),
        ("tp8", "not MODE+GPUS"),
    ],
)
def test_bad_labels_name_the_label(bad, fragment):
    with pytest.raises(LabelError) as e:
        parse(bad)
    assert fragment in str(e.value)
    if bad:
        assert repr(bad) in str(e.value)


def test_mode_of_inferencex_convention():
    assert mode_of(8, 8, False) == "TEP"
    assert mode_of(8, 8, True) == "DEP"
    assert mode_of(8, 4, False) == "EP"
    assert mode_of(8, 4, True) == "DPAEP"
    assert mode_of(8, 1, False) == "TP"
    assert mode_of(8, 1, True) == "DPATP"


groups = st.builds(lambda m, g, c: (m, g, c), st.sampled_from(MODES), st.integers(1, 64), st.integers(1, 8))


@given(st.one_of(groups.map(lambda t: [t]), st.lists(groups, min_size=2, max_size=2)))
def test_round_trip(spec):
    if len(spec) == 1:
        m, g, _ = spec[0]
        d = Deployment((Group(m, g, 1, "single"),))
    else:
        (pm, pg, pc), (dm, dg, dc) = spec
        d = Deployment((Group(pm, pg, pc, "prefill"), Group(dm, dg, dc, "decode")))
    assert parse(str(d)) == d
    assert str(parse(str(d))) == str(d)
    assert parse(str(d)).gpus == sum(x.count * x.gpus for x in d.groups)


@given(st.text(max_size=30))
def test_random_text_never_crashes(text):
    try:
        d = parse(text)
    except LabelError:
        return
    assert d.gpus > 0
