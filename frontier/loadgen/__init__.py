"""The load generator: an asyncio streaming client with ``sglang.bench_serving``-compatible metrics.

Public API: `PointConfig`, `run_point` / `run_point_sync` -> `PointResult`, `run_ladder`,
`metrics.summarize`, `bench_serving.load_jsonl`. Never imports Airflow. Exports load lazily so a
client shard process (`sharding`) starts without DuckDB / pandas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from frontier.loadgen.config import PointConfig
    from frontier.loadgen.ladder import run_ladder
    from frontier.loadgen.result import PointResult
    from frontier.loadgen.runner import run_point, run_point_sync

_EXPORTS = {
    "PointConfig": "frontier.loadgen.config",
    "PointResult": "frontier.loadgen.result",
    "run_ladder": "frontier.loadgen.ladder",
    "run_point": "frontier.loadgen.runner",
    "run_point_sync": "frontier.loadgen.runner",
}
__all__ = ["PointConfig", "PointResult", "run_ladder", "run_point", "run_point_sync"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'frontier.loadgen' has no attribute {name!r}")
