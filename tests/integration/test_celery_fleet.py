"""The fleet tier: Airflow's CeleryExecutor on a real redis-server, two Celery workers on this machine
standing for two GPU nodes of different kinds, one nightly run on the simulated engine.

- worker-a listens on queue ``h100_sxm``, worker-b on ``h200_sxm`` and ``default`` (plan, marts,
  publish, report); the cluster policy sends each mapped deployment to its hardware's queue, and
  the deployment row records the worker that ran it (``$FRONTIER_WORKER``);
- worker-a's node dies mid-benchmark (SIGKILL to its process group and every process it started):
  the scheduler finds the task without a heartbeat, the retry runs on worker-a2 (the node back,
  same queue), the run succeeds, and the warehouse holds one deployment row and one row per point
  for each item (idempotent parts: the retry replaces, never appends);
- the warehouse and the site live on shared object storage (s3://, moto's S3 server on 127.0.0.1
  standing for MinIO / S3), as on a fleet whose nodes share no disk;
- afterwards no process of the tier is left.

Needs ``redis-server`` (scripts/install-system-deps.sh) and the ``fleet`` extra
(apache-airflow-providers-celery; scripts/bootstrap.sh), else it skips; ``FRONTIER_FLEET_SITE`` may
name a folder with those packages to put first on the tier's PYTHONPATH.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytest.importorskip("airflow")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
WORKERS = {"worker-a": "h100_sxm", "worker-b": "h200_sxm,default"}
SPEC = {
    "name": "fleet",
    "engine": "sim",
    "scenarios": [{"name": "t", "isl": 256, "osl": 128}],
    "concurrencies": [1, 2, 4],
    "load": {"num_prompts_multiplier": 2, "min_prompts": 6, "warmup_multiplier": 0},
    "ready_timeout_s": 60,
    "matrix": [
        {"model": "meta-llama/Llama-3.1-8B-Instruct", "hardware": "h100_sxm", "labels": ["TP1"]},
        {"model": "deepseek-ai/DeepSeek-R1", "hardware": "h200_sxm", "labels": ["TP8"]},
    ],
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pythonpath() -> str:
    extra = os.environ.get("FRONTIER_FLEET_SITE") or (
        str(ROOT / ".fleet-site") if (ROOT / ".fleet-site").is_dir() else ""
    )
    return os.pathsep.join(p for p in (extra, str(ROOT)) if p)


def _environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    return dict(kv.split("=", 1) for kv in raw.decode(errors="replace").split("\0") if "=" in kv)


def _node_pids(worker: str) -> list[int]:
    """Every live process of a 'node': started with FRONTIER_WORKER=worker (worker, task, servers)."""
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit() and _environ(int(p.name)).get("FRONTIER_WORKER") == worker:
            try:
                if (p / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                    out.append(int(p.name))
            except OSError:
                pass
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _bucket(port: int) -> bool:
    """Create the fleet's bucket once the S3 server answers."""
    import pyarrow.fs as pafs

    try:
        fs = pafs.S3FileSystem(
            endpoint_override=f"127.0.0.1:{port}", scheme="http", access_key="testing", secret_key="testing",
            region="us-east-1", allow_bucket_creation=True, connect_timeout=2, request_timeout=5,
        )  # fmt: skip
        fs.create_dir("frontier")
        return fs.get_file_info("frontier").type == pafs.FileType.Directory
    except OSError:
        return False


def _wait(what, fn, limit_s, fleet=None):
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        got = fn()
        if got:
            return got
        if fleet is not None and (dead := fleet.dead()):
            raise AssertionError(f"{dead} exited while waiting for {what}:\n{fleet.tail(dead[0], 40)}")
        time.sleep(1)
    raise AssertionError(f"timed out after {limit_s} s waiting for {what}")


