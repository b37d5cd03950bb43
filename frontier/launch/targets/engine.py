"""``frontier.launch.engines`` glue for the targets (called from ``engines.launch`` / ``engines.start``).

:func:`launch_on_target` starts one plan item's deployment (a :class:`LaunchPlan`) on a target
and returns the engines' ``RunningDeployment`` holding
:class:`~frontier.launch.targets.base.TargetProcess` objects, so the pipeline (load, ``dead_reason``,
``stop``, ``on_kill``) treats it like a local one. ``wait=True`` waits for readiness in-process
(``spec.ready_timeout_s``); ``wait=False`` starts every process and returns at once (the
deferrable path: the readiness trigger polls ``readiness_urls`` and the resumed task rebuilds the
deployment from its JSON handle with :func:`attach`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from frontier.launch.process import LaunchError, get_json
from frontier.launch.targets import TargetOptions, TargetProcess, make_target
from frontier.launch.targets.base import Handle, Target, launch, plan_commands
from frontier.launch.targets.local import LocalTarget
from frontier.launch.targets.plans import deployment_plan, plan_from_json
from frontier.planning.sglang_args import LaunchPlan


def launch_on_target(
    item: Any,
    spec: Any,
    workdir: Path,
    on_started: Callable | None,
    deployment_cls: type,
    extra: list[str] | None = None,
    *,
    plan: LaunchPlan | None = None,
    options: TargetOptions | None = None,
    kind: str | None = None,
    wait: bool = True,
    log_names: list[str] | None = None,
    hold_router: bool = False,
    **local: Any,
) -> Any:
    """Start ``plan`` (default: the item's :func:`deployment_plan` from ``spec.cluster`` and
    ``extra``) on ``kind`` (default ``spec.target``); see the module doc."""
    if plan is None:
        plan, default_options = deployment_plan(
            item.label,
            model=item.model,
            hardware=item.hardware,
            precision=item.precision,
            engine=spec.engine,
            cluster=spec.cluster,
            extra=extra,
        )
        options = options or default_options
    options = options or TargetOptions()
    kind = kind or spec.target
    target = make_target(kind, plan, options, **(local if kind == "local" else {}))
    if hasattr(target, "tether"):  # ssh, kubernetes: a deferred launch outlives this process
        target.tether = wait
    endpoint = getattr(target, "endpoint_url", None) or plan.endpoint_url
    order = [c for c, _, _ in plan_commands(plan)]
    dep = deployment_cls(
        endpoint,
        spec.backend,
        spec.engine,
        commands=[],
        target=kind,
        launch_plan=plan.to_json(),
        target_options=options.model_dump(mode="json"),
    )
    if on_started:
        on_started(dep)

    def started(h: Handle) -> None:
        dep.processes.append(TargetProcess(target, h, release_after=not dep.processes))
        dep.commands.append(_argv_of(order[len(dep.processes) - 1], h, target))
        if getattr(dep, "stopped", None):
            raise LaunchError(f"{item.label}: launch interrupted: {dep.stopped}")

    run_plan = plan
    if hold_router and not wait and plan.router is not None:
        # the router starts once its servers are healthy (start_router, in the resumed task): a
        # router started with servers that load for many minutes may give up on them first
        run_plan = LaunchPlan(
            label=plan.label,
            engine=plan.engine,
            servers=plan.servers,
            router=None,
            endpoint_url=plan.endpoint_url,
        )
        dep.router_pending = True
    try:
        launch(
            target,
            run_plan,
            workdir,
            ready_timeout_s=spec.ready_timeout_s if wait else None,
            on_started=started,
            log_names=log_names,
        )
    except BaseException:
        for p in reversed(dep.processes):  # launch() stopped them; this marks them stopped
            p._stopped = True
        raise
    if wait:
        fetch_server_info(dep)
    return dep


def _argv_of(cmd: Any, h: Handle, target: Target) -> list[str]:
    """The command a handle runs, as started (a local GPU slice drops ``--base-gpu-id``)."""
    argv = target.argv_of(h) if isinstance(target, LocalTarget) else None
    return list(argv if argv is not None else cmd.argv)


def start_router(dep: Any, workdir: Path, timeout_s: float) -> None:
    """Start the router a deferred launch held back (its servers are healthy now) and wait for it."""
    from frontier.launch.targets.base import log_name, process_name

    if not getattr(dep, "router_pending", False) or not dep.launch_plan:
        return
    lp = plan_from_json(dep.launch_plan)
    first = dep.processes[0]
    target = first.target
    h = target.start(lp.router, Path(workdir) / log_name(lp.router), name=process_name(lp.router))
    dep.processes.append(TargetProcess(target, h))
    dep.commands.append(_argv_of(lp.router, h, target))
    dep.router_pending = False
    target.wait_ready(h, timeout_s)


def fetch_server_info(dep: Any) -> None:
    """``/get_server_info`` of the first server (not on kubernetes: cluster-internal names)."""
    if dep.target == "kubernetes" or not dep.launch_plan:
        return
    lp = plan_from_json(dep.launch_plan)
    if lp.servers:
        dep.server_info = get_json(lp.servers[0].url + "/get_server_info")


def attach(handle: dict[str, Any], deployment_cls: type) -> Any:
    """The deployment of a JSON handle (``RunningDeployment.to_handle()``), in another task or
    process: its processes are checked, read and stopped through the target by id / name."""
    kind = handle["target"]
    plan = plan_from_json(handle["plan"])
    options = TargetOptions(**(handle.get("options") or {}))
    target = make_target(kind, plan, options)
    if hasattr(target, "_created"):  # kubernetes: the objects exist already (stop/release delete them)
        target._created.update(("Pod", h["pod"]) for h in handle["handles"] if h.get("pod"))
        target._created.update(
            ("Service", m["metadata"]["name"]) for m in target.manifests if m["kind"] == "Service"
        )
    dep = deployment_cls(
        handle["base_url"],
        handle["backend"],
        handle["engine"],
        commands=list(handle["commands"]),
        target=kind,
        launch_plan=handle["plan"],
        target_options=handle.get("options") or {},
        server_info=dict(handle.get("server_info") or {}),
        router_pending=bool(handle.get("router_pending")),
    )
    for i, h in enumerate(handle["handles"]):
        dep.processes.append(TargetProcess(target, Handle.from_dict(h), release_after=i == 0))
    return dep
