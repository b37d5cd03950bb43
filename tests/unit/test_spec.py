"""Sweep spec validation: the shipped specs validate; bad specs fail naming the field."""

import copy
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from frontier.domain.spec import Scenario, SpecError, load_spec, narrow, parse_spec

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
        (
            lambda d: d["matrix"][0].update(model="nope/Model"),
            "matrix[0].model",
            "unknown model 'nope/Model'",
        ),
        (lambda d: d["matrix"][0].update(hardware="a100"), "matrix[0].hardware", "unknown hardware 'a100'"),
        (lambda d: d["matrix"][0].update(labels=["QQ8"]), "matrix[0].labels", "'QQ8'"),
        (lambda d: d["matrix"][0].update(labels=["DEP8"]), "matrix[0]", "needs a MoE model"),
        (lambda d: d.update(concurrencies=[]), "concurrencies", "empty"),
        (lambda d: d.update(concurrencies=[8, 4]), "concurrencies", "ascending"),
        (lambda d: d.update(concurrencies=[4, 4]), "concurrencies", "repeat"),
        (
            lambda d: d.update(scenarios=[{"name": "x", "isl": 10, "osl": 0}]),
            "scenarios[0].osl",
            "greater than 0",
        ),
        (lambda d: d.update(scenarios=[{"name": "x", "isl": 200000, "osl": 10}]), "(top level)", "exceeds"),
        (lambda d: d.update(inventory={"h200_sxm": 4}), "(top level)", "needs 8 GPUs but inventory has 4"),
        (lambda d: d.update(engine="vllm"), "engine", "'sim', 'sglang', 'endpoint' or 'predict'"),
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
        st.one_of(
            st.text(max_size=8),
            st.integers(-5, 5),
            st.lists(st.integers(-2, 300), max_size=4),
            st.lists(
                st.dictionaries(
                    st.sampled_from(["model", "hardware", "labels", "isl", "osl", "name"]),
                    st.one_of(
                        st.text(max_size=12),
                        st.integers(-1, 10**6),
                        st.lists(st.text(max_size=10), max_size=3),
                    ),
                ),
                max_size=2,
            ),
        ),
    )
)
def test_random_specs_only_raise_spec_errors(data):
    try:
        parse_spec(data)
    except SpecError as e:
        assert str(e)


# ---- issue 10: faults, more bad input, the planner under random input ------------------------------
def with_faults(faults, **top):
    data = copy.deepcopy(SMOKE)
    data["matrix"][0]["faults"] = faults
    data.update(top)
    return data


@pytest.mark.parametrize(
    "data,field,fragment",
    [
        (with_faults({"TP1": {"crash_afterr": 5}}), "matrix[0].faults.TP1.crash_afterr", "unknown key"),
        (
            with_faults({"TP1": {"crash_after": -1}}),
            "matrix[0].faults.TP1.crash_after",
            "greater than or equal to 0",
        ),
        (
            with_faults({"TP1": {"http_error": 1.5}}),
            "matrix[0].faults.TP1.http_error",
            "less than or equal to 1",
        ),
        (with_faults({"TP1": {"http_status": 404}}), "matrix[0].faults.TP1.http_status", "500 or 503"),
        (
            with_faults({"TP1": {"slow_tokens": 0.5}}),
            "matrix[0].faults.TP1.slow_tokens",
            "greater than or equal to 1",
        ),
        (
            with_faults({"TP4": {"crash_after": 1}}),
            "matrix[0]",
            "faults names labels not in this entry: ['TP4']",
        ),
        (
            with_faults({"TP1": {"crash_after": 1}}, engine="sglang"),
            "(top level)",
            "matrix[0].faults: fault injection needs engine 'sim'",
        ),
        (
            with_faults({"TP1": {"oom_start": "yes please"}}),
            "matrix[0].faults.TP1.oom_start",
            "valid boolean",
        ),
    ],
)
def test_bad_faults_name_the_field(data, field, fragment):
    with pytest.raises(SpecError) as e:
        parse_spec(data)
    assert f"field `{field}`" in str(e.value)
    assert fragment in str(e.value)
    assert len(str(e.value).splitlines()) == 1  # one line


def test_faults_become_sim_flags_only_for_their_label():
    from frontier.planning.planner import plan

    spec = parse_spec(with_faults({"TP2": {"crash_after": 5, "http_error": 0.5, "http_status": 503}}))
    items = {i.label: i for i in plan(spec)}
    argv = items["TP2"].servers[0]["argv"]
    assert argv[argv.index("--fault-crash-after") + 1] == "5"
    assert argv[argv.index("--fault-http-error") + 1] == "0.5"
    assert argv[argv.index("--fault-http-status") + 1] == "503"
    assert not any(a.startswith("--fault") for a in items["TP1"].servers[0]["argv"])
    # narrowing (the manual-trigger form) keeps a label's faults, drops the others', and
    # refuses an engine the faults cannot run on, naming the field
    n = narrow(spec, labels_subset=["TP2"])
    assert n.matrix[0].faults["TP2"].crash_after == 5
    assert narrow(spec, labels_subset=["TP1", "DEP8"]).matrix[0].faults == {}
    with pytest.raises(SpecError, match=r"faults: fault injection needs engine 'sim'"):
        narrow(spec, engine="sglang")
    with pytest.raises(SpecError, match=r"field `engine`"):
        narrow(spec, engine="vllm")


