"""Performance rate, data completeness and case count of one quality measurement, by its metric type.

Every figure is an exact Decimal: 6665 of 10000 is 66.65, never 66.64999.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.base.numbers import HUNDRED, ZERO, decimal


class MeasurementValueError(ValueError):
    """A measurement's value does not have the shape its measure's metric type needs."""


@dataclass(frozen=True)
class Performance:
    rate: Decimal | None
    completeness: Decimal | None
    case_count: int
    end_to_end: bool
    detail: dict[str, Any]


def _count(value: dict, key: str, required: bool = False) -> Decimal:
    raw = value.get(key)
    if raw is None:
        if required:
            raise MeasurementValueError(f"missing {key}")
        return ZERO
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise MeasurementValueError(f"{key} must be a number, found {raw!r}")
    number = decimal(raw)
    if number < 0:
        raise MeasurementValueError(f"{key} is {raw}, below 0")
    if number != number.to_integral_value():
        raise MeasurementValueError(f"{key} is {raw}, not a whole number of cases")
    return number


def _single(value: dict) -> dict[str, Decimal]:
    counts = {
        "performanceMet": _count(value, "performanceMet", required=True),
        "performanceNotMet": _count(value, "performanceNotMet"),
        "eligiblePopulationExclusion": _count(value, "eligiblePopulationExclusion"),
        "eligiblePopulationException": _count(value, "eligiblePopulationException"),
        "eligiblePopulation": _count(value, "eligiblePopulation", required=True),
    }
    reported = sum(v for k, v in counts.items() if k != "eligiblePopulation")
    if reported > counts["eligiblePopulation"]:
        raise MeasurementValueError(
            f"met + not met + exclusions + exceptions = {reported} exceeds eligiblePopulation "
            f"{counts['eligiblePopulation']}")
    return counts


def _rate(met: Decimal, not_met: Decimal) -> Decimal | None:
    return met / (met + not_met) * HUNDRED if met + not_met > 0 else None


def _completeness(counts: dict[str, Decimal]) -> Decimal | None:
    population = counts["eligiblePopulation"]
    if population == 0:
        return None
    reported = sum(v for k, v in counts.items() if k != "eligiblePopulation")
    return reported / population * HUNDRED


def _end_to_end(value: dict) -> bool:
    flag = value.get("isEndToEndReported", False)
    if not isinstance(flag, bool):
        raise MeasurementValueError(f"isEndToEndReported must be true or false, found {flag!r}")
    return flag


def _totals(strata: list[dict[str, Decimal]]) -> dict[str, Decimal]:
    return {k: sum((s[k] for s in strata), ZERO) for k in strata[0]}


def _multi(value: dict, meta: dict) -> Performance:
    strata = value.get("strata")
    if not isinstance(strata, list) or not strata:
        raise MeasurementValueError("a multi-rate measure needs a non-empty strata list")
    names = [s for s in meta.get("strata") or [] if s]
    parsed: dict[str, dict[str, Decimal]] = {}
    for index, stratum in enumerate(strata):
        if not isinstance(stratum, dict):
            raise MeasurementValueError(f"strata[{index}] must be an object")
        name = stratum.get("stratum")
        if names and name not in names:
            raise MeasurementValueError(f"strata[{index}] names stratum {name!r}; expected one of {names}")
        if name in parsed:
            raise MeasurementValueError(f"stratum {name!r} appears twice")
        try:
            parsed[str(name)] = _single(stratum)
        except MeasurementValueError as exc:
            raise MeasurementValueError(f"strata[{index}]: {exc}") from None
    algorithm = meta.get("overallAlgorithm") or "weightedAverage"
    if algorithm == "overallStratumOnly":
        if "overall" not in parsed:
            raise MeasurementValueError("this measure is scored on its 'overall' stratum, which is missing")
        chosen = parsed["overall"]
        rate, counts, cases = _rate(chosen["performanceMet"], chosen["performanceNotMet"]), chosen, None
    else:
        counts = _totals(list(parsed.values()))
        if algorithm == "simpleAverage":
            rates = [_rate(s["performanceMet"], s["performanceNotMet"]) for s in parsed.values()]
            known = [r for r in rates if r is not None]
            rate = sum(known) / len(known) if known else None
            cases = int(max(s["eligiblePopulation"] for s in parsed.values()))
        elif algorithm in ("weightedAverage", "sumNumerators"):
            rate = _rate(counts["performanceMet"], counts["performanceNotMet"])
            cases = None
        else:
            raise MeasurementValueError(f"overallAlgorithm {algorithm!r} is not supported")
    detail = {"algorithm": algorithm, "strata": sorted(parsed)}
    return Performance(rate, _completeness(counts), cases if cases is not None else int(counts["eligiblePopulation"]),
                       _end_to_end(value), detail)


def _non_proportion(value: dict) -> Performance:
    counts = {k: _count(value, k, required=k in ("numerator", "denominator"))
              for k in ("numerator", "denominator", "observationInstances", "denominatorException",
                        "numeratorExclusion")}
    denominator = counts["denominator"]
    reported = counts["observationInstances"] + counts["denominatorException"] + counts["numeratorExclusion"]
    completeness = reported / denominator * HUNDRED if denominator > 0 else None
    rate = counts["numerator"] / denominator if denominator > 0 else None
    return Performance(rate, completeness, int(denominator), _end_to_end(value), {"ratio": True})


def measure_performance(value: Any, meta: dict) -> Performance:
    """Compute a quality measurement's figures from its submitted value."""
    if not isinstance(value, dict):
        raise MeasurementValueError(f"expected an object of performance counts, found {value!r}")
    metric = meta.get("metricType", "")
    if metric in ("singlePerformanceRate", "registrySinglePerformanceRate"):
        counts = _single(value)
        return Performance(_rate(counts["performanceMet"], counts["performanceNotMet"]),
                           _completeness(counts), int(counts["eligiblePopulation"]),
                           _end_to_end(value), {})
    if metric in ("multiPerformanceRate", "registryMultiPerformanceRate"):
        return _multi(value, meta)
    if metric == "nonProportion":
        return _non_proportion(value)
    raise MeasurementValueError(f"metric type {metric!r} is computed by CMS and is not scored from a submission")
