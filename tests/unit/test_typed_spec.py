"""The spec's typed sections: ``cluster`` (launch + ssh/kubernetes), ``sim`` and ``load``.

Unknown keys are refused when the spec is parsed, naming the field; the old top-level load keys
still work; the load shape's numbers reach the plan items (and from them the load generator)."""

import copy
from pathlib import Path

import pytest
import yaml

from frontier.cli.main import main
from frontier.domain.adhoc import spec_from_params
from frontier.domain.load import DEFAULT_LOAD, LoadShape
from frontier.domain.spec import SpecError, narrow, parse_spec
from frontier.loadgen import ladder
from frontier.planning.engines import sim_flags
from frontier.planning.planner import plan
from frontier.planning.sglang_args import LaunchOptions

ROOT = Path(__file__).resolve().parents[2]
SMOKE = yaml.safe_load((ROOT / "sweeps/smoke.yaml").read_text())


def spec(**changes):
    data = copy.deepcopy(SMOKE)
    data.update(changes)
    return data


def error_of(data) -> str:
    with pytest.raises(SpecError) as e:
        parse_spec(data)
    return str(e.value)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"cluster": {"bogus": 1}}, "cluster.bogus"),
        ({"cluster": {"ssh": {"password": "x"}}}, "cluster.ssh.password"),
        ({"cluster": {"kubernetes": {"nodepool": "a"}}}, "cluster.kubernetes.nodepool"),
        ({"sim": {"time_scal": 4}}, "sim.time_scal"),
        ({"load": {"num_promts": 5}}, "load.num_promts"),
    ],
)
def test_unknown_keys_in_typed_sections_are_refused_naming_the_field(changes, field):
    assert f"spec: field `{field}`: unknown key" in error_of(spec(**changes))


@pytest.mark.parametrize(
    ("changes", "field", "text"),
    [
        ({"cluster": {"base_port": "x"}}, "cluster.base_port", "integer"),
        ({"sim": {"time_scale": 0}}, "sim.time_scale", "greater than 0"),
        ({"load": {"range_ratio": 1.5}}, "load.range_ratio", "less than or equal to 1"),
        ({"load": {"min_prompts": 0}}, "load.min_prompts", "greater than 0"),
    ],
)
def test_bad_values_name_the_field(changes, field, text):
    msg = error_of(spec(**changes))
    assert f"field `{field}`" in msg and text in msg


def test_cluster_is_typed_and_resolves_to_launch_and_target_options():
    s = parse_spec(
        spec(
            cluster={
                "base_port": 31000,
                "nodes": ["n0", "n1"],
                "ssh": {"remote_dir": "/srv/f", "conn_ids": {"n0": "c0"}},
                "kubernetes": {"namespace": "bench"},
            }
        )
    )
    assert s.cluster.base_port == 31000 and s.cluster.ssh.remote_dir == "/srv/f"
    opts, targets = s.cluster.resolve(
        environ={"FRONTIER_K8S_NAMESPACE": "prod", "FRONTIER_SSH_WORKDIR": "/w"}
    )
    assert opts == LaunchOptions(base_port=31000, nodes=["n0", "n1"])
    assert targets.ssh.remote_dir == "/srv/f" and targets.ssh.conn_id("n0") == "c0"
    assert targets.ssh.workdir == "/w"
    assert targets.kubernetes.namespace == "prod"  # the worker's environment wins over the spec
    assert s.cluster.resolve(environ={})[1].kubernetes.namespace == "bench"


def test_sim_knobs_become_the_same_flags_as_before():
    assert sim_flags(parse_spec(spec())) == ["--seed", "0"]
    assert sim_flags(parse_spec(spec(sim={"time_scale": 4}))) == ["--seed", "0", "--time-scale", "4"]
    assert sim_flags(parse_spec(spec(sim={"time_scale": 2.5}))) == ["--seed", "0", "--time-scale", "2.5"]
    s = parse_spec(spec(sim={"time_scale": 4, "trace_chunks": "/tmp/t.jsonl"}))
    assert s.sim.flags() == ["--time-scale", "4", "--trace-chunks", "/tmp/t.jsonl"]
    assert s.sim.scale == 4.0 and parse_spec(spec()).sim.scale == 1.0
    argv = plan(s)[0].servers[0]["argv"]
    assert argv[argv.index("--time-scale") + 1] == "4"
    # a round trip through JSON (operators write the resolved spec) keeps the argv
    again = parse_spec(s.model_dump(mode="json"))
    assert plan(again)[0].servers[0]["argv"] == argv
    assert narrow(s, concurrencies=[2]).sim.flags() == s.sim.flags()


