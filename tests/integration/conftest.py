"""Fixtures shared by integration test files (helpers without fixtures: tests/support.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from frontier.launch.http import free_port
from tests.support import ROOT


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    if shutil.which("sshd") is None and not Path("/usr/sbin/sshd").exists():
        pytest.skip("openssh-server not installed (apt-get install -y openssh-server openssh-client)")
    if shutil.which("ssh") is None:
        pytest.skip("openssh-client not installed")
    d = tmp_path_factory.mktemp("sshd")
    port = free_port()
    r = subprocess.run(
        ["bash", str(ROOT / "scripts" / "test-sshd.sh"), "start", str(d), str(port)],
        capture_output=True,
        text=True,
        timeout=40,
        check=False,
    )
    if r.returncode != 0:
        pytest.skip(f"cannot start a test sshd on 127.0.0.1: {(r.stderr or r.stdout).strip()[-300:]}")
    yield {
        "dir": d,
        "port": port,
        "key": str(d / "client_ed25519"),
        "known_hosts": str(d / "known_hosts"),
        "host_key": (d / "host_ed25519.pub").read_text().split()[:2],
    }
    subprocess.run(["bash", str(ROOT / "scripts" / "test-sshd.sh"), "stop", str(d)], timeout=20, check=False)