@pytest.fixture(scope="module")
def fleet_run(tmp_path_factory):
    if not shutil.which("redis-server"):
        pytest.skip("redis-server not installed (scripts/install-system-deps.sh)")
    probe = subprocess.run(
        [sys.executable, "-c", "import airflow.providers.celery, redis"],
        env={**os.environ, "PYTHONPATH": _pythonpath()},
        capture_output=True,
        check=False,
        timeout=120,
    )
    if probe.returncode != 0:
        pytest.skip("the fleet extra (apache-airflow-providers-celery, redis) is not installed")
    from operators import airflow_ui as ui

    tmp = tmp_path_factory.mktemp("fleet")
    home = tmp / "home"
    home.mkdir()
    spec_path = tmp / "fleet.yaml"
    spec_path.write_text(yaml.safe_dump(SPEC))
    api_port, redis_port, s3_port = _free_port(), _free_port(), _free_port()
    s3_env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "FRONTIER_S3_ENDPOINT": f"http://127.0.0.1:{s3_port}",
    }
    api = f"http://127.0.0.1:{api_port}"
    ui.setup(home)
    password = ui._password(home)
    env = ui.airflow_env(home, "127.0.0.1", api_port, password)
    env.update(
        {
            "PYTHONPATH": _pythonpath(),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"redis://127.0.0.1:{redis_port}/1",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
            "FRONTIER_NIGHTLY_SCHEDULE": "none",
            "FRONTIER_WAREHOUSE": "s3://frontier/warehouse",
            "FRONTIER_SITE": "s3://frontier/site",
            **s3_env,
            "FRONTIER_ARTIFACTS": str(tmp / "artifacts"),
            "FRONTIER_STATE_DIR": str(tmp / "state"),
        }
    )
    env.pop("AIRFLOW_CONN_FRONTIER_AIRFLOW_API", None)  # pools: synced once below
    fleet = ui.Fleet(home, env)
    facts: dict = {"tmp": tmp, "s3_env": s3_env}
    popped: list[int] = []  # process groups taken out of the fleet (the killed worker)
    try:
        fleet.start(
            "redis",
            ["--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            program="redis-server",
        )
        _wait("redis-server", lambda: _redis_ping(redis_port), 30, fleet)
        fleet.start("s3", ["-H", "127.0.0.1", "-p", str(s3_port)], program="moto_server")
        _wait("the S3 server", lambda: _bucket(s3_port), 60, fleet)
        fleet.start("migrate", ["db", "migrate"])
        assert fleet.procs["migrate"].wait(timeout=300) == 0, fleet.tail("migrate", 40)
        del fleet.procs["migrate"]
        for name in ("api-server", "scheduler", "dag-processor"):
            fleet.start(name, ["api-server", "--port", str(api_port)] if name == "api-server" else [name])

        def worker(name: str, queues: str) -> None:
            fleet.start(
                name,
                [
                    "celery",
                    "worker",
                    "--queues",
                    queues,
                    "--celery-hostname",
                    f"{name}@%h",
                    "--skip-serve-logs",
                ],
                env={"FRONTIER_WORKER": name},
            )

        for name, queues in WORKERS.items():
            worker(name, queues)
        _wait("the API server", lambda: ui.api_call(f"{api}/api/v2/monitor/health")[0] == 200, 240, fleet)
        status, body = ui.api_call(f"{api}/auth/token", "POST", {"username": "admin", "password": password})
        token = body["access_token"]
        ui.sync_pools(api, token)
        _wait(
            "nightly_frontier parsed",
            lambda: ui.api_call(f"{api}/api/v2/dags/nightly_frontier", token=token)[0] == 200,
            240,
            fleet,
        )
        status, _ = ui.api_call(
            f"{api}/api/v2/dags/nightly_frontier", "PATCH", {"is_paused": False}, token=token
        )
        assert status == 200
        conf = {"spec": str(spec_path), "engine": "sim"}
        status, run = ui.api_call(
            f"{api}/api/v2/dags/nightly_frontier/dagRuns",
            "POST",
            {"logical_date": None, "conf": conf},
            token=token,
        )
        assert status in (200, 201), run
        run_id = run["dag_run_id"]
        runs_path = f"{api}/api/v2/dags/nightly_frontier/dagRuns/{run_id}"

        def tis():
            s, body = ui.api_call(f"{runs_path}/taskInstances?limit=100", token=token)
            return body["task_instances"] if s == 200 else []

        # the node of worker-a dies while TP1 is benchmarking (its simulated server is up)
        def tp1_benchmarking():
            running = [t for t in tis() if t["task_id"] == "benchmark" and t["state"] == "running"]
            tp1 = [t for t in running if (t.get("rendered_map_index") or "").startswith("TP1")]
            servers = [p for p in _node_pids("worker-a") if "frontier.sim" in _cmdline(p)]
            return tp1[0] if tp1 and servers else None

        facts["tp1_first"] = _wait("TP1 benchmarking on worker-a", tp1_benchmarking, 300, fleet)
        time.sleep(2)  # mid-ladder
        # the worker's process group (Celery, its pool, the task supervisors: setproctitle clobbers
        # their /proc environ) and what the tasks started in sessions of their own (the servers)
        worker_a = fleet.procs.pop("worker-a")
        popped.append(worker_a.pid)
        node = sorted(set(ui.group_pids(worker_a.pid)) | set(_node_pids("worker-a")))
        facts["killed"] = len(node)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker_a.pid, signal.SIGKILL)
        for pid in node:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        worker_a.wait(timeout=30)
        _wait(
            "worker-a's node gone",
            lambda: not _node_pids("worker-a") and not ui.group_pids(worker_a.pid),
            30,
        )
        worker("worker-a2", WORKERS["worker-a"])  # the node back, same queue

        def finished():
            s, r = ui.api_call(runs_path, token=token)
            return r["state"] if s == 200 and r["state"] in ("success", "failed") else None

        facts["state"] = _wait("the nightly run to finish", finished, 480, fleet)
        facts["tis"] = tis()
        facts["run_id"] = run_id
        import pyarrow.fs as pafs

        fs = pafs.S3FileSystem(
            endpoint_override=f"127.0.0.1:{s3_port}", scheme="http", access_key="testing", secret_key="testing",
            region="us-east-1",
        )  # fmt: skip
        info = fs.get_file_info("frontier/site/index.html")
        facts["site_index"] = info.size if info.type == pafs.FileType.File else 0
        # what the run left in the shared warehouse, read while the S3 server still runs
        facts["deployments"] = _q(
            facts, f"select label, worker, status from deployments where run_id = '{run_id}' order by 1"
        )
        facts["points"] = _q(
            facts,
            f"select label, max_concurrency, count(*) from points where run_id = '{run_id}' group by 1, 2 order by 1, 2",
        )
    finally:  # stop everything before the tests look (and even when the run went wrong)
        facts["left_groups"] = fleet.stop(20) + [g for g in popped if ui.group_pids(g)]
        for g in popped:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(g, signal.SIGKILL)
        for name in ("worker-a", "worker-b", "worker-a2"):
            for pid in _node_pids(name):  # never leave a tier process behind, even on failure
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        facts["left_node_pids"] = {n: _node_pids(n) for n in ("worker-a", "worker-b", "worker-a2")}
    yield facts


