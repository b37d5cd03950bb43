"""Point metrics from a request log: `summarize`, with ``sglang.bench_serving``'s names and definitions.

Pure: rows in, one dict out. Aggregation runs in DuckDB (``quantile_cont`` is numpy's linear
percentile, ``stddev_pop`` is ``np.std``; tests check both against numpy). Rules:
- warm-up rows (``is_warmup``) are left out of every figure;
- failed rows count in ``failed`` / ``error_rate`` only, never in latencies or token totals;
- TPOT per request = (e2e - ttft) / (output_tokens - 1), null when output_tokens <= 1;
- ITL statistics pool every gap of every successful request;
- throughputs and ``concurrency`` (sum of e2e / duration) use the wall time from the first send to
  the last completion of the measured rows (or ``duration=`` when ``duration_from_requests=False``).
Statistics of an empty set are null (bench_serving prints 0 there; null keeps 1000/TPOT honest).
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from frontier.warehouse.schemas import LATENCY_STAT_KEYS

_ROWS = pa.schema(
    [
        pa.field("is_warmup", pa.bool_()),
        pa.field("start_ts", pa.timestamp("us", tz="UTC")),
        pa.field("end_ts", pa.timestamp("us", tz="UTC")),
        pa.field("ttft_ms", pa.float64()),
        pa.field("e2e_ms", pa.float64()),
        pa.field("itl_ms", pa.list_(pa.float64())),
        pa.field("input_tokens", pa.int64()),
        pa.field("output_tokens", pa.int64()),
        pa.field("success", pa.bool_()),
    ]
)

_STATS = {  # suffix -> SQL aggregate over column x
    "mean": "avg(x)",
    "median": "quantile_cont(x, 0.5)",
    "std": "stddev_pop(x)",
    "p90": "quantile_cont(x, 0.9)",
    "p95": "quantile_cont(x, 0.95)",
    "p99": "quantile_cont(x, 0.99)",
}
# metric name -> SQL relation yielding one column x over successful measured requests
_SOURCES = {
    "ttft": "SELECT ttft_ms AS x FROM ok",
    "tpot": "SELECT (e2e_ms - ttft_ms) / (output_tokens - 1) AS x FROM ok WHERE output_tokens > 1",
    "itl": "SELECT unnest(itl_ms) AS x FROM ok",
    "e2e_latency": "SELECT e2e_ms AS x FROM ok",
}

_TOTALS_SQL = """
SELECT
  count(*) FILTER (WHERE success) AS completed,
  count(*) FILTER (WHERE NOT success) AS failed,
  coalesce(sum(input_tokens) FILTER (WHERE success), 0) AS total_input_tokens,
  coalesce(sum(output_tokens) FILTER (WHERE success), 0) AS total_output_tokens,
  coalesce(sum(e2e_ms) FILTER (WHERE success), 0) AS sum_e2e_ms,
  (epoch_us(max(end_ts)) - epoch_us(min(start_ts))) / 1e6 AS span_s
FROM measured
"""

SETTINGS_KEYS = ("backend", "max_concurrency", "request_rate", "num_prompts", "warmup_requests", "isl", "osl")


def _stats_sql() -> str:
    parts = []
    for metric, source in _SOURCES.items():
        aggs = ", ".join(f"{agg} AS {stat}_{metric}_ms" for stat, agg in _STATS.items())
        parts.append(f"(SELECT {aggs} FROM ({source}))")
    return "SELECT * FROM " + " CROSS JOIN ".join(parts)


_STATS_SQL = _stats_sql()


def _table(requests: list[dict[str, Any]]) -> pa.Table:
    cols = {f.name: [r.get(f.name) for r in requests] for f in _ROWS}
    cols["is_warmup"] = [bool(v) for v in cols["is_warmup"]]
    return pa.table(cols, schema=_ROWS)


def summarize(
    requests: list[dict[str, Any]],
    *,
    duration_from_requests: bool = True,
    **settings: Any,
) -> dict[str, Any]:
    """POINTS-shaped metrics of one point from its request rows.

    ``settings`` may carry backend, max_concurrency, request_rate, num_prompts, warmup_requests,
    isl, osl (copied through), ``client_lag_p99_ms`` and ``lag_threshold_ms`` (client health), and
    ``duration`` (seconds; required when ``duration_from_requests`` is False).
    """
    unknown = set(settings) - {*SETTINGS_KEYS, "duration", "client_lag_p99_ms", "lag_threshold_ms"}
    if unknown:
        raise TypeError(f"summarize: unknown settings {sorted(unknown)}")
    con = duckdb.connect()
    try:
        con.register("reqs", _table(requests))
        con.execute("CREATE TEMP VIEW measured AS SELECT * FROM reqs WHERE NOT is_warmup")
        con.execute("CREATE TEMP VIEW ok AS SELECT * FROM measured WHERE success")
        cur = con.execute(_TOTALS_SQL)
        totals = dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))
        cur = con.execute(_STATS_SQL)
        stats = dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))
    finally:
        con.close()

    if duration_from_requests:
        duration = totals["span_s"]
    else:
        if settings.get("duration") is None:
            raise TypeError("summarize: duration= is required when duration_from_requests=False")
        duration = float(settings["duration"])
    completed, failed = int(totals["completed"]), int(totals["failed"])
    tin, tout = int(totals["total_input_tokens"]), int(totals["total_output_tokens"])

    def per_s(x: float) -> float | None:
        return x / duration if duration else None

    lag = settings.get("client_lag_p99_ms")
    threshold = settings.get("lag_threshold_ms", 50.0)
    out: dict[str, Any] = {k: settings.get(k) for k in SETTINGS_KEYS}
    out.update(
        completed=completed,
        failed=failed,
        duration=duration,
        total_input_tokens=tin,
        total_output_tokens=tout,
        request_throughput=per_s(completed),
        input_throughput=per_s(tin),
        output_throughput=per_s(tout),
        total_token_throughput=per_s(tin + tout),
    )
    out.update({k: (None if stats[k] is None else float(stats[k])) for k in LATENCY_STAT_KEYS})
    out.update(
        concurrency=per_s(totals["sum_e2e_ms"] / 1000.0) if completed else None,
        error_rate=failed / (completed + failed) if completed + failed else None,
        client_lag_p99_ms=lag,
        client_limited=None if lag is None else bool(lag > threshold),
        source="frontier",
        status="ok" if completed > 0 else "failed",
    )
    return out
