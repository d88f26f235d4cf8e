"""Exact fixed-point arithmetic: one value and a column give the same results, and both equal exact fractions."""

from __future__ import annotations

import random
from fractions import Fraction

import numpy as np
import pytest

from engine.base.exact import ArrayOps, ScalarOps

RNG = random.Random(20261203)


def _rounded(value: Fraction, digits: int, rounding: str) -> int:
    scaled = abs(value) * 10**digits
    magnitude = int(scaled + Fraction(1, 2)) if rounding == "half_up" else int(scaled)
    return magnitude if value >= 0 else -magnitude


@pytest.mark.parametrize("rounding", ["half_up", "down"])
def test_divide_is_exact_at_the_bounds_the_inputs_allow(rounding: str) -> None:
    cases = [(RNG.randint(-10**12, 10**12), RNG.randint(1, 10**12), RNG.randint(0, 8)) for _ in range(2000)]
    cases += [(10**18, 3, 0), (5, 10, 0), (-5, 10, 0), (15, 10, 0), (25, 100, 1), (10**17, 7 * 10**12, 8)]
    for digits in sorted({c[2] for c in cases}):
        group = [(n, d) for n, d, k in cases if k == digits]
        n = np.array([c[0] for c in group], dtype=np.int64)
        d = np.array([c[1] for c in group], dtype=np.int64)
        column = ArrayOps.divide(n, d, digits, rounding)
        for (a, b), got in zip(group, column.tolist(), strict=True):
            expected = _rounded(Fraction(a, b), digits, rounding)
            assert ScalarOps.divide(a, b, digits, rounding) == expected == got, (a, b, digits)


@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("largest", [10**4, 10**13], ids=["one-division", "long-division"])
def test_fraction_within_a_decile_is_exact(inverse: bool, largest: int) -> None:
    """Small denominators take one exact int64 division; any up to 10**13 in the column, the long division."""
    rows = []
    for _ in range(3000):
        # values as the adapters bound them: num = 10**4 x a count (at most 10**13), so num <= 10**17
        den = RNG.choice([RNG.randint(1, min(largest, 10**4)), RNG.randint(1, min(largest, 10**9)), RNG.randint(1, largest)])
        top = min(10**9 if largest > 10**4 else 10**5, 10**17 // den)
        if top < 2:
            continue
        low, high = sorted(RNG.sample(range(0, top), 2))
        if inverse:
            low, high = high, low
        # a value inside the interval: direct low <= x < high, inverse high < x <= low
        x = Fraction(RNG.randint(min(low, high) * 10**3, max(low, high) * 10**3), 10**3)
        num = int(x * den)
        value = Fraction(num, den)
        inside = (high < value <= low) if inverse else (low <= value < high)
        if inside:
            rows.append((num, den, low, high))
    num, den, low, high = (np.array(c, dtype=np.int64) for c in zip(*rows, strict=True))
    column = ArrayOps.fraction(num, den, low, high, 8, "half_up", np.full(len(rows), inverse))
    for (a, b, lo, hi), got in zip(rows, column.tolist(), strict=True):
        expected = _rounded((Fraction(a, b) - lo) / (hi - lo), 8, "half_up")
        assert ScalarOps.fraction(a, b, lo, hi, 8, "half_up", inverse) == expected == got
    needed = np.arange(len(rows)) % 3 == 0  # worked out where needed only, 0 elsewhere, on both sides
    masked = ArrayOps.fraction(num, den, low, high, 8, "half_up", np.full(len(rows), inverse), needed)
    assert masked.tolist() == np.where(needed, column, 0).tolist()
    assert [ScalarOps.fraction(*row, 8, "half_up", inverse, bool(n)) for row, n in zip(rows, needed, strict=True)] \
        == masked.tolist()


def test_decile_counts_the_bounds_reached_in_either_direction() -> None:
    bounds = (-(2**62), 0, 307, 4368, 9465, 9969, 10000, 10000, 10000, 10000)
    for value, expected in [(0, 2), (306, 2), (307, 3), (10000, 10), (9999, 6)]:
        assert ScalarOps.decile(value, value, bounds, False) == expected
        got = ArrayOps.decile(np.array([value]), np.array([value]), np.array([bounds]), np.array([False]))
        assert got.tolist() == [expected]
    inverse = (2**62, 10000, 7999, 7000, 6000, 5000, 4000, 3000, 2000, 1000)
    assert ScalarOps.decile(0, 0, inverse, True) == 10
    assert ScalarOps.decile(3750, 3750, inverse, True) == 7
    got = ArrayOps.decile(np.array([0, 3750]), np.array([0, 3750]), np.array([inverse, inverse]), np.array([True, True]))
    assert got.tolist() == [10, 7]
