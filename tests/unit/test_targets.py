"""frontier.launch.targets: pure command builders (golden strings), handles, options, the ssh target
over a recording transport, the kubernetes target over an in-memory client (manifests validated)."""

from __future__ import annotations

import json
import shlex

import pytest

from frontier.errors import FrontierError
from frontier.launch.errors import LaunchError
from frontier.launch.targets import (
    Handle,
    KubernetesTarget,
    OpenSSHTransport,
    SSHTarget,
    launch,
    make_target,
    readiness_urls,
    stop_all,
)
from frontier.launch.targets.local import drop_flag
from frontier.launch.targets.options import ClusterOptions, as_cluster
from frontier.launch.targets.ssh import alive_command, signal_command, start_command, tail_command
from frontier.planning.engines import get_engine
from frontier.planning.launch_plan import AUTO_PORT, plan_from_json
from frontier.planning.sglang_args import LaunchOptions, build_launch_plan
from tests.support import FakeKube, spec_for

R1 = "deepseek-ai/DeepSeek-R1"
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"


# --------------------------------------------------------------------------- golden commands


def test_start_command_golden():
    cmd = start_command(
        ["python3", "-m", "sglang.launch_server", "--model-path", "a b", "--served-model-name", "it's"],
        "/tmp/frontier/run 1/server-single-0.log",
        env={"NCCL_DEBUG": "INFO", "CUDA_VISIBLE_DEVICES": "0,1"},
        env_file="/etc/frontier/env",
        workdir="/opt/frontier",
    )
    assert cmd == (
        "set -e; mkdir -p '/tmp/frontier/run 1'; cd /opt/frontier; set -a; . /etc/frontier/env; set +a; "
        "setsid nohup env CUDA_VISIBLE_DEVICES=0,1 NCCL_DEBUG=INFO python3 -m sglang.launch_server "
        "--model-path 'a b' --served-model-name 'it'\"'\"'s' > '/tmp/frontier/run 1/server-single-0.log' "
        "2>&1 < /dev/null & echo $!"
    )
    # the argv survives the shell round trip exactly
    launched = cmd.split("setsid nohup ", 1)[1].split(" > ", 1)[0]
    assert shlex.split(launched)[3:] == [
        "python3",
        "-m",
        "sglang.launch_server",
        "--model-path",
        "a b",
        "--served-model-name",
        "it's",
    ]


def test_start_command_minimal():
    assert start_command(["sleep", "60"], "/tmp/f/x.log") == (
        "set -e; mkdir -p /tmp/f; setsid nohup sleep 60 > /tmp/f/x.log 2>&1 < /dev/null & echo $!"
    )


def test_stop_alive_tail_commands_golden():
    assert signal_command(4242, "TERM") == "kill -TERM -- -4242 2>/dev/null || true"
    assert signal_command(4242, "KILL") == "kill -KILL -- -4242 2>/dev/null || true"
    assert alive_command(4242) == (
        "ps -eo pgid=,stat= | awk '$1 == 4242 && $2 !~ /^Z/ { n++ } END { exit n ? 0 : 1 }'"
    )
    assert tail_command("/tmp/a b.log", 5) == "tail -n 5 '/tmp/a b.log' 2>/dev/null || true"
    for bad in (0, 1, -5):
        with pytest.raises(FrontierError, match="refusing"):
            signal_command(bad, "KILL")


def test_openssh_argv_golden():
    t = OpenSSHTransport(user="bench", port=2222, identity_file="/k/id", known_hosts_file="/k/kh")
    assert t.argv("node0", "echo hi") == [
        "ssh",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=10",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "UserKnownHostsFile=/k/kh",
        "-i",
        "/k/id",
        "-o",
        "IdentitiesOnly=yes",
        "-p",
        "2222",
        "-l",
        "bench",
        "node0",
        "--",
        "echo hi",
    ]


# --------------------------------------------------------------------------- plans, handles, options


def test_readiness_urls_pd_multinode():
    plan = build_launch_plan("2xTEP4+1xDEP16", model=R1, hardware="h200_sxm", precision="fp8")
    urls = readiness_urls(plan)
    assert urls == [
        "http://node0:30000/health",
        "http://node0:30000/health_generate",
        "http://node0:30010/health",
        "http://node0:30010/health_generate",
        "http://node1:30020/health",
        "http://node1:30020/health_generate",  # rank 1 on node2 serves no HTTP
        "http://127.0.0.1:31000/health",
    ]


