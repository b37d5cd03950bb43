"""The spec's ``cluster`` section, typed: launch options plus the execution targets' settings.

:class:`ClusterOptions` is :class:`LaunchOptions` (hosts, ports,
python, extra args ...) with two more sections, ``ssh`` (:class:`SSHOptions`) and ``kubernetes``
(:class:`KubernetesOptions`): how to reach the nodes or the cluster. Every key is checked when
the spec is parsed (unknown keys are refused, naming the field). :meth:`ClusterOptions.resolve`
splits it into the ``(LaunchOptions, TargetOptions)`` the planner and the targets use, applying
the worker's ``FRONTIER_SSH_*`` / ``FRONTIER_K8S_*`` environment overrides at that moment. No
secret belongs here: keys, passwords and kubeconfigs are in Airflow Connections (or the
worker's ``~/.ssh`` / kubeconfig for the plain ``ssh`` client).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from frontier.domain.tuning import Tuning
from frontier.errors import FrontierError

ROUTER_MODULE = "sglang_router.launch_router"
TARGET_KEYS = ("ssh", "kubernetes")


class LaunchOptions(BaseModel):
    """Cluster and launch settings that are not part of the label."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    bind_host: str | None = Field(
        default=None, description="--host of the servers; default host on one node, 0.0.0.0 on several"
    )
    base_port: int = 30000
    port_stride: int = 10
    python: str | None = Field(
        default=None,
        description="interpreter of the servers; default python3 (the simulator on the local target: this one)",
    )
    nodes: list[str] = Field(default_factory=list, description="hostnames; default host, or node0..")
    dist_init_port: int = 5000
    transfer_backend: str | None = Field(
        default=None, description="PD KV transfer backend; default the recipe's, else mooncake"
    )
    ib_device: str | None = Field(default=None, description="--disaggregation-ib-device, e.g. mlx5_0")
    bootstrap_port: int | None = Field(
        default=None, description="first prefill server's bootstrap port; default the recipe's, else 8998"
    )
    router_port: int | None = Field(default=None, description="default base_port + 1000")
    router_host: str | None = Field(default=None, description="default host")
    moe_a2a_backend: str | None = Field(default=None, description="shorthand for tuning.moe_a2a_backend")
    mem_fraction_static: float | None = Field(
        default=None, description="shorthand for tuning.mem_fraction_static"
    )
    recipes: bool = Field(
        default=True, description="start from the public recipe profiles (frontier.planning.recipes)"
    )
    tuning: Tuning = Field(
        default_factory=Tuning, description="typed SGLang knobs for every server (prefill:/decode: per role)"
    )
    model_path: str | None = Field(default=None, description="default the catalog's HF id")
    extra_args: dict[str, list[str]] = Field(default_factory=dict)
    server_module: str | None = Field(default=None, description="default per engine")
    router_module: str = ROUTER_MODULE
    env: dict[str, str] = Field(default_factory=dict)

    def with_extra(self, extra: list[str] | None) -> LaunchOptions:
        """These options with ``extra`` args on every server, once (appended to ``extra_args["*"]``)."""
        if not extra:
            return self
        return self.model_copy(
            update={"extra_args": {**self.extra_args, "*": [*self.extra_args.get("*", []), *extra]}}
        )


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


# worker environment variables that override a target setting (applied by ClusterOptions.resolve)
ENV_OVERRIDES = {
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


class ClusterOptions(LaunchOptions):
    """The spec's ``cluster``: every :class:`LaunchOptions` key, plus ``ssh`` and ``kubernetes``."""

    ssh: SSHOptions = Field(default_factory=SSHOptions, description="target ssh: how to reach the nodes")
    kubernetes: KubernetesOptions = Field(
        default_factory=KubernetesOptions, description="target kubernetes: where the pods run"
    )

    def launch_options(self) -> LaunchOptions:
        return LaunchOptions.model_validate(self.model_dump(exclude=set(TARGET_KEYS)))

    def target_options(self, environ: Mapping[str, str] | None = None) -> TargetOptions:
        """The ssh / kubernetes settings with the worker's ``FRONTIER_SSH_*`` / ``FRONTIER_K8S_*``
        overrides (``environ``, default ``os.environ``) applied."""
        env = os.environ if environ is None else environ
        raw: dict[str, dict[str, Any]] = {k: getattr(self, k).model_dump() for k in TARGET_KEYS}
        for (section, key), var in ENV_OVERRIDES.items():
            if env.get(var):
                raw[section][key] = env[var]
        try:
            return TargetOptions.model_validate(raw)
        except ValidationError as e:  # -> one line
            raise FrontierError(
                f"cluster ssh/kubernetes settings (FRONTIER_SSH_* / FRONTIER_K8S_*): {e}".replace("\n", " ")
            ) from None

    def resolve(self, environ: Mapping[str, str] | None = None) -> tuple[LaunchOptions, TargetOptions]:
        """(the launch options, the target settings with environment overrides)."""
        return self.launch_options(), self.target_options(environ)


def as_cluster(cluster: ClusterOptions | Mapping[str, Any] | None) -> ClusterOptions:
    """A ``cluster`` given as a model or a plain mapping (plans from JSON, tests) -> ClusterOptions."""
    if isinstance(cluster, ClusterOptions):
        return cluster
    try:
        return ClusterOptions.model_validate(dict(cluster or {}))
    except ValidationError as e:
        from frontier.domain.spec import format_validation_error

        raise FrontierError(format_validation_error(e, "spec `cluster`").replace("\n", "; ")) from None
