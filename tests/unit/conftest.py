"""The unit tier is pure: no sockets, no child processes, no Airflow.

Enforced here for every test under tests/unit (an autouse fixture, so it applies to this folder only):

* opening a network endpoint (``socket.socket.connect``/``connect_ex``/``bind``) or starting a process
  (``subprocess.Popen``, ``os.system``, ``os.fork``, ``os.posix_spawn``) raises ``PurityError`` with
  "unit tests are pure: move this test to tests/integration". In-process fakes (a recording
  transport, an in-memory Kubernetes client) are fine; a real loopback server or a CLI run as a
  child process belongs to tests/integration. To check CLI output in a unit test, call
  ``frontier.cli.main.main([...])`` in-process with ``capsys``.
* Airflow: no unit test imports ``airflow`` (nor ``operators``/``dags``, which import it). There are
  no DAG tests in this tier: DAG parsing lives in tests/integration, DAG runs in tests/e2e. Checked
  twice: statically (tests/unit/test_imports.py reads every tests/unit file with ``ast``) and at run
  time (a test after which ``airflow`` is in ``sys.modules`` fails, when it was not loaded before this
  tier started; that catches transitive imports when the tier runs on its own:
  ``pytest tests/unit``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

MESSAGE = "unit tests are pure: move this test to tests/integration"
_AIRFLOW_BEFORE_TIER = "airflow" in sys.modules  # True only when another tier imported it first


class PurityError(RuntimeError):
    pass


def _refuse(what: str):
    def refused(*args, **kwargs):
        raise PurityError(f"{MESSAGE} ({what})")

    return refused


@pytest.fixture(autouse=True)
def _unit_tests_are_pure(monkeypatch):
    for name in ("connect", "connect_ex", "bind"):
        monkeypatch.setattr(socket.socket, name, _refuse(f"socket.{name}"))
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse("subprocess.Popen"))
    for name in ("system", "fork", "forkpty", "posix_spawn", "posix_spawnp"):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, _refuse(f"os.{name}"))
    before = "airflow" in sys.modules
    yield
    if not before and "airflow" in sys.modules:
        pytest.fail(f"this test imported airflow: {MESSAGE} (or tests/e2e for DAG runs)")


_airflow_reported = False


@pytest.hookimpl(tryfirst=True)
def pytest_collectreport(report):
    """A unit test module that imports airflow when collected fails collection (named once)."""
    global _airflow_reported
    if _AIRFLOW_BEFORE_TIER or _airflow_reported or "airflow" not in sys.modules:
        return
    if report.passed and report.nodeid.endswith(".py"):
        _airflow_reported = True
        report.outcome = "failed"
        report.longrepr = f"{report.nodeid} imports airflow when collected: {MESSAGE} (or tests/e2e)"
