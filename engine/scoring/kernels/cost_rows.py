"""The cost kernel's inputs for one entity: a row per cost measure the profile reports (``costMeasures``), joined
with CMS's cost measure data and the measure's cost benchmark."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from engine.inputs.measurements import MAXIMUM_COUNT
from engine.inputs.submission import Issue
from engine.rules.model import Rulebook
from engine.scoring.frame import Batch

UNIT = 10**4  # costs and bounds are carried in units of 10**-4
DECIMALS = 8  # a reported cost is carried to this many decimals (score_den divides 10**4)
BEYOND = MAXIMUM_COUNT + 1  # a cost further from 0 than every bound compares as this (in whole units)
BELOW_EVERY_BOUND = 2**62  # the lower bound of a decile the benchmark does not list
MOST_CASES = 2**62  # case counts are only compared with case minimums: larger ones are clamped to this
METHOD = "administrativeClaims"  # CMS computes cost from claims; its benchmarks are listed under this method

COLUMNS = {"measure": str, "row": np.int64, "path": str, "cases": np.int64, "score_num": np.int64,
           "score_den": np.int64, "benchmark": bool, "bounds": np.int64, "first": np.int64, "inverse": bool}


def decile_bounds(deciles: Sequence[Decimal], inverse: bool) -> tuple[int, ...]:
    """The ten decile lower bounds in units of 10**-4; a benchmark of nine starts at decile 2."""
    if any(d * UNIT != int(d * UNIT) or abs(d) > MAXIMUM_COUNT for d in deciles):
        raise ValueError(f"cost benchmark bounds must have at most 4 decimals and be at most {MAXIMUM_COUNT}: {deciles}")
    scaled = [int(d * UNIT) for d in deciles]
    return tuple([BELOW_EVERY_BOUND if inverse else -BELOW_EVERY_BOUND] * (10 - len(scaled)) + scaled)


def _units(score: Any, inverse: bool) -> tuple[int, int] | None:
    """The cost as num/den in units of 10**-4 (None: not a number). A cost beyond every possible bound is clamped
    and one with more than ``DECIMALS`` decimals rounded to them, up for an inverse measure and down otherwise:
    neither changes how it compares with any bound (bounds have at most four decimals)."""
    number = Decimal(str(score))
    if number.is_nan():
        return None
    limit = BEYOND * UNIT
    if number.is_infinite():
        return (limit if number > 0 else -limit), 1
    grid = 10**DECIMALS // UNIT
    value = Fraction(number) * UNIT
    if grid % value.denominator:
        value = Fraction(math.ceil(value * grid) if inverse else math.floor(value * grid), grid)
    value = max(min(value, Fraction(limit)), Fraction(-limit))
    return value.numerator, value.denominator


def cost_rows(book: Rulebook, profile: Mapping[str, Any], issues: list[Issue]) -> dict[str, list[Any]]:
    """Columns of the profile's cost measures; problems become issues, never silent drops."""
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for index, reported in enumerate(profile.get("costMeasures", [])):
        measure, path = reported["measureId"], f"profile.costMeasures[{index}]"
        meta = book.reference.cost.get(measure)
        if meta is None:
            issues.append(Issue(path, f"{measure} is not a {book.year} cost measure", "profile",
                                code="cost_measure_unknown", severity="error"))
            continue
        inverse = bool(meta["isInverse"])  # required by the reference data's schema
        units = _units(reported["score"], inverse)
        if units is None:
            issues.append(Issue(path, f"cost measure {measure} not scored: its score is {reported['score']}, not a "
                                "number", "profile", code="cost_value_invalid", severity="error"))
            continue
        benchmark = book.reference.benchmark(measure, METHOD)
        deciles = benchmark.deciles if benchmark else ()
        row = {"measure": measure, "row": len(columns["row"]), "path": path,
               "cases": min(reported["attributedCases"], MOST_CASES), "score_num": units[0],
               "score_den": units[1], "benchmark": benchmark is not None, "bounds": decile_bounds(deciles, inverse),
               "first": 10 - len(deciles) + 1, "inverse": inverse}
        for name in COLUMNS:
            columns[name].append(row[name])
    return columns


def cost_batch(parts: Sequence[Mapping[str, Sequence[Any]]]) -> Batch:
    """One Batch from each entity's ``cost_rows`` (the entities in order)."""
    entity = np.repeat(np.arange(len(parts), dtype=np.int64), [len(part["row"]) for part in parts])
    columns: dict[str, np.ndarray] = {name: np.array([v for part in parts for v in part[name]], dtype=kind)
                                      for name, kind in COLUMNS.items()}
    columns["bounds"] = columns["bounds"].reshape(-1, 10)
    return Batch(columns, entity, len(parts))
