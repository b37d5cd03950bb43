"""Issue 6: the mapped benchmark task defers while its servers load (no worker slot held).

- ``BenchmarkDeploymentOperator(deferrable=True)``: ``execute`` starts the simulated server and
  raises ``TaskDeferred`` on ``ServerReadyTrigger`` with a plain-JSON handle; the trigger runs; the
  resumed ``execute_complete`` — with the worker's process table forgotten, as on another worker —
  attaches by process group, runs the ladder, lands, and stops the server by PGID.
- A readiness timeout lands the failure (stage ``readiness``, with the server's log tail), stops
  everything and raises, so the task's retries apply.
- ``on_kill`` while the resumed task runs its ladder stops the server.
- Through Airflow's ``dag.test()`` (triggers run in-process): the DAG's benchmark tasks defer and
  resume, and the run succeeds.
"""

from __future__ import annotations

import copy
import json
import os
import threading
import time
from pathlib import Path

import pytest
import yaml

pytest.importorskip("airflow")

from tests.support import TINY_SIM_SPEC, first_event, frontier_env, group_gone, q, sim_children

pytestmark = pytest.mark.timeout(120)


def _spec(tmp: Path, faults: dict | None = None, **top):
    from frontier.domain.spec import parse_spec

    data = copy.deepcopy(TINY_SIM_SPEC)
    data["matrix"][0]["labels"] = ["TP1"]
    if faults:
        data["matrix"][0]["faults"] = {"TP1": faults}
    data.update(top)
    spec = parse_spec(data)
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "spec.json"
    path.write_text(spec.model_dump_json())
    return path, spec


def _op(tmp: Path, faults: dict | None = None, **top):
    from frontier.planning.planner import plan
    from operators.frontier_ops import BenchmarkDeploymentOperator

    path, spec = _spec(tmp, faults, **top)
    (item,) = plan(spec)
    op = BenchmarkDeploymentOperator(
        task_id="benchmark",
        deferrable=True,
        poll_s=0.1,
        entry={"spec_path": str(path), "item": item.model_dump(mode="json")},
    )
    context = {
        "params": {"warehouse": str(tmp / "wh"), "artifacts": str(tmp / "art")},
        "run_id": "defer-1",
        "dag_run": None,
    }
    return op, context, item


def _defer(op, context):
    from airflow.sdk.exceptions import TaskDeferred

    from operators.triggers import ServerReadyTrigger

    with pytest.raises(TaskDeferred) as d:
        op.execute(context)
    assert d.value.method_name == "execute_complete" and isinstance(d.value.trigger, ServerReadyTrigger)
    state = d.value.kwargs["state"]
    assert json.loads(json.dumps(state)) == state  # plain JSON: travels through the metadata DB
    assert op._running is None  # nothing held by the (now free) worker slot
    return d.value.trigger, state


def _forget_local_processes(monkeypatch):
    """As on another worker: no Popen objects, only process group ids."""
    from frontier.launch.targets.local import LocalTarget

    monkeypatch.setattr(LocalTarget, "_started", {})


def test_defer_then_resume_on_another_worker(tmp_path, monkeypatch):
    op, context, item = _op(tmp_path)
    trig, state = _defer(op, context)
    (h,) = state["deployment"]["handles"]
    assert h["target"] == "local" and h["pid"] and not group_gone(h["pid"], wait_s=0)
    assert (tmp_path / "art" / "defer-1" / item.key / "deployment.json").is_file()
    ev = first_event(trig)
    assert ev["status"] == "ready"
    _forget_local_processes(monkeypatch)
    out = op.execute_complete(context, ev, state=state)
    assert out["status"] == "success" and out["points_ok"] == 2, out
    assert out["engine_version"].startswith("0.5.23")
    assert group_gone(h["pid"]) and not sim_children()
    assert q(tmp_path / "wh", "points", "select max_concurrency, status from t order by 1") == [
        (1, "ok"),
        (2, "ok"),
    ]
    (row,) = q(tmp_path / "wh", "deployments", "select status, engine_version, commands_json from t")
    assert row[0] == "success" and row[1].startswith("0.5.23") and "frontier.sim.launch_server" in row[2]
    # the resumed task without next_kwargs (what dag.test() hands back) finds the handle on disk
    op2, context2, _ = _op(tmp_path / "again")
    trig2, _ = _defer(op2, context2)
    out2 = op2.execute_complete(context2, first_event(trig2))
    assert out2["status"] == "success"


