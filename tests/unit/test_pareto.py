"""frontier.analysis.pareto against brute force, its edge cases, and the SQL frontier equal to it."""

from __future__ import annotations

import math
import tempfile

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from frontier.analysis.pareto import dominates, pareto_front
from frontier.warehouse import connect


def brute_force(points):
    front = []
    for i, p in enumerate(points):
        if any(math.isnan(v) for v in p):
            continue
        if any(dominates(q, p) for q in points if not any(math.isnan(v) for v in q)):
            continue
        if any(points[j] == p for j in range(i)):  # duplicates kept once: the lowest index
            continue
        front.append(i)
    return sorted(front, key=lambda i: points[i][0])


coords = st.one_of(st.integers(0, 6).map(float), st.floats(0, 1e6, allow_nan=False, allow_infinity=False))
point_lists = st.lists(st.tuples(coords, coords), max_size=40)


@given(point_lists)
@settings(max_examples=300, deadline=None)
def test_matches_brute_force(points):
    assert pareto_front(points) == brute_force(points)


def test_edge_cases():
    assert pareto_front([]) == []
    assert pareto_front([(1.0, 1.0)]) == [0]  # single point
    assert pareto_front([(1.0, 1.0), (1.0, 1.0), (1.0, 1.0)]) == [0]  # duplicates kept once
    assert pareto_front([(1.0, 5.0), (1.0, 3.0)]) == [0]  # same x: lower y dominated
    assert pareto_front([(1.0, 5.0), (2.0, 5.0)]) == [1]  # same y: lower x dominated
    assert pareto_front([(1.0, 5.0), (2.0, 4.0), (3.0, 1.0), (1.5, 3.0)]) == [0, 1, 2]  # dominated interior
    assert pareto_front([(float("nan"), 9.0), (1.0, 1.0)]) == [1]
    assert pareto_front([(3.0, 3.0), (1.0, 1.0), (3.0, 3.0), (2.0, 2.0)]) == [0]


# -- the SQL frontier (sql/intermediate/int_point_metrics.sql) == pareto_front ---------------------

_CON = None


def _con():
    global _CON
    if _CON is None:
        _CON = connect(tempfile.mkdtemp())
    return _CON


def sql_flags(rows):
    """Run int_point_metrics over in-memory points; returns (x, y, label, on_label, on_overall) by index."""
    con = _con()
    n = len(rows)
    table = pa.table(
        {
            "schema_version": pa.array([1] * n, pa.int32()),
            "run_id": ["r"] * n,
            "label": [r[2] for r in rows],
            "model": ["m"] * n,
            "hardware": ["h"] * n,
            "precision": ["fp8"] * n,
            "scenario": ["1k1k"] * n,
            "gpus": pa.array([1] * n, pa.int32()),
            "max_concurrency": pa.array(list(range(n)), pa.int32()),
            "total_token_throughput": pa.array([r[1] for r in rows], pa.float64()),
            "median_tpot_ms": pa.array([r[0] for r in rows], pa.float64()),
            "status": [r[3] for r in rows],
        }
    )
    con.register("hypothesis_points", table)
    con.execute(
        "CREATE OR REPLACE TEMP VIEW raw_points AS SELECT * FROM _empty_points UNION ALL BY NAME SELECT * FROM hypothesis_points"
    )
    out = con.execute(
        "SELECT max_concurrency, tok_s_user, tok_s_gpu, label, on_label_frontier, on_overall_frontier "
        "FROM int_point_metrics ORDER BY max_concurrency"
    ).fetchall()
    return out


tpots = st.sampled_from([2.0, 4.0, 5.0, 8.0, 10.0, 12.5, 20.0, 40.0])
thrs = st.one_of(st.sampled_from([100.0, 200.0, 250.0, 400.0]), st.floats(1, 1e5, allow_nan=False))
rows_st = st.lists(
    st.tuples(
        tpots, thrs, st.sampled_from(["TP8", "DEP8", "TP4"]), st.sampled_from(["ok", "ok", "ok", "failed"])
    ),
    min_size=1,
    max_size=30,
)


@given(rows_st)
@settings(max_examples=60, deadline=None)
def test_sql_frontier_equals_python(rows):
    out = sql_flags(rows)
    assert [r[0] for r in out] == list(range(len(rows)))
    pts = [(r[1], r[2]) if rows[i][3] == "ok" else (math.nan, math.nan) for i, r in enumerate(out)]
    assert {i for i, r in enumerate(out) if r[5]} == set(pareto_front(pts))
    for label in {r[2] for r in rows}:
        sub = [(i, p) for i, p in enumerate(pts) if rows[i][2] == label]
        expected = {sub[k][0] for k in pareto_front([p for _, p in sub])}
        assert {i for i, r in enumerate(out) if r[4] and r[3] == label} == expected