def _q(facts: dict, sql: str) -> list[tuple]:
    """A query on the fleet's s3:// warehouse (DuckDB views over the Parquet parts)."""
    from frontier.warehouse import connect
    from tests.support import set_env

    with set_env(**facts["s3_env"]):
        con = connect("s3://frontier/warehouse")
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()


def test_the_run_succeeds_with_each_item_on_the_worker_of_its_kind(fleet_run):
    tis = fleet_run["tis"]
    rows = {(t["task_id"], t.get("rendered_map_index"), t["state"], t["queue"], t["try_number"]) for t in tis}
    assert fleet_run["state"] == "success", rows
    bench = {
        t["rendered_map_index"]: (t["queue"], t["try_number"], t["hostname"])
        for t in tis
        if t["task_id"] == "benchmark"
    }
    assert bench["TP1 / t"][:2] == ("h100_sxm", 2), bench  # retried once, on its hardware's queue
    assert bench["TP8 / t"][:2] == ("h200_sxm", 1), bench
    others = {t["task_id"]: t["queue"] for t in tis if t["task_id"] != "benchmark"}
    assert set(others.values()) == {"default"}, others
    deployments = fleet_run["deployments"]
    assert deployments == [("TP1", "worker-a2", "success"), ("TP8", "worker-b", "success")]
    print(
        json.dumps({"deployments": deployments, "benchmark": bench, "killed_processes": fleet_run["killed"]})
    )


def test_the_killed_attempt_left_no_duplicate_rows(fleet_run):
    points = fleet_run["points"]
    assert points == [(lab, c, 1) for lab in ("TP1", "TP8") for c in (1, 2, 4)], points
    assert len(fleet_run["deployments"]) == 2


def test_the_site_is_published_to_object_storage(fleet_run):
    assert fleet_run["site_index"] > 0


def test_nothing_of_the_tier_is_left_running(fleet_run):
    assert fleet_run["left_groups"] == []
    assert fleet_run["left_node_pids"] == {"worker-a": [], "worker-b": [], "worker-a2": []}
