"""``KubernetesHookClient``: frontier's :class:`~frontier.launch.targets.kubernetes.KubeClient` over the
cncf-kubernetes provider's ``KubernetesHook`` (its ``core_v1_client``). The cluster's
credentials are the hook's Connection (``kubernetes_default`` unless ``cluster.kubernetes.conn_id``
says otherwise: in-cluster, a kubeconfig path or an inline kubeconfig)."""

from __future__ import annotations

from typing import Any


def pod_status_dict(pod: Any) -> dict[str, Any]:
    """A ``V1Pod`` -> the plain status :class:`KubeClient` returns."""
    status = pod.status
    containers: dict[str, dict[str, Any]] = {}
    for cs in (status.container_statuses or []) if status else []:
        state, exit_code, reason = "waiting", None, None
        if cs.state is not None:
            if cs.state.terminated is not None:
                state, exit_code, reason = (
                    "terminated",
                    cs.state.terminated.exit_code,
                    cs.state.terminated.reason,
                )
            elif cs.state.running is not None:
                state = "running"
            elif cs.state.waiting is not None:
                reason = cs.state.waiting.reason
        containers[cs.name] = {
            "ready": bool(cs.ready),
            "state": state,
            "exit_code": exit_code,
            "reason": reason,
        }
    if status is not None and not containers and status.conditions:
        for c in status.conditions:  # Unschedulable (no GPU node free) shows only here
            if c.type == "PodScheduled" and c.status == "False":
                containers = {
                    "*": {"ready": False, "state": "waiting", "exit_code": None, "reason": c.reason}
                }
    return {"phase": status.phase if status else None, "containers": containers}


class KubernetesHookClient:
    def __init__(self, conn_id: str = "kubernetes_default", hook: Any = None):
        if hook is None:
            from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

            hook = KubernetesHook(conn_id=conn_id)
        self.hook = hook

    @property
    def core(self) -> Any:
        return self.hook.core_v1_client

    def create(self, obj: dict[str, Any]) -> None:
        ns = obj["metadata"]["namespace"]
        if obj["kind"] == "Pod":
            self.core.create_namespaced_pod(namespace=ns, body=obj)
        elif obj["kind"] == "Service":
            self.core.create_namespaced_service(namespace=ns, body=obj)
        else:
            raise ValueError(f"unsupported kind {obj['kind']!r}")

    def delete(self, kind: str, name: str, namespace: str, grace_period_s: int | None = None) -> None:
        from kubernetes.client.exceptions import ApiException

        fn = {"Pod": self.core.delete_namespaced_pod, "Service": self.core.delete_namespaced_service}[kind]
        try:
            fn(name=name, namespace=namespace, grace_period_seconds=grace_period_s)
        except ApiException as e:
            if e.status != 404:
                raise

    def pod_status(self, name: str, namespace: str) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        try:
            pod = self.core.read_namespaced_pod(name=name, namespace=namespace)
        except ApiException as e:
            if e.status == 404:
                return None
            raise
        return pod_status_dict(pod)

    def read_log(self, name: str, namespace: str, container: str, tail_lines: int | None = None) -> str:
        kw: dict[str, Any] = {"name": name, "namespace": namespace, "container": container}
        if tail_lines is not None:
            kw["tail_lines"] = tail_lines
        return self.core.read_namespaced_pod_log(**kw)
