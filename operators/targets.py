"""Airflow side of the execution targets: the provider-backed target factory and a deferrable
launch operator.

- :func:`airflow_target`: ``local`` as in the core, ``ssh`` over :class:`SSHHookTransport` (one
  Connection per node), ``kubernetes`` over :class:`KubernetesHookClient`.
- :class:`LaunchDeploymentOperator`: starts every process of a deployment on its target, then
  **defers** on :class:`~operators.triggers.ServerReadyTrigger` so the model load does not hold
  a worker slot; on resume it returns ``{"kind", "endpoint_url", "plan", "handles", "options"}``
  (XCom) for the benchmark task, or stops everything and fails (a launch failure: retried by
  the task's retries) with the servers' log tails.
- :class:`StopDeploymentOperator`: stops what a launch returned (``trigger_rule`` all_done).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator

from frontier.launch.targets import (
    Handle,
    Target,
    TargetOptions,
    launch,
    make_target,
    readiness_urls,
    register_provider,
    stop_all,
)
from frontier.launch.targets.plans import deployment_plan, plan_from_json
from frontier.planning.sglang_args import LaunchPlan
from operators.kube_client import KubernetesHookClient
from operators.ssh_transport import SSHHookTransport


def airflow_target(kind: str, plan: LaunchPlan, options: TargetOptions | None = None) -> Target:
    opts = options or TargetOptions()
    if kind == "ssh":
        return make_target(kind, plan, opts, transport=SSHHookTransport(opts.ssh))
    if kind == "kubernetes":
        return make_target(kind, plan, opts, kube_client=KubernetesHookClient(opts.kubernetes.conn_id))
    return make_target(kind, plan, opts)


# importing this module makes frontier's make_target (and so frontier.launch.engines) use the providers
register_provider("ssh", lambda opts: SSHHookTransport(opts.ssh))
register_provider("kubernetes", lambda opts: KubernetesHookClient(opts.kubernetes.conn_id))


def _tails(target: Target, handles: list[Handle], lines: int = 20) -> str:
    out = []
    for h in handles:
        try:
            out.append(f"== {h.name} ==\n{target.log_tail(h, lines)}")
        except Exception as e:  # noqa: BLE001
            out.append(f"== {h.name} == (log unavailable: {e})")
    return "\n".join(out)


class LaunchDeploymentOperator(BaseOperator):
    """Start one deployment (a plan item of a spec) on the spec's target and defer until healthy."""

    template_fields = ("spec_path", "item", "log_dir")
    ui_color = "#fff4e5"

    def __init__(
        self,
        *,
        spec_path: str,
        item: dict[str, Any],
        log_dir: str,
        target: str | None = None,
        poll_s: float = 5.0,
        grace_s: float = 30.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.spec_path, self.item, self.log_dir = spec_path, item, log_dir
        self.target, self.poll_s, self.grace_s = target, poll_s, grace_s

    def _plan(self) -> tuple[str, LaunchPlan, TargetOptions, float]:
        from frontier.domain.spec import load_spec

        spec = load_spec(Path(self.spec_path))
        it = self.item
        extra = list(it.get("server_args") or [])
        plan, opts = deployment_plan(
            it["label"],
            model=it["model"],
            hardware=it["hardware"],
            precision=it["precision"],
            engine=spec.engine,
            cluster=spec.cluster,
            extra=extra,
        )
        return self.target or spec.target, plan, opts, spec.ready_timeout_s

    def execute(self, context: Any) -> Any:
        from operators.triggers import ServerReadyTrigger

        kind, plan, opts, timeout_s = self._plan()
        target = airflow_target(kind, plan, opts)
        handles = launch(target, plan, self.log_dir, ready_timeout_s=None, grace_s=self.grace_s)
        for h in handles:
            self.log.info("started %s on %s %s", h.name, kind, h.host)
        urls = readiness_urls(handles)
        self.defer(
            trigger=ServerReadyTrigger(urls=urls, timeout_s=timeout_s, poll_s=self.poll_s),
            method_name="execute_complete",
            kwargs={
                "kind": kind,
                "plan": plan.to_json(),
                "options": opts.model_dump(mode="json"),
                "handles": [h.to_dict() for h in handles],
            },
        )

    def execute_complete(
        self,
        context: Any,
        event: dict[str, Any],
        kind: str,
        plan: dict[str, Any],
        options: dict[str, Any],
        handles: list[dict[str, Any]],
    ) -> dict[str, Any]:
        lp = plan_from_json(plan)
        opts = TargetOptions(**options)
        target = airflow_target(kind, lp, opts)
        hs = [Handle.from_dict(h) for h in handles]
        if (event or {}).get("status") != "ready":
            tails = _tails(target, hs)
            stop_all(target, hs, self.grace_s)
            from airflow.sdk.exceptions import AirflowException

            self.log.error("server logs:\n%s", tails)
            raise AirflowException(f"{lp.label} on {kind}: {(event or {}).get('message', 'not ready')}")
        self.log.info("%s ready on %s in %.1f s", lp.label, kind, event.get("elapsed_s", 0.0))
        endpoint = getattr(target, "endpoint_url", None) or lp.endpoint_url
        return {"kind": kind, "endpoint_url": endpoint, "plan": plan, "options": options, "handles": handles}


class StopDeploymentOperator(BaseOperator):
    """Stop a deployment from what :class:`LaunchDeploymentOperator` returned."""

    template_fields = ("launched",)

    def __init__(self, *, launched: Any, grace_s: float = 30.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.launched, self.grace_s = launched, grace_s

    def execute(self, context: Any) -> None:
        d = self.launched or {}
        if not d.get("handles"):
            self.log.info("nothing to stop")
            return
        lp = plan_from_json(d["plan"])
        target = airflow_target(d["kind"], lp, TargetOptions(**d.get("options", {})))
        errors = stop_all(target, [Handle.from_dict(h) for h in d["handles"]], self.grace_s)
        for e in errors:
            self.log.warning("stop: %s", e)
