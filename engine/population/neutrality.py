"""Budget neutrality over a population of TIN/NPIs: the scaling factor of the positive adjustments, the factor of
the exceptional-performance adjustments, and each TIN/NPI's adjustments in percent and in dollars.

Inputs per TIN/NPI are its final score (fixed point at the rulebook's precision) and its Medicare paid amount
(integer cents). The adjustments before scaling come from the payment kernel (``engine.scoring.kernels.final``).

* Scaling factor SF: the positive adjustments times SF balance the negative ones in dollars,
  SF = sum(paid x |negative adjustment|) / sum(paid x positive adjustment), at most ``maximum`` (42 CFR
  414.1405(b)(3): "not to exceed 3.0"); above it the factor is the maximum and the status says ``capped`` (the
  population cannot balance). With no positive adjustment there is nothing to scale (status ``no_positive``,
  SF = 0); with positive but no negative adjustments there is nothing to fund them (status ``no_negative``, SF = 0:
  the positive adjustments are scaled to nothing; the statute's reading of this corner was not checked).
* Exceptional factor SF_x: the exceptional adjustments times SF_x add up to ``pool_cents``, outside budget
  neutrality. CMS's amount is "shall not exceed $500,000,000" per payment year for the estimated total, a ceiling
  rather than a fixed pool, and CMS sets SF_x itself; a population passes the amount it means to model. With no
  exceptional adjustment SF_x = 0 (status ``no_exceptional``).

Both factors are exact rationals (``fractions.Fraction``); ``Factors.report`` also gives them to ``REPORT_PLACES``
decimals, rounded half up. They are reductions: ``partial_sums`` over any partition of the rows (exact Python
ints, no int64 overflow), ``combine`` adds partitions, ``solve`` gives the factors; ``apply`` then works partition
by partition, given the sums of the partitions before it.

Per TIN/NPI (``apply``): the adjustment and the exceptional adjustment after scaling, in percent at the
rulebook's precision (the exact product rounded by the rulebook's rounding), their total, their display values
(the rulebook's display rule: CMS's feedback truncates to two decimals; truncation is towards zero, so -1.239
shows as -1.23, a reading: CMS's examples are all positive), and dollars in cents:

* a decrease is paid x |adjustment| / 100 rounded half up to the cent, row by row;
* the increases share out, to the cent, the sum of the decreases (or, capped, the scaled total rounded half up),
  in proportion to paid x adjustment before scaling; the exceptional adjustments share out ``pool_cents`` in
  proportion to paid x exceptional adjustment before scaling. The sharing is cumulative rounding: the row at
  running weight W_i gets floor(T W_i / W) - floor(T W_(i-1) / W) cents (T the amount, W the population's total
  weight). Each row gets its exact share rounded down or up, the shares add up to T exactly, and a partition needs
  only the weight of the partitions before it. So budget neutrality holds to the cent from the per-row dollars
  (increases = decreases exactly) whenever the factor is not capped; a row's increase can differ from its paid
  amount times its displayed percent by the rounding of that percent and of the decreases.

The factors CMS applied are derived, not published; CMS's own rounding of the factors and of the dollars is not
known. Dollars here are the adjustment on the paid amount given; CMS applies the factor claim by claim.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from engine.base.exact import ArrayOps
from engine.rules.model import Rulebook
from engine.scoring.kernels import final
from engine.scoring.kernels.final import FinalParams

PERCENT = 100
REPORT_PLACES = 12  # decimals of the factors as reported beside their exact value
BALANCED, CAPPED, NO_NEGATIVE, NO_POSITIVE = "balanced", "capped", "no_negative", "no_positive"
POOLED, NO_EXCEPTIONAL = "pooled", "no_exceptional"
_LOW31 = (1 << 31) - 1
_LOW32 = (1 << 32) - 1
_MAX_ROWS = 1 << 31  # one partition at most: the exact sums below add up to this many int64 parts


@dataclass(frozen=True)
class Sums:
    """Reductions over rows (one partition or several combined); products are paid cents x fixed-point percents."""

    rows: int = 0
    negative_rows: int = 0
    positive_rows: int = 0
    exceptional_rows: int = 0
    paid: int = 0  # cents
    negative: int = 0  # sum of paid x |adjustment before scaling| over negative adjustments
    positive: int = 0  # sum of paid x adjustment before scaling over positive adjustments
    exceptional: int = 0  # sum of paid x exceptional adjustment before scaling
    decrease_cents: int = 0  # sum of the rows' decreases, each rounded half up to the cent

    def __add__(self, other: Sums) -> Sums:
        return Sums(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})


@dataclass(frozen=True)
class Factors:
    """The population's factors, exact, and the dollar totals the rows share out."""

    scaling: Fraction
    exceptional: Fraction
    status: str  # BALANCED, CAPPED, NO_NEGATIVE or NO_POSITIVE
    exceptional_status: str  # POOLED or NO_EXCEPTIONAL
    increase_cents: int  # what the positive adjustments add up to
    exceptional_cents: int  # what the exceptional adjustments add up to
    sums: Sums

    def report(self, places: int = REPORT_PLACES) -> dict[str, Any]:
        """The factors as exact fractions and as decimals rounded half up to ``places``, with their statuses."""
        def both(value: Fraction) -> dict[str, str]:
            rounded = (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal(1).scaleb(-places),
                                                                                      ROUND_HALF_UP)
            return {"exact": str(value), "decimal": str(rounded)}
        return {"scaling_factor": both(self.scaling), "status": self.status,
                "exceptional_scaling_factor": both(self.exceptional), "exceptional_status": self.exceptional_status,
                "increase_cents": self.increase_cents, "decrease_cents": self.sums.decrease_cents,
                "exceptional_cents": self.exceptional_cents}


