"""Execution targets through the pipeline (docs/targets-integration.md applied).

- engine sglang on target local: each server gets its own ``CUDA_VISIBLE_DEVICES`` slice and
  loses ``--base-gpu-id`` (golden argv and env, through ``frontier.launch``'s one code path);
- a sweep with ``target: ssh`` on the simulated engine through ``frontier.run`` end to end
  (``run_sweep`` -> ``run_item``) against a real loopback sshd (skipped when sshd cannot start),
  with ``cluster.ssh`` settings in the spec, over the OpenSSH client and over Airflow's SSHHook;
- ``target: kubernetes`` through ``frontier.launch`` ``launch`` / ``start`` / ``attach`` with the in-memory
  KubeClient double, ``cluster.kubernetes`` settings in the spec.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import sys
from pathlib import Path

import pytest

from frontier.domain.spec import SpecError, parse_spec
from frontier.launch.errors import LaunchError
from frontier.launch.http import free_port
from frontier.run import RunContext, run_sweep
from tests.support import FakeKube, group_left, q

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[2]
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"


# --------------------------------------------------------------------------- --base-gpu-id (local sglang)

PD_SPEC = {
    "name": "g",
    "engine": "sglang",
    "scenarios": ["1k1k"],
    "concurrencies": [1],
    "ready_timeout_s": 5,
    "cluster": {"recipes": False},  # the bare label flags: this test is about GPU slices, not recipes
    "matrix": [{"model": LLAMA, "hardware": "h100_sxm", "precision": "fp8", "labels": ["2xTP2+1xTP4"]}],
}
SERVER = ["python3", "-m", "sglang.launch_server", "--model-path", LLAMA, "--host", "127.0.0.1"]
FLAGS = ["--quantization", "fp8", "--kv-cache-dtype", "fp8_e4m3"]
GOLDEN = [  # (argv, CUDA_VISIBLE_DEVICES) with CUDA_VISIBLE_DEVICES=3,4,5,6,7,8,9,10 on the worker
    (
        SERVER
        + [
            "--port",
            "30000",
            "--tp-size",
            "2",
            *FLAGS,
            "--disaggregation-mode",
            "prefill",
            "--disaggregation-transfer-backend",
            "mooncake",
            "--disaggregation-bootstrap-port",
            "8998",
        ],
        "3,4",
    ),
    (
        SERVER
        + [
            "--port",
            "30010",
            "--tp-size",
            "2",
            *FLAGS,
            "--disaggregation-mode",
            "prefill",
            "--disaggregation-transfer-backend",
            "mooncake",
            "--disaggregation-bootstrap-port",
            "8999",
        ],
        "5,6",
    ),
    (
        SERVER
        + [
            "--port",
            "30020",
            "--tp-size",
            "4",
            *FLAGS,
            "--disaggregation-mode",
            "decode",
            "--disaggregation-transfer-backend",
            "mooncake",
        ],
        "7,8,9,10",
    ),
]


def test_local_sglang_slices_gpus_and_drops_base_gpu_id(tmp_path, monkeypatch):
    """The one launch path on the local target: each server its own slice of CUDA_VISIBLE_DEVICES,
    numbered from 0 inside it, so the plan's --base-gpu-id is dropped (real processes started)."""
    import sys

    from frontier.launch import launch as launch_deployment
    from frontier.launch.targets import LocalTarget, local
    from frontier.planning.planner import plan

    spec = parse_spec(PD_SPEC)
    (item,) = plan(spec)
    lp = item.launch_plan()
    # the plan places the servers on one 8-GPU node: offsets 0, 2, 4 ...
    assert [
        s.argv[s.argv.index("--base-gpu-id") + 1] if "--base-gpu-id" in s.argv else "0" for s in lp.servers
    ] == ["0", "2", "4"]
    # ... which must not survive the per-server slice (the second server would look at GPUs 2-3 of a 2-GPU slice)
    started: list[tuple[list[str], dict]] = []

    class Recorder(local.ManagedProcess):
        def start(self):
            started.append((list(self.argv), dict(self.env)))
            self.argv = [sys.executable, "-c", "import time; time.sleep(60)"]  # stands in for sglang
            return super().start()

    def not_ready(self, handle, timeout_s, poll_s=0.2):
        raise LaunchError("stop here", stage="readiness")

    monkeypatch.setattr(local, "ManagedProcess", Recorder)
    monkeypatch.setattr(LocalTarget, "wait_ready", not_ready)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,4,5,6,7,8,9,10")
    with pytest.raises(LaunchError, match="stop here"):
        launch_deployment(lp, spec, tmp_path)
    assert [(a, e["CUDA_VISIBLE_DEVICES"]) for a, e in started] == GOLDEN
    assert not any(
        local._group_alive(p) for p in list(LocalTarget._started)[-3:]
    )  # a failed launch stops all

    started.clear()
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2")
    with pytest.raises(Exception, match="needs 8 GPUs, CUDA_VISIBLE_DEVICES has 3"):
        launch_deployment(lp, spec, tmp_path)
    assert started == []  # refused before anything started


