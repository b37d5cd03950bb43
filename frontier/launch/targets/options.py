"""Target settings: how to reach the nodes (ssh) or the cluster (kubernetes).

They live in the spec under ``cluster.ssh`` / ``cluster.kubernetes`` (beside the
:class:`~frontier.planning.sglang_args.LaunchOptions` keys; :func:`split_cluster` separates them) and may be
overridden per worker by ``FRONTIER_SSH_*`` / ``FRONTIER_K8S_*`` environment variables. No
secret belongs here: keys, passwords and kubeconfigs are in Airflow Connections (or the
worker's ``~/.ssh`` / kubeconfig for the plain ``ssh`` client).
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from frontier.errors import FrontierError

TARGET_KEYS = ("ssh", "kubernetes")


class SSHOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conn_id_pattern: str = Field(default="frontier_node_{host}", description="Airflow Connection per node")
    conn_ids: dict[str, str] = Field(default_factory=dict, description="host -> Connection id (wins)")
    remote_dir: str = Field(default="/tmp/frontier", description="logs on the node")
    env_file: str | None = Field(default=None, description="sourced on the node before start (HF_TOKEN ...)")
    workdir: str | None = None
    command_timeout_s: float = 60.0

    def conn_id(self, host: str) -> str:
        if host in self.conn_ids:
            return self.conn_ids[host]
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in host)
        return self.conn_id_pattern.format(host=safe)


class KubernetesOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conn_id: str = "kubernetes_default"
    namespace: str = "default"
    image: str = "lmsysorg/sglang:v0.5.23"
    gpu_resource: str = "nvidia.com/gpu"
    name: str | None = None
    # no pod outlives a lost driver: Kubernetes ends the server pods this long after they start
    # (activeDeadlineSeconds; 0 = never), and, with the driver's own pod named (downward API:
    # metadata.name / metadata.uid), deletes them along with it (ownerReferences; not while deferred)
    active_deadline_s: int = Field(default=6 * 3600, ge=0)
    owner_pod_name: str | None = None
    owner_pod_uid: str | None = None
    owner_pod_namespace: str | None = None

    @model_validator(mode="after")
    def _owner(self) -> KubernetesOptions:
        if bool(self.owner_pod_name) != bool(self.owner_pod_uid):
            raise ValueError(
                "owner_pod_name and owner_pod_uid go together (FRONTIER_K8S_OWNER_POD_NAME / _UID from the "
                "downward API fields metadata.name and metadata.uid); set both or neither"
            )
        if self.owner_pod_namespace and self.owner_pod_name and self.owner_pod_namespace != self.namespace:
            raise ValueError(
                f"owner_pod_namespace {self.owner_pod_namespace!r} is not namespace {self.namespace!r}: an "
                f"ownerReference only works within one namespace (Kubernetes would delete the pods at once); "
                f"run the servers in the driver's namespace or unset the owner pod"
            )
        return self


class TargetOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ssh: SSHOptions = Field(default_factory=SSHOptions)
    kubernetes: KubernetesOptions = Field(default_factory=KubernetesOptions)


_ENV = {
    ("ssh", "conn_id_pattern"): "FRONTIER_SSH_CONN_ID_PATTERN",
    ("ssh", "remote_dir"): "FRONTIER_SSH_REMOTE_DIR",
    ("ssh", "env_file"): "FRONTIER_SSH_ENV_FILE",
    ("ssh", "workdir"): "FRONTIER_SSH_WORKDIR",
    ("kubernetes", "conn_id"): "FRONTIER_K8S_CONN_ID",
    ("kubernetes", "namespace"): "FRONTIER_K8S_NAMESPACE",
    ("kubernetes", "image"): "FRONTIER_K8S_IMAGE",
    ("kubernetes", "gpu_resource"): "FRONTIER_K8S_GPU_RESOURCE",
    ("kubernetes", "active_deadline_s"): "FRONTIER_K8S_ACTIVE_DEADLINE_S",
    ("kubernetes", "owner_pod_name"): "FRONTIER_K8S_OWNER_POD_NAME",
    ("kubernetes", "owner_pod_uid"): "FRONTIER_K8S_OWNER_POD_UID",
    ("kubernetes", "owner_pod_namespace"): "FRONTIER_K8S_OWNER_POD_NAMESPACE",
}


def split_cluster(
    cluster: dict[str, Any], environ: dict[str, str] | None = None
) -> tuple[dict[str, Any], TargetOptions]:
    """``spec.cluster`` -> (the LaunchOptions keys, the target settings with env overrides)."""
    env = os.environ if environ is None else environ
    launch = {k: v for k, v in cluster.items() if k not in TARGET_KEYS}
    raw: dict[str, dict[str, Any]] = {k: dict(cluster.get(k) or {}) for k in TARGET_KEYS}
    for (section, key), var in _ENV.items():
        if env.get(var):
            raw[section][key] = env[var]
    try:
        return launch, TargetOptions(**raw)
    except ValidationError as e:  # -> one line
        raise FrontierError(f"spec field `cluster` (ssh/kubernetes): {e}".replace("\n", " ")) from None
