"""Adaptive ladders (``adaptive: true`` in a spec): which concurrencies of one label to measure.

Pure logic, no I/O: the caller (:func:`frontier.run.item.bench_item`) gives the predictions of
every label of the group (model, hardware, precision, scenario), the points other labels have
measured so far in this run, and this label's ladder; it iterates :class:`AdaptiveLadder` for the
next concurrency and :meth:`AdaptiveLadder.record` s each measurement before asking again.

Points are ``(x, y)`` = (tok/s/user, tok/s/GPU), both maximized. The rules, in order:

- **calibrate**: this label's predictions are corrected by the measured / predicted ratio of its
  nearest (in log concurrency) measured point, so a model that is off by a constant factor still
  decides well after the first measurement;
- **skip**: a concurrency whose corrected prediction is dominated by a *reference* point (another
  label's measurement, or its prediction while it has none; or this label's own measurement) by
  more than ``margin`` on both axes is not measured;
- **stop**: once the last ``stop_after`` measured points of this label are dominated (by
  ``margin``) and no remaining prediction reaches the reference frontier, the label fell off the
  frontier: the rest of its ladder is skipped;
- **refine**: after the ladder, between two consecutive measured points of this label that are
  both on the frontier and ``refine_gap`` x or more apart in concurrency, the geometric middle is
  measured when its prediction lies above the chord between them by more than ``margin`` (the
  frontier bends there); at most ``max_refine`` per label.

Every skipped concurrency is kept in :attr:`AdaptiveLadder.skipped` with its reason.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

XY = tuple[float, float]


@dataclass(frozen=True)
class Ref:
    """A reference point: ``measured`` or predicted, of ``label`` at concurrency ``c``."""

    label: str
    c: int
    x: float
    y: float
    measured: bool

    def describe(self) -> str:
        how = "measured" if self.measured else "predicted"
        return f"{self.label} c={self.c} ({how} {self.y:,.0f} tok/s/GPU at {self.x:,.1f} tok/s/user)"


@dataclass(frozen=True)
class Skip:
    c: int
    reason: str


def _ok(p: XY | None) -> bool:
    return p is not None and all(v is not None and math.isfinite(v) and v > 0 for v in p)


def dominated_by(p: XY, refs: list[Ref], margin: float) -> Ref | None:
    """The reference that beats ``p`` by more than ``margin`` on both axes (the best such), or None."""
    best = None
    for q in refs:
        beats = q.x >= p[0] * (1 + margin) and q.y >= p[1] * (1 + margin) and (q.x, q.y) != p
        if beats and (best is None or q.y * q.x > best.y * best.x):
            best = q
    return best


def hypervolume(points: list[XY], ref: XY = (0.0, 0.0)) -> float:
    """Area dominated by ``points`` above ``ref`` (both axes maximized): the staircase area."""
    pts = sorted((p for p in points if _ok(p)), key=lambda p: (-p[0], -p[1]))
    area, best_y = 0.0, ref[1]
    for x, y in pts:  # x descending: each point adds the strip of y above the best so far
        if y > best_y:
            area += (x - ref[0]) * (y - best_y)
            best_y = y
    return area


@dataclass
class AdaptiveLadder:
    """The concurrencies to measure for ``label``: iterate it; :meth:`record` each result."""

    label: str
    ladder: list[int]
    predicted: dict[str, dict[int, XY]]  # label -> concurrency -> predicted (x, y); every label of the group
    measured_others: list[Ref] = field(default_factory=list)  # other labels' measurements so far
    margin: float = 0.05
    stop_after: int = 2
    refine_gap: float = 3.0
    max_refine: int = 2
    predict: Callable[[int], XY | None] | None = None  # this label's prediction at any concurrency
    measured: dict[int, XY | None] = field(default_factory=dict)  # this label's results (None: failed)
    skipped: list[Skip] = field(default_factory=list)
    refined: list[int] = field(default_factory=list)
    stopped: str | None = None

    # ------------------------------------------------------------------ reference and calibration

    def reference(self) -> list[Ref]:
        """Other labels' measured points (their predictions while they have none) + own measurements."""
        by_label: dict[str, list[Ref]] = {}
        for r in self.measured_others:
            if r.label != self.label and _ok((r.x, r.y)):
                by_label.setdefault(r.label, []).append(r)
        refs = [r for rs in by_label.values() for r in rs]
        for lab, pts in self.predicted.items():
            if lab == self.label or lab in by_label:
                continue
            refs += [Ref(lab, c, p[0], p[1], False) for c, p in pts.items() if _ok(p)]
        refs += [Ref(self.label, c, p[0], p[1], True) for c, p in self.measured.items() if _ok(p)]
        return refs

    def own_prediction(self, c: int) -> XY | None:
        p = self.predicted.get(self.label, {}).get(c)
        if p is None and self.predict is not None:
            p = self.predict(c)
            if _ok(p):
                self.predicted.setdefault(self.label, {})[c] = p  # type: ignore[assignment]
        return p if _ok(p) else None

    def corrected(self, c: int) -> XY | None:
        """This label's prediction at ``c``, scaled by its nearest measured point's ratio."""
        p = self.own_prediction(c)
        if p is None:
            return None
        pairs = []
        for mc, m in self.measured.items():
            pm = self.own_prediction(mc)
            if _ok(m) and pm is not None:
                pairs.append((abs(math.log(mc) - math.log(c)), m[0] / pm[0], m[1] / pm[1]))  # type: ignore[index]
        if not pairs:
            return p
        _, rx, ry = min(pairs)
        return (p[0] * rx, p[1] * ry)

    # ------------------------------------------------------------------ decisions

    def _skip_reason(self, c: int) -> str | None:
        p = self.corrected(c)
        if p is None:
            return None  # no prediction: measure it
        q = dominated_by(p, self.reference(), self.margin)
        if q is None:
            return None
        return (
            f"adaptive: predicted {p[1]:,.0f} tok/s/GPU at {p[0]:,.1f} tok/s/user is dominated by "
            f"{q.describe()} by more than {self.margin:.0%} on both axes"
        )

    def _fell_off(self, remaining: list[int]) -> str | None:
        done = [c for c in sorted(self.measured) if c in self.measured]
        if len(done) < self.stop_after:
            return None
        last = done[-self.stop_after :]
        others = [r for r in self.reference() if r.label != self.label]
        beaten = []
        for c in last:
            m = self.measured[c]
            q = dominated_by(m, others, self.margin) if _ok(m) else None
            if q is None and _ok(m):
                return None
            beaten.append(f"c={c} by {q.describe()}" if q else f"c={c} failed")
        for c in remaining:  # a remaining point predicted to reach the frontier keeps the label going
            p = self.corrected(c)
            if p is not None and dominated_by(p, others, 0.0) is None:
                return None
        return "adaptive: label fell off the frontier: " + "; ".join(beaten)

    def _refine_candidates(self) -> list[int]:
        pts = sorted((c, m) for c, m in self.measured.items() if _ok(m))
        if len(pts) < 2:
            return []
        refs = self.reference()
        on_front = {c for c, m in pts if dominated_by(m, refs, 0.0) is None}  # type: ignore[arg-type]
        out = []
        for (a, pa), (b, pb) in itertools.pairwise(pts):
            if a not in on_front or b not in on_front or b / a < self.refine_gap:
                continue
            mid = round(math.sqrt(a * b))
            if mid in self.measured or mid in (a, b) or any(s.c == mid for s in self.skipped):
                continue
            p = self.corrected(mid)
            if p is None or dominated_by(p, refs, 0.0) is not None:
                continue
            # height of the predicted middle above the chord a-b, at its x
            x0, y0, x1, y1 = pa[0], pa[1], pb[0], pb[1]  # type: ignore[index]
            if x1 == x0:
                continue
            t = (p[0] - x0) / (x1 - x0)
            chord = y0 + t * (y1 - y0)
            if 0 < t < 1 and p[1] > chord * (1 + self.margin):
                out.append(mid)
        return out

    def __iter__(self) -> Iterator[int]:
        todo = list(self.ladder)
        while todo:
            c = todo.pop(0)
            why = self._skip_reason(c)
            if why:
                self.skipped.append(Skip(c, why))
                continue
            yield c
            if c not in self.measured:  # the caller did not record it: count it as failed
                self.measured[c] = None
            stop = self._fell_off(todo)
            if stop:
                self.stopped = stop
                self.skipped += [Skip(x, stop) for x in todo]
                return
        while len(self.refined) < self.max_refine:
            cands = [c for c in self._refine_candidates() if c not in self.refined]
            if not cands:
                return
            c = cands[0]
            self.refined.append(c)
            yield c
            if c not in self.measured:
                self.measured[c] = None

    def record(self, c: int, xy: XY | None) -> None:
        """The measurement of ``c``: (tok/s/user, tok/s/GPU), or None when the point failed."""
        self.measured[c] = xy if _ok(xy) else None