def _columns(score: Any, paid: Any) -> tuple[np.ndarray, np.ndarray]:
    score, paid = np.asarray(score, dtype=np.int64), np.asarray(paid, dtype=np.int64)
    if score.shape != paid.shape or score.ndim != 1:
        raise ValueError("score and paid must be columns of one length")
    if len(paid) >= _MAX_ROWS:
        raise ValueError(f"a partition holds at most {_MAX_ROWS - 1} rows")
    if len(paid) and int(paid.min()) < 0:
        raise ValueError("paid amounts are cents, never negative")
    return score, paid


def _before_scaling(p: FinalParams, score: np.ndarray) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """The payment kernel's results, and the positive adjustments and the magnitudes of the negative ones (each
    below 2**31 in fixed point, as the exact products below need)."""
    payment = final.payment(ArrayOps, p, score)
    adjustment = payment["adjustment_before_scaling"]
    widest = max(int(np.abs(adjustment).max(initial=0)), int(payment["exceptional_before_scaling"].max(initial=0)))
    if widest > _LOW31:
        raise ValueError("adjustments too large for exact products at this precision")
    return payment, np.where(adjustment > 0, adjustment, 0), np.where(adjustment < 0, -adjustment, 0)


def _sum(values: np.ndarray) -> int:
    """The exact sum of non-negative int64 values: their high and low 32 bits summed apart."""
    return (int((values >> 32).sum()) << 32) + int((values & _LOW32).sum())


def _dot(paid: np.ndarray, percent: np.ndarray) -> int:
    """sum(paid x percent) exactly, both non-negative, percent below 2**31: paid split at bit 31 so that every
    product fits int64."""
    return (_sum((paid >> 31) * percent) << 31) + _sum((paid & _LOW31) * percent)