def test_readiness_timeout_lands_the_failure_and_raises(tmp_path):
    from airflow.exceptions import AirflowException

    op, context, _ = _op(tmp_path, {"slow_start": 60}, ready_timeout_s=1.5)
    trig, state = _defer(op, context)
    pid = state["deployment"]["handles"][0]["pid"]
    ev = first_event(trig)
    assert ev["status"] == "timeout"
    with pytest.raises(AirflowException, match="deployment failed: TP1: .*not healthy within 1.5 s"):
        op.execute_complete(context, ev, state=state)
    assert group_gone(pid) and not sim_children()
    fails = q(tmp_path / "wh", "failures", "select stage, reason, log_tail from t")
    assert len(fails) == 1 and fails[0][0] == "readiness"
    assert "fault" in fails[0][2].lower() or "Uvicorn" in fails[0][2], fails[0][2]  # the server's log tail
    assert q(tmp_path / "wh", "deployments", "select status from t") == [("failed",)]


def test_on_kill_during_the_resumed_ladder_stops_the_server(tmp_path):
    op, context, _ = _op(
        tmp_path, {"slow_tokens": 200}, scenarios=[{"name": "t", "isl": 16, "osl": 64}], request_timeout_s=60
    )
    trig, state = _defer(op, context)
    pid = state["deployment"]["handles"][0]["pid"]
    ev = first_event(trig)
    result: dict = {}

    def work():
        try:
            result["out"] = op.execute_complete(context, ev, state=state)
        except BaseException as e:  # noqa: BLE001
            result["error"] = e

    t = threading.Thread(target=work, daemon=True)
    t.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (op._running is not None and op._running.server_info):
        time.sleep(0.05)
    assert op._running is not None
    time.sleep(0.5)  # mid-point
    t0 = time.monotonic()
    op.on_kill()
    t.join(30)
    assert not t.is_alive() and time.monotonic() - t0 < 15
    assert group_gone(pid) and not sim_children()
    fails = q(tmp_path / "wh", "failures", "select max_concurrency, reason from t order by 1")
    assert [f[0] for f in fails] == [1, 2]
    assert "deployment stopped (task killed or shut down)" in fails[0][1]