# --------------------------------------------------------------------------- ssh, end to end


def _ssh_spec(sshd, tmp: Path, **ssh) -> dict:
    return {
        "name": "ssh-e2e",
        "engine": "sim",
        "target": "ssh",
        "scenarios": [{"name": "t", "isl": 32, "osl": 8}],
        "concurrencies": [1, 2],
        "num_prompts": 4,
        "warmup_multiplier": 0,
        "ready_timeout_s": 40,
        "request_timeout_s": 20,
        "sim": {"time_scale": 4.0},
        "cluster": {
            "python": sys.executable,
            "host": "127.0.0.1",
            "base_port": free_port(),
            "ssh": {"remote_dir": str(tmp / "remote"), "workdir": str(ROOT), **ssh},
        },
        "matrix": [{"model": LLAMA, "hardware": "h100_sxm", "precision": "fp8", "labels": ["TP2"]}],
    }


def _check_ssh_sweep(spec_data: dict, tmp: Path) -> None:
    spec = parse_spec(spec_data)
    ctx = RunContext("ssh-1", dt.date(2026, 3, 1), str(tmp / "wh"), str(tmp / "art"))
    pids: list[int] = []
    msgs: list[str] = []
    status, outcomes = run_sweep(spec, ctx, progress=msgs.append, on_started=lambda d: pids.append(d))
    assert status == "success", (outcomes, msgs)
    assert any("on ssh" in m for m in msgs)
    (o,) = outcomes
    assert o["points_ok"] == 2 and o["engine_version"].startswith("0.5.23"), o
    pts = q(tmp / "wh", "points", "select max_concurrency, status, completed from t order by 1")
    assert pts == [(1, "ok", 4), (2, "ok", 4)]
    (cmds,) = q(tmp / "wh", "deployments", "select commands_json from t")
    (argv,) = json.loads(cmds[0])
    assert argv[:3] == [sys.executable, "-m", "frontier.sim.launch_server"]
    assert argv[argv.index("--time-scale") + 1] == "4.0" and "--seed" in argv  # the spec's sim knobs travel
    # the server ran on the "node" in its own process group, and none of it is left
    dep = pids[0]
    (proc,) = dep.handles
    assert proc.target == "ssh" and proc.host == "127.0.0.1" and proc.pid
    assert group_left(proc.pid) == []
    item_dir = tmp / "art" / "ssh-1" / dep_key(spec)
    assert "fired up" in (item_dir / "sim-server.log").read_text()  # the node's log, fetched on stop
    assert (tmp / "remote" / dep_key(spec) / "sim-server.log").is_file()  # stays on the node
    assert q(tmp / "wh", "predictions", "select count(*) from t where error is null") == [(2,)]


def dep_key(spec) -> str:
    from frontier.planning.planner import plan

    return plan(spec)[0].key


def test_ssh_sweep_end_to_end_openssh(sshd, tmp_path):
    from frontier.launch.targets import OpenSSHTransport, registry

    before = dict(registry._PROVIDERS)
    registry.register_provider(
        "ssh",
        lambda opts: OpenSSHTransport(
            port=sshd["port"], identity_file=sshd["key"], known_hosts_file=sshd["known_hosts"]
        ),
    )
    try:
        _check_ssh_sweep(_ssh_spec(sshd, tmp_path), tmp_path)
    finally:
        registry._PROVIDERS.clear()
        registry._PROVIDERS.update(before)


