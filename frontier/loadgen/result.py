"""`PointResult`: the request rows and the summary of one benchmark point."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from frontier.loadgen.config import PointConfig


@dataclass
class PointResult:
    """Rows (one per request, warm-up included and flagged) and POINTS-shaped ``summary``.

    ``error`` is set when the point could not run at all (then ``summary['status'] == 'failed'``).
    """

    config: PointConfig
    requests: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    server_info: dict[str, Any] | None = None  # GET /get_server_info after the point (redacted)

    @property
    def ok(self) -> bool:
        return self.summary.get("status") == "ok"

    def to_bench_serving_json(self) -> dict[str, Any]:
        """The result as one ``sglang.bench_serving --output-file`` JSON line (same keys)."""
        from frontier.loadgen.bench_serving import to_bench_serving_json

        return to_bench_serving_json(self)