def test_dag_test_runs_the_deferral_in_process(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dagdefer")
    spec = copy.deepcopy(TINY_SIM_SPEC)
    spec["matrix"][0]["labels"] = ["TP1"]
    spec["concurrencies"] = [1]
    path = tmp / "tiny.yaml"
    path.write_text(yaml.safe_dump(spec))
    # a one-machine Airflow: local-target deployments may defer too
    with frontier_env(tmp, FRONTIER_DEFERRABLE="1"):
        from operators.local_run import init_db, run_dag_once

        init_db()
        run = run_dag_once("nightly_frontier", {"spec": str(path), "engine": "sim"})
    assert str(run.state).endswith("success"), run.state
    (state_file,) = list((tmp / "artifacts").rglob("deployment.json"))  # the task deferred
    state = json.loads(state_file.read_text())
    assert group_gone(state["deployment"]["handles"][0]["pid"]) and not sim_children()
    glob = str(tmp / "warehouse" / "points" / "**" / "*.parquet")
    import duckdb

    assert duckdb.sql(f"select status from read_parquet('{glob}')").fetchall() == [("ok",)]


def test_deferred_pd_launch_starts_the_router_after_its_servers(tmp_path, monkeypatch):
    """A PD plan defers on its servers only; the resumed task starts the router, then stops all."""
    import sys

    from frontier import launch as launching
    from frontier.launch.http import free_port
    from frontier.planning.launch_plan import LaunchPlan, RouterCommand, ServerCommand

    _, spec = _spec(tmp_path)
    sp, rp = free_port(), free_port()

    def sim(port):
        return [
            sys.executable,
            "-m",
            "frontier.sim.launch_server",
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
        ]

    lp = LaunchPlan(
        label="TP1",
        engine="sim",
        endpoint_url=f"http://127.0.0.1:{rp}",
        servers=[
            ServerCommand(
                role="prefill",
                group_index=0,
                replica=0,
                node_rank=0,
                nnodes=1,
                host="127.0.0.1",
                port=sp,
                gpus=1,
                argv=sim(sp),
                url=f"http://127.0.0.1:{sp}",
            )
        ],
        router=RouterCommand(argv=sim(rp), host="127.0.0.1", port=rp, url=f"http://127.0.0.1:{rp}"),
    )
    dep = launching.start(lp, spec, tmp_path / "item")
    assert len(dep.processes) == 1 and dep.router_pending
    assert dep.ready_urls() == [f"http://127.0.0.1:{sp}/health", f"http://127.0.0.1:{sp}/health_generate"]
    assert dep.base_url == f"http://127.0.0.1:{rp}"
    from operators.triggers import ServerReadyTrigger

    assert first_event(ServerReadyTrigger(dep.ready_urls(), timeout_s=20, poll_s=0.1))["status"] == "ready"
    again = launching.attach(json.loads(json.dumps(dep.to_handle())))
    again.after_ready(tmp_path / "item", 20)
    assert len(again.processes) == 2 and not again.router_pending and again.dead_reason() is None
    assert (tmp_path / "item" / "router.log").is_file()
    pids = again.pids()
    again.stop()
    assert all(group_gone(p) for p in pids) and not sim_children()


def test_killing_the_deferred_task_stops_its_deployment(tmp_path, monkeypatch):
    """Airflow calls the trigger's on_kill when a user marks a deferred task failed or clears it."""
    import asyncio

    op, context, _ = _op(tmp_path)
    trigger, state = _defer(op, context)
    assert trigger.serialize()[1]["handle"] == state["deployment"]
    pids = [h["pid"] for h in state["deployment"]["handles"]]
    assert pids and not any(group_gone(p) for p in pids)
    _forget_local_processes(monkeypatch)  # the triggerer is another process than the worker
    asyncio.run(trigger.on_kill())
    assert all(group_gone(p) for p in pids) and not sim_children()


def test_deferral_defaults_to_remote_targets_only(monkeypatch):
    from operators.wiring import deferrable

    for value, want in (
        ("auto", "auto"),
        ("", "auto"),
        ("1", True),
        ("always", True),
        ("0", False),
        ("off", False),
    ):
        monkeypatch.setenv("FRONTIER_DEFERRABLE", value)
        assert deferrable() == want, value
    monkeypatch.delenv("FRONTIER_DEFERRABLE")
    assert deferrable() == "auto"


def test_a_local_handle_is_never_signalled_from_another_machine(tmp_path):
    import signal
    import subprocess

    from frontier.errors import FrontierError
    from frontier.launch.targets.base import Handle
    from frontier.launch.targets.local import LocalTarget

    proc = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        handle = Handle(
            target="local", name="server 0", host="127.0.0.1", pid=proc.pid, machine="another-worker"
        )
        with pytest.raises(FrontierError, match="runs on worker 'another-worker'"):
            LocalTarget().stop(handle, grace_s=0.1)
        with pytest.raises(FrontierError, match="only be used and stopped on the machine that started it"):
            LocalTarget().alive(handle)
        assert proc.poll() is None  # untouched
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
