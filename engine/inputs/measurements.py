"""Performance rate, data completeness and case count of one quality measurement, by its metric type.

Every figure is exact: a rate is carried as a numerator and denominator in units of 10**-4 of a percent (of the
ratio, for a non-proportion measure), so 6665 of 10000 is 66.65, never 66.64999. Counts are whole numbers up to
10**9; a non-proportion measure's figures may have up to four decimals (CMS's Submissions API types them as
numbers).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from engine.base.numbers import excerpt

UNIT = 10**4  # rates, completeness and case counts are carried in units of 10**-4
MAXIMUM_COUNT = 10**9
PERCENT = 100 * UNIT  # 100 % in units of 10**-4 %
MOST_COMPLETENESS = 2**62  # a completeness (units of 10**-4 %) beyond every threshold is held near this, within int64
_SINGLE = ("performanceMet", "performanceNotMet", "eligiblePopulationExclusion", "eligiblePopulationException",
           "eligiblePopulation")
_RATIO = ("numerator", "denominator", "observationInstances", "denominatorException", "numeratorExclusion")


class MeasurementValueError(ValueError):
    """A measurement's value does not have the shape its measure's metric type needs."""


@dataclass(frozen=True)
class Performance:
    """A measurement's figures as exact integers (a denominator of 0 means the figure is undefined)."""

    rate_num: int
    rate_den: int
    completeness_floor: int  # floor(completeness % x 10**4); -1 when there is no eligible population
    cases: int  # case count x 10**4
    end_to_end: bool
    ratio: bool
    detail: dict[str, Any]

    @property
    def rate(self) -> Decimal | None:
        return Decimal(self.rate_num) / Decimal(self.rate_den) / UNIT if self.rate_den else None

    @property
    def completeness(self) -> Decimal | None:
        return Decimal(self.completeness_floor) / UNIT if self.completeness_floor >= 0 else None

    @property
    def case_count(self) -> Decimal:
        return Decimal(self.cases) / UNIT


def _count(value: dict, key: str, required: bool = False, whole: bool = True) -> int:
    """A count times 10**4, checked: a number, at least 0, at most 10**9, whole or with at most four decimals."""
    raw = value.get(key)
    if raw is None:
        if required:
            raise MeasurementValueError(f"missing {key}")
        return 0
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise MeasurementValueError(f"{key} must be a number, found {excerpt(raw)}")
    if not 0 <= raw <= MAXIMUM_COUNT:  # NaN too; checked before the number is printed or made a Decimal
        raise MeasurementValueError(f"{key} is {excerpt(raw)}; expected a number from 0 to {MAXIMUM_COUNT}")
    if isinstance(raw, int):
        return raw * UNIT
    number = Decimal(str(raw))
    if whole and number != number.to_integral_value():
        raise MeasurementValueError(f"{key} is {raw}, not a whole number of cases")
    scaled = number * UNIT
    if scaled != scaled.to_integral_value():
        raise MeasurementValueError(f"{key} is {raw}; at most four decimals are read")
    return int(scaled)


