"""Engines: bring a planned deployment up, hand out its endpoint, bring it down.

- ``sim``: one simulated-SGLang process per deployment (``frontier.sim.launch_server
  --deployment LABEL``), PD labels included, on 127.0.0.1 with a free port.
- ``sglang``: the real servers (and router) from the plan, on the local worker; GPUs handed
  out through ``CUDA_VISIBLE_DEVICES`` (each server its own slice, numbered from 0 inside it, so
  ``--base-gpu-id`` is dropped). Multi-node groups need the ssh or kubernetes target.
- ``endpoint``: an already running server; nothing is started or stopped.

``spec.target`` ``ssh`` / ``kubernetes`` (engines sim and sglang) run the same plan through
:mod:`frontier.launch.targets` (:func:`frontier.launch.targets.engine.launch_on_target`).

Deferrable path: :func:`start` starts every process and returns at once (readiness not waited
for); ``dep.ready_urls()`` is what a readiness trigger polls and ``dep.to_handle()`` a plain-JSON
record (target, plan, process ids / pods, log paths) from which :func:`attach` rebuilds the
deployment in a resumed task, on any worker, to benchmark and stop it (by process group).

Lifecycle: ``launch(..., on_started=cb)`` hands the deployment to ``cb`` as soon as its first
process exists (before it is healthy), so whoever may have to kill the task (Airflow's
``on_kill``) can stop it even mid-launch. ``stop()`` is idempotent and thread-safe; after it,
``dead_reason()`` says the deployment was stopped. Server logs stay in the item's artifacts
folder (``<artifacts>/<run>/<item>/``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frontier.common.redact import redact_obj
from frontier.domain.spec import Spec
from frontier.errors import FrontierError
from frontier.launch import watchdog
from frontier.launch.process import LaunchError, ManagedProcess, free_port, get_json, http_get
from frontier.planning.planner import PlanItem, extra_args, plan_launch, sim_argv, sim_flags

__all__ = ["LaunchError", "RunningDeployment", "attach", "launch", "local_gpu_commands", "start"]

SIM_LOG = "sim-server.log"


@dataclass
class RunningDeployment:
    base_url: str
    backend: str
    engine: str
    processes: list[ManagedProcess] = field(default_factory=list)
    server_info: dict = field(default_factory=dict)
    commands: list[list[str]] = field(default_factory=list)
    stopped: str | None = None  # why stop() was called, once it was
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    target: str = "local"
    launch_plan: dict | None = None  # LaunchPlan JSON when started through frontier.launch.targets
    target_options: dict = field(default_factory=dict)
    router_pending: bool = False  # a deferred PD launch starts its router once the servers are healthy

    @property
    def engine_version(self) -> str:
        return str(self.server_info.get("version", "unknown"))

    def pids(self) -> list[int]:
        """Process ids (= process group ids) of the deployment's servers."""
        return [p.pid for p in self.processes if p.pid is not None]

    def dead_reason(self, probe_s: float = 0.0) -> str | None:
        """Why the deployment is gone: stopped, a process exited, or it stopped answering.

        ``probe_s > 0`` also asks ``/health`` with that timeout, so a hung (alive but frozen)
        server counts as gone.
        """
        if self.stopped:
            return self.stopped
        for p in self.processes:
            if not p.alive():
                code = p.proc.returncode if p.proc is not None else getattr(p, "returncode", None)
                why = p.error_line()
                return (
                    f"{p.name} exited"
                    + (f" with code {code}" if code is not None else "")
                    + (f": {why}" if why else "")
                )
        if not self.processes or probe_s > 0:
            status, _ = http_get(self.base_url + "/health", timeout=probe_s or 5)
            if status != 200:
                what = "no answer within %gs" % (probe_s or 5) if status == 0 else f"HTTP {status}"
                return f"{'endpoint' if not self.processes else 'server'} {self.base_url} no longer healthy ({what})"
        return None

    def log_tail(self, lines: int = 30) -> str:
        return "\n\n".join(f"== {p.name} ==\n{p.log_tail(lines)}" for p in self.processes)

    def stop(self, reason: str = "deployment stopped (task killed or shut down)") -> None:
        """Stop every process (router first, then decode, then prefill: reverse start order)."""
        with self._lock:
            if self.stopped is None:
                self.stopped = reason
            self._stop_processes()

    def _stop_processes(self) -> None:
        for p in reversed(self.processes):
            p.stop()

    # -- the deferrable path (processes started through frontier.launch.targets) ----------------------
    def ready_urls(self) -> list[str]:
        """What a readiness trigger polls: each server's /health and /health_generate, then the
        router's /health (the endpoint's /health when nothing was started here)."""
        from frontier.launch.targets import readiness_urls

        handles = [p.handle for p in self.processes if hasattr(p, "handle")]
        return readiness_urls(handles) if handles else [self.base_url + "/health"]

    def to_handle(self) -> dict[str, Any]:
        """Plain JSON: all a resumed task (another process, another worker) needs to use and
        stop this deployment (:func:`attach`). Local processes are named by pid = process group."""
        if self.processes and not all(hasattr(p, "handle") for p in self.processes):
            raise FrontierError("this deployment was launched in-process; start() it to get a handle")
        return {
            "base_url": self.base_url,
            "backend": self.backend,
            "engine": self.engine,
            "target": self.target,
            "plan": self.launch_plan,
            "options": self.target_options,
            "commands": redact_obj(self.commands),
            "server_info": self.server_info,
            "handles": [p.handle.to_dict() for p in self.processes],
            "router_pending": self.router_pending,
        }

    def after_ready(self, workdir: Path, timeout_s: float) -> None:
        """Once the servers are healthy: the router a deferred launch held back (started and
        waited for here; :class:`LaunchError` when it fails), then /get_server_info."""
        from frontier.launch.targets.engine import fetch_server_info, start_router

        if self.router_pending:
            if self.stopped:
                raise LaunchError(f"router not started: {self.stopped}")
            start_router(self, workdir, timeout_s)
        if not self.server_info:
            fetch_server_info(self)


