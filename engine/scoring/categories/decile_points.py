"""Achievement points of a performance rate against a decile benchmark."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class DecilePoints:
    decile: int
    points: Decimal
    lower: Decimal | None
    upper: Decimal | None


def decile_points(rate: Decimal, bounds: tuple[Decimal, ...], inverse: bool, floor: Decimal,
                  maximum: Decimal, floor_below: int = 3) -> DecilePoints:
    """Points for ``rate``: decile d earns d plus the fraction of the way to the next decile's bound.

    ``bounds`` are the inclusive starting bounds of the top ``len(bounds)`` deciles (9 values: deciles
    2-10, 10 values: deciles 1-10); for an inverse measure they descend and a rate at or below a bound
    reaches it. Deciles below ``floor_below`` earn ``floor``; decile 10 earns ``maximum``.
    """
    first = 11 - len(bounds)
    reached = [k for k, bound in zip(range(first, 11), bounds, strict=True)
               if (rate <= bound if inverse else rate >= bound)]
    decile = max(reached) if reached else first - 1
    if decile >= 10:
        return DecilePoints(10, maximum, bounds[-1], None)
    if decile < floor_below:
        lower = bounds[decile - first] if decile >= first else None
        return DecilePoints(decile, floor, lower, bounds[decile + 1 - first])
    lower, upper = bounds[decile - first], bounds[decile + 1 - first]
    fraction = (lower - rate) / (lower - upper) if inverse else (rate - lower) / (upper - lower)
    return DecilePoints(decile, Decimal(decile) + fraction, lower, upper)