def _single(value: dict) -> dict[str, int]:
    counts = {k: _count(value, k, required=k in ("performanceMet", "eligiblePopulation")) // UNIT for k in _SINGLE}
    reported = sum(v for k, v in counts.items() if k != "eligiblePopulation")
    if reported > counts["eligiblePopulation"]:
        raise MeasurementValueError(
            f"met + not met + exclusions + exceptions = {reported} exceeds eligiblePopulation "
            f"{counts['eligiblePopulation']}")
    return counts


def _completeness_floor(reported: int, population: int) -> int:
    """floor(100 % x reported / population) in units of 10**-4 %, -1 without a population; its whole part held at
    MOST_COMPLETENESS // PERCENT (far beyond every threshold) so that it fits a column of int64."""
    if not population:
        return -1
    whole, rest = divmod(reported, population)
    return min(whole, MOST_COMPLETENESS // PERCENT) * PERCENT + rest * PERCENT // population


def _proportion(counts: dict[str, int], end_to_end: bool, detail: dict[str, Any], cases: int | None = None,
                rate: Fraction | None = None) -> Performance:
    met, not_met = counts["performanceMet"], counts["performanceNotMet"]
    if rate is None:
        num, den = 100 * UNIT * met, met + not_met
    else:  # a simple average of stratum rates: exact when its fraction is small enough, else to 10**-9
        exact = rate * 100 * UNIT
        num, den = (exact.numerator, exact.denominator) if exact.denominator <= MAXIMUM_COUNT \
            else (int(exact * 10**9 + Fraction(1, 2)), 10**9)
    reported = sum(v for k, v in counts.items() if k != "eligiblePopulation")
    population = counts["eligiblePopulation"]
    return Performance(num, den, _completeness_floor(reported, population),
                       (population if cases is None else cases) * UNIT, end_to_end, False, detail)


def _end_to_end(value: dict) -> bool:
    flag = value.get("isEndToEndReported", False)
    if not isinstance(flag, bool):
        raise MeasurementValueError(f"isEndToEndReported must be true or false, found {excerpt(flag)}")
    return flag


def _strata(value: dict, meta: dict) -> dict[str, dict[str, int]]:
    strata = value.get("strata")
    if not isinstance(strata, list) or not strata:
        raise MeasurementValueError("a multi-rate measure needs a non-empty strata list")
    names = [s for s in meta.get("strata") or [] if s]
    parsed: dict[str, dict[str, int]] = {}
    for index, stratum in enumerate(strata):
        if not isinstance(stratum, dict):
            raise MeasurementValueError(f"strata[{index}] must be an object")
        name = stratum.get("stratum")
        if not isinstance(name, str | None) or names and name not in names:
            raise MeasurementValueError(f"strata[{index}] names stratum {excerpt(name)}; expected one of {names}"
                                        if names else f"strata[{index}].stratum must be text, found {excerpt(name)}")
        if str(name) in parsed:
            raise MeasurementValueError(f"stratum {excerpt(name)} appears twice")
        try:
            parsed[str(name)] = _single(stratum)
        except MeasurementValueError as exc:
            raise MeasurementValueError(f"strata[{index}]: {exc}") from None
    return parsed


def _multi(value: dict, meta: dict) -> Performance:
    parsed = _strata(value, meta)
    algorithm = meta.get("overallAlgorithm")
    if not algorithm:
        raise MeasurementValueError("CMS's measure data gives this multi-rate measure no overallAlgorithm")
    detail = {"algorithm": algorithm, "strata": sorted(parsed)}
    end_to_end = _end_to_end(value)
    if algorithm == "overallStratumOnly":
        if "overall" not in parsed:
            raise MeasurementValueError("this measure is scored on its 'overall' stratum, which is missing")
        return _proportion(parsed["overall"], end_to_end, detail)
    totals = {k: sum(s[k] for s in parsed.values()) for k in _SINGLE}
    if algorithm in ("weightedAverage", "sumNumerators"):
        return _proportion(totals, end_to_end, detail)
    if algorithm == "simpleAverage":
        rates = [Fraction(s["performanceMet"], s["performanceMet"] + s["performanceNotMet"])
                 for s in parsed.values() if s["performanceMet"] + s["performanceNotMet"]]
        cases = max(s["eligiblePopulation"] for s in parsed.values())
        if not rates:
            return _proportion({**totals, "performanceMet": 0, "performanceNotMet": 0}, end_to_end, detail, cases)
        return _proportion(totals, end_to_end, detail, cases, sum(rates, Fraction(0)) / len(rates))
    raise MeasurementValueError(f"overallAlgorithm {excerpt(algorithm)} is not supported")


def _non_proportion(value: dict) -> Performance:
    counts = {k: _count(value, k, required=k in ("numerator", "denominator"), whole=False) for k in _RATIO}
    denominator = counts["denominator"]
    reported = counts["observationInstances"] + counts["denominatorException"] + counts["numeratorExclusion"]
    return Performance(UNIT * counts["numerator"], denominator, _completeness_floor(reported, denominator),
                       denominator, _end_to_end(value), True, {"ratio": True})


def measure_performance(value: Any, meta: dict) -> Performance:
    """Compute a quality measurement's figures from its submitted value."""
    if not isinstance(value, dict):
        raise MeasurementValueError(f"expected an object of performance counts, found {excerpt(value)}")
    metric = meta.get("metricType", "")
    if metric in ("singlePerformanceRate", "registrySinglePerformanceRate"):
        return _proportion(_single(value), _end_to_end(value), {})
    if metric in ("multiPerformanceRate", "registryMultiPerformanceRate"):
        return _multi(value, meta)
    if metric == "nonProportion":
        return _non_proportion(value)
    raise MeasurementValueError(f"metric type {metric!r} is computed by CMS and is not scored from a submission")
