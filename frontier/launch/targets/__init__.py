"""Execution targets: where a deployment's processes run (``local`` | ``ssh`` | ``kubernetes``).

Pure core (no Airflow). :func:`make_target` builds one from the spec's target name; the
Airflow-backed transport / client come from ``operators/`` (``operators.targets``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from frontier.errors import FrontierError
from frontier.launch.targets.base import Handle, Target, TargetProcess, launch, readiness_urls, stop_all
from frontier.launch.targets.kubernetes import KubeClient, KubernetesTarget
from frontier.launch.targets.local import LocalTarget
from frontier.launch.targets.options import KubernetesOptions, SSHOptions, TargetOptions, split_cluster
from frontier.launch.targets.ssh import OpenSSHTransport, SSHTarget, Transport
from frontier.planning.sglang_args import LaunchPlan

__all__ = [
    "Handle",
    "KubeClient",
    "KubernetesOptions",
    "KubernetesTarget",
    "LocalTarget",
    "OpenSSHTransport",
    "SSHOptions",
    "SSHTarget",
    "Target",
    "TargetOptions",
    "TargetProcess",
    "Transport",
    "launch",
    "make_target",
    "readiness_urls",
    "register_provider",
    "split_cluster",
    "stop_all",
]

# kind -> factory(TargetOptions) -> Transport (ssh) | KubeClient (kubernetes); operators/targets.py
# registers the Airflow-provider-backed ones when imported, so the core stays Airflow-free.
_PROVIDERS: dict[str, Callable[[TargetOptions], Any]] = {}


def register_provider(kind: str, factory: Callable[[TargetOptions], Any]) -> None:
    """Make ``make_target(kind, ...)`` use ``factory(options)`` when no transport/client is passed."""
    if kind not in ("ssh", "kubernetes"):
        raise FrontierError(f"register_provider: kind {kind!r} is not ssh or kubernetes")
    _PROVIDERS[kind] = factory


def make_target(
    kind: str,
    plan: LaunchPlan,
    options: TargetOptions | None = None,
    *,
    transport: Transport | None = None,
    kube_client: KubeClient | None = None,
    **local: Any,
) -> Target:
    """The target for ``kind``. Without ``transport`` / ``kube_client``: the registered provider
    (:func:`register_provider`; ``import operators.targets`` registers Airflow's SSHHook and
    KubernetesHook), else for ssh the OpenSSH client; kubernetes needs a client."""
    opts = options or TargetOptions()
    if kind == "local":
        return LocalTarget(**local)
    if kind == "ssh":
        s = opts.ssh
        if transport is None and "ssh" in _PROVIDERS:
            transport = _PROVIDERS["ssh"](opts)
        return SSHTarget(
            transport or OpenSSHTransport(),
            remote_dir=s.remote_dir,
            env_file=s.env_file,
            workdir=s.workdir,
            command_timeout_s=s.command_timeout_s,
        )
    if kind == "kubernetes":
        if kube_client is None and "kubernetes" in _PROVIDERS:
            kube_client = _PROVIDERS["kubernetes"](opts)
        if kube_client is None:
            raise FrontierError(
                "target kubernetes needs a cluster client (run it through the Airflow operators)"
            )
        k = opts.kubernetes
        return KubernetesTarget(
            kube_client,
            plan,
            image=k.image,
            namespace=k.namespace,
            gpu_resource=k.gpu_resource,
            name=k.name,
            active_deadline_s=k.active_deadline_s or None,
            owner=(k.owner_pod_name, k.owner_pod_uid) if k.owner_pod_name and k.owner_pod_uid else None,
        )
    raise FrontierError(f"target {kind!r}: expected local, ssh or kubernetes")
