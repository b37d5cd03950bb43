"""One launch per deployment: a server serves every scenario of its deployment before it stops
(``frontier run``), each item still lands with its scenario; a server that dies fails the rest
of its points and of its later scenarios with the reason, without a relaunch."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest

from frontier.domain.spec import parse_spec
from tests.support import TINY_SIM_SPEC, q, sim_children

pytestmark = pytest.mark.timeout(180)


def _spec(**matrix):
    data = copy.deepcopy(TINY_SIM_SPEC)
    data["scenarios"] = [{"name": "a", "isl": 16, "osl": 4}, {"name": "b", "isl": 32, "osl": 4}]
    data["matrix"] = [{"model": TINY_SIM_SPEC["matrix"][0]["model"], "hardware": "h100_sxm", **matrix}]
    return parse_spec(data)


def _run(spec, tmp: Path, run_id: str):
    from frontier.run import RunContext, run_sweep

    ctx = RunContext(run_id, dt.date(2026, 12, 1), str(tmp / "wh"), str(tmp / "art"))
    started: list = []
    msgs: list[str] = []
    status, outcomes = run_sweep(spec, ctx, progress=msgs.append, on_started=started.append)
    return status, outcomes, started, msgs


def test_one_server_serves_every_scenario_of_its_deployment(tmp_path: Path):
    spec = _spec(labels=["TP1", "TP2"])
    status, outcomes, started, msgs = _run(spec, tmp_path, "one-launch")
    assert status == "success", msgs
    assert [(o["label"], o["scenario"]) for o in outcomes] == [
        ("TP1", "a"),
        ("TP1", "b"),
        ("TP2", "a"),
        ("TP2", "b"),
    ]
    assert len(started) == 2  # two deployments, two launches, for four items
    # each scenario landed as its own item, on the same server (the same port in both commands)
    deps = q(tmp_path / "wh", "deployments", "select label, scenario, commands_json from t order by 1, 2")
    ports = {(lab, sc): json.loads(c)[0][json.loads(c)[0].index("--port") + 1] for lab, sc, c in deps}
    assert ports[("TP1", "a")] == ports[("TP1", "b")] != ports[("TP2", "a")] == ports[("TP2", "b")]
    pts = q(
        tmp_path / "wh", "points", "select label, scenario, isl, count(*) from t group by all order by 1, 2"
    )
    assert pts == [("TP1", "a", 16, 2), ("TP1", "b", 32, 2), ("TP2", "a", 16, 2), ("TP2", "b", 32, 2)]
    assert not sim_children()


def test_a_server_that_dies_fails_its_later_scenarios_with_the_reason(tmp_path: Path):
    spec = _spec(labels=["TP1"], faults={"TP1": {"crash_after": 4}})  # c=1 of "a" runs, c=2 kills it
    status, outcomes, started, _ = _run(spec, tmp_path, "one-launch-crash")
    assert len(started) == 1, "never relaunched"
    assert status == "partial" and [o["status"] for o in outcomes] == ["partial", "failed"], outcomes
    rows = q(
        tmp_path / "wh",
        "failures",
        "select scenario, max_concurrency, stage, reason from t where stage = 'point' order by 1, 2",
    )
    later = [r for r in rows if r[0] == "b"]
    assert [r[1] for r in later] == [1, 2]
    assert all(r[3].startswith("not run: the deployment is gone") and "exited" in r[3] for r in later), later
    assert not sim_children()


def test_plan_shows_the_launches_a_sweep_costs(capsys, tmp_path: Path):
    import yaml

    from frontier.cli.main import main

    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(_spec(labels=["TP1", "TP2"]).model_dump(mode="json")))
    assert main(["plan", str(path)]) == 0
    assert "launches: 2 for 4 item(s)" in capsys.readouterr().out


def test_dag_task_defers_once_and_serves_every_scenario(tmp_path: Path):
    """The DAG's mapped task is a deployment: it launches, defers on readiness once, then runs
    every scenario's ladder on that server and lands each as its own item."""
    from airflow.sdk.exceptions import TaskDeferred

    from frontier.planning.planner import deployment_groups, plan
    from operators.frontier_ops import BenchmarkDeploymentOperator, deployment_name
    from tests.support import first_event

    spec = _spec(labels=["TP1"])
    path = tmp_path / "spec.json"
    path.write_text(spec.model_dump_json())
    (group,) = deployment_groups(plan(spec))
    entry = {
        "spec_path": str(path),
        "name": deployment_name(group),
        "key": group[0].key,
        "keys": [it.key for it in group],
        "item": group[0].redacted().model_dump(mode="json"),
    }
    assert entry["name"] == "TP1 / a, b"
    op = BenchmarkDeploymentOperator(task_id="benchmark", deferrable=True, poll_s=0.1, entry=entry)
    context = {
        "params": {"warehouse": str(tmp_path / "wh"), "artifacts": str(tmp_path / "art")},
        "run_id": "dag-one-launch",
        "dag_run": None,
    }
    with pytest.raises(TaskDeferred) as d:
        op.execute(context)
    assert first_event(d.value.trigger)["status"] == "ready"
    out = op.execute_complete(context, first_event(d.value.trigger), **d.value.kwargs)
    assert out["status"] == "success" and [i["scenario"] for i in out["items"]] == ["a", "b"], out
    deps = q(tmp_path / "wh", "deployments", "select scenario, commands_json from t order by 1")
    ports = {json.loads(c)[0][json.loads(c)[0].index("--port") + 1] for _, c in deps}
    assert [s for s, _ in deps] == ["a", "b"] and len(ports) == 1  # one server for both
    assert not sim_children()