def test_handle_roundtrip_json():
    h = Handle(target="ssh", name="x", host="node0", url="http://node0:1", pid=77, log="/tmp/l")
    assert Handle.from_dict(json.loads(json.dumps(h.to_dict()))) == h


def test_cluster_resolve_and_conn_ids():
    cluster = ClusterOptions.model_validate(
        {
            "nodes": ["gpu-01", "10.0.0.7"],
            "ssh": {"conn_ids": {"10.0.0.7": "special"}},
            "kubernetes": {"namespace": "bench"},
        }
    )
    launch_opts, opts = cluster.resolve(environ={"FRONTIER_SSH_ENV_FILE": "/etc/frontier/env"})
    assert launch_opts == LaunchOptions(nodes=["gpu-01", "10.0.0.7"])
    assert opts.ssh.conn_id("gpu-01") == "frontier_node_gpu-01"
    assert opts.ssh.conn_id("gpu.01") == "frontier_node_gpu_01"
    assert opts.ssh.conn_id("10.0.0.7") == "special"
    assert opts.ssh.env_file == "/etc/frontier/env"
    assert opts.kubernetes.namespace == "bench"
    # the environment is read when the options are resolved, not when the spec is parsed
    assert cluster.resolve(environ={})[1].ssh.env_file is None
    assert cluster.target_options({"FRONTIER_K8S_NAMESPACE": "prod"}).kubernetes.namespace == "prod"
    with pytest.raises(FrontierError, match=r"field `ssh.password`: unknown key"):
        as_cluster({"ssh": {"password": "x"}})


def test_engines_plan_sim_one_process_per_deployment_and_roundtrip():
    sim = get_engine("sim")
    plan = sim.launch_plan(spec_for(), "TP2", LLAMA, "h100_sxm", "fp8")
    argv = plan.servers[0].argv
    assert argv[:3] == ["python3", "-m", "frontier.sim.launch_server"]
    assert argv[argv.index("--deployment") + 1] == "TP2" and argv[argv.index("--hardware") + 1] == "h100_sxm"
    assert plan.servers[0].gpus == 2 and plan.servers[0].port == 30000
    r1 = spec_for(model=R1, hardware="h200_sxm", label="1xTEP4+1xDEP8", cluster={"nodes": ["n0", "n1"]})
    pd = sim.launch_plan(r1, "1xTEP4+1xDEP8", R1, "h200_sxm", "fp8")
    assert pd.router is None and len(pd.servers) == 1 and pd.servers[0].gpus == 12
    assert pd.servers[0].host == "n0" and "1xTEP4+1xDEP8" in pd.servers[0].argv
    # on the local target: this interpreter, loopback, a port picked at start
    local = sim.launch_plan(
        spec_for(target="local", seed=7), "TP2", LLAMA, "h100_sxm", "fp8", faults={"crash_after": 3}
    )
    s = local.servers[0]
    import sys

    assert s.argv[0] == sys.executable and s.port == AUTO_PORT and s.url == "http://127.0.0.1:0"
    assert s.argv[s.argv.index("--seed") + 1] == "7" and "--fault-crash-after" in s.argv
    real = get_engine("sglang").launch_plan(
        spec_for(
            engine="sglang", model=R1, hardware="h200_sxm", label="DEP16", cluster={"nodes": ["a", "b"]}
        ),
        "DEP16",
        R1,
        "h200_sxm",
        "fp8",
    )
    assert len(real.servers) == 2 and real.servers[1].host == "b"
    assert plan_from_json(json.loads(json.dumps(real.to_json()))) == real
    ep = get_engine("endpoint").launch_plan(
        spec_for(engine="endpoint", endpoint={"base_url": "http://127.0.0.1:9/"}),
        "TP2",
        LLAMA,
        "h100_sxm",
        "fp8",
    )
    assert ep.servers == [] and ep.endpoint_url == "http://127.0.0.1:9"


