"""Execution targets registered by kind: ``make_target(kind, plan, options)`` builds one.

Each target module registers its factory with :func:`register_target` (the kind must be
declared in :data:`frontier.domain.kinds.TARGET_KINDS`); adding a target is one module that
subclasses :class:`~frontier.launch.targets.base.Target`, registers itself, and is imported by
``frontier.launch.targets``. Airflow-backed transports and clients (``operators/targets.py``)
plug in through :func:`register_provider`, so the core stays Airflow-free.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from frontier.domain.kinds import TARGET_KINDS
from frontier.errors import FrontierError
from frontier.launch.targets.base import Target
from frontier.launch.targets.options import TargetOptions
from frontier.planning.launch_plan import LaunchPlan

# kind -> factory(plan, options, provider, **kw) -> Target
Factory = Callable[..., Target]
_TARGETS: dict[str, Factory] = {}
# kind -> whether its processes run off this worker (a deferred task may resume anywhere)
_REMOTE: dict[str, bool] = {}
# kind -> factory(TargetOptions) -> the transport / client a target needs (operators/targets.py)
_PROVIDERS: dict[str, Callable[[TargetOptions], Any]] = {}


def register_target(kind: str, *, remote: bool) -> Callable[[Factory], Factory]:
    """Register a target factory; ``remote``: its processes run off the worker (ssh nodes, pods),
    so a deferrable task releases its slot while they load (``FRONTIER_DEFERRABLE=auto``)."""
    if kind not in TARGET_KINDS:
        raise FrontierError(f"target {kind!r} is not declared in frontier.domain.kinds.TARGET_KINDS")

    def deco(factory: Factory) -> Factory:
        _TARGETS[kind] = factory
        _REMOTE[kind] = remote
        return factory

    return deco


def register_provider(kind: str, factory: Callable[[TargetOptions], Any]) -> None:
    """Make ``make_target(kind, ...)`` use ``factory(options)`` as its transport / client when none
    is passed (``import operators.targets`` registers Airflow's SSHHook and KubernetesHook)."""
    if kind not in _TARGETS:
        raise FrontierError(f"register_provider: no target {kind!r} (known: {', '.join(sorted(_TARGETS))})")
    _PROVIDERS[kind] = factory


def target_kinds() -> list[str]:
    return sorted(_TARGETS)


def is_remote(kind: str) -> bool:
    """Whether target ``kind`` runs its processes off this worker."""
    if kind not in _REMOTE:
        raise FrontierError(f"target {kind!r}: expected one of {', '.join(sorted(_TARGETS))}")
    return _REMOTE[kind]


def make_target(kind: str, plan: LaunchPlan, options: TargetOptions | None = None, **kw: Any) -> Target:
    """The target for ``kind``; ``kw`` are the target's own settings (``gpus`` for local,
    ``transport`` for ssh, ``kube_client`` for kubernetes)."""
    try:
        factory = _TARGETS[kind]
    except KeyError:
        raise FrontierError(f"target {kind!r}: expected one of {', '.join(sorted(_TARGETS))}") from None
    opts = options or TargetOptions()
    provider = _PROVIDERS.get(kind)
    return factory(plan, opts, provider(opts) if provider is not None and not kw else None, **kw)
