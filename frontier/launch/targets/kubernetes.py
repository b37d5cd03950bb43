"""``kubernetes``: the plan as Kubernetes objects (:func:`frontier.launch.targets.manifests.render_manifests`).

One Pod per node (one container per server process on it, GPU requests/limits), a headless
Service for the pods' DNS names, an endpoint Service (and, for a PD label, a router Pod).
``start(server)`` creates the Services on first use and the Pod of the server's node (once per
node; a second server on the node maps to its container in the same Pod); the router Pod with
the router. ``alive`` reads the Pod's phase and the container's state, ``wait_ready`` waits for
the container's readiness probe (``/health``), ``stop`` deletes the Pod with a grace period
(after copying the container's log into the artifacts file), ``release`` deletes the Services.

All cluster access goes through the small :class:`KubeClient` protocol: the Airflow
cncf-kubernetes hook in ``operators/kube_client.py``, or a test double.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from frontier.common.redact import redact_text
from frontier.errors import FrontierError
from frontier.launch.errors import LaunchError
from frontier.launch.logs import error_line
from frontier.launch.targets.base import Command, Handle, Target, http_of, process_name
from frontier.launch.targets.manifests import APP, endpoint_url, owner_reference, render_manifests, slug
from frontier.launch.targets.registry import register_target
from frontier.planning.launch_plan import LaunchPlan, RouterCommand, ServerCommand


class KubeClient(Protocol):
    def create(self, obj: dict[str, Any]) -> None:
        """Create one namespaced object (Pod or Service) from its manifest."""

    def delete(self, kind: str, name: str, namespace: str, grace_period_s: int | None = None) -> None:
        """Delete it; a missing object is not an error."""

    def pod_status(self, name: str, namespace: str) -> dict[str, Any] | None:
        """``{"phase": "Pending"|"Running"|"Succeeded"|"Failed", "containers": {name: {"ready": bool,
        "state": "waiting"|"running"|"terminated", "exit_code": int|None, "reason": str|None}}}``;
        ``None`` when the pod does not exist."""

    def read_log(self, name: str, namespace: str, container: str, tail_lines: int | None = None) -> str:
        """The container's log (its last ``tail_lines`` lines)."""


