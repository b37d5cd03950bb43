"""Specs and launch plans for launch-layer tests: the engines' own planning, never hand-made argv."""

from __future__ import annotations

from typing import Any

from frontier.domain.spec import Spec, parse_spec
from frontier.planning.engines import get_engine
from frontier.planning.launch_plan import LaunchPlan

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"


def spec_for(
    engine: str = "sim",
    target: str = "ssh",
    cluster: dict[str, Any] | None = None,
    model: str = LLAMA,
    hardware: str = "h100_sxm",
    label: str = "TP2",
    **kw: Any,
) -> Spec:
    """A one-label spec (scenario 1k1k, ladder [1]) with these settings."""
    return parse_spec(
        {
            "name": "t",
            "engine": engine,
            "target": target,
            "cluster": cluster or {},
            "matrix": [{"model": model, "hardware": hardware, "labels": [label]}],
            "scenarios": ["1k1k"],
            "concurrencies": [1],
            **kw,
        }
    )


def engine_plan(
    label: str = "TP2",
    *,
    engine: str = "sim",
    target: str = "ssh",
    model: str = LLAMA,
    hardware: str = "h100_sxm",
    precision: str = "fp8",
    **cluster: Any,
) -> LaunchPlan:
    """The launch plan ``engine`` makes for ``label`` with these ``cluster`` settings (on a remote
    target, a simulated deployment runs on ``cluster.host`` at ``cluster.base_port``)."""
    spec = spec_for(engine, target, cluster, model, hardware, label)
    return get_engine(engine).launch_plan(spec, label, model, hardware, precision)
