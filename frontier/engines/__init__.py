"""Engines: bring a planned deployment up, hand out its endpoint, bring it down.

- ``sim``: one simulated-SGLang process per deployment (``frontier.sim.launch_server
  --deployment LABEL``), PD labels included, on 127.0.0.1 with a free port.
- ``sglang``: the real servers (and router) from the plan, on the local worker; GPUs handed
  out through ``CUDA_VISIBLE_DEVICES``. Multi-node groups need the ssh or kubernetes target.
- ``endpoint``: an already running server; nothing is started or stopped.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path

from frontier.engines.process import LaunchError, ManagedProcess, free_port, get_json, http_get
from frontier.errors import FrontierError
from frontier.plan import PlanItem, plan_launch, sim_argv
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

    @property
    def engine_version(self) -> str:
        return str(self.server_info.get("version", "unknown"))

    def dead_reason(self) -> str | None:
        """Why the deployment is gone (a process exited, or the endpoint stopped answering)."""
        for p in self.processes:
            if not p.alive():
                return f"{p.name} exited with code {p.proc.returncode if p.proc else None}"
        if not self.processes:
            status, _ = http_get(self.base_url + "/health", timeout=5)
            if status != 200:
                return f"endpoint {self.base_url} no longer healthy (HTTP {status or 'unreachable'})"
        return None

    def log_tail(self, lines: int = 30) -> str:
        return "\n\n".join(f"== {p.name} ==\n{p.log_tail(lines)}" for p in self.processes)

    def stop(self) -> None:
        # router first, then decode, then prefill: the reverse of start order
        for p in reversed(self.processes):
            p.stop()


def _set_port(argv: list[str], port: int) -> list[str]:
    out = list(argv)
    if "--port" in out:
        out[out.index("--port") + 1] = str(port)
    else:
        out += ["--port", str(port)]
    return out


def _launch_sim(item: PlanItem, spec: Spec, workdir: Path) -> RunningDeployment:
    port = free_port()
    argv = sim_argv(spec, item.label, item.model, item.hardware, item.precision, item.server_args, port=port)
    proc = ManagedProcess(argv, workdir / "sim-server.log", name=f"sim server {item.label}")
    dep = RunningDeployment(f"http://127.0.0.1:{port}", spec.backend, "sim", [proc], commands=[argv])
    proc.start()
    try:
        proc.wait_ready(dep.base_url, spec.ready_timeout_s)
    except BaseException:
        dep.stop()
        raise
    dep.server_info = get_json(dep.base_url + "/get_server_info")
    return dep


def _launch_sglang(item: PlanItem, spec: Spec, workdir: Path) -> RunningDeployment:
    if spec.target != "local":
        raise FrontierError(
            f"target {spec.target!r} for {item.label}: launch through the Airflow operators "
            f"(operators/), which run each node's process over {spec.target}"
        )
    lp = plan_launch(spec, item.label, item.model, item.hardware, item.precision, item.server_args)
    if any(s.node_rank > 0 for s in lp.servers):
        raise FrontierError(
            f"{item.label} spans several nodes; target 'local' runs one node: use target ssh or kubernetes"
        )
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    pool = [g for g in visible.split(",") if g] if visible else [str(i) for i in range(1024)]
    gpu_iter = iter(pool)
    dep = RunningDeployment(lp.endpoint_url, spec.backend, "sglang", commands=[])
    try:
        for i, s in enumerate(lp.servers):
            gpus = list(itertools.islice(gpu_iter, s.gpus))
            if len(gpus) < s.gpus:
                raise FrontierError(f"{item.label}: needs {item.gpus} GPUs, CUDA_VISIBLE_DEVICES has {len(pool)}")
            p = ManagedProcess(
                s.argv, workdir / f"server-{s.role}-{i}.log", name=f"{s.role} server {i} ({s.url})",
                env={"CUDA_VISIBLE_DEVICES": ",".join(gpus)},
            )
            dep.processes.append(p.start())
            dep.commands.append(s.argv)
        for s, p in zip(lp.servers, dep.processes):
            p.wait_ready(s.url, spec.ready_timeout_s)
        if lp.router is not None:
            r = ManagedProcess(lp.router.argv, workdir / "router.log", name=f"router ({lp.router.url})")
            dep.processes.append(r.start())
            dep.commands.append(lp.router.argv)
            r.wait_ready(lp.router.url, spec.ready_timeout_s, paths=("/health",))
    except BaseException:
        dep.stop()
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


def launch(item: PlanItem, spec: Spec, workdir: Path) -> RunningDeployment:
    """Start (or attach to) the deployment of one plan item and wait until it is healthy."""
    workdir.mkdir(parents=True, exist_ok=True)
    if spec.engine == "sim":
        return _launch_sim(item, spec, workdir)
    if spec.engine == "sglang":
        return _launch_sglang(item, spec, workdir)
    return _launch_endpoint(item, spec, workdir)