def test_drop_flag():
    assert drop_flag(["x", "--base-gpu-id", "4", "--port", "1"], "--base-gpu-id") == ["x", "--port", "1"]


def test_make_target_kinds(monkeypatch):
    from frontier.launch.targets import registry

    monkeypatch.setattr(registry, "_PROVIDERS", {})
    plan = build_launch_plan("TP8", model=R1, hardware="h200_sxm", precision="fp8")
    assert make_target("local", plan).kind == "local"
    assert make_target("ssh", plan).kind == "ssh"
    with pytest.raises(FrontierError, match="cluster client"):
        make_target("kubernetes", plan)
    with pytest.raises(FrontierError, match="expected one of kubernetes, local, ssh"):
        make_target("slurm", plan)


# --------------------------------------------------------------------------- ssh over a recording transport


class RecordingTransport:
    def __init__(self, alive_answers=()):
        self.calls: list[tuple[str, str]] = []
        self.alive_answers = list(alive_answers)
        self.next_pid = 1000

    def run(self, host, command, timeout=None):
        self.calls.append((host, command))
        if "setsid nohup" in command:
            self.next_pid += 1
            return 0, f"{self.next_pid}\n", ""
        if command.startswith("ps -eo"):
            return (0 if (self.alive_answers.pop(0) if self.alive_answers else False) else 1), "", ""
        if command.startswith("tail"):
            return 0, "line1\nHF_TOKEN=hf_abcdefghijklmnopqrstuv\n", ""
        return 0, "", ""


def test_ssh_target_multinode_start_and_stop(tmp_path):
    plan = build_launch_plan(
        "DEP16",
        model=R1,
        hardware="h200_sxm",
        precision="fp8",
        options=LaunchOptions(nodes=["gpu-a", "gpu-b"]),
    )
    tr = RecordingTransport(alive_answers=[True, False, True, True, True])
    t = SSHTarget(tr, remote_dir="/scratch/frontier", poll_s=0.001)
    hs = launch(t, plan, tmp_path / "item", ready_timeout_s=None)
    assert [(h.host, h.pid, h.url) for h in hs] == [
        ("gpu-a", 1001, "http://gpu-a:30000"),
        ("gpu-b", 1002, None),
    ]
    assert hs[0].log == "/scratch/frontier/item/server-single-0-rank0.log"
    assert tr.calls[0][1].startswith(
        "set -e; mkdir -p /scratch/frontier/item; setsid nohup python3 -m sglang"
    )
    assert "--node-rank 1" in tr.calls[1][1]
    tr.calls.clear()
    errors = stop_all(t, hs, grace_s=0.002)  # rank 1 first: dies in time; rank 0 needs SIGKILL
    assert errors == []
    cmds = [(h, c.split(" ")[0] + " " + c.split(" ")[1]) for h, c in tr.calls]
    assert cmds[0] == ("gpu-b", "kill -TERM")
    assert ("gpu-a", "kill -KILL") in cmds and ("gpu-b", "kill -KILL") not in cmds
    saved = (tmp_path / "item" / "server-single-0-rank0.log").read_text()
    assert "line1" in saved and "hf_abc" not in saved  # fetched on stop, secrets masked


def test_ssh_target_refuses_secrets_and_reports_start_failure(tmp_path):
    plan = build_launch_plan(
        "TP8",
        model=R1,
        hardware="h200_sxm",
        precision="fp8",
        options=LaunchOptions(env={"HF_TOKEN": "hf_xxxxxxxxxxxxxxxxxxxx"}),
    )
    tr = RecordingTransport()
    with pytest.raises(FrontierError, match="HF_TOKEN would put a secret"):
        SSHTarget(tr).start(plan.servers[0], tmp_path / "x.log")
    assert tr.calls == []

    class Refused:
        def run(self, host, command, timeout=None):
            return 255, "", "ssh: connect to host node0 port 22: Connection refused\n"

    ok = build_launch_plan("TP8", model=R1, hardware="h200_sxm", precision="fp8")
    with pytest.raises(LaunchError, match="cannot start on 127.0.0.1 over ssh: ssh: connect to host"):
        SSHTarget(Refused()).start(ok.servers[0], tmp_path / "x.log")


# --------------------------------------------------------------------------- kubernetes over an in-memory client