def _set_port(argv: list[str], port: int) -> list[str]:
    out = list(argv)
    if "--port" in out:
        out[out.index("--port") + 1] = str(port)
    else:
        out += ["--port", str(port)]
    return out


Started = Callable[[RunningDeployment], None] | None


def _launch_sim(item: PlanItem, spec: Spec, workdir: Path, on_started: Started = None) -> RunningDeployment:
    port = free_port()
    argv = sim_argv(
        spec,
        item.label,
        item.model,
        item.hardware,
        item.precision,
        extra_args(spec, item),
        port=port,
        faults=item.faults,
    )
    proc = ManagedProcess(argv, workdir / SIM_LOG, name=f"sim server {item.label}")
    dep = RunningDeployment(f"http://127.0.0.1:{port}", spec.backend, "sim", [proc], commands=[argv])
    proc.start()
    try:
        if on_started:
            on_started(dep)
        proc.wait_ready(dep.base_url, spec.ready_timeout_s)
    except BaseException:
        dep._stop_processes()  # a failed launch cleans up after itself (not an external stop)
        raise
    dep.server_info = get_json(dep.base_url + "/get_server_info")
    return dep


def _launch_sglang(
    item: PlanItem, spec: Spec, workdir: Path, on_started: Started = None
) -> RunningDeployment:
    if spec.target != "local":
        raise FrontierError(
            f"target {spec.target!r} for {item.label}: launch through the Airflow operators "
            f"(operators/), which run each node's process over {spec.target}"
        )
    lp = plan_launch(spec, item.label, item.model, item.hardware, item.precision, extra_args(spec, item))
    if any(s.node_rank > 0 for s in lp.servers):
        raise FrontierError(
            f"{item.label} spans several nodes; target 'local' runs one node: use target ssh or kubernetes"
        )
    cmds = local_gpu_commands(lp.servers, os.environ.get("CUDA_VISIBLE_DEVICES"), item.label)
    dep = RunningDeployment(lp.endpoint_url, spec.backend, "sglang", commands=[])
    try:
        if on_started:
            on_started(dep)
        for i, (s, (argv, env)) in enumerate(zip(lp.servers, cmds)):
            if dep.stopped:
                raise LaunchError(f"{item.label}: launch interrupted: {dep.stopped}")
            p = ManagedProcess(
                argv, workdir / f"server-{s.role}-{i}.log", name=f"{s.role} server {i} ({s.url})", env=env
            )
            dep.processes.append(p.start())
            dep.commands.append(argv)
        for s, p in zip(lp.servers, dep.processes):
            p.wait_ready(s.url, spec.ready_timeout_s)
        if lp.router is not None:
            if dep.stopped:
                raise LaunchError(f"{item.label}: launch interrupted: {dep.stopped}")
            r = ManagedProcess(lp.router.argv, workdir / "router.log", name=f"router ({lp.router.url})")
            dep.processes.append(r.start())
            dep.commands.append(lp.router.argv)
            r.wait_ready(lp.router.url, spec.ready_timeout_s, paths=("/health",))
    except BaseException:
        dep._stop_processes()  # a failed launch cleans up after itself (not an external stop)
        raise
    dep.server_info = get_json(lp.servers[0].url + "/get_server_info")
    return dep


