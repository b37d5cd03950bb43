"""bench_serving JSON: the adapter over a bench_serving output file, and our own JSON's keys."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from frontier.errors import FrontierError
from frontier.loadgen import PointConfig, PointResult
from frontier.loadgen.bench_serving import BENCH_SERVING_KEYS, load_jsonl, to_bench_serving_json
from frontier.loadgen.metrics import summarize
from frontier.loadgen.runner import settings_of
from frontier.warehouse.schemas import LATENCY_STAT_KEYS, POINTS

FIXTURE = Path(__file__).parents[1] / "data" / "bench_serving" / "sglang_llama8b_h100_1k1k.jsonl"


def test_fixture_has_sglang_keys():
    first = json.loads(FIXTURE.read_text().splitlines()[0])
    assert tuple(first) == BENCH_SERVING_KEYS and len(BENCH_SERVING_KEYS) == 49


def test_load_jsonl_maps_to_points():
    points = load_jsonl(FIXTURE)
    assert len(points) == 3
    p = points[0]
    assert set(p) <= set(POINTS.names)
    assert p["source"] == "bench_serving" and p["status"] == "ok"
    assert (p["isl"], p["osl"], p["max_concurrency"]) == (1024, 1024, 16)
    assert p["request_rate"] is None  # Infinity = unlimited
    assert p["backend"] == "sglang"
    raw = json.loads(FIXTURE.read_text().splitlines()[0])
    assert p["total_token_throughput"] == raw["total_throughput"]
    assert p["median_tpot_ms"] == raw["median_tpot_ms"] and p["p90_ttft_ms"] == raw["p90_ttft_ms"]
    old = points[2]  # older format: no p90/p95, finite rate, no max_concurrency
    assert old["request_rate"] == 2.0 and old["max_concurrency"] is None
    assert old["p90_ttft_ms"] is None and old["p99_ttft_ms"] is not None


def test_load_jsonl_accepts_total_token_throughput(tmp_path):
    raw = json.loads(FIXTURE.read_text().splitlines()[1])
    raw["total_token_throughput"] = raw.pop("total_throughput")
    raw["request_rate"] = "inf"
    f = tmp_path / "r.jsonl"
    f.write_text(json.dumps(raw) + "\n\n")
    (p,) = load_jsonl(f)
    assert p["total_token_throughput"] == raw["total_token_throughput"] and p["request_rate"] is None


def test_load_jsonl_errors_name_the_line(tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_text(FIXTURE.read_text().splitlines()[0] + '\n{"backend": "sglang"}\n')
    with pytest.raises(FrontierError, match="line 2"):
        load_jsonl(f)
    with pytest.raises(FrontierError, match="missing.jsonl"):
        load_jsonl(tmp_path / "missing.jsonl")


def _result() -> PointResult:
    cfg = PointConfig(
        base_url="http://127.0.0.1:1", model="m", isl=8, osl=4, max_concurrency=2, num_prompts=3
    )
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(3):
        rows.append(
            {
                "request_index": i, "is_warmup": False, "start_ts": t0 + timedelta(seconds=i * 0.5),
                "end_ts": t0 + timedelta(seconds=i * 0.5 + 0.4), "queue_ms": 0.0, "ttft_ms": 100.0,
                "e2e_ms": 400.0, "tpot_ms": 100.0, "itl_ms": [100.0] * 3, "input_tokens": 8,
                "output_tokens": 4, "success": True, "error": None,
            }
        )  # fmt: skip
    return PointResult(config=cfg, requests=rows, summary=summarize(rows, **settings_of(cfg)))


def test_to_bench_serving_json_round_trips_through_the_adapter(tmp_path):
    r = _result()
    line = r.to_bench_serving_json()
    assert tuple(line)[: len(BENCH_SERVING_KEYS)] == BENCH_SERVING_KEYS
    assert line["total_throughput"] == line["total_token_throughput"] == r.summary["total_token_throughput"]
    assert line["request_rate"] == math.inf and line["backend"] == "sglang"
    assert line["max_concurrent_requests"] == 2  # requests 0 and 1 share second 0; 1 and 2 second 1
    assert line["max_output_tokens_per_s"] == 8  # tokens of requests 0 and 1 all land in second 0
    f = tmp_path / "ours.jsonl"
    f.write_text(json.dumps(line) + "\n")
    (p,) = load_jsonl(f)
    for k in ("completed", "failed", "duration", "total_token_throughput", "concurrency", *LATENCY_STAT_KEYS):
        assert p[k] == r.summary[k], k
    assert to_bench_serving_json(r) == line
