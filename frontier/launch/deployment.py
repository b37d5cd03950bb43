"""A running deployment: the processes of one launch plan on one target, as one object.

Every deployment, whatever its engine (sim, sglang, endpoint) and target (local, ssh,
kubernetes), deferred or not, is a :class:`Deployment`: the plan, the target, and one
:class:`~frontier.launch.targets.base.Handle` per started process. ``dead_reason`` says why it is
gone (stopped, a process exited with its log's error line, or ``/health`` stopped answering),
``stop`` is idempotent and thread-safe (router first, then decode, then prefill), and
``to_handle`` / :func:`frontier.launch.attach` carry it across processes and workers as JSON.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from frontier.common.redact import redact_obj
from frontier.errors import FrontierError
from frontier.launch.errors import LaunchError
from frontier.launch.http import get_json, http_get
from frontier.launch.logs import error_line
from frontier.launch.targets.base import Handle, Target, log_name, process_name, readiness_urls
from frontier.launch.targets.options import TargetOptions
from frontier.planning.launch_plan import AUTO_PORT, LaunchPlan


class Deployment:
    """The processes of one launch plan on one target (none for engine ``endpoint``)."""

    def __init__(
        self,
        *,
        engine: str,
        backend: str,
        base_url: str,
        plan: LaunchPlan,
        target_kind: str = "local",
        target: Target | None = None,
        options: TargetOptions | None = None,
        server_info: dict | None = None,
        router_pending: bool = False,
    ):
        self.engine, self.backend, self.base_url = engine, backend, base_url
        self.plan, self.target_kind, self.target = plan, target_kind, target
        self.options = options or TargetOptions()
        self.handles: list[Handle] = []
        self.commands: list[list[str]] = []
        self.server_info: dict = dict(server_info or {})
        self.router_pending = (
            router_pending  # a deferred PD launch starts its router once servers are healthy
        )
        self.stopped: str | None = None  # why stop() was called, once it was
        self._lock = threading.Lock()
        self._stopped_handles: set[int] = set()

    # -- what it is
    @property
    def engine_version(self) -> str:
        return str(self.server_info.get("version", "unknown"))

    @property
    def processes(self) -> list[Handle]:
        return self.handles

    def pids(self) -> list[int]:
        """Process ids (= process group ids) of the deployment's local or ssh processes."""
        return [h.pid for h in self.handles if h.pid is not None]

    def added(self, handle: Handle, argv: list[str]) -> None:
        """A process of the plan started (launch calls it as each one exists)."""
        self.handles.append(handle)
        self.commands.append(list(argv))
        if len(self.handles) == 1 and handle.url and self.base_url.endswith(f":{AUTO_PORT}"):
            self.base_url = handle.url  # the plan's port was picked at start

    # -- health
    def _alive(self, h: Handle) -> bool:
        try:
            return self.target.alive(h) if self.target is not None else True
        except FrontierError:
            return True  # cannot tell (node unreachable): not evidence that it died

    def _exit_code(self, h: Handle) -> int | None:
        try:
            return self.target.exit_code(h) if self.target is not None else None
        except FrontierError:
            return None

    def _log_tail(self, h: Handle, lines: int) -> str:
        try:
            return self.target.log_tail(h, lines) if self.target is not None else ""
        except FrontierError:
            return ""

    def error_line(self) -> str | None:
        """The first process whose log says what went wrong, and that line."""
        for h in self.handles:
            why = error_line(self._log_tail(h, 200))
            if why:
                return why
        return None

    def dead_reason(self, probe_s: float = 0.0) -> str | None:
        """Why the deployment is gone: stopped, a process exited, or it stopped answering.

        ``probe_s > 0`` also asks ``/health`` with that timeout, so a hung (alive but frozen)
        server counts as gone. An endpoint (nothing started here) is always probed.
        """
        if self.stopped:
            return self.stopped
        for h in self.handles:
            if not self._alive(h):
                code = self._exit_code(h)
                why = error_line(self._log_tail(h, 200))
                return (
                    f"{h.name} exited"
                    + (f" with code {code}" if code is not None else "")
                    + (f": {why}" if why else "")
                )
        if not self.handles or probe_s > 0:
            wait = probe_s or 5
            status, _ = http_get(self.base_url + "/health", timeout=wait)
            if status != 200:
                what = f"no answer within {wait:g}s" if status == 0 else f"HTTP {status}"
                who = "endpoint" if not self.handles else "server"
                return f"{who} {self.base_url} no longer healthy ({what})"
        return None

    def log_tail(self, lines: int = 30) -> str:
        return "\n\n".join(f"== {h.name} ==\n{self._log_tail(h, lines)}" for h in self.handles)

    # -- stopping
    def stop(self, reason: str = "deployment stopped (task killed or shut down)") -> None:
        """Stop every process (reverse start order), then release what the target shared."""
        with self._lock:
            if self.stopped is None:
                self.stopped = reason
            self._stop_handles()

    def _stop_handles(self) -> None:
        if self.target is None:
            return
        live = [h for h in self.handles if id(h) not in self._stopped_handles]
        for h in reversed(live):
            try:
                self.target.stop(h)
            except FrontierError:
                pass
            finally:
                self._stopped_handles.add(id(h))
        if live:
            try:
                self.target.release(self.handles)
            except FrontierError:
                pass

    def mark_stopped(self) -> None:
        """Everything started was stopped already (a failed launch cleans up after itself)."""
        self._stopped_handles.update(id(h) for h in self.handles)

    # -- the deferrable path
    def ready_urls(self) -> list[str]:
        """What a readiness trigger polls: each server's /health and /health_generate, then the
        router's /health (the endpoint's /health when nothing was started here)."""
        return readiness_urls(self.handles) if self.handles else [self.base_url + "/health"]

    def to_handle(self) -> dict[str, Any]:
        """Plain JSON: all a resumed task (another process, another worker) needs to use and
        stop this deployment (:func:`frontier.launch.attach`)."""
        return {
            "base_url": self.base_url,
            "backend": self.backend,
            "engine": self.engine,
            "target": self.target_kind,
            "plan": self.plan.to_json(),
            "options": self.options.model_dump(mode="json"),
            "commands": redact_obj(self.commands),
            "server_info": self.server_info,
            "handles": [h.to_dict() for h in self.handles],
            "router_pending": self.router_pending,
        }

    def after_ready(self, workdir: Path, timeout_s: float) -> None:
        """Once the servers are healthy: the router a deferred launch held back (started and
        waited for here; :class:`LaunchError` when it fails), then ``/get_server_info``."""
        if self.router_pending and self.plan.router is not None:
            if self.stopped:
                raise LaunchError(f"router not started: {self.stopped}")
            assert self.target is not None
            router = self.plan.router
            h = self.target.start(router, Path(workdir) / log_name(router), name=process_name(router))
            self.added(h, argv_of(self.target, h, router.argv))
            self.router_pending = False
            self.target.wait_ready(h, timeout_s)
        if not self.server_info:
            self.fetch_server_info()

    def fetch_server_info(self) -> None:
        """``/get_server_info`` of the first server (not on kubernetes: cluster-internal names)."""
        if getattr(self.target, "cluster_internal", False):  # names only the cluster resolves
            return
        url = self.handles[0].url if self.handles and self.handles[0].url else self.base_url
        if self.plan.servers and not self.handles:
            url = self.plan.servers[0].url
        self.server_info = get_json(url + "/get_server_info")


def argv_of(target: Target, handle: Handle, planned: list[str]) -> list[str]:
    """The command a handle runs, as started (a local GPU slice drops ``--base-gpu-id``)."""
    fn = getattr(target, "argv_of", None)
    argv = fn(handle) if fn is not None else None
    return list(argv if argv is not None else planned)
