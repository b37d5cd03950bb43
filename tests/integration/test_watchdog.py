"""Issue 13 (no server outlives its driver): real ``frontier run`` processes, SIGKILLed mid-ladder.

- the driver SIGKILLed: its watcher stops the simulated server (and exits) within 10 s;
- the same run id rerun: it lands complete, one row per point;
- driver and watcher both SIGKILLed (a stale deployment): the next launch of the same run / item
  stops the old server first and says so in its log;
- the lease of a deferred deployment: the servers outlive their task until the lease runs out, or
  end with the resumed task that adopted them.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from frontier.launch import watchdog

pytestmark = pytest.mark.timeout(150)

ROOT = Path(__file__).resolve().parents[2]
SPEC = """
name: wd
engine: sim
target: local
scenarios:
  - {name: t, isl: 1024, osl: 256}
concurrencies: [1, 2, 4, 8]
num_prompts: 8
warmup_multiplier: 0
ready_timeout_s: 20
matrix:
  - model: meta-llama/Llama-3.1-8B-Instruct
    hardware: h100_sxm
    precision: fp8
    labels: [TP1]
"""


def _env(tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "FRONTIER_STATE_DIR": str(tmp / "live"),
        "COLUMNS": "200",
    }


def _driver(tmp: Path, run_id: str, out: str) -> subprocess.Popen:
    (tmp / "spec.yaml").write_text(SPEC)
    return subprocess.Popen(
        [sys.executable, "-m", "frontier.cli.main", "run", "spec.yaml", "--run-id", run_id, "--no-publish"]
        + ["--warehouse", "wh", "--artifacts", "art", "--site", "site"],
        cwd=tmp,
        env=_env(tmp),
        stdout=open(tmp / out, "w"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )


def _records(tmp: Path) -> list[dict]:
    return [rec for _, rec in watchdog.records(tmp / "live")]


def _mid_ladder(tmp: Path, out: str, timeout_s: float = 60) -> dict:
    """Wait until the ladder runs (a first point landed in the driver's output) and return the
    server's record (pgid, watcher, owner)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        recs = _records(tmp)
        if recs and recs[0].get("watcher") and "c=1 ok" in (tmp / out).read_text():
            return recs[0]
        time.sleep(0.1)
    raise AssertionError(f"the ladder never started:\n{(tmp / out).read_text()[-2000:]}")


def _server_left(rec: dict) -> bool:
    return watchdog.group_alive(rec["pgid"], rec["pgid_start"])


def _points(tmp: Path, run_id: str) -> tuple[str, list[tuple]]:
    from frontier.warehouse import connect

    con = connect(tmp / "wh")
    status = con.execute("select status from runs where run_id = ?", [run_id]).fetchall()
    dups = con.execute(
        "select label, scenario, max_concurrency, count(*) from points where run_id = ? "
        "group by all order by max_concurrency",
        [run_id],
    ).fetchall()
    return status[-1][0] if status else "", dups


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_sigkilled_driver_leaves_no_server_and_a_rerun_lands_complete(tmp_path: Path):
    drv = _driver(tmp_path, "wd-1", "run1.log")
    try:
        rec = _mid_ladder(tmp_path, "run1.log")
        assert rec["owner"]["pid"] == drv.pid and _server_left(rec)
        w = rec["watcher"]
        drv.kill()
        drv.wait(5)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 10 and (_server_left(rec) or watchdog.proc_alive(w["pid"], w["start"])):
            time.sleep(0.05)
        took = time.monotonic() - t0
        print(f"SIGKILL -> no server process left after {took:.2f} s")
        assert not _server_left(rec), f"server group {rec['pgid']} still alive 10 s after SIGKILL"
        assert not watchdog.proc_alive(w["pid"], w["start"]), "the watcher outlived its server"
        assert not watchdog.group_members(rec["pgid"])
        assert _records(tmp_path) == []  # the registry forgot it
    finally:
        _kill(drv.pid)

    # the same run id again: complete, one row per point
    drv2 = _driver(tmp_path, "wd-1", "run2.log")
    try:
        assert drv2.wait(120) == 0, (tmp_path / "run2.log").read_text()[-3000:]
    finally:
        _kill(drv2.pid)
    status, rows = _points(tmp_path, "wd-1")
    assert status == "success"
    assert [(r[2], r[3]) for r in rows] == [(1, 1), (2, 1), (4, 1), (8, 1)]
    assert _records(tmp_path) == []


def test_stale_deployment_is_stopped_by_the_next_launch(tmp_path: Path):
    drv = _driver(tmp_path, "wd-2", "run1.log")
    try:
        rec = _mid_ladder(tmp_path, "run1.log")
        # everything of the driver SIGKILLed, its watcher too: the server is left behind
        _kill(rec["watcher"]["pid"])
        drv.kill()
        drv.wait(5)
        time.sleep(1.5)
        assert _server_left(rec), "nothing should have stopped the server without its watcher"
    finally:
        _kill(drv.pid)
    drv2 = _driver(tmp_path, "wd-2", "run2.log")
    try:
        assert drv2.wait(120) == 0, (tmp_path / "run2.log").read_text()[-3000:]
    finally:
        _kill(drv2.pid)
        if _server_left(rec):
            watchdog.stop_group(rec["pgid"], rec["pgid_start"], 1)
    out = (tmp_path / "run2.log").read_text()
    want = re.compile(
        rf"stopping stale deployment .+ \(process group {rec['pgid']}\) left by pid {drv.pid} \(run wd-2\) "
        rf"item {re.escape(rec['item'])} \(no GPUs\)"
    )
    assert want.search(out), out[-3000:]
    assert want.search(Path(rec["log"]).read_text())  # the new server's log says so too
    assert not _server_left(rec)
    status, rows = _points(tmp_path, "wd-2")
    assert status == "success" and all(r[3] == 1 for r in rows) and len(rows) == 4


OWNER = """
import sys, time
from pathlib import Path
from frontier.launch import watchdog
from frontier.launch.process import ManagedProcess
p = ManagedProcess(["sleep", "60"], Path(sys.argv[1]) / "run" / "item" / "server.log", name="sleeper")
p.start()
watchdog.hold([p.pid], float(sys.argv[2]))
print(p.pid, flush=True)
"""

ADOPT = """
import sys, time
from frontier.launch import watchdog
assert watchdog.adopt([int(sys.argv[1])]) == 1
print("adopted", flush=True)
time.sleep(60)
"""


def _py(tmp: Path, code: str, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=_env(tmp),
        stdout=subprocess.PIPE,
        text=True,
        **kw,
    )


def _gone_within(pgid: int, start: int, limit_s: float) -> float | None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        if not watchdog.group_alive(pgid, start):
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


def test_a_lease_keeps_a_deferred_server_until_it_runs_out(tmp_path: Path):
    owner = _py(tmp_path, OWNER, str(tmp_path), "3")
    pgid = int(owner.stdout.readline())
    assert owner.wait(10) == 0  # the "task" deferred: its process is gone
    start = watchdog.proc_start(pgid)
    time.sleep(1.0)
    assert watchdog.group_alive(pgid, start), "the lease should hold the server past its owner"
    took = _gone_within(pgid, start, 10)
    assert took is not None, "the server outlived its lease"
    deadline = time.monotonic() + 3
    while _records(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _records(tmp_path) == []


def test_a_resumed_task_that_adopted_the_server_takes_it_along(tmp_path: Path):
    owner = _py(tmp_path, OWNER, str(tmp_path), "600")
    pgid = int(owner.stdout.readline())
    assert owner.wait(10) == 0
    start = watchdog.proc_start(pgid)
    resumed = _py(tmp_path, ADOPT, str(pgid))
    try:
        assert resumed.stdout.readline().strip() == "adopted"
        (rec,) = _records(tmp_path)
        assert rec["owner"]["pid"] == resumed.pid and rec["lease_until"] == 0
        time.sleep(1.0)
        assert watchdog.group_alive(pgid, start)
        resumed.kill()
        resumed.wait(5)
        assert _gone_within(pgid, start, 10) is not None, "the lease of 600 s should have ended at adopt"
    finally:
        _kill(resumed.pid)
        if watchdog.group_alive(pgid, start):
            watchdog.stop_group(pgid, start, 1)


GPU_OWNER = """
import json, os, signal, sys
from pathlib import Path
from frontier.launch import watchdog
from frontier.launch.process import ManagedProcess
p = ManagedProcess(["sleep", "60"], Path(sys.argv[1]) / "r-old" / "item" / "server.log", name="single server 0",
                   env={"CUDA_VISIBLE_DEVICES": "0,1,2,3,4,5,6,7"})
p.start()
path, w = p._watch
w.kill()  # the watcher dies with its driver (say the OOM killer took both)
w.wait()
print(json.dumps(watchdog.read_record(path)), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_stale_gpu_deployment_is_stopped_before_a_launch_on_the_same_gpus(
    tmp_path: Path, caplog, monkeypatch
):
    import json

    from frontier.launch.process import ManagedProcess

    old = _py(tmp_path, GPU_OWNER, str(tmp_path))
    rec = json.loads(old.stdout.readline())
    old.wait(10)
    assert rec["gpus"] == [str(i) for i in range(8)] and _server_left(rec)
    monkeypatch.setenv(watchdog.STATE_ENV, str(tmp_path / "live"))
    new = ManagedProcess(
        ["sleep", "60"], tmp_path / "r-new" / "item" / "server.log", env={"CUDA_VISIBLE_DEVICES": "4,5"}
    )
    try:
        with caplog.at_level("WARNING", logger="frontier.launch.watchdog"):
            new.start()
        assert not _server_left(rec), "the stale server on GPUs 0-7 should be stopped before the launch"
        want = f"stopping stale deployment single server 0 (process group {rec['pgid']}) left by pid {old.pid} (run r-old) on GPUs 0-7"
        assert want in caplog.text
        assert want in (tmp_path / "r-new" / "item" / "server.log").read_text()
        (now,) = _records(tmp_path)
        assert now["gpus"] == ["4", "5"] and now["run"] == "r-new" and now["owner"]["pid"] == os.getpid()
    finally:
        new.stop(1)
        if _server_left(rec):
            watchdog.stop_group(rec["pgid"], rec["pgid_start"], 1)
    assert _records(tmp_path) == []
