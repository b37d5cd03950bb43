"""Compatibility with ``sglang.bench_serving``'s ``--output-file`` JSON lines, both ways.

- `to_bench_serving_json`: a `PointResult` as one such line: the 49 keys sglang's
  ``benchmark/serving.py`` writes (names and meaning), plus frontier's extras
  (``total_token_throughput``, ``failed``, ``error_rate``, client health).
- `load_jsonl`: such a file (one JSON object per line, as sglang appends them) as POINTS-shaped
  dicts with ``source="bench_serving"``; accepts ``total_throughput`` or ``total_token_throughput``,
  maps ``random_input_len`` / ``random_output_len`` to ``isl`` / ``osl``, ``inf`` rate to null.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from frontier.errors import FrontierError
from frontier.warehouse.schemas import LATENCY_STAT_KEYS

if TYPE_CHECKING:
    from frontier.loadgen.result import PointResult

# the keys of one sglang.bench_serving result line, in its order (sglang 0.5.x benchmark/serving.py)
BENCH_SERVING_KEYS = (
    "tag", "backend", "dataset_name", "request_rate", "max_concurrency", "sharegpt_output_len",
    "random_input_len", "random_output_len", "random_range_ratio", "server_info", "duration",
    "completed", "total_input_tokens", "total_input_text_tokens", "total_input_vision_tokens",
    "total_output_tokens", "total_output_tokens_retokenized", "request_throughput",
    "input_throughput", "output_throughput", "total_throughput",
    *(f"{s}_e2e_latency_ms" for s in ("mean", "median", "std", "p90", "p95", "p99")),
    *(f"{s}_ttft_ms" for s in ("mean", "median", "std", "p90", "p95", "p99")),
    *(f"{s}_tpot_ms" for s in ("mean", "median", "std", "p90", "p95", "p99")),
    *(f"{s}_itl_ms" for s in ("mean", "median", "std", "p90", "p95", "p99")),
    "concurrency", "accept_length", "max_output_tokens_per_s", "max_concurrent_requests",
)  # fmt: skip

_BACKEND_NAMES = {"sglang": "sglang", "openai": "sglang-oai", "openai-chat": "sglang-oai-chat"}
_BACKEND_FROM = {"sglang": "sglang", "sglang-native": "sglang", "sglang-oai": "openai",
                 "vllm": "openai", "lmdeploy": "openai", "sglang-oai-chat": "openai-chat",
                 "vllm-chat": "openai-chat", "lmdeploy-chat": "openai-chat"}  # fmt: skip


def _peaks(rows: list[dict[str, Any]]) -> tuple[float, int]:
    """bench_serving's per-second peaks: max output tokens in a second, max requests alive in one."""
    if not rows:
        return 0.0, 0
    t0 = min(r["start_ts"] for r in rows)
    starts = np.array([(r["start_ts"] - t0).total_seconds() for r in rows])
    lat = np.array([r["e2e_ms"] / 1000 for r in rows])
    n = int(np.ceil((starts + lat).max())) + 1
    tokens, alive = np.zeros(n), np.zeros(n)
    for s, e, r in zip(starts, lat, rows, strict=True):
        times = s + (r["ttft_ms"] or 0) / 1000 + np.concatenate([[0.0], np.cumsum(r["itl_ms"] or []) / 1000])
        idx = times.astype(int)
        np.add.at(tokens, idx[(idx >= 0) & (idx < n)], 1)
        alive[int(s) : min(int(s + e) + 1, n)] += 1
    return float(tokens.max()), int(alive.max())


