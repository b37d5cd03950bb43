"""``local``: processes on this machine (the Airflow worker), each in its own session.

Wraps :class:`frontier.launch.process.ManagedProcess`. GPUs: with ``gpus="auto"`` each server
gets its own slice of ``CUDA_VISIBLE_DEVICES`` (all of the machine when unset) and loses
``--base-gpu-id`` (its GPUs are numbered from 0 inside the slice); ``gpus=None`` leaves the
environment alone (the simulated engine needs none).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import time
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from frontier.common.redact import redact_text
from frontier.errors import FrontierError
from frontier.launch import watchdog
from frontier.launch.http import free_port
from frontier.launch.process import ManagedProcess
from frontier.launch.targets.base import Command, Handle, Target, http_of, process_name
from frontier.launch.targets.registry import register_target
from frontier.planning.launch_plan import AUTO_PORT, RouterCommand, ServerCommand


def drop_flag(argv: list[str], flag: str) -> list[str]:
    """``argv`` without ``flag`` and its value."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == flag:
            skip = True
        else:
            out.append(a)
    return out


def with_port(cmd: ServerCommand, port: int) -> ServerCommand:
    """A planned server with port 0 ("a free one at start") on ``port``: ``--port`` and URL set."""
    argv = list(cmd.argv)
    if "--port" in argv[:-1]:
        argv[argv.index("--port") + 1] = str(port)
    else:
        argv += ["--port", str(port)]
    return dataclasses.replace(cmd, port=port, argv=argv, url=f"http://{cmd.host}:{port}")


def _group_alive(pgid: int) -> bool:
    """Any non-zombie process left in the group (PID 1 here may not reap orphans)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


class LocalTarget(Target):
    kind = "local"

    # every process this worker process started, by pid: a handle resumed in the same process (a
    # deferred task under ``dag.test()``, a second LocalTarget) still reads the exit code; a handle
    # from another process falls back to the process group id
    _started: ClassVar[dict[int, ManagedProcess]] = {}

    def __init__(self, gpus: str | list[str] | None = None, cwd: str | None = None):
        if gpus == "auto":
            visible = os.environ.get("CUDA_VISIBLE_DEVICES")
            self._pool = [g for g in visible.split(",") if g] if visible else [str(i) for i in range(1024)]
        else:
            self._pool = list(gpus) if gpus else None
        self.cwd = cwd
        self._procs = LocalTarget._started

    def _gpus_for(self, cmd: Command) -> dict[str, str]:
        if self._pool is None or isinstance(cmd, RouterCommand) or cmd.gpus <= 0:
            return {}
        if len(self._pool) < cmd.gpus:
            raise FrontierError(
                f"{process_name(cmd)}: needs {cmd.gpus} GPUs, {len(self._pool)} left on this worker"
            )
        mine, self._pool = self._pool[: cmd.gpus], self._pool[cmd.gpus :]
        return {"CUDA_VISIBLE_DEVICES": ",".join(mine)}

    def start(self, server: Command, log_path: str | Path, *, name: str | None = None) -> Handle:
        if isinstance(server, ServerCommand) and server.port == AUTO_PORT:
            planned = process_name(server)
            server = with_port(server, free_port())
            name = process_name(server) if name in (None, planned) else name
        name = name or process_name(server)
        gpu_env = self._gpus_for(server)
        argv = drop_flag(list(server.argv), "--base-gpu-id") if gpu_env else list(server.argv)
        proc = ManagedProcess(argv, Path(log_path), name=name, env={**server.env, **gpu_env}, cwd=self.cwd)
        proc.start()
        assert proc.pid is not None
        self._procs[proc.pid] = proc
        url, paths = http_of(server)
        return Handle(
            target=self.kind,
            name=name,
            host=server.host,
            url=url,
            paths=paths,
            pid=proc.pid,
            log=str(log_path),
            local_log=str(log_path),
            started_at=time.time(),
            machine=socket.gethostname(),
        )

    @staticmethod
    def _same_machine(handle: Handle) -> None:
        """A local handle's process ids belong to the machine that started them: never signal
        them from another one (a task resumed on another worker)."""
        here = socket.gethostname()
        if handle.machine and handle.machine != here:
            raise FrontierError(
                f"{handle.name} runs on worker {handle.machine!r}, not {here!r}: a local-target deployment "
                f"can only be used and stopped on the machine that started it (use target ssh or kubernetes "
                f"for deferral across workers)"
            )

    def alive(self, handle: Handle) -> bool:
        proc = self._procs.get(handle.pid or -1)
        if proc is not None:
            return proc.alive()
        self._same_machine(handle)
        return handle.pid is not None and _group_alive(handle.pid)

    def stop(self, handle: Handle, grace_s: float = 10.0) -> None:
        proc = self._procs.get(handle.pid or -1)
        if proc is not None:
            proc.stop(grace_s)
            return
        if handle.pid is None:
            return
        self._same_machine(handle)
        # a handle from another process (a resumed task): signal the group by id
        for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(handle.pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and _group_alive(handle.pid):
                time.sleep(0.1)
            if not _group_alive(handle.pid):
                return

    def hold(self, handles: Sequence[Handle], ttl_s: float) -> None:
        watchdog.hold([h.pid for h in handles if h.pid], ttl_s)

    def adopt(self, handles: Sequence[Handle]) -> None:
        watchdog.adopt([h.pid for h in handles if h.pid])

    def argv_of(self, handle: Handle) -> list[str] | None:
        """The command line a process of this worker was started with."""
        proc = self._procs.get(handle.pid or -1)
        return list(proc.argv) if proc is not None else None

    def exit_code(self, handle: Handle) -> int | None:
        proc = self._procs.get(handle.pid or -1)
        return proc.proc.returncode if proc is not None and proc.proc is not None else None

    def log_tail(self, handle: Handle, lines: int = 40) -> str:
        try:
            text = Path(handle.log).read_text(errors="replace")
        except OSError:
            return ""
        return redact_text("\n".join(text.splitlines()[-lines:]))


@register_target("local", remote=False)
def _make_local(plan, options, provided=None, *, gpus: str | list[str] | None = None, cwd: str | None = None):
    if any(s.node_rank > 0 for s in plan.servers):
        raise FrontierError(
            f"{plan.label} spans several nodes; target 'local' runs one node: use target ssh or kubernetes"
        )
    target = LocalTarget(gpus=gpus, cwd=cwd)
    need = sum(s.gpus for s in plan.servers)
    if target._pool is not None and need > len(target._pool):
        raise FrontierError(
            f"{plan.label}: needs {need} GPUs, CUDA_VISIBLE_DEVICES has {len(target._pool)}; "
            f"give the worker more GPUs or plan a smaller label"
        )
    return target
