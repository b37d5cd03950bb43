"""The local Airflow UI in one command: ``bash scripts/airflow-ui.sh`` (or ``python -m operators.airflow_ui``).

Starts Airflow 3 on the project's SQLite home (``.airflow/``, the one ``scripts/demo.sh`` and
``operators.local_run`` use) with this checkout's DAGs, the cluster policy and the form checks
(``docker/airflow/airflow_local_settings.py``), LocalExecutor: ``airflow db migrate``, then
api-server, scheduler, dag-processor and triggerer, each in its own process group with its log in
``.airflow/logs/<component>.log``. Once the API answers it syncs the GPU pools of the project's
sweep specs, unpauses the project's DAGs, and prints the URL and the login. Ctrl-C (or SIGTERM)
stops every process it started: SIGTERM to each process group, SIGKILL to what is left after
``--stop-timeout`` seconds.

Defaults for a laptop: ``FRONTIER_ENGINE=sim`` and ``FRONTIER_NIGHTLY_SPEC=sweeps/smoke.yaml``
unless set (so the nightly DAG runs on the simulator), parallelism 4. The ``frontier_airflow_api``
connection is set (to this API server and login) so each run's ``plan`` task syncs its pools.

No Airflow import here: everything Airflow runs in the child processes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from frontier.errors import FrontierError

ROOT = Path(__file__).resolve().parent.parent
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
POOL_SPECS = ("sweeps/nightly.yaml", "sweeps/smoke.yaml")
USER = "admin"


def project_dag_ids(dags_folder: Path = ROOT / "dags") -> list[str]:
    """The dag_ids declared in the project's DAG files (read as text: no Airflow import)."""
    ids = []
    for path in sorted(dags_folder.glob("*.py")):
        ids += re.findall(r"""dag_id=["']([A-Za-z0-9_.-]+)["']""", path.read_text())
    return ids


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _password(home: Path) -> str:
    """The admin password, kept in the SimpleAuthManager file of the home (written here the first time)."""
    path = home / "simple_auth_manager_passwords.json.generated"
    try:
        passwords = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        passwords = {}
    if USER not in passwords:
        passwords[USER] = secrets.token_urlsafe(12)
        path.write_text(json.dumps(passwords) + "\n")
        path.chmod(0o600)
    return passwords[USER]


def airflow_env(home: Path, host: str, port: int, password: str) -> dict[str, str]:
    url = f"http://{host}:{port}"
    venv_bin = str(Path(sys.executable).parent)
    env = dict(os.environ)
    env.update(
        {
            "PATH": venv_bin + os.pathsep + env.get("PATH", ""),
            "PYTHONPATH": str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
            "AIRFLOW__API__HOST": host,
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": _jwt_secret(home),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            "AIRFLOW_CONN_FRONTIER_AIRFLOW_API": json.dumps(
                {"conn_type": "http", "host": url, "login": USER, "password": password}
            ),
            "FRONTIER_HOME": str(ROOT),
        }
    )
    env.setdefault("AIRFLOW__CORE__PARALLELISM", "4")
    env.setdefault("FRONTIER_ENGINE", "sim")
    env.setdefault("FRONTIER_NIGHTLY_SPEC", "sweeps/smoke.yaml")
    return env


def _jwt_secret(home: Path) -> str:
    path = home / "jwt_secret"
    if not path.exists():
        path.write_text(secrets.token_hex(16))
        path.chmod(0o600)
    return path.read_text().strip()


def api_call(url: str, method: str = "GET", body: Any = None, token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, method=method, headers=headers, data=data)
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
        return 0, str(e)