class KubernetesTarget(Target):
    kind = "kubernetes"
    cluster_internal = True  # its URLs are cluster DNS names: the worker may not reach them

    def __init__(
        self,
        client: KubeClient,
        plan: LaunchPlan,
        *,
        image: str,
        namespace: str = "default",
        gpu_resource: str = "nvidia.com/gpu",
        name: str | None = None,
        poll_s: float = 2.0,
        active_deadline_s: int | None = None,
        owner: tuple[str, str] | None = None,
    ):
        self.client, self.plan, self.namespace, self.poll_s = client, plan, namespace, poll_s
        self.base = name or slug(f"{APP}-{plan.label}")
        self.manifests = render_manifests(
            plan,
            image=image,
            namespace=namespace,
            gpu_resource=gpu_resource,
            name=self.base,
            active_deadline_s=active_deadline_s,
        )
        # the driver's pod owns what a non-deferred launch creates (``tether`` False: deferred, no owner)
        self.owner = owner_reference(*owner) if owner else None
        self._created: set[tuple[str, str]] = set()
        self.endpoint_url = endpoint_url(plan, namespace=namespace, name=self.base)

    # -- where each process lives in the rendered objects
    def _object(self, kind: str, name: str) -> dict[str, Any]:
        for m in self.manifests:
            if m["kind"] == kind and m["metadata"]["name"] == name:
                return m
        raise FrontierError(f"no {kind} {name!r} in the manifests of {self.plan.label}")

    def locate(self, cmd: Command) -> tuple[str, str]:
        """(pod, container) of a process of the plan."""
        if isinstance(cmd, RouterCommand):
            return f"{self.base}-router", "router"
        node = self.plan.nodes.index(cmd.host)
        container = slug(f"{cmd.role}-g{cmd.group_index}-r{cmd.replica}-rank{cmd.node_rank}", 63)
        pod = f"{self.base}-n{node}"
        names = [c["name"] for c in self._object("Pod", pod)["spec"]["containers"]]
        if container not in names:
            raise FrontierError(f"container {container!r} not in pod {pod!r} ({names})")
        return pod, container

    def _ensure(self, kind: str, name: str) -> None:
        if (kind, name) not in self._created:
            obj = self._object(kind, name)
            if self.owner is not None and self.tether:
                obj = {**obj, "metadata": {**obj["metadata"], "ownerReferences": [dict(self.owner)]}}
            self.client.create(obj)
            self._created.add((kind, name))

    def _pod_dns(self, pod: str) -> str:
        return f"{pod}.{self.base}-nodes.{self.namespace}.svc.cluster.local"

    def start(self, server: Command, log_path: str | Path, *, name: str | None = None) -> Handle:
        name = name or process_name(server)
        for m in self.manifests:
            if m["kind"] == "Service":
                self._ensure("Service", m["metadata"]["name"])
        pod, container = self.locate(server)
        self._ensure("Pod", pod)
        url, paths = http_of(server)
        if url and isinstance(server, ServerCommand):
            url = f"http://{self._pod_dns(pod)}:{server.port}"
        elif url:
            url = self.endpoint_url
        return Handle(
            target=self.kind,
            name=name,
            host=pod,
            url=url,
            paths=paths,
            local_log=str(log_path),
            pod=pod,
            container=container,
            namespace=self.namespace,
            started_at=time.time(),
        )

    def _container(self, handle: Handle) -> tuple[str | None, dict[str, Any]]:
        st = self.client.pod_status(handle.pod or "", handle.namespace or self.namespace)
        if st is None:
            return None, {}
        return st.get("phase"), (st.get("containers") or {}).get(handle.container or "", {})

    def alive(self, handle: Handle) -> bool:
        phase, c = self._container(handle)
        if phase is None or phase in ("Succeeded", "Failed", "Unknown"):
            return False
        return c.get("state") != "terminated"

    def unready(self, handle: Handle) -> str | None:
        """The container's readiness (its ``readinessProbe``), as the cluster reports it."""
        phase, c = self._container(handle)
        if not handle.url:  # a worker rank: running is all it can show
            ok = phase == "Running" and c.get("state") == "running"
        else:
            ok = phase == "Running" and bool(c.get("ready"))
        return (
            None
            if ok
            else f"pod {handle.pod} ({phase or 'no pod'}, container {c.get('state') or 'not started'})"
        )

    def wait_ready(self, handle: Handle, timeout_s: float, poll_s: float | None = None) -> None:
        try:
            super().wait_ready(handle, timeout_s, poll_s or self.poll_s)
        except LaunchError as e:
            _, c = self._container(handle)
            if c.get("reason"):  # ImagePullBackOff, OOMKilled, Unschedulable ... say so first
                why = error_line(e.log_tail)
                raise LaunchError(
                    f"{handle.name}: pod {handle.pod} container {handle.container}: {c['reason']}"
                    + (f"; log: {why}" if why else ""),
                    e.log_tail,
                    stage=e.stage,
                ) from None
            raise

    def stop(self, handle: Handle, grace_s: float = 10.0) -> None:
        if handle.local_log:
            text = self.log_tail(handle, 2000)
            if text:
                p = Path(handle.local_log)
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text(text)
        self.client.delete("Pod", handle.pod or "", handle.namespace or self.namespace, int(grace_s))
        self._created.discard(("Pod", handle.pod or ""))

    def adopt(self, handles: Sequence[Handle]) -> None:
        self._created.update(("Pod", h.pod) for h in handles if h.pod)
        self._created.update(
            ("Service", m["metadata"]["name"]) for m in self.manifests if m["kind"] == "Service"
        )

    def release(self, handles: Sequence[Handle]) -> None:
        for m in self.manifests:
            if m["kind"] == "Service":
                self.client.delete("Service", m["metadata"]["name"], self.namespace, 0)
                self._created.discard(("Service", m["metadata"]["name"]))

    def log_tail(self, handle: Handle, lines: int = 40) -> str:
        try:
            text = self.client.read_log(
                handle.pod or "", handle.namespace or self.namespace, handle.container or "", tail_lines=lines
            )
        except Exception:  # noqa: BLE001 - a pod that never started has no log
            return ""
        return redact_text(text.rstrip("\n"))


@register_target("kubernetes", remote=True)
def _make_kubernetes(
    plan, options, provided=None, *, kube_client: KubeClient | None = None
) -> KubernetesTarget:
    client = kube_client or provided
    if client is None:
        raise FrontierError("target kubernetes needs a cluster client (run it through the Airflow operators)")
    k = options.kubernetes
    return KubernetesTarget(
        client,
        plan,
        image=k.image,
        namespace=k.namespace,
        gpu_resource=k.gpu_resource,
        name=k.name,
        active_deadline_s=k.active_deadline_s or None,
        owner=(k.owner_pod_name, k.owner_pod_uid) if k.owner_pod_name and k.owner_pod_uid else None,
    )
