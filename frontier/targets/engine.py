"""``frontier.engines`` glue for the ssh and kubernetes targets (called from ``engines.launch``).

:func:`launch_on_target` starts one plan item's deployment on ``spec.target`` and returns the
engines' ``RunningDeployment`` holding :class:`~frontier.targets.base.TargetProcess` objects, so
the pipeline (load, ``dead_reason``, ``stop``, ``on_kill``) treats it like a local one. It waits
for readiness in-process (``spec.ready_timeout_s``); the deferrable path is
``operators.targets.LaunchDeploymentOperator``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from frontier.engines.process import LaunchError, get_json
from frontier.targets import TargetProcess, make_target
from frontier.targets.base import Handle, launch
from frontier.targets.plans import deployment_plan


def launch_on_target(item: Any, spec: Any, workdir: Path, on_started: Callable | None, deployment_cls: type,
                     extra: list[str] | None = None) -> Any:
    lp, topts = deployment_plan(item.label, model=item.model, hardware=item.hardware, precision=item.precision,
                                engine=spec.engine, cluster=spec.cluster, extra=extra)
    target = make_target(spec.target, lp, topts)
    endpoint = getattr(target, "endpoint_url", None) or lp.endpoint_url
    dep = deployment_cls(endpoint, spec.backend, spec.engine, commands=[])
    if on_started:
        on_started(dep)

    def started(h: Handle) -> None:
        dep.processes.append(TargetProcess(target, h, release_after=not dep.processes))
        if getattr(dep, "stopped", None):
            raise LaunchError(f"{item.label}: launch interrupted: {dep.stopped}")

    try:
        launch(target, lp, workdir, ready_timeout_s=spec.ready_timeout_s, on_started=started)
    except BaseException:
        for p in reversed(dep.processes):  # launch() stopped them; this marks them stopped
            p._stopped = True
        raise
    dep.commands = [s.argv for s in lp.servers] + ([lp.router.argv] if lp.router else [])
    dep.server_info = get_json(lp.servers[0].url + "/get_server_info") if spec.target == "ssh" else {}
    return dep
