"""Issue 6 (lifecycle): no server process outlives its task, whatever happens.

- ``on_kill`` of the Airflow benchmark operator, called while the task runs in a thread, stops the
  servers both mid-launch (before the server is healthy) and mid-ladder; the task ends promptly,
  lands what it has with the reason, and every PID and process group is gone.
- ``ManagedProcess.stop`` kills the whole process group: a server that ignores SIGTERM and has
  children of its own (like SGLang's scheduler processes) leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.support import TINY_SIM_SPEC, group_gone, q, sim_children

pytestmark = pytest.mark.timeout(90)


def _spec(tmp: Path, faults: dict, **top) -> tuple[Path, object]:
    import copy

    from frontier.domain.spec import parse_spec

    data = copy.deepcopy(TINY_SIM_SPEC)
    data["matrix"][0]["labels"] = ["TP1"]
    data["matrix"][0]["faults"] = {"TP1": faults}
    data.update(top)
    spec = parse_spec(data)
    path = tmp / "spec.json"
    path.write_text(spec.model_dump_json())
    return path, spec


def _run_operator_and_kill(tmp: Path, faults: dict, ready, **top):
    pytest.importorskip("airflow")
    from frontier.planning.planner import plan
    from operators.frontier_ops import BenchmarkDeploymentOperator

    path, spec = _spec(tmp, faults, **top)
    (item,) = plan(spec)
    op = BenchmarkDeploymentOperator(
        task_id="benchmark", entry={"spec_path": str(path), "item": item.model_dump(mode="json")}
    )
    context = {
        "params": {"warehouse": str(tmp / "wh"), "artifacts": str(tmp / "art")},
        "run_id": "kill-1",
        "dag_run": None,
    }
    result: dict = {}

    def work():
        try:
            result["out"] = op.execute(context)
        except BaseException as e:  # noqa: BLE001 - inspected by the test
            result["error"] = e

    t = threading.Thread(target=work, daemon=True)
    t.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (op._running is not None and ready(op._running)):
        time.sleep(0.05)
    dep = op._running
    assert dep is not None, "the deployment never started"
    pids = dep.pids()
    assert pids and not any(group_gone(p, wait_s=0) for p in pids)
    t0 = time.monotonic()
    op.on_kill()
    t.join(30)
    assert not t.is_alive(), "the task did not end after on_kill"
    took = time.monotonic() - t0
    for p in pids:
        assert group_gone(p), f"server {p} survived on_kill"
    assert not sim_children()
    return result, took, item


def test_on_kill_during_launch_stops_the_server(tmp_path):
    result, took, item = _run_operator_and_kill(
        tmp_path, {"slow_start": 60}, ready=lambda dep: True, ready_timeout_s=60
    )
    assert took < 15
    assert "error" in result  # a launch failure fails the task (Airflow may retry it)
    assert "deployment failed" in str(result["error"])
    fails = q(tmp_path / "wh", "failures", "select stage, reason from t")
    assert len(fails) == 1 and "task killed" in fails[0][1]
    assert (tmp_path / "art" / "kill-1" / item.key / "sim-server.log").is_file()


def test_on_kill_mid_ladder_stops_the_server_and_records_why(tmp_path):
    # a very degraded GPU: each request takes seconds, so the kill lands mid-point
    _, took, _ = _run_operator_and_kill(
        tmp_path,
        {"slow_tokens": 200},
        ready=lambda dep: bool(dep.server_info),
        scenarios=[{"name": "t", "isl": 16, "osl": 64}],
        request_timeout_s=60,
    )
    assert took < 15
    fails = q(tmp_path / "wh", "failures", "select max_concurrency, reason from t order by 1")
    assert [f[0] for f in fails] == [1, 2]
    assert "deployment stopped (task killed or shut down)" in fails[0][1]
    assert fails[1][1].startswith("not run: the deployment is gone (deployment stopped (task killed")


_STUBBORN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"])
print("child", child.pid, flush=True)
time.sleep(120)
"""


def test_stop_kills_the_whole_process_group(tmp_path):
    from frontier.launch.process import ManagedProcess

    mp = ManagedProcess([sys.executable, "-c", _STUBBORN], tmp_path / "stubborn.log", name="stubborn").start()
    deadline = time.monotonic() + 10
    child = None
    while time.monotonic() < deadline and child is None:
        text = (tmp_path / "stubborn.log").read_text()
        if "child" in text:
            child = int(text.split()[1])
        time.sleep(0.05)
    assert child is not None
    t0 = time.monotonic()
    mp.stop(grace_s=1.0)
    assert time.monotonic() - t0 < 8
    assert group_gone(mp.pid)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not group_gone(child):
        time.sleep(0.05)
    assert group_gone(child), "the server's child survived"
    assert mp.stop() is not None  # idempotent


def test_sigterm_ends_a_hung_sim_server_promptly(tmp_path):
    """A frozen server (hang_start) still exits on SIGTERM within its shutdown timeout."""
    from frontier.launch.http import free_port
    from frontier.launch.process import ManagedProcess

    port = free_port()
    argv = [sys.executable, "-m", "frontier.sim.launch_server", "--port", str(port), "--fault-hang-start"]
    mp = ManagedProcess(argv, tmp_path / "hung.log", name="hung").start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and "Uvicorn running" not in (tmp_path / "hung.log").read_text():
        time.sleep(0.05)
    # an open, never-answered request while it stops
    probe = f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}/health', timeout=30)"
    held = subprocess.Popen(
        [sys.executable, "-c", probe], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(0.5)
    t0 = time.monotonic()
    code = mp.stop(grace_s=8.0)
    assert time.monotonic() - t0 < 6 and code == 0, code  # clean exit, no SIGKILL needed
    held.wait(30)
    assert group_gone(mp.pid)


def test_artifacts_keep_each_items_server_log(tmp_path):
    from frontier.planning.planner import plan
    from frontier.run import RunContext, run_item

    _, spec = _spec(tmp_path, {"crash_after": 1})
    (item,) = plan(spec)
    ctx = RunContext("art:1+x", dt.date(2026, 3, 1), str(tmp_path / "wh"), str(tmp_path / "art"))
    out = run_item(item, spec, ctx)
    d = tmp_path / "art" / "art_1_x" / item.key
    assert (d / "sim-server.log").is_file()
    assert "Scheduler hit an exception" in (d / "sim-server.log").read_text()
    saved = json.loads((d / "outcome.json").read_text())
    assert saved["status"] == out.status == "failed"
    assert [f["max_concurrency"] for f in saved["failure_rows"]] == [1, 2]
    assert os.path.getsize(d / "sim-server.log") > 0
