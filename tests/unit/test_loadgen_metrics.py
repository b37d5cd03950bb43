"""summarize(): hand-computed figures, numpy equality, warm-up / failure rules, POINTS shape."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frontier.loadgen.metrics import summarize
from frontier.warehouse.schemas import LATENCY_STAT_KEYS, POINTS, REQUESTS

T0 = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


def row(i, start_s, ttft, e2e, out_tokens, itl=(), *, in_tokens=100, success=True, warmup=False):
    return {
        "request_index": i,
        "is_warmup": warmup,
        "start_ts": T0 + timedelta(seconds=start_s),
        "end_ts": T0 + timedelta(seconds=start_s + e2e / 1000),
        "queue_ms": 0.0,
        "ttft_ms": ttft,
        "e2e_ms": e2e,
        "tpot_ms": None,
        "itl_ms": list(itl),
        "input_tokens": in_tokens,
        "output_tokens": out_tokens,
        "success": success,
        "error": None if success else "stream dropped",
    }


def hand_log():
    return [
        # warm-up rows: wildly slow, must not count anywhere
        row(0, -5.0, 9000.0, 9900.0, 10, [100.0] * 9, warmup=True),
        row(1, -4.0, 9000.0, 9900.0, 10, [100.0] * 9, warmup=True),
        # measured, successful: ttft 10..50, first send at t=0, last completion at t=2.0
        row(2, 0.0, 10.0, 1000.0, 11, [99.0] * 10),  # tpot (1000-10)/10 = 99
        row(3, 0.5, 20.0, 1020.0, 11, [100.0] * 10),  # tpot 100
        row(4, 0.6, 30.0, 1400.0, 1, []),  # one token: no tpot
        row(5, 0.8, 40.0, 1040.0, 6, [200.0] * 5),  # tpot 200
        row(6, 1.0, 50.0, 1000.0, 2, [950.0]),  # tpot 950, last completion at 2.0
        # measured, failed: counted, excluded from latency and totals
        row(7, 0.2, 5000.0, 1500.0, 3, [1.0, 1.0], success=False),
    ]


def test_hand_computed_figures():
    s = summarize(hand_log(), backend="sglang", max_concurrency=4, num_prompts=6, warmup_requests=2)
    assert s["completed"] == 5 and s["failed"] == 1
    assert s["error_rate"] == pytest.approx(1 / 6)
    assert s["duration"] == pytest.approx(2.0)
    assert s["total_input_tokens"] == 500
    assert s["total_output_tokens"] == 11 + 11 + 1 + 6 + 2
    assert s["request_throughput"] == pytest.approx(2.5)
    assert s["input_throughput"] == pytest.approx(250.0)
    assert s["output_throughput"] == pytest.approx(31 / 2)
    assert s["total_token_throughput"] == pytest.approx(531 / 2)
    # TTFT 10,20,30,40,50 (the failed 5000 is out)
    assert s["mean_ttft_ms"] == pytest.approx(30.0)
    assert s["median_ttft_ms"] == pytest.approx(30.0)
    assert s["std_ttft_ms"] == pytest.approx(math.sqrt(200))
    assert s["p90_ttft_ms"] == pytest.approx(46.0)  # linear: 40 + 0.6 * 10
    assert s["p95_ttft_ms"] == pytest.approx(48.0)
    assert s["p99_ttft_ms"] == pytest.approx(49.6)
    # TPOT 99, 100, 200, 950 (the 1-token request has none)
    assert s["mean_tpot_ms"] == pytest.approx((99 + 100 + 200 + 950) / 4)
    assert s["median_tpot_ms"] == pytest.approx(150.0)
    assert s["p99_tpot_ms"] == pytest.approx(200 + 0.97 * 750)
    # ITL pooled over successful rows: 10 x 99, 10 x 100, 5 x 200, 1 x 950
    itl = [99.0] * 10 + [100.0] * 10 + [200.0] * 5 + [950.0]
    assert s["mean_itl_ms"] == pytest.approx(np.mean(itl))
    assert s["median_itl_ms"] == pytest.approx(100.0)
    # e2e 1000, 1020, 1400, 1040, 1000
    assert s["mean_e2e_latency_ms"] == pytest.approx(1092.0)
    assert s["median_e2e_latency_ms"] == pytest.approx(1020.0)
    assert s["concurrency"] == pytest.approx(5.46 / 2.0)
    assert s["backend"] == "sglang" and s["max_concurrency"] == 4 and s["warmup_requests"] == 2
    assert s["source"] == "frontier" and s["status"] == "ok"


def test_only_one_token_outputs_gives_null_tpot():
    log = [row(0, 0.0, 10.0, 10.0, 1), row(1, 0.0, 12.0, 12.0, 1)]
    s = summarize(log)
    assert s["mean_tpot_ms"] is None and s["p99_tpot_ms"] is None
    assert s["mean_itl_ms"] is None
    assert s["mean_ttft_ms"] == pytest.approx(11.0)


def test_all_failed_point():
    log = [row(0, 0.0, None, 5.0, 0, success=False), row(1, 0.0, None, 7.0, 0, success=False)]
    s = summarize(log, max_concurrency=2)
    assert s["completed"] == 0 and s["failed"] == 2 and s["error_rate"] == 1.0
    assert s["status"] == "failed" and s["mean_ttft_ms"] is None and s["concurrency"] is None
    assert s["total_output_tokens"] == 0


def test_empty_log():
    s = summarize([])
    assert s["completed"] == 0 and s["failed"] == 0 and s["duration"] is None
    assert s["request_throughput"] is None and s["status"] == "failed"


def test_explicit_duration_and_client_health():
    s = summarize(hand_log(), duration_from_requests=False, duration=4.0, client_lag_p99_ms=80.0)
    assert s["duration"] == 4.0 and s["request_throughput"] == pytest.approx(1.25)
    assert s["client_lag_p99_ms"] == 80.0 and s["client_limited"] is True
    s = summarize(hand_log(), client_lag_p99_ms=80.0, lag_threshold_ms=100.0)
    assert s["client_limited"] is False
    with pytest.raises(TypeError):
        summarize(hand_log(), duration_from_requests=False)
    with pytest.raises(TypeError):
        summarize(hand_log(), bogus=1)


def test_summary_fits_points_schema_and_rows_fit_requests_schema():
    s = summarize(hand_log(), backend="sglang", max_concurrency=4, num_prompts=6, warmup_requests=2)
    names = set(POINTS.names)
    assert set(s) <= names, set(s) - names
    assert set(LATENCY_STAT_KEYS) <= set(s)
    fields = [POINTS.field(k) for k in s]
    pa.Table.from_pylist([s], schema=pa.schema(fields))  # types cast cleanly
    req_fields = [REQUESTS.field(k) for k in hand_log()[0]]
    pa.Table.from_pylist(hand_log(), schema=pa.schema(req_fields))


latency = st.floats(min_value=0.1, max_value=1e5, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(
    data=st.lists(
        st.tuples(latency, latency, st.integers(1, 50), st.lists(latency, max_size=6), st.booleans()),
        min_size=1,
        max_size=30,
    )
)
def test_duckdb_equals_numpy(data):
    log = [
        row(i, i * 0.1, ttft, ttft + extra, n, itl, success=ok)
        for i, (ttft, extra, n, itl, ok) in enumerate(data)
    ]
    s = summarize(log)
    ok = [r for r in log if r["success"]]
    if not ok:
        assert s["mean_ttft_ms"] is None
        return
    series = {
        "ttft": [r["ttft_ms"] for r in ok],
        "e2e_latency": [r["e2e_ms"] for r in ok],
        "tpot": [
            (r["e2e_ms"] - r["ttft_ms"]) / (r["output_tokens"] - 1) for r in ok if r["output_tokens"] > 1
        ],
        "itl": [x for r in ok for x in r["itl_ms"]],
    }
    for name, xs in series.items():
        if not xs:
            assert s[f"mean_{name}_ms"] is None
            continue
        expect = {
            "mean": np.mean(xs),
            "median": np.median(xs),
            "std": np.std(xs),
            "p90": np.percentile(xs, 90),
            "p95": np.percentile(xs, 95),
            "p99": np.percentile(xs, 99),
        }
        for stat, v in expect.items():
            assert s[f"{stat}_{name}_ms"] == pytest.approx(v, rel=1e-9, abs=1e-6), (stat, name)
    assert s["concurrency"] == pytest.approx(sum(series["e2e_latency"]) / 1000 / s["duration"])
