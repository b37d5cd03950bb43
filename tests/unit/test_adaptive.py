"""Adaptive ladders: skip dominated points, stop labels off the frontier, refine bends (pure)."""

from __future__ import annotations

import pytest

from frontier.planning.adaptive import AdaptiveLadder, Ref, dominated_by, hypervolume


def run(ad: AdaptiveLadder, truth: dict[int, tuple[float, float] | None]) -> list[int]:
    """Drive the ladder as bench_item does: each yielded concurrency is 'measured' from truth."""
    done = []
    for c in ad:
        done.append(c)
        ad.record(c, truth.get(c))
    return done


# a strong label A: high throughput at every interactivity; B is far below it everywhere
A = {1: (200.0, 100.0), 4: (150.0, 400.0), 16: (80.0, 1200.0), 64: (30.0, 3000.0)}
B = {1: (100.0, 50.0), 4: (70.0, 150.0), 16: (40.0, 500.0), 64: (15.0, 1000.0)}


def test_hypervolume_is_the_staircase_area():
    assert hypervolume([(2.0, 1.0), (1.0, 2.0)]) == pytest.approx(2 * 1 + 1 * 1)
    assert hypervolume([(2.0, 1.0), (1.0, 0.5)]) == pytest.approx(2.0)  # a dominated point adds nothing
    assert hypervolume([]) == 0.0


def test_dominated_by_needs_the_margin_on_both_axes():
    refs = [Ref("A", 4, 110.0, 110.0, True)]
    assert dominated_by((100.0, 100.0), refs, 0.05) is refs[0]
    assert dominated_by((100.0, 100.0), refs, 0.2) is None  # within the margin: measure it
    assert dominated_by((120.0, 50.0), refs, 0.0) is None  # better on x: not dominated


def test_a_label_predicted_dominated_everywhere_is_not_measured_and_each_skip_says_why():
    ad = AdaptiveLadder("B", [1, 4, 16, 64], {"A": A, "B": B})
    assert run(ad, B) == []
    assert [s.c for s in ad.skipped] == [1, 4, 16, 64]
    assert all("dominated by A" in s.reason and "predicted" in s.reason for s in ad.skipped)


def test_the_best_label_measures_its_whole_ladder():
    ad = AdaptiveLadder("A", [1, 4, 16, 64], {"A": A, "B": B})
    assert run(ad, A) == [1, 4, 16, 64]
    assert ad.skipped == []


def test_measurements_of_other_labels_replace_their_predictions():
    # A was predicted strong but measured weak: B must now be measured
    weak_a = [Ref("A", c, x / 4, y / 4, True) for c, (x, y) in A.items()]
    ad = AdaptiveLadder("B", [1, 4, 16, 64], {"A": A, "B": B}, measured_others=weak_a)
    assert run(ad, B) == [1, 4, 16, 64]


def test_calibration_from_own_measurements_changes_the_decision():
    # B predicted as good as A (so measured), but its first two measurements show it is half:
    # the calibrated rest is dominated, the label stops
    b_pred = {c: (x * 1.0, y * 1.0) for c, (x, y) in A.items()}
    b_true = {c: (x * 0.5, y * 0.5) for c, (x, y) in A.items()}
    measured_a = [Ref("A", c, x, y, True) for c, (x, y) in A.items()]
    ad = AdaptiveLadder("B", [1, 4, 16, 64], {"A": A, "B": b_pred}, measured_others=measured_a)
    done = run(ad, b_true)
    assert done == [1]  # after one measurement the calibrated predictions are all dominated
    assert {s.c for s in ad.skipped} == {4, 16, 64}


def test_a_label_that_fell_off_the_frontier_stops():
    # predictions say B is great at 1 and 4 (measure them) and a close second at 16 and 64 (within
    # the skip margin, so measured too without the stop rule); measurements say it is dominated:
    # after two dominated measurements, with nothing predicted to reach the frontier, it stops
    b_pred = {1: (300.0, 150.0), 4: (250.0, 600.0), 16: (78.0, 1180.0), 64: (29.0, 2950.0)}
    ad = AdaptiveLadder("B", [1, 4, 16, 64], {"A": A, "B": b_pred}, stop_after=2,
                        measured_others=[Ref("A", c, x, y, True) for c, (x, y) in A.items()])  # fmt: skip
    ad.corrected = lambda c: b_pred.get(c)  # type: ignore[method-assign]  # no calibration: raw predictions
    done = run(ad, B)
    assert done == [1, 4]
    assert ad.stopped and "fell off the frontier" in ad.stopped
    assert [s.c for s in ad.skipped] == [16, 64]


def test_refinement_measures_the_middle_where_the_frontier_bends():
    # a lone label whose curve bulges between c=4 and c=64: the predicted middle c=16 lies well
    # above the chord, so it is measured after the ladder
    curve = {4: (100.0, 100.0), 16: (80.0, 900.0), 64: (10.0, 1000.0)}
    ad = AdaptiveLadder("A", [4, 64], {"A": curve}, predict=lambda c: curve.get(c))
    done = run(ad, curve)
    assert done == [4, 64, 16] and ad.refined == [16]


def test_no_refinement_on_a_straight_frontier():
    line = {4: (100.0, 100.0), 16: (55.0, 550.0), 64: (10.0, 1000.0)}
    ad = AdaptiveLadder("A", [4, 64], {"A": line}, predict=lambda c: line.get(c))
    assert run(ad, line) == [4, 64]


def test_a_point_without_prediction_is_measured_and_a_failure_counts_as_dominated():
    ad = AdaptiveLadder("C", [1, 4, 16], {"A": A}, stop_after=2,
                        measured_others=[Ref("A", c, x, y, True) for c, (x, y) in A.items()])  # fmt: skip
    done = run(ad, {1: None, 4: None, 16: (1.0, 1.0)})
    assert done == [1, 4]  # two failures in a row, nothing predicted to reach the frontier: stop
    assert [s.c for s in ad.skipped] == [16]