def test_servers_bind_loopback_unless_the_target_says_otherwise():
    from frontier.planning.planner import plan

    for engine in ("sim", "sglang"):
        spec = parse_spec({**copy.deepcopy(SMOKE), "engine": engine})
        for it in plan(spec):
            for s in it.servers:
                argv = s["argv"]
                assert argv[argv.index("--host") + 1] == "127.0.0.1", (engine, it.label, argv)
    spec = parse_spec({**copy.deepcopy(SMOKE), "cluster": {"bind_host": "0.0.0.0"}})
    argv = plan(spec)[0].servers[0]["argv"]
    assert argv[argv.index("--host") + 1] == "0.0.0.0"


def test_plan_masks_secret_flags_in_rendered_commands(monkeypatch):
    from frontier.planning.planner import plan

    monkeypatch.setenv("HF_TOKEN", "hf_abcdefghijklmnopqrstuvwxyz0123")
    data = copy.deepcopy(SMOKE)
    data["matrix"][0]["server_args"] = {
        "TP1": ["--api-key", "s3cr3t-value-xyz", "--hf-token=hf_abcdefghijklmnopqrstuvwxyz0123"]
    }
    items = plan(parse_spec(data))
    # what is shown (plan --json) and what crosses into XCom (redacted) never holds the secret
    text = str([i.public() for i in items] + [i.redacted().model_dump() for i in items])
    assert "s3cr3t-value-xyz" not in text and "hf_abcdefghijklmnopqrstuvwxyz0123" not in text
    assert "'--api-key', '***'" in text and "--hf-token=***" in text
    # the launch plan the item carries is the real one: launch starts exactly that
    tp1 = next(i for i in items if i.label == "TP1")
    argv = tp1.launch_plan().servers[0].argv
    assert argv[argv.index("--api-key") + 1] == "s3cr3t-value-xyz"


_label_text = st.one_of(
    st.sampled_from(
        [
            "TP1",
            "TP2",
            "TP8",
            "DEP8",
            "TEP8",
            "DP8",
            "SEP4+1xDEP8",
            "DEP4+1xDEP8",
            "TP4+1xTP4",
            "2xTEP4+1xDEP16",
            "DEP16",
            "TP16",
            "EP8",
            "SEP8+1xDEP8",
            "tp8",
            "TP0",
            "DEP",
            "+",
            "",
        ]
    ),
    st.text(alphabet="TPDESx+0123456789 ", max_size=14),
)


@settings(max_examples=120, deadline=None)
@given(
    model=st.sampled_from(["meta-llama/Llama-3.1-8B-Instruct", "deepseek-ai/DeepSeek-R1", "nope/Model", ""]),
    hardware=st.sampled_from(["h100_sxm", "h200_sxm", "b200", "x"]),
    labels=st.lists(_label_text, min_size=0, max_size=3),
    engine=st.sampled_from(["sim", "sglang", "endpoint", "vllm"]),
    isl=st.integers(-2, 200_000),
    osl=st.integers(-2, 70_000),
    ladder=st.lists(st.integers(-1, 600), max_size=4),
    inventory=st.dictionaries(
        st.sampled_from(["h100_sxm", "h200_sxm", "zz"]), st.integers(-1, 32), max_size=2
    ),
    faults=st.one_of(
        st.none(),
        st.dictionaries(
            st.sampled_from(["crash_after", "http_error", "bogus", "slow_tokens"]),
            st.one_of(st.integers(-2, 5), st.floats(-1, 3), st.text(max_size=3)),
            max_size=2,
        ),
    ),
)
def test_random_specs_validate_and_plan_or_raise_spec_errors(
    model, hardware, labels, engine, isl, osl, ladder, inventory, faults
):
    """Random specs through the validator and the planner: a result, or a one-line-per-field error."""
    from frontier.errors import FrontierError
    from frontier.planning.planner import plan

    m = {"model": model, "hardware": hardware, "labels": labels}
    if faults is not None and labels:
        m["faults"] = {labels[0]: faults}
    data = {
        "name": "h",
        "engine": engine,
        "matrix": [m],
        "scenarios": [{"name": "s", "isl": isl, "osl": osl}],
        "concurrencies": ladder,
        "inventory": inventory,
    }
    if engine == "endpoint":
        data["endpoint"] = {"base_url": "http://127.0.0.1:9"}
    try:
        spec = parse_spec(data)
    except SpecError as e:
        assert str(e) and all(line.startswith("spec: field `") for line in str(e).splitlines())
        return
    try:
        items = plan(spec)
    except FrontierError as e:  # a label the pinned SGLang cannot express: named, one line
        assert str(e) and "\n" not in str(e)
        return
    assert len(items) == len(spec.matrix[0].labels)
    for it in items:
        assert it.gpus > 0 and it.concurrencies == ladder
