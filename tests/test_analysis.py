"""The paired bootstrap of notebook 05, on cases whose answer is known."""

import numpy as np
import pytest

from utils.lab.analysis import BootstrapInterval, paired_bootstrap


def test_identical_models_differ_by_exactly_nothing():
    values = np.random.default_rng(0).uniform(size=500)
    interval = paired_bootstrap(values, values.copy())
    assert interval == BootstrapInterval(0.0, 0.0, 0.0) and not interval.excludes_zero()


def test_a_constant_shift_is_recovered_exactly_whatever_the_users():
    # Every user gains 0.25: each resample's mean difference is 0.25, however spread the users are.
    base = np.random.default_rng(1).integers(0, 11, size=943) / 10  # Recall@10-like values
    difference, low, high = paired_bootstrap(base + 0.25, base, reps=500)
    assert difference == pytest.approx(0.25, abs=1e-12)
    assert low == pytest.approx(0.25, abs=1e-12) and high == pytest.approx(0.25, abs=1e-12)
    assert paired_bootstrap(base, base + 0.25, reps=500).high == pytest.approx(-0.25, abs=1e-12)


def test_pairing_removes_the_spread_between_users():
    # Users differ a lot (sd 1); the models differ by 0.1 ± 0.05 per user. Unpaired, 0.1 would be noise.
    generator = np.random.default_rng(2)
    user_level = generator.normal(0, 1, size=400)
    a, b = user_level + 0.1 + generator.normal(0, 0.05, size=400), user_level
    interval = paired_bootstrap(a, b)
    assert interval.excludes_zero() and interval.low > 0.09 and interval.high < 0.11


def test_the_95_percent_interval_covers_the_true_mean_about_95_percent_of_the_time():
    # Paired normal data with a known mean difference of 0.3: count how often the interval holds it.
    generator = np.random.default_rng(3)
    simulations, true_difference = 400, 0.3
    covered = 0
    for simulation in range(simulations):
        b = generator.normal(0, 1, size=200)
        a = b + generator.normal(true_difference, 1, size=200)
        interval = paired_bootstrap(a, b, reps=400, seed=simulation)
        covered += interval.low <= true_difference <= interval.high
        assert interval.low <= interval.difference <= interval.high
    # Binomial(400, 0.95) has sd 0.011; the percentile bootstrap runs a little narrow at n = 200.
    assert 0.90 <= covered / simulations <= 0.985


def test_the_interval_is_reproducible_and_narrows_with_more_users():
    generator = np.random.default_rng(4)
    a, b = generator.normal(0.1, 1, size=4000), generator.normal(0, 1, size=4000)
    assert paired_bootstrap(a, b, seed=7) == paired_bootstrap(a, b, seed=7)
    wide, narrow = paired_bootstrap(a[:400], b[:400]), paired_bootstrap(a, b)
    # The width shrinks like 1/√n: ten times the users, about √10 ≈ 3.2 times narrower.
    assert 2.5 < (wide.high - wide.low) / (narrow.high - narrow.low) < 4.0
    # Blocks of resamples change nothing but memory.
    assert paired_bootstrap(a, b, reps=300, block=7) == paired_bootstrap(a, b, reps=300, block=1000)


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="same non-zero length"):
        paired_bootstrap([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="same non-zero length"):
        paired_bootstrap([], [])
    with pytest.raises(ValueError, match="confidence"):
        paired_bootstrap([1.0], [0.0], confidence=95)
