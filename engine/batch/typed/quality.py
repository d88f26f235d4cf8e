"""The quality kernel's measurement rows from typed columns, over whole columns: the rows ``quality_rows`` builds one
submission at a time, with the figures ``engine.inputs.measurements.measure_performance`` computes from each value,
and the same measurements left out (a measure repeated by one method, an unknown measure, a method the measure does
not allow, a value of the wrong shape or out of range)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from engine.batch.typed import decimals
from engine.batch.typed import lookups as lk
from engine.batch.typed.checks import first_in
from engine.batch.typed.levels import Levels, codes, flags, floats, ints, lengths, nested, nulls, numbered
from engine.inputs.measurements import MAXIMUM_COUNT, MOST_COMPLETENESS, PERCENT, UNIT
from engine.scoring.frame import Batch, grouped_batch
from engine.scoring.kernels.quality import QualityParams

SINGLE_COUNTS = ("performanceMet", "performanceNotMet", "eligiblePopulationExclusion", "eligiblePopulationException",
                 "eligiblePopulation")  # the last is the population the others are part of
REQUIRED_COUNTS = ("performanceMet", "eligiblePopulation")
RATIO_FIGURES = ("numerator", "denominator", "observationInstances", "denominatorException", "numeratorExclusion")
REQUIRED_RATIO = ("numerator", "denominator")
RATIO_DECIMALS = 4
OVERALL_STRATUM = "overall"
NO_NAME = "None"  # a stratum without a name is compared as ``str(None)``
READ = ("measure_order", "high_priority", "inverse", "first_year", "bounds", "benchmark", "topped_out", "suppressed",
        "reduce_when", "cap_exempt", "method_excluded", "bonus_excluded", "e2e_excluded", "outcome_type",
        "required_type", "below_method_points")  # the data's row values the kernel reads (not the measure ID or method)
EXACT_DENOMINATOR = MAXIMUM_COUNT  # a simple average of rates stays exact while its denominator is at most this ...
ROUNDED_DENOMINATOR = 10**9  # ... else it is rounded half up to this denominator


@dataclass
class Figures:
    """Per measurement: whether its value may be scored, and the figures of ``measurements.Performance``."""

    ok: np.ndarray
    rate_num: np.ndarray
    rate_den: np.ndarray
    floor: np.ndarray  # data completeness floor in units of 10**-4 %, -1 when there is no eligible population
    cases: np.ndarray  # x 10**4
    ratio: np.ndarray

    @staticmethod
    def empty(size: int) -> Figures:
        zeros = np.zeros(size, dtype=np.int64)
        return Figures(np.zeros(size, dtype=bool), zeros, zeros.copy(), zeros.copy(), zeros.copy(), zeros.astype(bool))

    def put(self, where: np.ndarray, other: Figures) -> None:
        """``other``'s figures (one per element of ``where``) in place of these at ``where``."""
        for name in ("ok", "rate_num", "rate_den", "floor", "cases", "ratio"):
            getattr(self, name)[where] = getattr(other, name)


def _counts(values: pa.Array) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """A single rate's counts (nulls 0), and whether they are there where required, each from 0 to MAXIMUM_COUNT, the
    others adding up to at most the eligible population (``measurements._single``)."""
    found, ok = {}, ~nulls(values)
    for name in SINGLE_COUNTS:
        array = pc.struct_field(values, name)
        found[name] = ints(array)
        ok &= (found[name] >= 0) & (found[name] <= MAXIMUM_COUNT)
        if name in REQUIRED_COUNTS:
            ok &= ~nulls(array)
    reported = sum(found[name] for name in SINGLE_COUNTS[:-1])
    return found, ok & (reported <= found[SINGLE_COUNTS[-1]])


