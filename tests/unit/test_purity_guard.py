"""The unit tier's guard (tests/unit/conftest.py) refuses network endpoints and child processes."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

MOVE = "unit tests are pure: move this test to tests/integration"


def test_sockets_cannot_bind_or_connect():
    s = socket.socket()
    try:
        with pytest.raises(RuntimeError, match=f"{MOVE} \\(socket.bind\\)"):
            s.bind(("127.0.0.1", 0))
        with pytest.raises(RuntimeError, match=f"{MOVE} \\(socket.connect\\)"):
            s.connect(("127.0.0.1", 9))
        with pytest.raises(RuntimeError, match=MOVE):
            socket.create_connection(("127.0.0.1", 9), timeout=1)
    finally:
        s.close()


def test_child_processes_cannot_start():
    with pytest.raises(RuntimeError, match=f"{MOVE} \\(subprocess.Popen\\)"):
        subprocess.run(["true"], check=False)
    with pytest.raises(RuntimeError, match=f"{MOVE} \\(os.system\\)"):
        os.system("true")
    with pytest.raises(RuntimeError, match=f"{MOVE} \\(os.fork\\)"):
        os.fork()
