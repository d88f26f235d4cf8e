"""Cost (``cost_benchmarks``): each cost measure CMS reports that meets its case minimum earns decile points against
the year's cost benchmark; the category percent is their average. One definition, run on one entity (Python values)
or a batch (numpy columns).

Rows (see ``engine.scoring.kernels.cost_rows``): measure, row (profile order), path, cases (attributed cases),
score_num/score_den (the reported cost in units of 10**-4), benchmark (CMS lists one), bounds (the ten decile lower
bounds in units of 10**-4; a benchmark of nine starts at decile 2), first (the first decile the benchmark lists),
inverse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.rules.model import Rulebook
from engine.scoring.fixed import Precision, precision

# Why a measure was or was not scored.
SCORED, BELOW_CASE_MINIMUM, NO_BENCHMARK = 0, 1, 2


@dataclass(frozen=True)
class CostParams:
    """The cost values the kernel reads, converted once (points at the declared precision)."""

    precision: Precision
    default_minimum: int
    minimums: tuple[tuple[str, int], ...]  # measure -> case minimum, where it differs from the default
    floor: int
    floor_below: int
    maximum: int


def cost_params(book: Rulebook) -> CostParams:
    p = precision(book)
    minimums = book.value("cost.case_minimums")
    points = book.value("cost.decile_points")
    return CostParams(
        precision=p, default_minimum=minimums["default"],
        minimums=tuple((measure, n) for measure, n in (minimums.get("by_measure") or {}).items()),
        floor=p.fixed(points["floor"]), floor_below=points["floor_below_decile"], maximum=p.fixed(points["maximum"]),
    )


def _case_minimum(xp: Any, measure: Any, p: CostParams) -> Any:
    minimum = xp.where(measure == "", p.default_minimum, p.default_minimum)
    for name, n in p.minimums:
        minimum = xp.where(measure == name, n, minimum)
    return minimum


def measure_points(xp: Any, r: Mapping[str, Any], p: CostParams) -> dict[str, Any]:
    """One cost measure's decile, points and why it was (not) scored (elementwise)."""
    num, den, bounds, inverse = r["score_num"], r["score_den"], r["bounds"], r["inverse"]
    minimum = _case_minimum(xp, r["measure"], p)
    low, high = xp.floor_ceil(num, den)
    decile = xp.decile(low, high, bounds, inverse)
    lower = xp.take_bound(bounds, xp.maximum(decile - 1, 0))
    upper = xp.take_bound(bounds, xp.minimum(decile, 9))
    # Below floor_below, or below every bound the benchmark lists: the floor.
    floored = (decile < p.floor_below) | (decile < r["first"])
    part = xp.fraction(num, den, lower, upper, p.precision.digits, p.precision.rounding, inverse,
                       xp.not_(floored) & (decile < 10))  # used between the floor and the maximum only
    points = xp.where(decile >= 10, p.maximum, xp.where(floored, p.floor, decile * p.precision.one + part))
    why = xp.where(r["cases"] < minimum, BELOW_CASE_MINIMUM, xp.where(r["benchmark"], SCORED, NO_BENCHMARK))
    scored = why == SCORED
    return {"case_minimum": minimum, "why": why, "scored": scored, "points": xp.where(scored, points, 0),
            "decile": xp.where(scored, decile, -1), "lower": lower, "upper": upper}


def score(rows: Any, p: CostParams) -> dict[str, Any]:
    """Score the cost category of every entity in ``rows`` (a OneEntity or a Batch)."""
    xp = rows.ops
    rows.apply(measure_points, p)
    scored = rows.count(rows["scored"])
    total = rows.sum(rows["points"])
    average = xp.divide(total * 100, xp.maximum(p.maximum * scored, 1), p.precision.digits, p.precision.rounding)
    return {"percent": xp.where(scored > 0, average, 0), "submitted": scored > 0, "scored": scored, "points": total}