class Fleet:
    """The Airflow processes this command started, each the leader of its own process group."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home, self.env = home, env
        self.procs: dict[str, subprocess.Popen] = {}
        (home / "logs").mkdir(parents=True, exist_ok=True)

    def log(self, name: str) -> Path:
        return self.home / "logs" / f"{name}.log"

    def start(
        self, name: str, args: list[str], env: dict[str, str] | None = None, program: str = "airflow"
    ) -> None:
        """Start ``program args`` (``airflow`` by default) in its own process group, logging to logs/NAME.log."""
        with open(self.log(name), "ab") as out:
            self.procs[name] = subprocess.Popen(
                [shutil.which(program, path=self.env["PATH"]) or program, *args],
                env={**self.env, **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=ROOT,
            )

    def dead(self) -> list[str]:
        return [n for n, p in self.procs.items() if p.poll() is not None]

    def tail(self, name: str, lines: int = 15) -> str:
        try:
            return "\n".join(self.log(name).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout_s: float) -> list[int]:
        """SIGTERM every group, wait, SIGKILL the rest; returns the pids still alive (none, normally)."""
        for p in self.procs.values():
            _signal_group(p.pid, signal.SIGTERM)
        end = time.monotonic() + timeout_s
        while time.monotonic() < end and any(_group_alive(p.pid) for p in self.procs.values()):
            for p in self.procs.values():
                p.poll()
            time.sleep(0.2)
        for p in self.procs.values():
            if _group_alive(p.pid):
                _signal_group(p.pid, signal.SIGKILL)
        for p in self.procs.values():
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        time.sleep(0.2)
        return [p.pid for p in self.procs.values() if _group_alive(p.pid)]


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def group_pids(pgid: int) -> list[int]:
    """The non-zombie processes of the process group ``pgid``."""
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            fields = (p / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(p.name))
    return out


def _group_alive(pgid: int) -> bool:
    return bool(group_pids(pgid))


def _wait(what: str, fn, limit_s: float, fleet: Fleet) -> Any:
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        got = fn()
        if got:
            return got
        if dead := fleet.dead():
            raise RuntimeError(f"{', '.join(dead)} exited while waiting for {what}:\n{fleet.tail(dead[0])}")
        time.sleep(1)
    raise RuntimeError(f"timed out after {limit_s:.0f} s waiting for {what}")


def setup(home: Path) -> None:
    (home / "config").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(
        ROOT / "docker" / "airflow" / "airflow_local_settings.py",
        home / "config" / "airflow_local_settings.py",
    )


def sync_pools(url: str, token: str) -> list[str]:
    from frontier.domain.spec import load_spec
    from frontier.planning import pools as fp

    api = fp.AirflowPoolsAPI(url, token=token)
    merged = fp.merge(fp.pools_for_spec(load_spec(ROOT / s)) for s in POOL_SPECS)
    return [f"{p.name}={p.slots} ({api.upsert(p)})" for p in merged]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", default=os.environ.get("AIRFLOW_HOME") or str(ROOT / ".airflow"))
    ap.add_argument("--host", default="127.0.0.1", help="address the API server listens on")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--keep-paused", action="append", default=[], metavar="DAG_ID")
    ap.add_argument("--ready-timeout", type=float, default=240.0, help="seconds to wait for the API and DAGs")
    ap.add_argument("--stop-timeout", type=float, default=20.0)
    args = ap.parse_args(argv)

    t0 = time.monotonic()

    def say(msg: str) -> None:
        print(f"[airflow-ui {time.monotonic() - t0:4.0f}s] {msg}", flush=True)

    home = Path(args.home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    if not _port_free(args.host, args.port):
        print(f"error: port {args.port} on {args.host} is in use; pass --port N", file=sys.stderr)
        return 2
    setup(home)
    password = _password(home)
    env = airflow_env(home, args.host, args.port, password)
    fleet = Fleet(home, env)
    stopping = {"sig": None}

    def on_signal(signum, _frame):
        stopping["sig"] = signum
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    url = f"http://{args.host}:{args.port}"
    rc = 0
    try:
        say(f"airflow db migrate (SQLite at {home / 'airflow.db'}; log {fleet.log('migrate')})")
        fleet.start("migrate", ["db", "migrate"])
        if fleet.procs["migrate"].wait() != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{fleet.tail('migrate')}")
        del fleet.procs["migrate"]
        for name in COMPONENTS:
            fleet.start(name, ["api-server", "--port", str(args.port)] if name == "api-server" else [name])
        groups = " ".join(str(fleet.procs[n].pid) for n in COMPONENTS)
        say(f"started {', '.join(COMPONENTS)} (process groups {groups}; logs in {home / 'logs'})")
        _wait(
            "the API server",
            lambda: api_call(f"{url}/api/v2/monitor/health")[0] == 200,
            args.ready_timeout,
            fleet,
        )
        status, body = api_call(f"{url}/auth/token", "POST", {"username": USER, "password": password})
        if status not in (200, 201):
            raise RuntimeError(f"could not log in as {USER}: HTTP {status} {body}")
        token = body["access_token"]
        for attempt in range(1, 4):  # SQLite may be busy (a plan task syncing the same pools)
            try:
                say("GPU pools: " + ", ".join(sync_pools(url, token)))
                break
            except FrontierError as e:
                if attempt == 3:
                    say(f"WARNING: GPU pools not synced ({e}); `frontier pools sync SPEC --api {url}`")
                time.sleep(2)
        dag_ids = project_dag_ids()
        for dag_id in dag_ids:
            _wait(
                f"DAG {dag_id} to be parsed",
                lambda d=dag_id: api_call(f"{url}/api/v2/dags/{d}", token=token)[0] == 200,
                args.ready_timeout,
                fleet,
            )
            paused = dag_id in args.keep_paused
            status, body = api_call(
                f"{url}/api/v2/dags/{dag_id}", "PATCH", {"is_paused": paused}, token=token
            )
            if status != 200:
                raise RuntimeError(
                    f"could not {'pause' if paused else 'unpause'} {dag_id}: HTTP {status} {body}"
                )
        status, errors = api_call(f"{url}/api/v2/importErrors", token=token)
        if status == 200 and errors.get("total_entries"):
            say(f"WARNING: DAG import errors: {json.dumps(errors)[:2000]}")
        unpaused = [d for d in dag_ids if d not in args.keep_paused]
        print(
            f"\n  Airflow UI   {url}\n"
            f"  login        {USER} / {password}\n"
            f"  DAGs         {', '.join(unpaused)} (unpaused)"
            + (f"; {', '.join(args.keep_paused)} (paused)" if args.keep_paused else "")
            + f"\n  engine       FRONTIER_ENGINE={env['FRONTIER_ENGINE']}, nightly spec "
            f"{env['FRONTIER_NIGHTLY_SPEC']}\n"
            f"  home         {home} (SQLite; logs in {home / 'logs'})\n"
            f"  Ctrl-C stops every Airflow process.\n",
            flush=True,
        )
        say("ready")
        while True:
            if dead := fleet.dead():
                raise RuntimeError(f"{', '.join(dead)} exited:\n{fleet.tail(dead[0])}")
            time.sleep(1)
    except KeyboardInterrupt:
        say(f"{signal.Signals(stopping['sig'] or signal.SIGINT).name}: stopping")
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        rc = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        left = fleet.stop(args.stop_timeout)
        say("stopped every Airflow process" if not left else f"could not stop process groups {left}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
