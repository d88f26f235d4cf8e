"""The general mechanisms on worked examples with their own inputs (not a year's benchmarks)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from engine.scoring.categories.decile_points import decile_points

WE1_DECILES = tuple(D(x) for x in ["0", "26.89", "40.49", "50", "57.07", "64.79", "73.08", "82.71", "96.44"])


def test_interpolation_matches_cms_scoring_example() -> None:
    # CMS scoring engine example: 82.31 % against these deciles is decile 8, 9.23 / 9.63 of the way: 8.9585.
    result = decile_points(D("82.31"), WE1_DECILES, False, D(3), D(10))
    assert result.decile == 8
    assert result.points == D(8) + D("9.23") / D("9.63")
    assert round(result.points, 4) == D("8.9585")


def test_floor_applies_below_decile_three() -> None:
    # CMS example: 82.31 % against a topped-out benchmark lands below decile 3: the 3-point floor.
    bounds = tuple(D(x) for x in ["0", "96.15", "99.44", "100", "100", "100", "100", "100", "100"])
    result = decile_points(D("82.31"), bounds, False, D(3), D(10))
    assert (result.decile, result.points) == (2, D(3))


def test_top_decile_earns_maximum_and_empty_deciles_are_skipped() -> None:
    bounds = tuple(D(x) for x in ["0", "96.15", "99.44", "100", "100", "100", "100", "100", "100"])
    assert decile_points(D(100), bounds, False, D(3), D(10)).points == D(10)
    # 99.5 is in decile 4 (99.44 up to 100): 4 + 0.06 / 0.56.
    assert decile_points(D("99.5"), bounds, False, D(3), D(10)).points == D(4) + D("0.06") / D("0.56")


def test_exact_decimal_rate_reaches_its_bound() -> None:
    # 6665/10000 is 66.65 exactly and so reaches a decile starting at 66.65 (a float would not).
    bounds = tuple(D(x) for x in ["0", "10", "20", "30", "40", "50", "66.65", "70", "80"])
    rate = D(6665) / D(10000) * 100
    assert decile_points(rate, bounds, False, D(3), D(10)).decile == 8


def test_inverse_measure_reads_bounds_downward() -> None:
    # 2017 claims #001 at 22.0 (the README's worked example): 22.0 <= 25.71 but > 20.31, decile 4.
    bounds = tuple(D(x) for x in ["100", "35", "25.71", "20.31", "16.22", "13.04", "10", "7.41", "4"])
    result = decile_points(D("22.0"), bounds, True, D(3), D(10))
    assert result.decile == 4
    assert result.points == D(4) + (D("25.71") - D("22.0")) / (D("25.71") - D("20.31"))


@pytest.mark.parametrize("rate,decile", [(D(0), 2), (D("19.99"), 2), (D(20), 3), (D(90), 10)])
def test_decile_boundaries_are_inclusive(rate: D, decile: int) -> None:
    bounds = tuple(D(x) for x in ["0", "20", "30", "40", "50", "60", "70", "80", "90"])
    assert decile_points(rate, bounds, False, D(3), D(10)).decile == decile