def _floor(reported: np.ndarray, population: np.ndarray) -> np.ndarray:
    """floor(100 % x reported / population) in units of 10**-4 %, -1 without a population: long division a factor of
    100 at a time, so that nothing leaves int64 (a completeness beyond MOST_COMPLETENESS is held there)."""
    safe = np.maximum(population, 1)
    whole, rest = np.divmod(reported, safe)
    result = np.minimum(whole, MOST_COMPLETENESS // PERCENT)
    for _ in range(3):  # PERCENT = 100 ** 3
        digit, rest = np.divmod(rest * 100, safe)
        result = result * 100 + digit
    return np.where(population > 0, result, -1)


def _proportion(counts: dict[str, np.ndarray], ok: np.ndarray, cases: np.ndarray | None = None) -> Figures:
    """``measurements._proportion``: met of met + not met; completeness of the eligible population."""
    met, not_met, population = counts["performanceMet"], counts["performanceNotMet"], counts["eligiblePopulation"]
    reported = np.sum([counts[name] for name in SINGLE_COUNTS[:-1]], axis=0)
    return Figures(ok, PERCENT * met, met + not_met, _floor(reported, population),
                   (population if cases is None else cases) * UNIT, np.zeros(len(ok), dtype=bool))


def _ratio(values: pa.Array) -> Figures:
    """``measurements._non_proportion``: figures with up to RATIO_DECIMALS decimals, each from 0 to MAXIMUM_COUNT."""
    scaled, ok = {}, np.ones(len(values), dtype=bool)
    for name in RATIO_FIGURES:
        array = pc.struct_field(values, name)
        number = floats(array)
        within = (number >= 0) & (number <= MAXIMUM_COUNT)
        scaled[name], exact = decimals.counts(np.where(within, number, 0), RATIO_DECIMALS, "floor")
        ok &= within & exact
        if name in REQUIRED_RATIO:
            ok &= ~nulls(array)
    denominator = scaled["denominator"]
    reported = scaled["observationInstances"] + scaled["denominatorException"] + scaled["numeratorExclusion"]
    return Figures(ok, UNIT * scaled["numerator"], denominator, _floor(reported, denominator), denominator,
                   np.ones(len(values), dtype=bool))


def _multi(values: pa.Array, table: lk.Quality, measure: np.ndarray) -> Figures:
    """``measurements._multi``: strata named as the measure lists them (when it does), none twice, each a well-formed
    single rate; the overall figures by the measure's algorithm."""
    count = len(values)
    strata = nested(pc.struct_field(values, "strata"))
    owner, names = strata.parent, strata.field("stratum")
    counts, ok = _counts(strata.values)
    listed = codes(names, table.strata)
    packed = measure[owner] * max(len(table.strata), 1) + listed
    ok &= ~table.named_strata[measure[owner]] | ((listed >= 0) & np.isin(packed, table.listed))
    ok &= first_in(owner, numbered(pc.fill_null(names, NO_NAME)), np.ones(len(owner), dtype=bool))
    fine = lengths(pc.struct_field(values, "strata")) > 0
    fine[owner[~ok]] = False
    totals = {name: np.bincount(owner, weights=counts[name], minlength=count).astype(np.int64) for name in SINGLE_COUNTS}
    algorithm = table.algorithm[measure]
    figures = _proportion(totals, fine & (algorithm == lk.TOTALS))
    overall = flags(pc.equal(names, OVERALL_STRATUM))
    picked = {name: np.zeros(count, dtype=np.int64) for name in SINGLE_COUNTS}
    for name in SINGLE_COUNTS:
        picked[name][owner[overall]] = counts[name][overall]
    has_overall = np.zeros(count, dtype=bool)
    has_overall[owner[overall]] = True
    by_overall = np.flatnonzero(algorithm == lk.OVERALL)
    figures.put(by_overall, _subset(_proportion(picked, fine & has_overall), by_overall))
    by_average = np.flatnonzero(algorithm == lk.SIMPLE)
    figures.put(by_average, _subset(_simple(owner, counts, totals, fine & (algorithm == lk.SIMPLE)), by_average))
    return figures


def _subset(figures: Figures, where: np.ndarray) -> Figures:
    return Figures(*(getattr(figures, name)[where] for name in ("ok", "rate_num", "rate_den", "floor", "cases", "ratio")))


def _simple(owner: np.ndarray, counts: dict[str, np.ndarray], totals: dict[str, np.ndarray], fine: np.ndarray) -> Figures:
    """A simple average of the strata's rates (those with met + not met > 0), exact as a fraction while its
    denominator is at most EXACT_DENOMINATOR, else rounded half up to ROUNDED_DENOMINATOR; the cases of the largest
    stratum. Without a rate: no rate, completeness from the exclusions and exceptions."""
    count = len(fine)
    largest = np.zeros(count, dtype=np.int64)
    np.maximum.at(largest, owner, counts["eligiblePopulation"])
    performed = counts["performanceMet"] + counts["performanceNotMet"]
    rated = np.zeros(count, dtype=bool)
    rated[owner[performed > 0]] = True
    unrated = _proportion({**totals, "performanceMet": np.zeros(count, np.int64), "performanceNotMet": np.zeros(count, np.int64)},
                          fine, largest)
    figures = _proportion(totals, fine, largest)
    figures.put(~rated, _subset(unrated, ~rated))
    which = np.flatnonzero(rated & fine)
    if len(which):
        figures.rate_num[which], figures.rate_den[which] = _average(owner, counts["performanceMet"], performed, which, count)
    return figures


def _average(owner: np.ndarray, met: np.ndarray, performed: np.ndarray, which: np.ndarray,
             count: int) -> tuple[np.ndarray, np.ndarray]:
    """For the measurements ``which``, the mean of their strata's rates met / performed (those performed > 0) times
    PERCENT, as (numerator, denominator): reduced when the denominator is at most EXACT_DENOMINATOR, else rounded half
    up to ROUNDED_DENOMINATOR. Exact integers (Python's, in object columns): the sum of a few fractions outgrows int64.
    ``owner``: each stratum's measurement, of ``count``."""
    place = np.full(count, -1, dtype=np.int64)
    place[which] = np.arange(len(which))
    chosen = np.flatnonzero((place[owner] >= 0) & (performed > 0))
    member = place[owner[chosen]]
    slot = np.arange(len(chosen)) - np.searchsorted(member, member)  # each rate's place among its measurement's
    numerator = np.zeros(len(which), dtype=object)
    denominator = np.ones(len(which), dtype=object)
    for position in range(int(slot.max()) + 1 if len(slot) else 0):
        at = slot == position
        index, top, bottom = member[at], met[chosen[at]].astype(object), performed[chosen[at]].astype(object)
        numerator[index] = numerator[index] * bottom + top * denominator[index]
        denominator[index] = denominator[index] * bottom
    numerator = numerator * PERCENT
    denominator = denominator * np.bincount(member, minlength=len(which)).astype(object)
    common = np.frompyfunc(math.gcd, 2, 1)(numerator, denominator)
    numerator, denominator = numerator // common, denominator // common
    exact = denominator <= EXACT_DENOMINATOR
    rounded = (2 * numerator * ROUNDED_DENOMINATOR + denominator) // (2 * denominator)
    return (np.where(exact, numerator, rounded).astype(np.int64),
            np.where(exact, denominator, ROUNDED_DENOMINATOR).astype(np.int64))


def figures(values: pa.Array, table: lk.Quality, measure: np.ndarray) -> Figures:
    """The figures of each value by its measure's metric type (``measurements.measure_performance``); a value that is
    not an object of counts, or whose measure is not scored from a submission, may not be scored."""
    metric = table.metric[measure]
    found = Figures.empty(len(values))
    for kind, read in ((lk.SINGLE, lambda v, m: _proportion(*_counts(v))), (lk.RATIO, lambda v, m: _ratio(v)),
                       (lk.MULTI, lambda v, m: _multi(v, table, m))):
        where = np.flatnonzero(metric == kind)
        if len(where):
            found.put(where, read(values.take(pa.array(where)), measure[where]))
    found.ok &= ~nulls(values)
    return found


def rows(lv: Levels, set_ok: np.ndarray, measurement_ok: np.ndarray, quality_sets: np.ndarray, entity_of_row: np.ndarray,
         entities: int, table: lk.Quality, p: QualityParams) -> Batch:
    """The quality rows of the entities (``entity_of_row``: each row's entity, -1 for rows not scored here) from the
    measurements of their valid quality sets (``quality_sets``), as ``quality_rows`` gives them."""
    sets, ms = lv.sets, lv.measurements
    kinds = lk.methods()
    method = codes(sets.field("submission_method"), pa.array(kinds, pa.string()))[ms.parent]
    row = lv.row_of("measurements")
    candidate = measurement_ok & set_ok[ms.parent] & quality_sets[ms.parent] & (entity_of_row[row] >= 0)
    first = first_in(row * len(kinds) + method, lv.measure_ids, candidate)
    measure = codes(ms.field("measure_id"), table.ids)
    key = np.maximum(measure, 0) * len(kinds) + np.maximum(method, 0)
    considered = np.flatnonzero(candidate & first & (measure >= 0) & table.allowed[key])
    taken = ms.values.take(pa.array(considered))
    value = pc.struct_field(taken, "value")  # an object value; a yes/no one is not counts
    values = pc.if_else(pc.is_null(pc.struct_field(taken, "boolean_value")), value, pa.nulls(len(considered), value.type))
    found = figures(values, table, measure[considered])
    kept = considered[found.ok]
    entity = entity_of_row[row[kept]]
    columns = {name: column[key[kept]] for name, column in table.static.items() if name in READ}
    starts = np.searchsorted(entity, np.arange(entities))
    columns.update({
        "row": np.arange(len(kept), dtype=np.int64) - starts[entity],
        "ratio": found.ratio[found.ok], "rate_num": found.rate_num[found.ok], "rate_den": found.rate_den[found.ok],
        "dc_num": np.maximum(found.floor[found.ok], 0), "dc_den": (found.floor[found.ok] >= 0).astype(np.int64),
        "cases": found.cases[found.ok],
        "end_to_end": flags(pc.struct_field(values, "isEndToEndReported"))[found.ok],
    })
    return grouped_batch(columns, entity, entities)
