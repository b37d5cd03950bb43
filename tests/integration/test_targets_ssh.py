"""SSHTarget for real: a throwaway OpenSSH server on 127.0.0.1 (scripts/test-sshd.sh), a simulated
server started on "node" 127.0.0.1 through it, healthy, stopped by process group, nothing left.

Both transports: the OpenSSH client (frontier core) and Airflow's SSHHook (operators/), the
latter with an Airflow Connection ``frontier_node_127_0_0_1`` built in-process (environment
variable), holding the key file and the host key. Skipped with the reason when sshd cannot run
(the ``sshd`` fixture: tests/integration/conftest.py).
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

import pytest

from frontier.launch.errors import LaunchError
from frontier.launch.http import free_port
from frontier.launch.targets import OpenSSHTransport, SSHTarget, launch, stop_all
from frontier.launch.targets.options import SSHOptions
from frontier.planning.engines import get_engine
from tests.support import engine_plan, group_left, pid_gone, spec_for

pytestmark = pytest.mark.timeout(90)
ROOT = Path(__file__).resolve().parents[2]
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"


def _plan(sshd, tmp_path):
    return engine_plan("TP2", python=sys.executable, base_port=free_port())


def _lifecycle(target: SSHTarget, plan, tmp_path: Path) -> None:
    hs = launch(target, plan, tmp_path / "item", ready_timeout_s=40)
    (h,) = hs
    assert h.host == "127.0.0.1" and h.pid and target.alive(h)
    assert group_left(h.pid), "the server leads its own process group"
    assert "fired up" in target.log_tail(h, 5)
    assert stop_all(target, hs, grace_s=5) == []
    assert not target.alive(h) and pid_gone(h.pid) and group_left(h.pid) == []
    assert "fired up" in (tmp_path / "item" / "server-single-0.log").read_text()  # fetched on stop


def test_openssh_transport_lifecycle(sshd, tmp_path):
    tr = OpenSSHTransport(port=sshd["port"], identity_file=sshd["key"], known_hosts_file=sshd["known_hosts"])
    t = SSHTarget(tr, remote_dir=str(tmp_path / "remote"), workdir=str(ROOT), poll_s=0.2)
    _lifecycle(t, _plan(sshd, tmp_path), tmp_path)


def test_sshhook_transport_lifecycle(sshd, tmp_path, monkeypatch):
    pytest.importorskip("airflow.providers.ssh", reason="pip install apache-airflow-providers-ssh")
    from operators.ssh_transport import SSHHookTransport

    conn = {
        "conn_type": "ssh",
        "host": "127.0.0.1",
        "port": sshd["port"],
        "login": getpass.getuser(),
        "extra": {"key_file": sshd["key"], "host_key": " ".join(sshd["host_key"]), "look_for_keys": "false"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_FRONTIER_NODE_127_0_0_1", json.dumps(conn))
    tr = SSHHookTransport(SSHOptions())
    assert tr.conn_id("127.0.0.1") == "frontier_node_127_0_0_1"
    t = SSHTarget(tr, remote_dir=str(tmp_path / "remote"), workdir=str(ROOT), poll_s=0.2)
    try:
        _lifecycle(t, _plan(sshd, tmp_path), tmp_path)
    finally:
        tr.close()


def test_start_failure_is_one_line(sshd, tmp_path):
    tr = OpenSSHTransport(port=sshd["port"], identity_file=sshd["key"], known_hosts_file=sshd["known_hosts"])
    t = SSHTarget(tr, remote_dir=str(tmp_path / "remote"), env_file=str(tmp_path / "missing.env"))
    with pytest.raises(LaunchError, match=r"cannot start on 127\.0\.0\.1 over ssh: .*missing\.env"):
        launch(t, _plan(sshd, tmp_path), tmp_path, ready_timeout_s=10)


def test_env_file_feeds_the_remote_environment(sshd, tmp_path):
    """Secrets come from the node (env file), never from the command line."""
    envf = tmp_path / "node.env"
    envf.write_text("HF_TOKEN=hf_notarealtokenbutlongenough\n")
    tr = OpenSSHTransport(port=sshd["port"], identity_file=sshd["key"], known_hosts_file=sshd["known_hosts"])
    t = SSHTarget(tr, remote_dir=str(tmp_path / "remote"), env_file=str(envf), poll_s=0.2)
    plan = _plan(sshd, tmp_path)
    s = plan.servers[0]
    s.argv = ["sh", "-c", 'echo "token ${#HF_TOKEN} chars"; sleep 30']
    h = t.start(s, tmp_path / "probe.log")
    import time

    deadline = time.monotonic() + 10
    while "chars" not in t.log_tail(h) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "token 29 chars" in t.log_tail(h)
    t.stop(h, grace_s=2)
    assert group_left(h.pid) == []


def test_engines_glue_over_ssh(sshd, tmp_path, monkeypatch):
    """frontier.launch.launch on target ssh (the one launch path): a Deployment whose processes
    are remote; dead_reason sees a kill on the node; stop leaves nothing."""
    import os
    import signal

    from frontier.launch import launch as launch_deployment
    from frontier.launch.targets import registry

    monkeypatch.setattr(
        registry,
        "_PROVIDERS",
        {
            "ssh": lambda opts: OpenSSHTransport(
                port=sshd["port"], identity_file=sshd["key"], known_hosts_file=sshd["known_hosts"]
            )
        },
    )
    spec = spec_for(
        "sim",
        "ssh",
        {
            "python": sys.executable,
            "base_port": free_port(),
            "ssh": {"remote_dir": str(tmp_path / "remote"), "workdir": str(ROOT)},
        },
        ready_timeout_s=40,
    )
    plan = get_engine("sim").launch_plan(spec, "TP2", LLAMA, "h100_sxm", "fp8")
    seen = []
    dep = launch_deployment(plan, spec, tmp_path / "item", seen.append)
    assert seen == [dep] and dep.dead_reason() is None and dep.server_info
    (p,) = dep.processes
    os.killpg(p.pid, signal.SIGKILL)  # the node loses the server
    assert "exited" in dep.dead_reason()
    dep.stop("done")
    assert group_left(p.pid) == [] and dep.dead_reason() == "done"
