"""Execution targets: where a deployment's processes run (``local`` | ``ssh`` | ``kubernetes``).

Pure core (no Airflow). :func:`make_target` builds one by kind from the registry
(:mod:`frontier.launch.targets.registry`); the Airflow-backed transport / client come from
``operators/`` (``operators.targets``) through :func:`register_provider`.
"""

from __future__ import annotations

from frontier.launch.targets import kubernetes, local, ssh  # noqa: F401  (each registers itself)
from frontier.launch.targets.base import Handle, Target, launch, readiness_urls, stop_all
from frontier.launch.targets.kubernetes import KubeClient, KubernetesTarget
from frontier.launch.targets.local import LocalTarget
from frontier.launch.targets.options import KubernetesOptions, SSHOptions, TargetOptions
from frontier.launch.targets.registry import (
    is_remote,
    make_target,
    register_provider,
    register_target,
    target_kinds,
)
from frontier.launch.targets.ssh import OpenSSHTransport, SSHTarget, Transport

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
    "Transport",
    "is_remote",
    "launch",
    "make_target",
    "readiness_urls",
    "register_provider",
    "register_target",
    "stop_all",
    "target_kinds",
]
