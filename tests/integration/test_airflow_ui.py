"""`scripts/airflow-ui.sh` (operators.airflow_ui): the local Airflow UI in one command, for real.

Starts it in a subprocess on a temporary SQLite home and a free port on 127.0.0.1, waits for it
to say ready, then through the REST API (what the browser's form posts): the project's DAGs are
unpaused (nightly kept paused on request, so no nightly run loads the machine), the GPU pools
exist, a bad label is refused with one readable line before any run exists, a custom label the
old enum form could not take (TP16) runs to success with its mapped task named. Then SIGINT, as
Ctrl-C sends it: the command exits 0 and no process of any component is left.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support import group_left

pytest.importorskip("airflow")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(api: str, method: str, path: str, body=None, token: str | None = None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(api + path, method=method, headers=headers, data=data)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def _wait(what, fn, limit_s):
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        got = fn()
        if got:
            return got
        time.sleep(1)
    raise AssertionError(f"timed out after {limit_s} s waiting for {what}")


def test_one_command_starts_airflow_unpaused_and_ctrl_c_stops_everything(tmp_path):
    port = _free_port()
    api = f"http://127.0.0.1:{port}"
    out_path = tmp_path / "ui.out"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "FRONTIER_WAREHOUSE": str(tmp_path / "warehouse"),
        "FRONTIER_SITE": str(tmp_path / "site"),
        "FRONTIER_ARTIFACTS": str(tmp_path / "artifacts"),
    }
    env.pop("AIRFLOW_HOME", None)
    cmd = [
        sys.executable,
        "-m",
        "operators.airflow_ui",
        "--home",
        str(tmp_path / "home"),
        "--port",
        str(port),
    ]
    cmd += ["--keep-paused", "nightly_frontier"]
    with open(out_path, "wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    groups: list[int] = []
    try:

        def ready():
            text = out_path.read_text(errors="replace")
            assert proc.poll() is None, text
            return "] ready" in text

        _wait("the UI command to say ready", ready, 300)
        text = out_path.read_text()
        groups = [int(g) for g in re.search(r"process groups ([0-9 ]+);", text).group(1).split()]
        assert len(groups) == 4
        password = re.search(r"login\s+admin / (\S+)", text).group(1)
        assert f"Airflow UI   {api}" in text
        status, body = _call(api, "POST", "/auth/token", {"username": "admin", "password": password})
        assert status in (200, 201), body
        token = body["access_token"]

        status, dags = _call(api, "GET", "/api/v2/dags?tags=frontier", token=token)
        paused = {d["dag_id"]: d["is_paused"] for d in dags["dags"]}
        assert paused == {"frontier_adhoc": False, "publish_frontier": False, "nightly_frontier": True}
        status, pools = _call(api, "GET", "/api/v2/pools", token=token)
        assert {"frontier_gpu_h100_sxm", "frontier_gpu_h200_sxm"} <= {p["name"] for p in pools["pools"]}

        # a bad label: refused by the API server with one readable line, no run created
        status, body = _call(
            api,
            "POST",
            "/api/v2/dags/frontier_adhoc/dagRuns",
            {"logical_date": None, "conf": {"labels": "TP0, TP16"}},
            token=token,
        )
        assert status == 400
        assert body["detail"].startswith(
            "Invalid input for param labels: label 'TP0': 'TP0' is not MODE+GPUS"
        )
        assert "\n" not in body["detail"] and "Failed validating" not in body["detail"]
        status, nightly = _call(api, "GET", "/api/v2/dags/nightly_frontier/dagRuns", token=token)
        assert nightly["total_entries"] == 0  # kept paused from its creation: no run started
        status, runs = _call(api, "GET", "/api/v2/dags/frontier_adhoc/dagRuns", token=token)
        assert runs["total_entries"] == 0

        # a custom label the grammar takes and the old enum form did not, as text fields
        conf = {
            "labels": "TP16",
            "scenarios": "short:1024:128",
            "concurrencies": "1, 4",
            "num_prompts_multiplier": 2,
            "min_prompts": 8,
            "sim_time_scale": 4.0,
        }
        status, run = _call(
            api,
            "POST",
            "/api/v2/dags/frontier_adhoc/dagRuns",
            {"logical_date": None, "conf": conf},
            token=token,
        )
        assert status in (200, 201), run
        run_id = run["dag_run_id"]

        def finished():
            s, r = _call(api, "GET", f"/api/v2/dags/frontier_adhoc/dagRuns/{run_id}", token=token)
            return r["state"] if s == 200 and r["state"] in ("success", "failed") else None

        state = _wait("the ad-hoc run", finished, 300)
        _, tis = _call(api, "GET", f"/api/v2/dags/frontier_adhoc/dagRuns/{run_id}/taskInstances", token=token)
        rows = {(t["task_id"], t.get("rendered_map_index"), t["state"]) for t in tis["task_instances"]}
        assert state == "success", rows
        assert ("benchmark", "TP16 / short", "success") in rows
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGINT)  # what Ctrl-C sends
        try:
            rc = proc.wait(timeout=90)
        finally:
            leftovers = {g: group_left(g) for g in [proc.pid, *groups]}
            for g, pids in leftovers.items():  # never leave them running, even when the test fails
                if pids:
                    os.killpg(g, signal.SIGKILL)
    assert rc == 0, out_path.read_text()[-3000:]
    assert "stopped every Airflow process" in out_path.read_text()
    assert leftovers == {g: [] for g in [proc.pid, *groups]}