def local_gpu_commands(
    servers: list, visible: str | None, label: str = ""
) -> list[tuple[list[str], dict[str, str]]]:
    """(argv, env) of each server of a one-node plan on this worker: consecutive slices of
    ``CUDA_VISIBLE_DEVICES`` (all GPUs when unset), one per server. Inside its slice a server's
    GPUs are numbered from 0, so the plan's ``--base-gpu-id`` (its offset on a whole node) is
    dropped: kept, the second server of a node would look past the end of its slice."""
    from frontier.launch.targets.local import drop_flag

    pool = [g for g in visible.split(",") if g] if visible else [str(i) for i in range(1024)]
    need = sum(s.gpus for s in servers)
    if need > len(pool):
        raise FrontierError(f"{label}: needs {need} GPUs, CUDA_VISIBLE_DEVICES has {len(pool)}")
    out, at = [], 0
    for s in servers:
        gpus, at = pool[at : at + s.gpus], at + s.gpus
        out.append(
            (drop_flag(list(s.argv), "--base-gpu-id"), {**s.env, "CUDA_VISIBLE_DEVICES": ",".join(gpus)})
        )
    return out


def target_plan(item: PlanItem, spec: Spec, *, port: int | None = None):
    """(LaunchPlan, TargetOptions) of an item on its spec's target.

    sim on local: the one ``--deployment LABEL`` process on 127.0.0.1 and a free port (as the
    in-process launch runs it). Otherwise the target plan (``frontier.launch.targets.plans``); for sim
    with the spec's seed, ``sim`` knobs and the item's faults added to the simulated server.
    """
    from frontier.launch.targets import split_cluster
    from frontier.launch.targets.plans import deployment_plan
    from frontier.planning.sglang_args import LaunchPlan, ServerCommand

    _, topts = split_cluster(spec.cluster)
    extra = extra_args(spec, item)
    if spec.target == "local":
        if spec.engine == "sim":
            port = port or free_port()
            url = f"http://127.0.0.1:{port}"
            argv = sim_argv(
                spec,
                item.label,
                item.model,
                item.hardware,
                item.precision,
                extra,
                port=port,
                faults=item.faults,
            )
            one = ServerCommand(
                role="single",
                group_index=0,
                replica=0,
                node_rank=0,
                nnodes=1,
                host="127.0.0.1",
                port=port,
                gpus=item.gpus,
                argv=argv,
                url=url,
            )
            return LaunchPlan(
                label=item.label, engine="sim", servers=[one], router=None, endpoint_url=url
            ), topts
        lp = plan_launch(spec, item.label, item.model, item.hardware, item.precision, extra)
        if any(s.node_rank > 0 for s in lp.servers):
            raise FrontierError(
                f"{item.label} spans several nodes; target 'local' runs one node: use target ssh or kubernetes"
            )
        return lp, topts
    if spec.engine == "sim":
        extra = extra + sim_flags(spec, item.faults)
    lp, topts = deployment_plan(
        item.label,
        model=item.model,
        hardware=item.hardware,
        precision=item.precision,
        engine=spec.engine,
        cluster=spec.cluster,
        extra=extra,
    )
    return lp, topts


