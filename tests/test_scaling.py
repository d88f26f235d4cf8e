"""The payment adjustment clinicians received: each year's derived scaling factors applied, checked by hand against
the maxima CMS published (the fact sheet's table of scaling factors, §2.4)."""

from __future__ import annotations

import pytest

from engine import load
from engine.base.exact import ScalarOps
from engine.scoring.columnar import compiled
from engine.scoring.kernels import final as kernel

ONE = 10**6  # the rulebooks' declared precision: 6 decimals

# year: (final score, adjustment before scaling, exceptional before scaling, adjustment, exceptional, total, shown)
# At 100: AP x SF + 10 x SF_x. 2017: AP 4, SF 0.0713, SF_x 0.1591 -> 0.2852 + 1.591 = 1.8762, shown 1.87 (CMS's
# public-use file rounds it: 1.88, its published maximum). 2020: AP 9, SF 0.00089, SF_x 0.1864 -> 0.00801 + 1.864 =
# 1.87201, shown 0.00 + 1.86 = 1.87 (CMS's screenshot). 2021: 9 x 0.01333 = 0.11997 + 2.218 = 2.33797, shown 2.33
# (2.34 rounded, the public-use file). 2022: 9 x 0.2478 = 2.2302 + 6.030 = 8.2602, shown 8.26.
# Below the threshold no factor applies: 2020 at 30: -9 x 15/45 = -3.
CASES = [
    (2017, 100, 4, 10, 0.2852, 1.591, 1.8762, {"adjustment": 0.28, "exceptional": 1.59, "total": 1.87}),
    (2020, 100, 9, 10, 0.00801, 1.864, 1.87201, {"adjustment": 0, "exceptional": 1.86, "total": 1.87}),
    (2021, 100, 9, 10, 0.11997, 2.218, 2.33797, {"adjustment": 0.11, "exceptional": 2.21, "total": 2.33}),
    (2022, 100, 9, 10, 2.2302, 6.03, 8.2602, {"adjustment": 2.23, "exceptional": 6.03, "total": 8.26}),
    (2020, 30, -3, 0, -3, 0, -3, {"adjustment": -3, "exceptional": 0, "total": -3}),
]


def _fixed(value: float) -> int:
    return round(value * ONE)


@pytest.mark.parametrize("year, score, before, exceptional_before, adjustment, exceptional, total, shown", CASES)
def test_scaled_adjustment_is_what_cms_paid(year: int, score: float, before: float, exceptional_before: float,
                                            adjustment: float, exceptional: float, total: float,
                                            shown: dict[str, float]) -> None:
    out = kernel.payment(ScalarOps, compiled(load(year)).final, _fixed(score))
    assert out["adjustment_before_scaling"] == _fixed(before)
    assert out["exceptional_before_scaling"] == _fixed(exceptional_before)
    assert out["adjustment"] == _fixed(adjustment)
    assert out["total"] - out["adjustment"] == _fixed(exceptional)
    assert out["total"] == _fixed(total)
    assert out["display"] == {name: _fixed(value) for name, value in shown.items()}


@pytest.mark.parametrize("year", [2017, 2020, 2021, 2022])
def test_scaling_factors_are_flagged_as_derived_and_cited(year: int) -> None:
    book = load(year)
    for address in ("payment.scaling_factor", "payment.exceptional_scaling_factor"):
        param = book.param(address)
        assert param.unverified.startswith("Derived, not published")
        assert f"qpp-puf-{year}" in param.cite
