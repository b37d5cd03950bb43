"""LocalTarget for real: a simulated server from the plan's argv, healthy, stopped by group."""

from __future__ import annotations

import os
import sys

import pytest

from frontier.launch.errors import LaunchError
from frontier.launch.http import free_port
from frontier.launch.targets import LocalTarget, launch, stop_all
from tests.support import engine_plan, pid_gone

pytestmark = pytest.mark.timeout(60)
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"


def _plan(label="TP2", **cluster):
    return engine_plan(label, **{"python": sys.executable, "base_port": free_port(), **cluster})


def test_local_sim_lifecycle(tmp_path):
    plan = _plan()
    t = LocalTarget()
    seen = []
    hs = launch(t, plan, tmp_path / "item", ready_timeout_s=30, on_started=seen.append)
    assert seen == hs and len(hs) == 1 and t.alive(hs[0])
    assert "fired up" in t.log_tail(hs[0])
    assert stop_all(t, hs, grace_s=5) == []
    assert not t.alive(hs[0]) and pid_gone(hs[0].pid)


def test_stop_from_another_process_by_handle(tmp_path):
    """A resumed (deferred) task has only the handle: it stops the group by id."""
    plan = _plan()
    hs = launch(LocalTarget(), plan, tmp_path, ready_timeout_s=30)
    other = LocalTarget()
    assert other.alive(hs[0])
    other.stop(hs[0], grace_s=5)
    assert not other.alive(hs[0]) and pid_gone(hs[0].pid)


def test_exit_before_ready_is_a_launch_error(tmp_path):
    plan = _plan()
    plan.servers[0].argv += ["--hardware", "no_such_gpu"]
    t = LocalTarget()
    with pytest.raises(LaunchError) as e:
        launch(t, plan, tmp_path, ready_timeout_s=30)
    assert e.value.stage == "launch" and "exited with code 1 before becoming healthy" in str(e.value)
    assert "unknown hardware 'no_such_gpu'" in str(e.value)  # the log line that says why


def test_gpu_slices_and_base_gpu_id(tmp_path, monkeypatch):
    from frontier.planning.sglang_args import build_launch_plan

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3,5,7,8,9,10,11,12")
    plan = build_launch_plan(
        "2xTEP4+1xDEP8", model="deepseek-ai/DeepSeek-R1", hardware="h200_sxm", precision="fp8"
    )
    servers = plan.servers[:2]  # two 4-GPU prefill servers on one node; the second has --base-gpu-id 4
    assert "--base-gpu-id" in servers[1].argv
    t = LocalTarget(gpus="auto")
    script = 'echo "$CUDA_VISIBLE_DEVICES $*"; sleep 30'
    for s in servers:
        s.argv = ["sh", "-c", script, "sh", *s.argv]
    hs = [t.start(s, tmp_path / f"{i}.log") for i, s in enumerate(servers)]
    import time

    time.sleep(0.3)
    logs = [t.log_tail(h) for h in hs]
    assert logs[0].startswith("2,3,5,7 ") and logs[1].startswith("8,9,10,11 ")
    assert "--base-gpu-id" not in " ".join(logs)  # the second server's offset is dropped with its slice
    stop_all(t, hs, grace_s=2)
    assert all(pid_gone(h.pid) for h in hs)
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "2,3,5,7,8,9,10,11,12"