def _on_target(
    item: PlanItem, spec: Spec, workdir: Path, on_started: Started, wait: bool
) -> RunningDeployment:
    from frontier.launch.targets.engine import launch_on_target

    lp, topts = target_plan(item, spec)
    local: dict[str, Any] = {}
    if spec.target == "local" and spec.engine == "sglang":
        local["gpus"] = "auto"
    log_names = [SIM_LOG] if spec.engine == "sim" and len(lp.servers) == 1 and lp.router is None else None
    return launch_on_target(
        item,
        spec,
        workdir,
        on_started,
        RunningDeployment,
        plan=lp,
        options=topts,
        wait=wait,
        log_names=log_names,
        hold_router=True,
        **local,
    )


def start(item: PlanItem, spec: Spec, workdir: Path, on_started: Started = None) -> RunningDeployment:
    """Start every process of the item's deployment and return at once, without waiting for
    readiness (the deferrable path): poll ``dep.ready_urls()``, then ``dep.after_ready()``.
    Works for every target; the processes outlive this Python process (own sessions / nodes /
    pods) until stopped through ``attach(dep.to_handle()).stop()``."""
    workdir.mkdir(parents=True, exist_ok=True)
    if spec.engine == "endpoint":
        raise FrontierError("engine endpoint starts nothing: use launch()")
    if item.fit_error and spec.engine == "sglang":
        raise FrontierError(item.fit_error)
    dep = _on_target(item, spec, workdir, on_started, wait=False)
    # deferred: a lease, not this task, keeps the servers (frontier.launch.watchdog)
    watchdog.hold_deployment(dep, spec.ready_timeout_s + watchdog.LEASE_MARGIN_S)
    return dep


def attach(handle: dict[str, Any]) -> RunningDeployment:
    """The deployment of ``RunningDeployment.to_handle()``, e.g. in a task resumed after deferral."""
    from frontier.launch.targets.engine import attach as _attach

    dep = _attach(handle, RunningDeployment)
    watchdog.adopt_deployment(dep)  # the resumed task owns the servers now: they end with it
    return dep


def _launch_endpoint(item: PlanItem, spec: Spec, workdir: Path) -> RunningDeployment:
    assert spec.endpoint is not None
    url = spec.endpoint.base_url.rstrip("/")
    status, _ = http_get(url + "/health", timeout=10)
    if status != 200:
        raise LaunchError(
            f"endpoint {url} is not healthy (HTTP {status or 'unreachable'})", stage="readiness"
        )
    dep = RunningDeployment(url, spec.endpoint.backend, "endpoint")
    dep.server_info = get_json(url + "/get_server_info")
    return dep


def launch(item: PlanItem, spec: Spec, workdir: Path, on_started: Started = None) -> RunningDeployment:
    """Start (or attach to) the deployment of one plan item and wait until it is healthy.

    ``on_started(dep)`` is called as soon as the deployment has processes (before readiness).
    A launch that fails stops what it started before raising.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    if spec.target in ("ssh", "kubernetes") and spec.engine in ("sim", "sglang"):
        return _on_target(item, spec, workdir, on_started, wait=True)
    if spec.engine == "sim":
        return _launch_sim(item, spec, workdir, on_started)
    if spec.engine == "sglang":
        return _launch_sglang(item, spec, workdir, on_started)
    dep = _launch_endpoint(item, spec, workdir)
    if on_started:
        on_started(dep)
    return dep
