"""Target settings: how to reach the nodes (ssh) or the cluster (kubernetes).

They live in the spec under ``cluster.ssh`` / ``cluster.kubernetes`` (typed and validated with the
spec: :mod:`frontier.domain.cluster`, re-exported here) and may be overridden per worker by
``FRONTIER_SSH_*`` / ``FRONTIER_K8S_*`` environment variables, applied when the options are
resolved (:meth:`~frontier.domain.cluster.ClusterOptions.resolve`,
:func:`frontier.planning.planner.launch_options`).
"""

from __future__ import annotations

from frontier.domain.cluster import (
    ENV_OVERRIDES,
    TARGET_KEYS,
    ClusterOptions,
    KubernetesOptions,
    SSHOptions,
    TargetOptions,
    as_cluster,
)

__all__ = [
    "ENV_OVERRIDES",
    "TARGET_KEYS",
    "ClusterOptions",
    "KubernetesOptions",
    "SSHOptions",
    "TargetOptions",
    "as_cluster",
]
