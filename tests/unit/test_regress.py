"""frontier.analysis.regress.detect: step detection over nightly series."""

from __future__ import annotations

import random

from frontier.analysis.regress import detect, segments


def test_flat_noisy_series_has_no_regression():
    rng = random.Random(1)
    assert detect([100 + rng.gauss(0, 1) for _ in range(40)]) is None


def test_step_down_is_found_at_its_start():
    rng = random.Random(2)
    values = [100 + rng.gauss(0, 1) for _ in range(20)] + [85 + rng.gauss(0, 1) for _ in range(5)]
    r = detect(values)
    assert r is not None and r.index == 20
    assert 99 < r.before < 101 and 84 < r.after < 86 and -0.17 < r.change < -0.13


def test_step_up_is_not_a_regression_unless_lower_is_better():
    values = [100.0] * 10 + [120.0] * 3
    assert detect(values) is None
    r = detect(values, higher_is_better=False)
    assert r is not None and r.index == 10


def test_small_drop_below_threshold_or_noise_is_ignored():
    assert detect([100.0] * 10 + [97.0] * 3) is None  # 3 % < 5 % threshold
    assert detect([100.0, 90.0] * 10 + [94.0] * 2) is None  # within the noise


def test_recovered_series_is_not_a_regression():
    assert detect([100.0] * 5 + [80.0] * 5 + [100.0] * 5) is None


def test_missing_values_are_skipped_and_index_maps_back():
    values = [100.0, None, 100.0, float("nan"), 100.0, 100.0, 80.0, None, 80.0]
    r = detect(values)
    assert r is not None and r.index == 6


def test_too_short():
    assert detect([]) is None and detect([1.0, 0.5]) is None


def test_segments_exact_fit():
    assert segments([1.0, 1.0, 5.0, 5.0], penalty=0.1) == [(0, 2, 1.0), (2, 4, 5.0)]
