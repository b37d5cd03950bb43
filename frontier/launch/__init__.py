"""Launch: bring a planned deployment up on its target, hand out its endpoint, bring it down.

One path for every deployment: the engine (:mod:`frontier.planning.engines`) planned the
processes (a :class:`~frontier.planning.launch_plan.LaunchPlan`); the spec's target
(:mod:`frontier.launch.targets`: local, ssh, kubernetes) starts them, checks readiness and
stops them. :func:`launch` waits until healthy; :func:`start` starts every process and returns
at once (the deferrable path: poll ``dep.ready_urls()``, then ``dep.after_ready()``);
:func:`attach` rebuilds a deployment from ``dep.to_handle()`` in a resumed task. Engine
``endpoint`` starts nothing: its deployment is the running server, checked for health.

Lifecycle: ``on_started(dep)`` sees the deployment as soon as its first process exists, so
whoever may have to kill the task (Airflow's ``on_kill``) can stop it mid-launch; a launch that fails
stops what it started before raising :class:`LaunchError`. Server logs stay in ``workdir``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from frontier.launch.deployment import Deployment, argv_of
from frontier.launch.errors import LaunchError
from frontier.launch.http import http_get
from frontier.launch.targets import Handle, TargetOptions, make_target
from frontier.launch.targets import launch as launch_on
from frontier.planning.engines import get_engine
from frontier.planning.launch_plan import LaunchPlan, plan_from_json

if TYPE_CHECKING:
    from frontier.domain.spec import Spec

__all__ = ["Deployment", "LaunchError", "attach", "launch", "start"]

SIM_LOG = "sim-server.log"
Started = Callable[[Deployment], None] | None


def _target_settings(spec: Spec) -> dict[str, Any]:
    """The local target's GPU slicing: real engines get a slice of CUDA_VISIBLE_DEVICES each."""
    if spec.target == "local" and not get_engine(spec.engine).simulated:
        return {"gpus": "auto"}
    return {}


def _endpoint(plan: LaunchPlan, spec: Spec) -> Deployment:
    url = plan.endpoint_url.rstrip("/")
    status, _ = http_get(url + "/health", timeout=10)
    if status != 200:
        raise LaunchError(
            f"endpoint {url} is not healthy (HTTP {status or 'unreachable'})", stage="readiness"
        )
    backend = spec.endpoint.backend if spec.endpoint is not None else spec.backend
    dep = Deployment(engine=spec.engine, backend=backend, base_url=url, plan=plan, target_kind="endpoint")
    dep.fetch_server_info()
    return dep


def launch(
    plan: LaunchPlan, spec: Spec, workdir: Path, on_started: Started = None, *, wait: bool = True
) -> Deployment:
    """Start the plan's processes on the spec's target; with ``wait``, until every server (then
    the router) is healthy within ``spec.ready_timeout_s``. Without ``wait`` a PD router is held
    back until :meth:`Deployment.after_ready` (a router started beside servers that load for many
    minutes may give up on them first)."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    engine = get_engine(spec.engine)
    if not engine.starts_servers:
        dep = _endpoint(plan, spec)
        if on_started:
            on_started(dep)
        return dep
    options = spec.cluster.target_options()
    target = make_target(spec.target, plan, options, **_target_settings(spec))
    target.tether = wait  # deferred (no wait): the processes outlive this task, held by start()'s lease
    endpoint = getattr(target, "endpoint_url", None) or plan.endpoint_url
    dep = Deployment(
        engine=spec.engine,
        backend=spec.backend,
        base_url=endpoint,
        plan=plan,
        target_kind=spec.target,
        target=target,
        options=options,
    )
    run_plan = plan
    if not wait and plan.router is not None:
        run_plan = LaunchPlan(
            label=plan.label,
            engine=plan.engine,
            servers=plan.servers,
            router=None,
            endpoint_url=plan.endpoint_url,
        )
        dep.router_pending = True
    order = [*run_plan.servers, *([run_plan.router] if run_plan.router is not None else [])]

    def started(h: Handle) -> None:
        dep.added(h, argv_of(target, h, order[len(dep.handles)].argv))
        if on_started and len(dep.handles) == 1:
            on_started(dep)  # as soon as it has a process: whoever may kill the task can stop it
        if dep.stopped:
            raise LaunchError(f"{plan.label}: launch interrupted: {dep.stopped}")

    simple = engine.simulated and len(plan.servers) == 1 and plan.router is None
    try:
        launch_on(
            target,
            run_plan,
            workdir,
            ready_timeout_s=spec.ready_timeout_s if wait else None,
            on_started=started,
            log_names=[SIM_LOG] if simple else None,
            names=[f"sim server {plan.label}"] if simple else None,
        )
    except BaseException:
        dep.mark_stopped()  # targets.launch stopped what it started
        raise
    if wait:
        dep.fetch_server_info()
    return dep


def start(plan: LaunchPlan, spec: Spec, workdir: Path, on_started: Started = None) -> Deployment:
    """Start every process and return at once, without waiting for readiness (deferrable path).
    A lease of ``ready_timeout_s`` + a margin keeps them until the resumed task attaches (adopts)
    them; a task that never resumes leaves nothing running past it (frontier.launch.watchdog)."""
    from frontier.launch.watchdog import LEASE_MARGIN_S

    dep = launch(plan, spec, workdir, on_started, wait=False)
    if dep.target is not None:
        dep.target.hold(dep.handles, spec.ready_timeout_s + LEASE_MARGIN_S)
    return dep


def attach(handle: dict[str, Any]) -> Deployment:
    """The deployment of a JSON handle (``Deployment.to_handle()``), in another task or process:
    its processes are checked, read and stopped through the target by id / name."""
    plan = plan_from_json(handle["plan"])
    kind = handle["target"]
    options = TargetOptions(**(handle.get("options") or {}))
    target = None if kind == "endpoint" else make_target(kind, plan, options)
    dep = Deployment(
        engine=handle["engine"],
        backend=handle["backend"],
        base_url=handle["base_url"],
        plan=plan,
        target_kind=kind,
        target=target,
        options=options,
        server_info=handle.get("server_info") or {},
        router_pending=bool(handle.get("router_pending")),
    )
    hs = [Handle.from_dict(h) for h in handle["handles"]]
    if target is not None:
        target.adopt(hs)
    dep.handles = hs
    dep.commands = [list(c) for c in handle.get("commands") or []]
    return dep
