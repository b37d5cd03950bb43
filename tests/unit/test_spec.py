"""Sweep spec validation: the shipped specs validate; bad specs fail naming the field."""

import copy
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from frontier.spec import Scenario, SpecError, load_spec, narrow, parse_spec

ROOT = Path(__file__).resolve().parents[2]
SMOKE = yaml.safe_load((ROOT / "sweeps/smoke.yaml").read_text())


def test_shipped_specs_validate():
    nightly = load_spec(ROOT / "sweeps/nightly.yaml")
    labels = {lab for m in nightly.matrix for lab in m.labels}
    assert {"TP8", "TEP8", "DEP8", "SEP4+1xDEP8", "DEP4+1xDEP8", "SEP8+1xDEP8"} <= labels
    assert {"TP1", "TP2", "TP4", "TP8", "DP8"} <= labels
    assert {s.name for s in nightly.scenarios} == {"1k1k", "8k1k"}
    assert load_spec(ROOT / "sweeps/smoke.yaml").engine == "sim"


def test_scenario_names():
    assert Scenario.from_name("1k1k") == Scenario(name="1k1k", isl=1024, osl=1024)
    assert Scenario.from_name("8k1k").isl == 8192
    assert Scenario.from_name("1k8k").osl == 8192
    with pytest.raises(ValueError, match="isl: N"):
        Scenario.from_name("long")


def bad(mutate):
    data = copy.deepcopy(SMOKE)
    mutate(data)
    with pytest.raises(SpecError) as e:
        parse_spec(data)
    msg = str(e.value)
    return msg


@pytest.mark.parametrize(
    "mutate,field,fragment",
    [
        (lambda d: d.update(bogus=1), "bogus", "unknown key"),
        (lambda d: d["matrix"][0].update(model="nope/Model"), "matrix[0].model", "unknown model 'nope/Model'"),
        (lambda d: d["matrix"][0].update(hardware="a100"), "matrix[0].hardware", "unknown hardware 'a100'"),
        (lambda d: d["matrix"][0].update(labels=["QQ8"]), "matrix[0].labels", "'QQ8'"),
        (lambda d: d["matrix"][0].update(labels=["DEP8"]), "matrix[0]", "needs a MoE model"),
        (lambda d: d.update(concurrencies=[]), "concurrencies", "empty"),
        (lambda d: d.update(concurrencies=[8, 4]), "concurrencies", "ascending"),
        (lambda d: d.update(concurrencies=[4, 4]), "concurrencies", "repeat"),
        (lambda d: d.update(scenarios=[{"name": "x", "isl": 10, "osl": 0}]), "scenarios[0].osl", "greater than 0"),
        (lambda d: d.update(scenarios=[{"name": "x", "isl": 200000, "osl": 10}]), "(top level)", "exceeds"),
        (lambda d: d.update(inventory={"h200_sxm": 4}), "(top level)", "needs 8 GPUs but inventory has 4"),
        (lambda d: d.update(engine="vllm"), "engine", "'sim', 'sglang' or 'endpoint'"),
        (lambda d: d.update(engine="endpoint"), "(top level)", "needs an endpoint"),
        (lambda d: d["matrix"][0].update(labels=["TP1", "TP1"]), "matrix[0].labels", "repeats"),
    ],
)
def test_bad_specs_name_the_field(mutate, field, fragment):
    msg = bad(mutate)
    assert f"field `{field}`" in msg
    assert fragment in msg


def test_narrow_subsets_and_errors():
    spec = parse_spec(copy.deepcopy(SMOKE))
    n = narrow(spec, labels_subset=["DEP8"], concurrencies=[2, 8], engine="sim")
    assert [m.labels for m in n.matrix] == [["DEP8"]]
    assert n.concurrencies == [2, 8]
    with pytest.raises(SpecError, match="'TP16' is not in spec"):
        narrow(spec, labels_subset=["TP16"])
    with pytest.raises(SpecError, match="not in spec"):
        narrow(spec, scenarios_subset=["8k1k"])
    with pytest.raises(SpecError, match="ascending"):
        narrow(spec, concurrencies=[8, 2])


def test_hash_changes_with_content():
    a = parse_spec(copy.deepcopy(SMOKE))
    d = copy.deepcopy(SMOKE)
    d["concurrencies"] = [1, 2]
    assert a.spec_hash() != parse_spec(d).spec_hash()
    assert a.spec_hash() == parse_spec(copy.deepcopy(SMOKE)).spec_hash()


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["name", "engine", "matrix", "scenarios", "concurrencies", "target", "x"]),
        st.one_of(st.text(max_size=8), st.integers(-5, 5), st.lists(st.integers(-2, 300), max_size=4),
                  st.lists(st.dictionaries(st.sampled_from(["model", "hardware", "labels", "isl", "osl", "name"]),
                                           st.one_of(st.text(max_size=12), st.integers(-1, 10**6),
                                                     st.lists(st.text(max_size=10), max_size=3))), max_size=2)),
    )
)
def test_random_specs_only_raise_spec_errors(data):
    try:
        parse_spec(data)
    except SpecError as e:
        assert str(e)
