"""The target interface: where a planned process runs and how it is stopped.

A :class:`Target` starts one process of a :class:`~frontier.planning.sglang_args.LaunchPlan` (a
``ServerCommand`` or the ``RouterCommand``) and returns a :class:`Handle`: a small,
JSON-serialisable record (``to_dict`` / ``from_dict``) that is all a later task, a deferred
operator resuming on another worker, or ``on_kill`` needs to check, read or stop the process.

``alive(handle)``, ``stop(handle, grace_s)`` (SIGTERM to the process group, wait, SIGKILL, or a
pod delete with a grace period), ``log_tail(handle, lines)``. ``release(handles)`` frees what a
target shares between processes (the Kubernetes Services).

:func:`launch` starts a whole plan on a target (servers in plan order, then the router),
optionally waits until each HTTP server answers ``/health`` then ``/health_generate`` (the
router ``/health``), and stops everything it started when any step fails. :func:`readiness_urls`
gives the same checks as URLs for the deferrable trigger (``operators/triggers.py``).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from frontier.errors import FrontierError
from frontier.launch.errors import LaunchError
from frontier.launch.http import http_get
from frontier.launch.logs import error_line
from frontier.planning.launch_plan import LaunchPlan, RouterCommand, ServerCommand

SERVER_PATHS = ("/health", "/health_generate")
ROUTER_PATHS = ("/health",)

Command = ServerCommand | RouterCommand


@dataclass
class Handle:
    """One started process (or container), as a plain record."""

    target: str  # "local" | "ssh" | "kubernetes"
    name: str  # what logs and errors call it: "decode server 1 (http://node1:30010)"
    host: str  # node it runs on (hostname from the plan; the pod name on kubernetes)
    url: str | None = None  # HTTP endpoint when it serves HTTP (router, node-rank-0 servers)
    paths: list[str] = field(default_factory=lambda: list(SERVER_PATHS))  # readiness checks
    pid: int | None = None  # local / ssh: process id == process group id (own session)
    log: str = ""  # local: log file; ssh: remote log file; kubernetes: "" (container log)
    local_log: str = ""  # artifacts copy of the log (ssh / kubernetes: written on stop)
    pod: str | None = None
    container: str | None = None
    namespace: str | None = None
    started_at: float = 0.0
    machine: str = ""  # local: the worker's hostname (its pids mean nothing on another machine)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Handle:
        return cls(**data)


def process_name(cmd: Command, index: int = 0) -> str:
    if isinstance(cmd, RouterCommand):
        return f"router ({cmd.url})"
    rank = f" rank {cmd.node_rank}" if cmd.nnodes > 1 else ""
    return f"{cmd.role} server {index}{rank} ({cmd.url})"


def log_name(cmd: Command, index: int = 0) -> str:
    if isinstance(cmd, RouterCommand):
        return "router.log"
    rank = f"-rank{cmd.node_rank}" if cmd.nnodes > 1 else ""
    return f"server-{cmd.role}-{index}{rank}.log"


def http_of(cmd: Command) -> tuple[str | None, list[str]]:
    """(URL, readiness paths) of a process; no URL for a worker rank of a multi-node server."""
    if isinstance(cmd, RouterCommand):
        return cmd.url, list(ROUTER_PATHS)
    return (cmd.url if cmd.serves_http else None), list(SERVER_PATHS)


class Target(ABC):
    """Where the processes of a launch plan run."""

    kind: ClassVar[str]
    cluster_internal: ClassVar[bool] = False  # True: URLs only resolvable inside the target's network

    @abstractmethod
    def start(self, server: Command, log_path: str | Path, *, name: str | None = None) -> Handle:
        """Start one process; returns at once (does not wait for readiness)."""

    @abstractmethod
    def alive(self, handle: Handle) -> bool:
        """Whether the process (group / container) still runs."""

    @abstractmethod
    def stop(self, handle: Handle, grace_s: float = 10.0) -> None:
        """Terminate it (graceful, then forced after ``grace_s``); idempotent."""

    @abstractmethod
    def log_tail(self, handle: Handle, lines: int = 40) -> str:
        """The last ``lines`` lines of its output (secrets masked)."""

    def release(self, handles: Sequence[Handle]) -> None:
        """Free what the processes shared (nothing, except on Kubernetes)."""

    def adopt(self, handles: Sequence[Handle]) -> None:
        """Take over processes another task started (a resumed deferred task): what ``stop`` and
        ``release`` must then clean up, and they now end with this process (local: the watchdog's
        owner; ssh: lease removed, tether opened)."""

    # No server outlives its driver (frontier.launch.watchdog): processes started while ``tether`` is
    # True end with this process; ``launch(wait=False)`` (deferrable) clears it and ``hold``s them.
    tether: bool = True

    def hold(self, handles: Sequence[Handle], ttl_s: float) -> None:
        """Keep the processes ``ttl_s`` beyond this process (the deferrable path: a lease that the
        resumed task's ``adopt`` ends); then they are stopped. Kubernetes: activeDeadlineSeconds."""

    def exit_code(self, handle: Handle) -> int | None:
        """The exit status of a process that ended, when this target can know it (else None)."""
        return None

    def unready(self, handle: Handle) -> str | None:
        """What is not ready yet (``URL (no answer)`` / ``URL (HTTP 503)``); None when every path
        of the handle answers 200 (no URL: alive is enough)."""
        if not handle.url:
            return None if self.alive(handle) else f"{handle.name} (not running)"
        for p in handle.paths:
            status = http_get(handle.url + p, timeout=5.0)[0]
            if status != 200:
                return f"{handle.url}{p} ({'no answer' if status == 0 else f'HTTP {status}'})"
        return None

    def ready(self, handle: Handle) -> bool:
        """One readiness check (:meth:`unready` says what is missing)."""
        return self.unready(handle) is None

    def wait_ready(self, handle: Handle, timeout_s: float, poll_s: float = 0.2) -> None:
        """Poll until ready; :class:`LaunchError` when it exits first or the time runs out."""
        deadline = time.monotonic() + timeout_s
        while True:
            if not self.alive(handle):
                code = self.exit_code(handle)
                tail = self.log_tail(handle)
                why = error_line(tail)
                raise LaunchError(
                    f"{handle.name} on {self.kind} exited"
                    + (f" with code {code}" if code is not None else "")
                    + " before becoming healthy"
                    + (f": {why}" if why else ""),
                    tail,
                    stage="launch",
                )
            last = self.unready(handle)
            if last is None:
                return
            if time.monotonic() > deadline:
                tail = self.log_tail(handle)
                why = error_line(tail)
                url, _, seen = last.rpartition(" (")
                raise LaunchError(
                    f"{handle.name} on {self.kind} not healthy at {url} within {timeout_s:g} s ({seen}"
                    + (f"; log: {why}" if why else ""),
                    tail,
                    stage="readiness",
                )
            time.sleep(poll_s)


def readiness_urls(plan_or_handles: LaunchPlan | Sequence[Handle]) -> list[str]:
    """URLs the readiness trigger polls, in order: each HTTP server's ``/health`` and
    ``/health_generate``, then the router's ``/health``."""
    out: list[str] = []
    if isinstance(plan_or_handles, LaunchPlan):
        cmds: list[Command] = [*plan_or_handles.servers]
        if plan_or_handles.router is not None:
            cmds.append(plan_or_handles.router)
        pairs = [http_of(c) for c in cmds]
    else:
        pairs = [(h.url, h.paths) for h in plan_or_handles]
    for url, paths in pairs:
        if url:
            out += [url + p for p in paths]
    return list(dict.fromkeys(out))


def plan_commands(plan: LaunchPlan) -> list[tuple[Command, str, str]]:
    """(command, process name, log file name) in start order: servers, then the router."""
    out: list[tuple[Command, str, str]] = [
        (s, process_name(s, i), log_name(s, i)) for i, s in enumerate(plan.servers)
    ]
    if plan.router is not None:
        out.append((plan.router, process_name(plan.router), log_name(plan.router)))
    return out


def stop_all(target: Target, handles: Sequence[Handle], grace_s: float = 10.0) -> list[str]:
    """Stop every handle in reverse start order, then release; returns errors (never raises)."""
    errors: list[str] = []
    for h in reversed(list(handles)):
        try:
            target.stop(h, grace_s)
        except Exception as e:  # noqa: BLE001 - stopping the rest matters more
            errors.append(f"{h.name}: {e}")
    try:
        target.release(handles)
    except Exception as e:  # noqa: BLE001
        errors.append(f"release: {e}")
    return errors


def launch(
    target: Target,
    plan: LaunchPlan,
    log_dir: str | Path,
    *,
    ready_timeout_s: float | None = 900.0,
    on_started: Callable[[Handle], None] | None = None,
    grace_s: float = 10.0,
    log_names: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
) -> list[Handle]:
    """Start every process of ``plan`` on ``target``.

    With ``ready_timeout_s`` set, waits for the servers to be healthy before starting the
    router, then for the router (as the local engine does). ``None`` starts everything at once
    and returns: readiness is then someone else's (the deferrable trigger). ``on_started`` sees
    each handle as soon as it exists. Whatever fails, what was started is stopped before the
    error propagates. ``log_names`` / ``names`` replace the log file names / process names (in
    start order).
    """
    handles: list[Handle] = []
    cmds = plan_commands(plan)
    if log_names:
        cmds = [(c, n, log_names[i] if i < len(log_names) else f) for i, (c, n, f) in enumerate(cmds)]
    if names:
        cmds = [(c, names[i] if i < len(names) else n, f) for i, (c, n, f) in enumerate(cmds)]
    try:
        for cmd, name, log in cmds:
            if ready_timeout_s is not None and isinstance(cmd, RouterCommand):
                for h in handles:
                    target.wait_ready(h, ready_timeout_s)
            h = target.start(cmd, Path(log_dir) / log, name=name)
            handles.append(h)
            if on_started:
                on_started(h)
        if ready_timeout_s is not None:
            for h in handles:
                target.wait_ready(h, ready_timeout_s)
    except BaseException:
        stop_all(target, handles, grace_s)
        raise
    return handles


def no_secrets_in(env: dict[str, str], argv: Sequence[str], where: str) -> None:
    """Refuse secret env names and secret flags in a command that crosses a process boundary."""
    from frontier.common.redact import is_secret_name

    bad = [k for k in env if is_secret_name(k)] + [
        a for a in argv if a.startswith("--") and is_secret_name(a)
    ]
    if bad:
        raise FrontierError(
            f"{where}: {', '.join(sorted(set(bad)))} would put a secret on a command line; set it in the "
            f"node's environment instead (ssh: the remote env file; kubernetes: a Secret)"
        )
