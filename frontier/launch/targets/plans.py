"""The launch plan a target runs for one deployment of a spec.

``sglang`` (and ``endpoint`` planning): :func:`frontier.planning.sglang_args.build_launch_plan` with the
spec's ``cluster`` launch options (:meth:`~frontier.domain.cluster.ClusterOptions.resolve`).
``sim``: the same plan with the simulated server module (the same argv plus ``--hardware
--precision``); a disaggregated label, whose router is SGLang's,
runs as one simulated process for the whole deployment (``--deployment LABEL``, which models
prefill, decode and the router) on the first node.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from frontier.launch.targets.options import ClusterOptions, TargetOptions, as_cluster
from frontier.planning.sglang_args import (
    LaunchPlan,
    RouterCommand,
    ServerCommand,
    build_launch_plan,
    build_sim_command,
)


def deployment_plan(
    label: str,
    *,
    model: str,
    hardware: str,
    precision: str,
    engine: str,
    cluster: ClusterOptions | Mapping[str, Any],
    extra: list[str] | None = None,
) -> tuple[LaunchPlan, TargetOptions]:
    opts, targets = as_cluster(cluster).resolve()
    opts = opts.with_extra(extra)  # the item's own args on every server of its plan
    eng = "sim" if engine == "sim" else "sglang"
    plan = build_launch_plan(
        label, model=model, hardware=hardware, precision=precision, options=opts, engine=eng
    )
    if eng == "sim" and plan.router is not None:
        head = plan.servers[0]
        bind = head.argv[head.argv.index("--host") + 1]
        argv = build_sim_command(
            label, model, hardware, precision, host=bind, port=head.port, python=opts.python
        ) + list(extra or [])
        one = ServerCommand(
            role="single",
            group_index=0,
            replica=0,
            node_rank=0,
            nnodes=1,
            host=head.host,
            port=head.port,
            gpus=sum(s.gpus for s in plan.servers),
            argv=argv,
            url=head.url,
            env=dict(opts.env),
        )
        plan = LaunchPlan(label=plan.label, engine="sim", servers=[one], router=None, endpoint_url=head.url)
    return plan, targets


def plan_from_json(js: dict[str, Any]) -> LaunchPlan:
    """Inverse of :meth:`LaunchPlan.to_json` (plans travel through XCom / trigger kwargs)."""
    r = js.get("router")
    return LaunchPlan(
        label=js["label"],
        engine=js["engine"],
        endpoint_url=js["endpoint_url"],
        servers=[ServerCommand(**s) for s in js["servers"]],
        router=RouterCommand(**r) if r else None,
    )
