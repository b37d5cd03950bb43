"""The Pareto frontier of (x, y) points, maximizing both (x = tok/s/user, y = tok/s/GPU).

A point is on the frontier when no other point has x >= and y >= with one strictly greater.
Duplicates (same x and y) are kept once: the lowest index. Points with a NaN or None coordinate
are never on it. The SQL frontier (sql/intermediate/int_point_metrics.sql) follows the same rule
and is tested equal to this function.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def _finite(p: tuple[float, float] | None) -> bool:
    return p is not None and all(v is not None and not math.isnan(v) for v in p)


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the frontier points, sorted by x ascending (y descending). O(n log n)."""
    order = sorted(
        (i for i, p in enumerate(points) if _finite(p)), key=lambda i: (-points[i][0], -points[i][1], i)
    )
    front: list[int] = []
    best_y = -math.inf  # best y among strictly greater x
    i = 0
    while i < len(order):
        x = points[order[i]][0]
        j = i
        while j < len(order) and points[order[j]][0] == x:
            j += 1
        top = order[i]  # highest y at this x, lowest index among equal (x, y)
        if points[top][1] > best_y:
            front.append(top)
            best_y = points[top][1]
        i = j
    return front[::-1]


def dominates(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """True when ``a`` is at least as good as ``b`` on both axes and better on one."""
    return a[0] >= b[0] and a[1] >= b[1] and (a[0] > b[0] or a[1] > b[1])