def test_kubernetes_target_lifecycle_and_valid_manifests(tmp_path):
    kv = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate")
    plan = build_launch_plan("2xTEP4+1xDEP16", model=R1, hardware="h200_sxm", precision="fp8")
    kube = FakeKube()
    t = KubernetesTarget(kube, plan, image="lmsysorg/sglang:v0.5.23", namespace="bench")
    hs = launch(t, plan, tmp_path / "item", ready_timeout_s=5)
    assert [e[1:] for e in kube.events] == [
        ("Service", "bench", "frontier-2xtep4-1xdep16-nodes"),
        ("Service", "bench", "frontier-2xtep4-1xdep16"),
        ("Pod", "bench", "frontier-2xtep4-1xdep16-n0"),  # both prefill servers: one pod, two containers
        ("Pod", "bench", "frontier-2xtep4-1xdep16-n1"),
        ("Pod", "bench", "frontier-2xtep4-1xdep16-n2"),
        ("Pod", "bench", "frontier-2xtep4-1xdep16-router"),
    ]
    for obj in kube.objects.values():
        kv.validate(obj, kv.latest_version(), strict=True)
    gpus = sum(
        c["resources"]["limits"]["nvidia.com/gpu"]
        for (k, _, _), o in kube.objects.items()
        if k == "Pod"
        for c in o["spec"]["containers"]
        if "resources" in c
    )
    assert gpus == 24
    assert [(h.pod, h.container) for h in hs] == [
        ("frontier-2xtep4-1xdep16-n0", "prefill-g0-r0-rank0"),
        ("frontier-2xtep4-1xdep16-n0", "prefill-g0-r1-rank0"),
        ("frontier-2xtep4-1xdep16-n1", "decode-g1-r0-rank0"),
        ("frontier-2xtep4-1xdep16-n2", "decode-g1-r0-rank1"),
        ("frontier-2xtep4-1xdep16-router", "router"),
    ]
    assert (
        hs[2].url
        == "http://frontier-2xtep4-1xdep16-n1.frontier-2xtep4-1xdep16-nodes.bench.svc.cluster.local:30020"
    )
    assert hs[3].url is None and hs[4].url == t.endpoint_url
    assert all(t.alive(h) for h in hs)
    # a container that dies is seen (OOMKilled), and its log is readable with secrets masked
    kube.status["frontier-2xtep4-1xdep16-n2"]["containers"]["decode-g1-r0-rank1"].update(
        state="terminated", exit_code=137, reason="OOMKilled"
    )
    assert not t.alive(hs[3])
    assert "supersecretvalue1" not in t.log_tail(hs[3])
    kube.events.clear()
    assert stop_all(t, hs, grace_s=30) == []
    deletes = [e for e in kube.events if e[0] == "delete"]
    assert deletes[0] == ("delete", "Pod", "bench", "frontier-2xtep4-1xdep16-router", 30)
    assert {e[3] for e in deletes if e[1] == "Service"} == {
        "frontier-2xtep4-1xdep16-nodes",
        "frontier-2xtep4-1xdep16",
    }
    assert kube.objects == {}
    assert (
        (tmp_path / "item" / "router.log")
        .read_text()
        .startswith("log of frontier-2xtep4-1xdep16-router/router")
    )


def test_kubernetes_readiness_failure_names_reason(tmp_path):
    plan = build_launch_plan("TP8", model=R1, hardware="h200_sxm", precision="fp8")

    class Pending(FakeKube):
        def create(self, obj):
            super().create(obj)
            if obj["kind"] == "Pod":
                self.status[obj["metadata"]["name"]] = {
                    "phase": "Pending",
                    "containers": {
                        c["name"]: {
                            "ready": False,
                            "state": "waiting",
                            "exit_code": None,
                            "reason": "ImagePullBackOff",
                        }
                        for c in obj["spec"]["containers"]
                    },
                }

    kube = Pending()
    t = KubernetesTarget(kube, plan, image="nope:1", namespace="bench", poll_s=0.01)
    with pytest.raises(LaunchError, match="ImagePullBackOff"):
        launch(t, plan, tmp_path, ready_timeout_s=0.05)
    assert kube.objects == {}  # a failed launch removes what it created
