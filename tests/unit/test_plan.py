"""Planning: every deployment x scenario of a spec, with GPU counts, ladders and commands."""

import json
from pathlib import Path

from frontier.cli.main import main
from frontier.domain.labels import parse
from frontier.domain.spec import load_spec
from frontier.planning.planner import plan

ROOT = Path(__file__).resolve().parents[2]


def test_nightly_plan_covers_every_label_and_scenario():
    spec = load_spec(ROOT / "sweeps/nightly.yaml")
    items = plan(spec)
    want = {(lab, sc.name) for m in spec.matrix for lab in m.labels for sc in spec.scenarios}
    assert {(i.label, i.scenario["name"]) for i in items} == want
    assert len({i.key for i in items}) == len(items)
    for i in items:
        assert i.gpus == parse(i.label).gpus
        assert i.concurrencies == spec.concurrencies
        # load shape: 10 x concurrency (min 20) prompts, 2 x concurrency warm-up
        assert all(
            i.num_prompts[c] == max(20, 10 * c) and i.warmup_requests[c] == 2 * c for c in i.concurrencies
        )
        argvs = [s["argv"] for s in i.servers]
        assert argvs and all("sglang.launch_server" in a for a in argvs)
        if parse(i.label).disaggregated:
            assert i.router is not None and "--pd-disaggregation" in i.router["argv"]
            modes = [a[a.index("--disaggregation-mode") + 1] for a in argvs]
            assert set(modes) == {"prefill", "decode"}
        else:
            assert i.router is None or "DP" in i.label


def test_sim_plan_is_one_process_per_deployment():
    spec = load_spec(ROOT / "sweeps/smoke.yaml")
    for i in plan(spec):
        assert len(i.servers) == 1 and i.router is None
        argv = i.servers[0]["argv"]
        assert argv[1:3] == ["-m", "frontier.sim.launch_server"]
        assert argv[argv.index("--deployment") + 1] == i.label


def test_cli_plan_json_schema(capsys):
    assert main(["plan", str(ROOT / "sweeps/nightly.yaml"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    # (5 H200 + 6 B200 + 5 GB200 R1 labels) x (none, mtp) x 2 scenarios + 5 Llama labels x 2 scenarios
    assert len(data) == 74
    assert all(entry["fits"] for entry in data)  # the shipped nightly only asks for labels that fit
    for entry in data:
        assert {
            "label",
            "model",
            "hardware",
            "gpus",
            "scenario",
            "concurrencies",
            "servers",
            "router",
        } <= set(entry)
        assert set(entry["scenario"]) == {"name", "isl", "osl"}
        for s in entry["servers"]:
            assert {"role", "node_rank", "argv"} <= set(s)
        assert entry["router"] is None or "argv" in entry["router"]


def test_cli_bad_spec_exits_nonzero_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "sweeps/smoke.yaml").read_text().replace("labels: [TP1, TP2]", "labels: [DEP8]"))
    assert main(["validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "matrix[0]" in err and "needs a MoE model" in err


def test_cli_plan_argv_shows_each_servers_environment(tmp_path, capsys):
    """`frontier plan --argv` prints a shell line per server: its environment, then its argv."""
    spec = {
        "name": "env", "engine": "sglang", "scenarios": ["1k1k"], "concurrencies": [4],
        "matrix": [{
            "model": "deepseek-ai/DeepSeek-R1", "hardware": "h200_sxm", "precision": "fp8", "labels": ["DEP8"],
            "speculative": ["none", "mtp"], "mtp": {"steps": 3, "accept_len": 2.4},
        }],
    }  # fmt: skip
    path = tmp_path / "env.yaml"
    path.write_text(json.dumps(spec))
    assert main(["plan", str(path), "--argv"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("[single rank 0] ")]
    plain, mtp = lines
    assert plain.startswith("[single rank 0] python3 -m sglang.launch_server ")
    assert mtp.startswith(
        "[single rank 0] SGLANG_SIMULATE_ACC_LEN=2.4 SGLANG_SIMULATE_ACC_METHOD=match-expected "
        "SGLANG_SIMULATE_ACC_TOKEN_MODE="
    )
    assert " python3 -m sglang.launch_server " in mtp and "--speculative-num-steps 3" in mtp
