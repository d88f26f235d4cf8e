"""The quality kernel's decile points on worked examples with their own inputs (not a year's benchmarks)."""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_HALF_UP
from decimal import Decimal as D
from typing import Any

import pytest

from engine import load
from engine.base.exact import ScalarOps
from engine.scoring.kernels import quality
from engine.scoring.kernels.quality_rows import _bounds

WE1_DECILES = tuple(D(x) for x in ["0", "26.89", "40.49", "50", "57.07", "64.79", "73.08", "82.71", "96.44"])
PARAMS = replace(quality.quality_params(load(2020)), cap=None, new_floors={}, two_decimal_rates=False)  # floor 3, max 10


def _points(rate: D, deciles: tuple[D, ...], inverse: bool = False) -> dict[str, Any]:
    """The kernel's decile and points (as a decimal) for a rate against these decile bounds."""
    row = {"dc_num": 100 * quality.UNIT, "dc_den": 1, "rate_num": int(rate * quality.UNIT), "rate_den": 1,
           "bounds": _bounds(deciles, inverse), "inverse": inverse, "ratio": False, "first_year": 0,
           "topped_out": False, "method": "registry", "benchmark": True, "cases": 100 * quality.UNIT,
           "small_practice": False, "suppressed": False, "cap_exempt": False, "method_excluded": False,
           "below_method_points": -1}
    out = quality.measure_points(ScalarOps, row, PARAMS)
    return {"decile": out["decile"], "points": PARAMS.precision.decimal(out["points"])}


def _at_precision(value: D) -> D:
    return value.quantize(D(1).scaleb(-PARAMS.precision.digits), rounding=ROUND_HALF_UP)


def test_interpolation_matches_cms_scoring_example() -> None:
    # CMS scoring engine example: 82.31 % against these deciles is decile 8, 9.23 / 9.63 of the way: 8.9585.
    result = _points(D("82.31"), WE1_DECILES)
    assert result["decile"] == 8
    assert result["points"] == _at_precision(D(8) + D("9.23") / D("9.63"))
    assert round(result["points"], 4) == D("8.9585")


def test_floor_applies_below_decile_three() -> None:
    # CMS example: 82.31 % against a topped-out benchmark lands below decile 3: the 3-point floor.
    bounds = tuple(D(x) for x in ["0", "96.15", "99.44", "100", "100", "100", "100", "100", "100"])
    result = _points(D("82.31"), bounds)
    assert (result["decile"], result["points"]) == (2, D(3))


def test_top_decile_earns_maximum_and_empty_deciles_are_skipped() -> None:
    bounds = tuple(D(x) for x in ["0", "96.15", "99.44", "100", "100", "100", "100", "100", "100"])
    assert _points(D(100), bounds)["points"] == D(10)
    # 99.5 is in decile 4 (99.44 up to 100): 4 + 0.06 / 0.56.
    assert _points(D("99.5"), bounds)["points"] == _at_precision(D(4) + D("0.06") / D("0.56"))


def test_exact_decimal_rate_reaches_its_bound() -> None:
    # 6665/10000 is 66.65 exactly and so reaches a decile starting at 66.65 (a float would not).
    bounds = tuple(D(x) for x in ["0", "10", "20", "30", "40", "50", "66.65", "70", "80"])
    assert _points(D(6665) / D(10000) * 100, bounds)["decile"] == 8


def test_inverse_measure_reads_bounds_downward() -> None:
    # 2017 claims #001 at 22.0 (the README's worked example): 22.0 <= 25.71 but > 20.31, decile 4.
    bounds = tuple(D(x) for x in ["100", "35", "25.71", "20.31", "16.22", "13.04", "10", "7.41", "4"])
    result = _points(D("22.0"), bounds, inverse=True)
    assert result["decile"] == 4
    assert result["points"] == _at_precision(D(4) + (D("25.71") - D("22.0")) / (D("25.71") - D("20.31")))


@pytest.mark.parametrize("rate,decile", [(D(0), 2), (D("19.99"), 2), (D(20), 3), (D(90), 10)])
def test_decile_boundaries_are_inclusive(rate: D, decile: int) -> None:
    bounds = tuple(D(x) for x in ["0", "20", "30", "40", "50", "60", "70", "80", "90"])
    assert _points(rate, bounds)["decile"] == decile
