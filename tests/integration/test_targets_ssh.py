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
import os
import subprocess
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


# --------------------------------------------------------------------------- issue 13: no orphans

DRIVER = """
import json, sys, time
from pathlib import Path
from frontier.launch.targets import OpenSSHTransport, SSHTarget, launch
from frontier.planning.launch_plan import plan_from_json
a = json.loads(sys.argv[1])
tr = OpenSSHTransport(port=a["port"], identity_file=a["key"], known_hosts_file=a["known_hosts"])
t = SSHTarget(tr, remote_dir=a["remote"], workdir=a["root"], poll_s=0.2)
(h,) = launch(t, plan_from_json(a["plan"]), a["logs"], ready_timeout_s=40)
print(h.pid, flush=True)
time.sleep(120)
"""


def _wait_gone(pgid: int, limit_s: float) -> float | None:
    import time

    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        if not group_left(pgid):
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


def test_sigkilled_driver_takes_its_ssh_servers_along(sshd, tmp_path):
    """The tether: the node stops the group once the driver's ssh session ends (SIGKILL)."""

    args = {
        "port": sshd["port"],
        "key": sshd["key"],
        "known_hosts": sshd["known_hosts"],
        "remote": str(tmp_path / "remote"),
        "root": str(ROOT),
        "plan": _plan(sshd, tmp_path).to_json(),
        "logs": str(tmp_path / "item"),
    }
    drv = subprocess.Popen(
        [sys.executable, "-c", DRIVER, json.dumps(args)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        pgid = int(drv.stdout.readline())
        assert group_left(pgid), "the server should run while its driver does"
        drv.kill()
        drv.wait(5)
        took = _wait_gone(pgid, 10)
        print(f"ssh: SIGKILL -> no server process left after {took} s")
        assert took is not None, f"ssh server group {pgid} outlived its driver by 10 s"
    finally:
        drv.kill()


def test_deferred_ssh_launch_is_held_by_a_lease_then_adopted(sshd, tmp_path):
    import time

    tr = OpenSSHTransport(port=sshd["port"], identity_file=sshd["key"], known_hosts_file=sshd["known_hosts"])
    t = SSHTarget(tr, remote_dir=str(tmp_path / "remote"), workdir=str(ROOT), poll_s=0.2)
    t.tether = False  # the deferrable path: nothing ties the servers to this process
    hs = launch(t, _plan(sshd, tmp_path), tmp_path / "item", ready_timeout_s=40)
    (h,) = hs
    try:
        t.hold([h], 2)  # a short lease, never adopted: the node stops the server itself
        assert Path(t.lease_path(h)).exists() and group_left(h.pid)
        took = _wait_gone(h.pid, 12)
        assert took is not None and took > 1, f"the lease should hold ~2 s, then stop ({took})"
        assert not Path(t.lease_path(h)).exists()

        (h2,) = launch(t, _plan(sshd, tmp_path), tmp_path / "item2", ready_timeout_s=40)
        t.hold([h2], 2)
        t.adopt([h2])  # a resumed task: the lease ends, a tether to this process begins
        time.sleep(4)
        assert group_left(h2.pid), "an adopted server must outlive its old lease"
        t.stop(h2, grace_s=5)
        assert group_left(h2.pid) == []
    finally:
        stop_all(t, hs, grace_s=2)
