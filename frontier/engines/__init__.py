"""Engines: bring a planned deployment up, hand out its endpoint, bring it down.

- ``sim``: one simulated-SGLang process per deployment (``frontier.sim.launch_server
  --deployment LABEL``), PD labels included, on 127.0.0.1 with a free port.
- ``sglang``: the real servers (and router) from the plan, on the local worker; GPUs handed
  out through ``CUDA_VISIBLE_DEVICES``. Multi-node groups need the ssh or kubernetes target.
- ``endpoint``: an already running server; nothing is started or stopped.

Lifecycle: ``launch(..., on_started=cb)`` hands the deployment to ``cb`` as soon as its first
process exists (before it is healthy), so whoever may have to kill the task (Airflow's
``on_kill``) can stop it even mid-launch. ``stop()`` is idempotent and thread-safe; after it,
``dead_reason()`` says the deployment was stopped. Server logs stay in the item's artifacts
folder (``<artifacts>/<run>/<item>/``).
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from frontier.engines.process import LaunchError, ManagedProcess, free_port, get_json, http_get
from frontier.errors import FrontierError
from frontier.plan import PlanItem, extra_args, plan_launch, sim_argv
from frontier.spec import Spec

__all__ = ["LaunchError", "RunningDeployment", "launch"]


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
                code = p.proc.returncode if p.proc else None
                why = p.error_line()
                return f"{p.name} exited with code {code}" + (f": {why}" if why else "")
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
    argv = sim_argv(spec, item.label, item.model, item.hardware, item.precision, extra_args(spec, item), port=port,
                    faults=item.faults)
    proc = ManagedProcess(argv, workdir / "sim-server.log", name=f"sim server {item.label}")
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


def _launch_sglang(item: PlanItem, spec: Spec, workdir: Path, on_started: Started = None) -> RunningDeployment:
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
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    pool = [g for g in visible.split(",") if g] if visible else [str(i) for i in range(1024)]
    gpu_iter = iter(pool)
    dep = RunningDeployment(lp.endpoint_url, spec.backend, "sglang", commands=[])
    try:
        if on_started:
            on_started(dep)
        for i, s in enumerate(lp.servers):
            gpus = list(itertools.islice(gpu_iter, s.gpus))
            if len(gpus) < s.gpus:
                raise FrontierError(f"{item.label}: needs {item.gpus} GPUs, CUDA_VISIBLE_DEVICES has {len(pool)}")
            if dep.stopped:
                raise LaunchError(f"{item.label}: launch interrupted: {dep.stopped}")
            p = ManagedProcess(
                s.argv, workdir / f"server-{s.role}-{i}.log", name=f"{s.role} server {i} ({s.url})",
                env={"CUDA_VISIBLE_DEVICES": ",".join(gpus)},
            )
            dep.processes.append(p.start())
            dep.commands.append(s.argv)
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


def _launch_endpoint(item: PlanItem, spec: Spec, workdir: Path) -> RunningDeployment:
    assert spec.endpoint is not None
    url = spec.endpoint.base_url.rstrip("/")
    status, _ = http_get(url + "/health", timeout=10)
    if status != 200:
        raise LaunchError(f"endpoint {url} is not healthy (HTTP {status or 'unreachable'})", stage="readiness")
    dep = RunningDeployment(url, spec.endpoint.backend, "endpoint")
    dep.server_info = get_json(url + "/get_server_info")
    return dep


def launch(item: PlanItem, spec: Spec, workdir: Path, on_started: Started = None) -> RunningDeployment:
    """Start (or attach to) the deployment of one plan item and wait until it is healthy.

    ``on_started(dep)`` is called as soon as the deployment has processes (before readiness).
    A launch that fails stops what it started before raising.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    if spec.engine == "sim":
        return _launch_sim(item, spec, workdir, on_started)
    if spec.engine == "sglang":
        return _launch_sglang(item, spec, workdir, on_started)
    dep = _launch_endpoint(item, spec, workdir)
    if on_started:
        on_started(dep)
    return dep