def test_ssh_sweep_end_to_end_airflow_sshhook(sshd, tmp_path, monkeypatch):
    """The operators' provider registration: Airflow's SSHHook, Connection from ``cluster.ssh.conn_ids``."""
    pytest.importorskip("airflow.providers.ssh", reason="pip install apache-airflow-providers-ssh")
    import operators.targets  # noqa: F401  registers SSHHook / KubernetesHook
    from frontier.launch.targets import registry

    assert "ssh" in registry._PROVIDERS
    conn = {
        "conn_type": "ssh",
        "host": "127.0.0.1",
        "port": sshd["port"],
        "login": getpass.getuser(),
        "extra": {"key_file": sshd["key"], "host_key": " ".join(sshd["host_key"]), "look_for_keys": "false"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_GPU_NODE_A", json.dumps(conn))
    _check_ssh_sweep(_ssh_spec(sshd, tmp_path, conn_ids={"127.0.0.1": "gpu_node_a"}), tmp_path)


# --------------------------------------------------------------------------- kubernetes

K8S_SPEC = {
    "name": "k",
    "engine": "sglang",
    "target": "kubernetes",
    "scenarios": ["1k1k"],
    "concurrencies": [1],
    "ready_timeout_s": 5,
    "cluster": {"kubernetes": {"namespace": "bench", "image": "example/sglang:test"}},
    "matrix": [
        {"model": "deepseek-ai/DeepSeek-R1", "hardware": "h200_sxm", "precision": "fp8", "labels": ["TP8"]}
    ],
}


@pytest.fixture
def kube(monkeypatch):
    from frontier.launch.targets import registry

    fake = FakeKube()
    monkeypatch.setitem(registry._PROVIDERS, "kubernetes", lambda opts: fake)
    return fake


def test_kubernetes_launch(kube, tmp_path):
    from frontier import launch as launching
    from frontier.planning.planner import plan

    spec = parse_spec(K8S_SPEC)
    (item,) = plan(spec)
    dep = launching.launch(item.launch_plan(), spec, tmp_path)
    pods = [o for (k, _, _), o in kube.objects.items() if k == "Pod"]
    assert [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in pods] == [
        ("bench", "frontier-tp8-n0")
    ]
    (c,) = pods[0]["spec"]["containers"]
    assert c["image"] == "example/sglang:test" and c["resources"]["limits"]["nvidia.com/gpu"] == 8
    assert dep.base_url == "http://frontier-tp8.bench.svc.cluster.local:30000"
    assert dep.dead_reason() is None and dep.target_kind == "kubernetes"
    # a container that dies is seen, with the reason
    kube.status["frontier-tp8-n0"]["containers"][c["name"]].update(
        state="terminated", exit_code=137, reason="OOMKilled"
    )
    assert "exited" in dep.dead_reason()
    dep.stop()
    assert kube.objects == {}  # pod and both services deleted


def test_kubernetes_start_handle_attach_stop(kube, tmp_path):
    """The deferrable path: start (no wait), JSON handle, attach elsewhere, stop by name."""
    from frontier import launch as launching
    from frontier.planning.planner import plan

    spec = parse_spec(K8S_SPEC)
    (item,) = plan(spec)
    dep = launching.start(item.launch_plan(), spec, tmp_path)
    assert dep.ready_urls() == [
        "http://frontier-tp8-n0.frontier-tp8-nodes.bench.svc.cluster.local:30000/health",
        "http://frontier-tp8-n0.frontier-tp8-nodes.bench.svc.cluster.local:30000/health_generate",
    ]
    handle = json.loads(json.dumps(dep.to_handle()))
    again = launching.attach(handle)
    assert again.base_url == dep.base_url and again.dead_reason() is None
    kube.events.clear()
    again.stop()
    assert kube.objects == {}
    assert ("delete", "Pod", "bench", "frontier-tp8-n0", 10) in kube.events
    assert again.dead_reason() == "deployment stopped (task killed or shut down)"


def test_cluster_target_keys_do_not_reach_launch_options():
    from frontier.planning.engines import launch_options
    from frontier.planning.planner import plan

    spec = parse_spec(K8S_SPEC)
    opts, targets = launch_options(spec), spec.cluster.target_options(environ={})
    assert opts.host == "127.0.0.1" and not hasattr(opts, "kubernetes")
    assert targets.kubernetes.namespace == spec.cluster.kubernetes.namespace
    assert plan(spec)[0].servers  # planning works with cluster.kubernetes present
    # an unknown cluster key is refused when the spec is parsed, naming it
    with pytest.raises(SpecError, match="cluster.no_such_option"):
        parse_spec({**K8S_SPEC, "cluster": {"kubernetes": {"namespace": "x"}, "no_such_option": 1}})