def to_bench_serving_json(result: PointResult) -> dict[str, Any]:
    s, cfg = result.summary, result.config
    ok_rows = [r for r in result.requests if r["success"] and not r["is_warmup"]]
    max_tok_s, max_alive = _peaks(ok_rows)
    line: dict[str, Any] = {
        "tag": None,
        "backend": _BACKEND_NAMES[cfg.backend],
        "dataset_name": cfg.dataset,
        "request_rate": float("inf") if cfg.request_rate is None else cfg.request_rate,
        "max_concurrency": cfg.max_concurrency,
        "sharegpt_output_len": None,
        "random_input_len": cfg.isl,
        "random_output_len": cfg.osl,
        "random_range_ratio": cfg.range_ratio,
        "server_info": result.server_info,
        "duration": s["duration"],
        "completed": s["completed"],
        "total_input_tokens": s["total_input_tokens"],
        "total_input_text_tokens": s["total_input_tokens"],
        "total_input_vision_tokens": 0,
        "total_output_tokens": s["total_output_tokens"],
        "total_output_tokens_retokenized": s["total_output_tokens"],
        "request_throughput": s["request_throughput"],
        "input_throughput": s["input_throughput"],
        "output_throughput": s["output_throughput"],
        "total_throughput": s["total_token_throughput"],
        **{k: s[k] for k in LATENCY_STAT_KEYS},
        "concurrency": s["concurrency"],
        "accept_length": None,
        "max_output_tokens_per_s": max_tok_s,
        "max_concurrent_requests": max_alive,
    }
    line = {k: line[k] for k in BENCH_SERVING_KEYS}  # sglang's order
    line.update(
        total_token_throughput=s["total_token_throughput"],
        num_prompts=s["num_prompts"],
        warmup_requests=s["warmup_requests"],
        failed=s["failed"],
        error_rate=s["error_rate"],
        client_lag_p99_ms=s["client_lag_p99_ms"],
        client_limited=s["client_limited"],
    )
    return line


def _float(v: Any) -> float | None:
    return None if v is None else float(v)


def to_point(d: dict[str, Any]) -> dict[str, Any]:
    """One bench_serving result object as a POINTS-shaped dict (metric columns only)."""
    total = d.get("total_token_throughput", d.get("total_throughput"))
    if total is None:
        raise FrontierError("bench_serving line has neither total_throughput nor total_token_throughput")
    rate = d.get("request_rate")
    if isinstance(rate, str):  # "inf" or "trace"
        rate = None if rate in ("inf", "Infinity", "trace") else float(rate)
    if rate is not None and math.isinf(rate):
        rate = None
    completed = int(d["completed"])
    failed = d.get("failed")
    num_prompts = d.get("num_prompts")
    if failed is None and num_prompts is not None:
        failed = max(int(num_prompts) - completed, 0)
    backend = d.get("backend")
    point: dict[str, Any] = {
        "isl": d.get("random_input_len"),
        "osl": d.get("random_output_len"),
        "backend": _BACKEND_FROM.get(backend, backend),
        "max_concurrency": d.get("max_concurrency"),
        "request_rate": rate,
        "num_prompts": num_prompts,
        "warmup_requests": d.get("warmup_requests"),
        "completed": completed,
        "failed": failed,
        "duration": float(d["duration"]),
        "total_input_tokens": int(d["total_input_tokens"]),
        "total_output_tokens": int(d["total_output_tokens"]),
        "request_throughput": float(d["request_throughput"]),
        "input_throughput": float(d["input_throughput"]),
        "output_throughput": float(d["output_throughput"]),
        "total_token_throughput": float(total),
        **{k: _float(d.get(k)) for k in LATENCY_STAT_KEYS},
        "concurrency": _float(d.get("concurrency")),
        "error_rate": None if failed is None else failed / max(completed + failed, 1),
        "client_lag_p99_ms": _float(d.get("client_lag_p99_ms")),
        "client_limited": d.get("client_limited"),
        "source": "bench_serving",
        "status": "ok" if completed > 0 else "failed",
    }
    return point


def load_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Every result line of a ``bench_serving --output-file`` file, as POINTS-shaped dicts."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise FrontierError(f"bench_serving file {p}: {e.strerror or e}") from e
    points = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            points.append(to_point(json.loads(line)))  # json reads Infinity, as bench_serving writes inf
        except (ValueError, KeyError, TypeError, FrontierError) as e:
            raise FrontierError(
                f"bench_serving file {p}, line {n}: not a result line ({type(e).__name__}: {e})"
            ) from e
    return points
