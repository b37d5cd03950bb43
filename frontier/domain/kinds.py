"""The names of the pluggable kinds a spec may choose: engines and execution targets.

A spec validates ``engine`` and ``target`` against these; the registries
(:func:`frontier.planning.engines.register_engine`, :func:`frontier.launch.targets.register_target`)
refuse a kind that is not declared here, and a test checks both sides list the same kinds.
"""

from __future__ import annotations

from typing import Literal, get_args

EngineKind = Literal["sim", "sglang", "endpoint", "predict"]
TargetKind = Literal["local", "ssh", "kubernetes"]

ENGINE_KINDS: tuple[str, ...] = get_args(EngineKind)
TARGET_KINDS: tuple[str, ...] = get_args(TargetKind)