def test_load_shape_numbers():
    d = LoadShape()
    assert [d.prompts_for(c) for c in (1, 2, 3, 64)] == [20, 20, 30, 640]
    assert [d.warmups_for(c) for c in (1, 4, 64)] == [2, 8, 128]
    assert (d.range_ratio, d.ignore_eos, d.tokenizer) == (0.8, True, None)  # InferenceX's shape
    assert d.tokenizer_for("sim", "m/x") is None and d.tokenizer_for("endpoint", "m/x") == "m/x"
    assert LoadShape(tokenizer="words").tokenizer_for("sglang", "m/x") is None
    fixed = LoadShape(num_prompts=7, warmup_multiplier=0.5)
    assert fixed.prompts({1: 0, 100: 0}) == {1: 7, 100: 7}
    assert fixed.warmups([1, 3, 8]) == {1: 0, 3: 2, 8: 4}  # round(): 0.5 -> 0, 1.5 -> 2
    assert LoadShape(num_prompts_multiplier=3, min_prompts=5).prompts([1, 2, 4]) == {1: 5, 2: 6, 4: 12}
    # the load generator's ladder defaults are the same shape
    assert ladder.run_ladder.__defaults__[0](16) == DEFAULT_LOAD.prompts_for(16) == 160
    assert ladder.run_ladder.__defaults__[1](16) == DEFAULT_LOAD.warmups_for(16) == 32


def test_legacy_top_level_load_keys_migrate_into_load():
    old = spec(num_prompts_multiplier=3, min_prompts=5, warmup_multiplier=0.5)
    old.pop("load")
    s = parse_spec(old)
    assert s.load == LoadShape(num_prompts_multiplier=3, min_prompts=5, warmup_multiplier=0.5)
    new = spec(load={"num_prompts_multiplier": 3, "min_prompts": 5, "warmup_multiplier": 0.5})
    assert parse_spec(new).spec_hash() == s.spec_hash()
    fixed = spec(num_prompts=12)
    fixed.pop("load")
    assert parse_spec(fixed).load.num_prompts == 12
    both = spec(min_prompts=5)
    msg = error_of(both)
    assert "min_prompts (old top-level key) and a `load` section are both given" in msg
    assert "load.min_prompts" in msg


def test_plan_items_carry_the_load_shape():
    s = parse_spec(
        spec(load={"num_prompts": 9, "warmup_multiplier": 1.5, "range_ratio": 0.8, "ignore_eos": False})
    )
    item = plan(s)[0]
    assert item.num_prompts == {c: 9 for c in s.concurrencies}
    assert item.warmup_requests == {1: 2, 4: 6, 16: 24, 32: 48}
    js = item.model_dump(mode="json")
    assert js["load"] == {
        "num_prompts": 9,
        "num_prompts_multiplier": 10,
        "min_prompts": 20,
        "warmup_multiplier": 1.5,
        "range_ratio": 0.8,
        "ignore_eos": False,
        "shard_above_events_s": 4000.0,
        "max_client_processes": None,
        "tokenizer": None,
    }
    # items travel through XCom as JSON
    back = type(item).model_validate(js)
    assert back.load.range_ratio == 0.8 and back.load.ignore_eos is False
    default = plan(parse_spec(spec(load={})))[0]
    assert default.load == DEFAULT_LOAD and default.num_prompts[32] == 320


def test_adhoc_form_writes_the_load_section():
    s = spec_from_params({"num_prompts_multiplier": 3, "min_prompts": 7})
    assert s.load.num_prompts_multiplier == 3 and s.load.min_prompts == 7
    assert spec_from_params({}).load == DEFAULT_LOAD
    # an endpoint serving the model under another name, measured on its tokenizer
    ep = spec_from_params({"engine": "endpoint", "base_url": "http://10.0.0.5:8000/",
                           "served_model_name": "llama", "tokenizer": "/models/llama"})  # fmt: skip
    assert ep.endpoint.served_model_name == "llama" and ep.load.tokenizer == "/models/llama"
    with pytest.raises(SpecError, match="^served_model_name: only used with engine 'endpoint'"):
        spec_from_params({"served_model_name": "llama"})


def test_frontier_validate_names_the_bad_cluster_key(tmp_path, capsys):
    data = spec(cluster={"transfer_backend": "mooncake", "bogus": 1})
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"frontier validate: error: {path}: field `cluster.bogus`: unknown key" in err
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(spec(cluster={"ssh": {"remote_dir": "/srv"}})))
    assert main(["validate", str(good)]) == 0
    assert "valid" in capsys.readouterr().out


def test_cost_section_sets_assumptions_and_names_unknown_hardware():
    from frontier.domain.spec import SpecError

    base = {"name": "c", "engine": "sim", "scenarios": ["1k1k"], "concurrencies": [1],
            "matrix": [{"model": "meta-llama/Llama-3.1-8B-Instruct", "hardware": "h100_sxm", "labels": ["TP1"]}]}  # fmt: skip
    plain = parse_spec(base)
    assert plain.cost_json() is None
    priced = parse_spec({**base, "cost": {"h100_sxm": {"usd_per_gpu_hour": 2.0}}})
    assert priced.cost_json() == '{"h100_sxm": {"usd_per_gpu_hour": 2.0}}'
    assert priced.spec_hash() != plain.spec_hash()
    with pytest.raises(SpecError, match="cost"):
        parse_spec({**base, "cost": {"h999": {"power_w": 1}}})
    with pytest.raises(SpecError, match="cost.h100_sxm.power_w"):
        parse_spec({**base, "cost": {"h100_sxm": {"power_w": -1}}})
    with pytest.raises(SpecError, match="bogus"):
        parse_spec({**base, "cost": {"h100_sxm": {"bogus": 1}}})
