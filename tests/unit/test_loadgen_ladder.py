"""run_ladder's choice of client processes from the previous point's event rate."""

from __future__ import annotations

from frontier.loadgen import PointConfig, PointResult
from frontier.loadgen.ladder import _processes_from, failed_point


def point(c: int, output_throughput: float, status: str = "ok") -> PointResult:
    cfg = PointConfig(base_url="http://x", model="m", isl=8, osl=8, max_concurrency=c, num_prompts=1)
    return PointResult(config=cfg, summary={"status": status, "output_throughput": output_throughput})


def test_shards_when_the_scaled_rate_passes_the_threshold(monkeypatch):
    monkeypatch.setattr("frontier.loadgen.sharding.max_processes", lambda: 8)
    base = point(1, 0).config.model_copy(update={"shard_above_events_s": 4000})
    assert _processes_from([], base, 64) == 1  # nothing measured yet
    assert _processes_from([point(8, 1000.0)], base, 16) == 1  # 2000/s expected
    assert _processes_from([point(8, 1000.0)], base, 64) == 2  # 8000/s expected
    assert _processes_from([point(8, 1000.0), point(16, 0, "failed")], base, 256) == 8  # last ok point
    off = base.model_copy(update={"shard_above_events_s": None})
    assert _processes_from([point(8, 1000.0)], off, 256) == 1


def test_failed_point_has_a_reason_and_a_failed_summary():
    p = failed_point(point(4, 0).config, "server gone")
    assert not p.ok and p.error == "server gone" and p.summary["max_concurrency"] == 4