def _decreases(p: FinalParams, paid: np.ndarray, magnitude: np.ndarray) -> np.ndarray:
    """Each row's decrease in cents: paid x |adjustment| / 100, rounded half up (0 where there is none); exact in
    Python integers."""
    unit = PERCENT * p.precision.one
    cents = np.zeros(len(paid), dtype=np.int64)
    rows = np.flatnonzero(magnitude)
    product = paid[rows].astype(object) * magnitude[rows].astype(object)
    cents[rows] = ((2 * product + unit) // (2 * unit)).astype(np.int64)
    return cents


def partial_sums(p: FinalParams, score: Any, paid: Any) -> Sums:
    """The reductions of one partition: final scores (fixed point) and paid amounts (cents), one element per
    TIN/NPI."""
    score, paid = _columns(score, paid)
    payment, positive, negative = _before_scaling(p, score)
    exceptional = payment["exceptional_before_scaling"]
    return Sums(rows=len(score), negative_rows=int((negative > 0).sum()), positive_rows=int((positive > 0).sum()),
                exceptional_rows=int((exceptional > 0).sum()), paid=_sum(paid), negative=_dot(paid, negative),
                positive=_dot(paid, positive), exceptional=_dot(paid, exceptional),
                decrease_cents=int(_decreases(p, paid, negative).sum()))


def combine(parts: Iterable[Sums]) -> Sums:
    """The sums of several partitions together."""
    return sum(parts, Sums())


def solve(p: FinalParams, sums: Sums, pool_cents: int, maximum: Fraction) -> Factors:
    """The scaling factor (at most ``maximum``) and the exceptional factor that shares out ``pool_cents``."""
    if pool_cents < 0 or maximum <= 0:
        raise ValueError("the exceptional amount must be at least 0 and the maximum factor above 0")
    unit = PERCENT * p.precision.one
    if sums.positive == 0:
        scaling, status, increase = Fraction(0), NO_POSITIVE, 0
    elif sums.negative == 0:
        scaling, status, increase = Fraction(0), NO_NEGATIVE, 0
    elif Fraction(sums.negative, sums.positive) <= maximum:
        scaling, status, increase = Fraction(sums.negative, sums.positive), BALANCED, sums.decrease_cents
    else:
        capped = maximum * sums.positive / unit
        scaling, status, increase = maximum, CAPPED, (2 * capped.numerator + capped.denominator) // (2 * capped.denominator)
    if sums.exceptional == 0:
        exceptional, exceptional_status, pooled = Fraction(0), NO_EXCEPTIONAL, 0
    else:
        exceptional, exceptional_status, pooled = Fraction(pool_cents * unit, sums.exceptional), POOLED, pool_cents
    return Factors(scaling, exceptional, status, exceptional_status, increase, pooled, sums)


def _scale(values: np.ndarray, factor: Fraction, rounding: str) -> np.ndarray:
    """values x factor rounded to whole units by the rulebook's rounding (values >= 0), exact in Python integers."""
    scaled = np.zeros(len(values), dtype=np.int64)
    rows = np.flatnonzero(values)
    tenths = values[rows].astype(object) * (10 * factor.numerator) // factor.denominator
    scaled[rows] = ((tenths + 5) // 10 if rounding == "half_up" else tenths // 10).astype(np.int64)
    return scaled


def _share(paid: np.ndarray, percent: np.ndarray, before: int, amount: int, whole: int) -> np.ndarray:
    """``amount`` cents shared in proportion to paid x percent by cumulative rounding; ``whole``: the population's
    total of paid x percent, ``before``: that of the rows before these."""
    cents = np.zeros(len(paid), dtype=np.int64)
    rows = np.flatnonzero((paid > 0) & (percent > 0))
    if whole == 0 or len(rows) == 0:
        return cents
    running = np.cumsum(paid[rows].astype(object) * percent[rows].astype(object)) + before
    reached = running * amount // whole
    cents[rows] = np.diff(reached, prepend=before * amount // whole).astype(np.int64)
    return cents


def apply(p: FinalParams, score: Any, paid: Any, factors: Factors, before: Sums | None = None) -> dict[str, Any]:
    """Each TIN/NPI's adjustments: before and after scaling and their total (percent, fixed point), their display
    values, and cents. ``before``: the sums of the partitions that come before this one (none for the first)."""
    score, paid = _columns(score, paid)
    before = before or Sums()
    payment, positive, negative = _before_scaling(p, score)
    exceptional_before = payment["exceptional_before_scaling"]
    rounding = p.precision.rounding
    adjustment = np.where(positive > 0, _scale(positive, factors.scaling, rounding), -negative)
    exceptional = _scale(exceptional_before, factors.exceptional, rounding)
    total = adjustment + exceptional
    increase = _share(paid, positive, before.positive, factors.increase_cents, factors.sums.positive)
    extra = _share(paid, exceptional_before, before.exceptional, factors.exceptional_cents, factors.sums.exceptional)
    adjustment_cents = increase - _decreases(p, paid, negative)
    step = 10 ** (p.precision.digits - p.display_digits)
    return {
        "band": payment["band"], "adjustment_before_scaling": payment["adjustment_before_scaling"],
        "exceptional_before_scaling": exceptional_before, "adjustment": adjustment, "exceptional": exceptional,
        "total": total,
        "display": {name: ArrayOps.divide(value, step, 0, p.display_rounding) * step
                    for name, value in (("adjustment", adjustment), ("exceptional", exceptional), ("total", total))},
        "cents": {"adjustment": adjustment_cents, "exceptional": extra, "total": adjustment_cents + extra},
    }


def neutralize(p: FinalParams, score: Any, paid: Any, pool_cents: int, maximum: Fraction) -> tuple[Factors, dict[str, Any]]:
    """One pass over the whole population: the factors and every TIN/NPI's adjustments."""
    factors = solve(p, partial_sums(p, score, paid), pool_cents, maximum)
    return factors, apply(p, score, paid, factors)


@dataclass(frozen=True)
class PoolParams:
    """The year's bound on the scaling factor and its exceptional-performance pool (read when the rulebook loads)."""

    maximum: Fraction
    pool_cents: int


def pool_params(book: Rulebook) -> PoolParams:
    return PoolParams(Fraction(str(book.value("payment.scaling_factor_maximum"))),
                      int(book.value("payment.exceptional_pool_dollars")) * 100)
