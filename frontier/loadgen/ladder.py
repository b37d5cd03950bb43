"""A ladder of points over one running server: one `run_point` per max-concurrency value.

A point that cannot run (server gone, unexpected client error) yields a failed `PointResult` with
the reason, and the ladder goes on; the caller decides what a failed point means. Client sharding:
the previous point's output token rate, scaled by the concurrency ratio, estimates the next point's
event rate; above ``shard_above_events_s`` the point runs on several client processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from frontier.domain.load import DEFAULT_LOAD
from frontier.loadgen.config import PointConfig
from frontier.loadgen.metrics import summarize
from frontier.loadgen.result import PointResult
from frontier.loadgen.runner import Progress, run_point_sync, settings_of
from frontier.loadgen.sharding import processes_for


def _processes_from(done: list[PointResult], base_cfg: PointConfig, c: int) -> int:
    """Client processes for concurrency c, from the last successful point's event rate."""
    last = next((p for p in reversed(done) if p.ok and p.summary["output_throughput"]), None)
    if last is None or base_cfg.shard_above_events_s is None:
        return 1
    expected = last.summary["output_throughput"] * c / last.config.max_concurrency
    return processes_for(expected, base_cfg.shard_above_events_s, c, limit=base_cfg.max_client_processes)


def failed_point(cfg: PointConfig, reason: str) -> PointResult:
    summary = summarize([], **settings_of(cfg))
    return PointResult(config=cfg, requests=[], summary=summary, error=reason)


def iter_ladder(
    base_cfg: PointConfig,
    concurrencies: list[int],
    num_prompts_for: Callable[[int], int] = DEFAULT_LOAD.prompts_for,
    warmup_for: Callable[[int], int] = DEFAULT_LOAD.warmups_for,
    progress: Callable[[int, int, int], None] | None = None,
) -> Iterator[PointResult]:
    """Run each concurrency in order, yielding each point as it ends; the caller may stop early
    (e.g. when the server died). ``progress(c, done, total)`` if given. A point whose expected
    event rate exceeds ``base_cfg.shard_above_events_s`` runs on several client processes."""
    results: list[PointResult] = []
    for c in concurrencies:
        update = {"max_concurrency": c, "num_prompts": num_prompts_for(c), "warmup_requests": warmup_for(c)}
        update["client_processes"] = min(
            c, max(base_cfg.client_processes, _processes_from(results, base_cfg, c))
        )
        cfg = PointConfig.model_validate({**base_cfg.model_dump(), **update})
        point_progress: Progress | None = None
        if progress is not None:
            point_progress = lambda d, t, c=c: progress(c, d, t)
        try:
            result = run_point_sync(cfg, progress=point_progress)
        except Exception as e:  # noqa: BLE001 - a point's failure must not stop the ladder
            result = failed_point(cfg, f"{type(e).__name__}: {e}")
        results.append(result)
        yield result


def run_ladder(
    base_cfg: PointConfig,
    concurrencies: list[int],
    num_prompts_for: Callable[[int], int] = DEFAULT_LOAD.prompts_for,
    warmup_for: Callable[[int], int] = DEFAULT_LOAD.warmups_for,
    progress: Callable[[int, int, int], None] | None = None,
) -> list[PointResult]:
    """Every point of :func:`iter_ladder`."""
    return list(iter_ladder(base_cfg, concurrencies, num_prompts_for, warmup_for, progress))
