"""A hand-written numpy pipeline for a MIPS 2020 population: the baseline ``population.py`` times the engine's
``mips batch`` and ``mips adjust`` against.

``pipeline(submissions, entities, output, pool_cents)`` reads the population's Parquet files (the layout of
docs/population-layout.md) with pyarrow, builds the columns the 2020 scorer of ``numpy_baseline.py`` reads,
scores every submission with it, picks each TIN/NPI's final score by the 2020 hierarchy, solves the budget-neutrality
and exceptional factors and writes the Payment Adjustment table to ``output``: the rows and columns ``mips adjust``
writes. Everything here is written for 2020 alone, from the rule files read at import (``numpy_baseline``'s
constants, its ``_require`` checks, and a few more of its own), with no engine code.

It does the engine's arithmetic and nothing else: it assumes every row is well formed (a synthetic population),
so it checks no value, refuses no row and skips the steps that change nothing on such rows (a measure reported twice,
a PI measure in two sets); it reads only the columns it needs and the whole file at once.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from numpy_baseline import (
    APPLICABLE,
    DIGITS,
    DOUBLING_STATUSES,
    FINAL_MAXIMUM,
    ONE,
    PAYMENT,
    PI,
    REFERENCE,
    THRESHOLD,
    UNIT,
    _file,
    _require,
    divide,
    score_2020,
)

KINDS = ("individual", "group", "virtual_group", "apm_entity")  # the hierarchy's kinds, as mips adjust names them
TYPES = {"individual": 0, "group": 1, "virtualGroup": 2, "apm": 3}  # entity types to those kinds
BANDS = ("maximum_negative", "negative", "neutral", "positive", "positive_exceptional")
HIERARCHY = _file("hierarchy")["steps"]
_require([(name, step["value"]["sources"]) for name, step in HIERARCHY.items()] ==
         [("apm_entity", ["apm_entity"]), ("virtual_group", ["virtual_group"]), ("group_or_individual", ["group", "individual"])],
         "the hierarchy is APM Entity, then virtual group, then the higher of group and individual")
STEPS = tuple(HIERARCHY)
ADDITIONAL = int(Fraction(str(PAYMENT["additional_performance_threshold"])) * ONE)
EXCEPTIONAL_LOW = int(Fraction(str(PAYMENT["exceptional"]["at_threshold"])) * ONE)
EXCEPTIONAL_HIGH = int(Fraction(str(PAYMENT["exceptional"]["at_maximum"])) * ONE)
MAXIMUM_FACTOR = Fraction(str(PAYMENT["scaling_factor_maximum"]))
POOL_CENTS = int(PAYMENT["exceptional_pool_dollars"]) * 100
_require(PAYMENT["display"] == {"decimals": 2, "mode": "truncate"}, "payments show two decimals, truncated")
DISPLAY = 10 ** (DIGITS - PAYMENT["display"]["decimals"])
PERCENT_UNIT = 100 * ONE  # a paid amount times a fixed-point percent, over this, is cents
QUALITY_IDS = sorted(REFERENCE["quality"])
ACTIVITY_IDS = sorted(REFERENCE["ia"])
METHODS = ("claims", "registry", "electronicHealthRecord", "cmsWebInterface", "certifiedSurveyVendor", "administrativeClaims")
SINGLE, MULTI, RATIO = "single", "multi", "ratio"
METRICS = {"singlePerformanceRate": SINGLE, "registrySinglePerformanceRate": SINGLE, "multiPerformanceRate": MULTI,
           "registryMultiPerformanceRate": MULTI, "nonProportion": RATIO}
REDUCE_WHEN = {"data_submitted": 1, "data_completeness_met": 2}  # quality_rows' reduce_when codes
SUPPRESSED = {(row["measure"], row["method"]): REDUCE_WHEN[row.get("reduce_when", "data_submitted")]
              for row in _file("suppressed")["measures"]["value"] if row["effect"] == "reduce_denominator"}
PI_IDS = tuple(dict.fromkeys([*PI["required_attestations"], *PI["measures"], *PI["public_health"]["measures"],
                              *PI["public_health"]["exclusion_measures"], *PI["bonus_measures"], *PI["exclusions"],
                              *sorted(REFERENCE["pi"])]))
PROFILE_FLAGS = ("smallGroupPractitioner", "ruralClinician", "hpsaClinician", "nonPatientFacing", "hospitalBasedClinician",
                 "ambulatorySurgicalCenter", "piHardship", "pcmh", "apmParticipant", "noQualityMeasuresApplicable",
                 "eucDisasterArea")
SETS, ITEMS = "measurement_sets.list.element", "measurements.list.element"
VALUE_FIELDS = ("isEndToEndReported", "performanceMet", "performanceNotMet", "eligiblePopulationExclusion",
                "eligiblePopulationException", "eligiblePopulation", "numerator", "denominator", "observationInstances",
                "denominatorException", "numeratorExclusion")
COUNTS = VALUE_FIELDS[1:6]
STRATUM_FIELDS = ("stratum", *COUNTS)
COLUMNS = ["entity_type", "tin", "npi", "entity_id", *PROFILE_FLAGS, "clinicianType", "facilityBased", "complexPatient",
           "eucApproved", "priorYearQuality", f"{SETS}.category", f"{SETS}.submission_method", f"{SETS}.cehrt_id",
           f"{SETS}.{ITEMS}.measure_id", f"{SETS}.{ITEMS}.boolean_value",
           *(f"{SETS}.{ITEMS}.value.{name}" for name in VALUE_FIELDS),
           *(f"{SETS}.{ITEMS}.value.strata.list.element.{name}" for name in STRATUM_FIELDS)]


@dataclass
class Rows:
    """Rows grouped by entity, as ``numpy_baseline`` reads them (a kernel Batch's attributes)."""

    columns: dict[str, np.ndarray]
    entity: np.ndarray
    entities: int

    def __post_init__(self) -> None:
        self.size = len(self.entity)
        bounds = np.searchsorted(self.entity, np.arange(self.entities + 1))
        self.starts, self.ends = bounds[:-1], bounds[1:]


@dataclass
class Inputs:
    """The scorer's inputs (a ``Stacked``'s attributes)."""

    categories: dict[str, Any]
    facts: dict[str, np.ndarray]
    bonus: tuple[dict[str, np.ndarray], np.ndarray]


def _np(array: Any, fill: Any) -> np.ndarray:
    return pc.fill_null(array, fill).to_numpy(zero_copy_only=False)


def _index(array: Any, ids: list[str] | tuple[str, ...]) -> np.ndarray:
    return _np(pc.index_in(array, value_set=pa.array(ids)), -1).astype(np.int64)


def _flatten(lists: Any) -> tuple[Any, np.ndarray]:
    """List items and each one's list."""
    return pc.list_flatten(lists), pc.list_parent_indices(lists).to_numpy().astype(np.int64)


def _within(entity: np.ndarray) -> np.ndarray:
    """Each row's place among its entity's rows."""
    return np.arange(len(entity)) - np.searchsorted(entity, entity)


def _measure_tables() -> dict[str, np.ndarray]:
    """Per quality measure (in ID order) and (measure, method) pair: what the rows take from CMS's data."""
    metas = [REFERENCE["quality"][m] for m in QUALITY_IDS]
    pairs = len(QUALITY_IDS) * len(METHODS)
    bounds = np.zeros((pairs, 10), dtype=np.int64)
    benchmark, topped, reduce = (np.zeros(pairs, bool), np.zeros(pairs, bool), np.zeros(pairs, np.int64))
    for i, (measure, meta) in enumerate(zip(QUALITY_IDS, metas, strict=True)):
        inverse = bool(meta.get("isInverse"))
        for j, method in enumerate(METHODS):
            record = REFERENCE["benchmarks"].get(f"{measure}|{method}")
            deciles = [int(round(Fraction(str(d)) * UNIT)) for d in record["deciles"]] if record else []
            bounds[i * len(METHODS) + j] = [2**62 if inverse else -(2**62)] * (10 - len(deciles)) + deciles
            benchmark[i * len(METHODS) + j] = record is not None
            topped[i * len(METHODS) + j] = bool(record and record.get("isToppedOutByProgram"))
            reduce[i * len(METHODS) + j] = SUPPRESSED.get((measure, method), 0)
    return {"metric": np.array([METRICS.get(m.get("metricType", ""), "") for m in metas]),
            "algorithm": np.array([m.get("overallAlgorithm") or "weightedAverage" for m in metas]),
            "measure_type": np.array([m.get("measureType") or "" for m in metas]),
            "high_priority": np.array([bool(m.get("isHighPriority")) for m in metas]),
            "inverse": np.array([bool(m.get("isInverse")) for m in metas]),
            "ids": np.array(QUALITY_IDS), "bounds": bounds, "benchmark": benchmark, "topped_out": topped,
            "suppressed": reduce > 0, "reduce_when": reduce}


MEASURES = _measure_tables()


def _simple_average(met: np.ndarray, performed: np.ndarray, owner: np.ndarray, count: int) -> tuple[np.ndarray, ...]:
    """Per measurement (strata in order of ``owner``): the mean of its strata's rates (those performed) x 10**6 as
    numerator and denominator, exact up to a denominator of 10**9, else to 10**-9 (Python integers in object columns:
    a sum of fractions outgrows int64); 0 and 0 without a rate."""
    rated = performed > 0
    owner, met, performed = owner[rated], met[rated].astype(object), performed[rated].astype(object)
    slot = np.arange(len(owner)) - np.searchsorted(owner, owner)
    numerator, denominator = np.zeros(count, dtype=object), np.ones(count, dtype=object)
    for position in range(int(slot.max(initial=-1)) + 1):
        at = slot == position
        index = owner[at]
        numerator[index] = numerator[index] * performed[at] + met[at] * denominator[index]
        denominator[index] = denominator[index] * performed[at]
    rates = np.bincount(owner, minlength=count)
    numerator, denominator = numerator * 100 * UNIT, denominator * np.maximum(rates, 1).astype(object)
    common = np.frompyfunc(math.gcd, 2, 1)(numerator, denominator)
    numerator, denominator = numerator // common, denominator // common
    exact = denominator <= 10**9
    rounded = (2 * numerator * 10**9 + denominator) // (2 * denominator)
    return (np.where(rates > 0, np.where(exact, numerator, rounded), 0).astype(np.int64),
            np.where(rates > 0, np.where(exact, denominator, 10**9), 0).astype(np.int64))


def _ints(values: Any, names: tuple[str, ...]) -> list[np.ndarray]:
    return [_np(pc.struct_field(values, name), 0).astype(np.int64) for name in names]


def _single(values: Any) -> tuple[np.ndarray, ...]:
    """Rate numerator and denominator, reported cases and eligible population of single-rate values."""
    met, not_met, exclusion, exception, population = _ints(values, COUNTS)
    return 100 * UNIT * met, met + not_met, met + not_met + exclusion + exception, population, population * UNIT


def _ratio(values: Any) -> tuple[np.ndarray, ...]:
    numerator, denominator, observed, exception, exclusion = (
        np.rint(_np(pc.struct_field(values, name), 0.0) * UNIT).astype(np.int64)
        for name in ("numerator", "denominator", "observationInstances", "denominatorException", "numeratorExclusion"))
    return UNIT * numerator, denominator, observed + exception + exclusion, denominator, denominator


def _multi(values: Any, algorithm: np.ndarray) -> tuple[np.ndarray, ...]:
    """Multi-rate values by their overall algorithm: the overall stratum, the totals, or the simple average of rates."""
    size = len(algorithm)
    strata, owner = _flatten(pc.struct_field(values, "strata"))
    counts = _ints(strata, COUNTS)
    overall = _np(pc.equal(pc.struct_field(strata, "stratum"), "overall"), False).astype(bool)
    total = np.array([np.bincount(owner, weights=c, minlength=size) for c in counts]).astype(np.int64)
    chosen = np.zeros((len(counts), size), np.int64)
    chosen[:, owner[overall]] = np.array(counts)[:, overall]
    met, not_met, exclusion, exception, population = np.where(algorithm == "overallStratumOnly", chosen, total)
    rate_num, rate_den = 100 * UNIT * met, met + not_met
    reported, cases = met + not_met + exclusion + exception, population.copy()
    simple = np.flatnonzero(algorithm == "simpleAverage")
    if len(simple):
        place = np.full(size, -1)
        place[simple] = np.arange(len(simple))
        mine = place[owner] >= 0
        numerator, denominator = _simple_average(counts[0][mine], (counts[0] + counts[1])[mine], place[owner[mine]],
                                                 len(simple))
        largest = np.zeros(size, np.int64)
        np.maximum.at(largest, owner, counts[4])
        rate_num[simple], rate_den[simple], cases[simple] = numerator, denominator, largest[simple]
        unrated = simple[denominator == 0]
        reported[unrated] = exclusion[unrated] + exception[unrated]
    return rate_num, rate_den, reported, population, cases * UNIT


def _quality(values: Any, measure: np.ndarray, method: np.ndarray) -> dict[str, np.ndarray]:
    """Rate, data completeness and cases of each quality measurement, by its measure's metric type."""
    size = len(measure)
    metric, algorithm = MEASURES["metric"][measure], MEASURES["algorithm"][measure]
    figures = np.zeros((5, size), dtype=np.int64)  # rate numerator, denominator, reported, base, cases x 10**4
    for kind, read in ((SINGLE, _single), (RATIO, _ratio), (MULTI, None)):
        rows = np.flatnonzero(metric == kind)
        taken = values.take(pa.array(rows))
        figures[:, rows] = _multi(taken, algorithm[rows]) if read is None else read(taken)
    rate_num, rate_den, reported, base, cases = figures
    floor = np.where(base > 0, 100 * UNIT * reported // np.maximum(base, 1), -1)
    key = measure * len(METHODS) + method
    return {"measure": MEASURES["ids"][measure], "method": np.asarray(METHODS)[method],
            "measure_type": MEASURES["measure_type"][measure], "high_priority": MEASURES["high_priority"][measure],
            "inverse": MEASURES["inverse"][measure], "ratio": metric == RATIO, "rate_num": rate_num, "rate_den": rate_den,
            "dc_num": np.maximum(floor, 0), "dc_den": (floor >= 0).astype(np.int64), "cases": cases,
            "end_to_end": _np(pc.struct_field(values, "isEndToEndReported"), False).astype(bool),
            "bounds": MEASURES["bounds"][key], "benchmark": MEASURES["benchmark"][key],
            "topped_out": MEASURES["topped_out"][key], "suppressed": MEASURES["suppressed"][key],
            "reduce_when": MEASURES["reduce_when"][key]}


def inputs(table: pa.Table) -> Inputs:
    """The scorer's columns from the submissions table (every row a well-formed 2020 MIPS submission)."""
    entities = table.num_rows
    sets, set_row = _flatten(table.column("measurement_sets").combine_chunks())
    category = _np(pc.struct_field(sets, "category"), "")
    items, item_set = _flatten(pc.struct_field(sets, "measurements"))
    item_row, item_category = set_row[item_set], category[item_set]
    measure_id = pc.struct_field(items, "measure_id")
    answer = pc.struct_field(items, "boolean_value")
    values = pc.struct_field(items, "value")
    quality = np.flatnonzero(item_category == "quality")
    method = _index(pc.struct_field(sets, "submission_method"), METHODS)[item_set[quality]]
    rows = _quality(values.take(pa.array(quality)), _index(measure_id.take(pa.array(quality)), QUALITY_IDS), method)
    rows["row"] = _within(item_row[quality])
    activity = np.flatnonzero(item_category == "ia")
    code = _index(measure_id.take(pa.array(activity)), ACTIVITY_IDS)
    ia = {"activity": np.asarray(ACTIVITY_IDS)[code], "row": _within(item_row[activity]),
          "weight": np.array([REFERENCE["ia"][a].get("weight") or "" for a in ACTIVITY_IDS])[code],
          "answer": _np(answer.take(pa.array(activity)), False).astype(bool)}
    profile = {name: _np(table.column(name), False).astype(bool) for name in PROFILE_FLAGS}
    facility = pc.struct_field(table.column("facilityBased").combine_chunks(), "qualityScore")
    prior = table.column("priorYearQuality").combine_chunks()
    achievement = pc.struct_field(prior, "achievementPercent")
    quality_entity = {"small_practice": profile["smallGroupPractitioner"],
                      "facility_percent": np.where(_np(pc.is_null(facility), True), -1,
                                                   np.rint(_np(facility, 0.0) * UNIT).astype(np.int64) * (ONE // UNIT)),
                      "prior_percent": np.where(_np(pc.is_null(achievement), True), -1,
                                                np.rint(_np(achievement, 0.0) * UNIT).astype(np.int64) * (ONE // UNIT)),
                      "prior_full": _np(pc.struct_field(prior, "fullParticipation"), False).astype(bool)}
    return Inputs({"quality": (Rows(rows, item_row[quality], entities), quality_entity),
                   "ia": (Rows(ia, item_row[activity], entities), {f"status:{s}": profile[s] for s in DOUBLING_STATUSES}),
                   "pi": _interoperability(table, sets, set_row, category, items, item_row, item_category)},
                  _facts(table, profile), _bonus(table))


def _interoperability(table: pa.Table, sets: Any, set_row: np.ndarray, category: np.ndarray, items: Any,
                      item_row: np.ndarray, item_category: np.ndarray) -> dict[str, np.ndarray]:
    """Per entity: whether it has a PI set, one without a CEHRT ID, and each PI measure's answer or counts."""
    entities = table.num_rows
    allowed = np.isin(_np(table.column("entity_type"), ""), PI["allowed_entity_types"])
    pi_set = (category == "pi") & allowed[set_row]
    columns = {"sets": np.bincount(set_row[pi_set], minlength=entities) > 0}
    missing = pi_set & (_np(pc.struct_field(sets, "cehrt_id"), "") == "")
    columns["cehrt_missing"] = np.bincount(set_row[missing], minlength=entities) > 0
    chosen = np.flatnonzero((item_category == "pi") & allowed[item_row])
    taken = items.take(pa.array(chosen))
    code = _index(pc.struct_field(taken, "measure_id"), PI_IDS)
    answer = pc.struct_field(taken, "boolean_value")
    given = ~_np(pc.is_null(answer), True)
    yes = _np(answer, False).astype(bool)
    values = pc.struct_field(taken, "value")
    num = _np(pc.struct_field(values, "numerator"), 0.0).astype(np.int64)
    den = _np(pc.struct_field(values, "denominator"), 0.0).astype(np.int64)
    owner = item_row[chosen]
    for name, column, kind in (("present", np.ones(len(chosen), bool), bool), ("yes", given & yes, bool),
                               ("no", given & ~yes, bool), ("num", np.where(given, 0, num), np.int64),
                               ("den", np.where(given, 0, den), np.int64)):
        grid = np.zeros((len(PI_IDS), entities), dtype=kind)
        grid[code, owner] = column
        for index, measure in enumerate(PI_IDS):
            columns[f"{measure}:{name}"] = grid[index]
    return columns


def _facts(table: pa.Table, profile: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    facts = dict(profile)
    facts["entity_type"] = _np(table.column("entity_type"), "").astype(str)
    facts["clinicianType"] = _np(table.column("clinicianType"), "").astype(str)
    facts["facility_based"] = ~_np(pc.is_null(table.column("facilityBased")), True)
    members, owner = _flatten(table.column("eucApproved").combine_chunks())
    members = _np(members, "").astype(str)
    for member in sorted(set(members.tolist())):
        facts[f"eucApproved:{member}"] = np.bincount(owner[members == member], minlength=table.num_rows) > 0
    return facts


def _bonus(table: pa.Table) -> tuple[dict[str, np.ndarray], np.ndarray]:
    given = table.column("complexPatient").combine_chunks()
    values, known = {}, ~_np(pc.is_null(given), True)
    for name in ("averageHccScore", "dualEligibleRatio"):
        field = pc.struct_field(given, name)
        known &= ~_np(pc.is_null(field), True)
        values[name] = np.rint(_np(field, 0.0) * UNIT).astype(np.int64) * (ONE // UNIT)
    return values, known


def payment(final: np.ndarray, adjustment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The exceptional adjustment before scaling and the payment band of each final score."""
    reached = (final > THRESHOLD) & (final >= ADDITIONAL)
    share = divide((EXCEPTIONAL_HIGH - EXCEPTIONAL_LOW) * np.maximum(final - ADDITIONAL, 0), FINAL_MAXIMUM - ADDITIONAL, 0)
    exceptional = np.where(reached, EXCEPTIONAL_LOW + share, 0)
    band = np.where(final * ONE <= THRESHOLD * int(Fraction(str(PAYMENT["full_negative_fraction"])) * ONE), 0,
                    np.where(final < THRESHOLD, 1, np.where(final == THRESHOLD, 2, 3)))
    return exceptional, np.where(reached, 4, band)


def _numbered(*arrays: Any) -> list[np.ndarray]:
    """String columns numbered together: equal ids, equal numbers (null: -1)."""
    chunks = [c for a in arrays for c in (a.chunks if isinstance(a, pa.ChunkedArray) else [a])]
    codes = _np(pc.dictionary_encode(pa.chunked_array(chunks, pa.string()).combine_chunks()).indices, -1)
    bounds = np.cumsum([0, *(len(a) for a in arrays)])
    return [codes[bounds[i]:bounds[i + 1]].astype(np.int64) for i in range(len(arrays))]


def _lookup(keys: np.ndarray, final: np.ndarray, query: np.ndarray) -> np.ndarray:
    """The final score of each queried key among the scored ``keys``, -1 where it has none."""
    if not len(keys):
        return np.full(len(query), -1, dtype=np.int64)
    order = np.argsort(keys)
    ranked = keys[order]
    at = np.minimum(np.searchsorted(ranked, query), len(ranked) - 1)
    return np.where(ranked[at] == query, final[order][at], -1)


def hierarchy(entities: pa.Table, table: pa.Table, final: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per TIN/NPI: the final score used, its kind (-1: none), step (-1: none) and how many scores cover it."""
    apm_items, apm_row = _flatten(entities.column("apm_entities").combine_chunks())
    tin, result_tin = _numbered(entities.column("tin"), table.column("tin"))
    npi, result_npi = _numbered(entities.column("npi"), table.column("npi"))
    group, apm_code, result_id = _numbered(entities.column("virtual_group"), apm_items, table.column("entity_id"))
    kind = _index(table.column("entity_type"), list(TYPES))
    width = int(max(npi.max(initial=0), result_npi.max(initial=0))) + 2
    of = {code: np.flatnonzero(kind == code) for code in range(len(TYPES))}
    individual = _lookup((result_tin * width + result_npi)[of[0]], final[of[0]], tin * width + npi)
    grouped = _lookup(result_tin[of[1]], final[of[1]], tin)
    virtual = np.where(group >= 0, _lookup(result_id[of[2]], final[of[2]], group), -1)
    apm_score = _lookup(result_id[of[3]], final[of[3]], apm_code)
    size = entities.num_rows
    best_apm = np.full(size, -1, dtype=np.int64)
    np.maximum.at(best_apm, apm_row, apm_score)
    considered = ((individual >= 0).astype(np.int64) + (grouped >= 0) + (virtual >= 0)
                  + np.bincount(apm_row, weights=apm_score >= 0, minlength=size).astype(np.int64))
    other = np.maximum(grouped, individual)
    score = np.where(best_apm >= 0, best_apm, np.where(virtual >= 0, virtual, np.maximum(other, 0)))
    kind_used = np.where(best_apm >= 0, 3, np.where(virtual >= 0, 2,
                                                    np.where(other < 0, -1, np.where(grouped >= individual, 1, 0))))
    step = np.where(best_apm >= 0, 0, np.where(virtual >= 0, 1, np.where(other >= 0, 2, -1)))
    return score, kind_used, step, considered


def _scaled(values: np.ndarray, factor: Fraction) -> np.ndarray:
    """values x factor rounded half up (values >= 0), exact."""
    product = values.astype(object) * (10 * factor.numerator) // factor.denominator
    return ((product + 5) // 10).astype(np.int64)


def _shared(weight: np.ndarray, amount: int) -> np.ndarray:
    """``amount`` cents shared in proportion to ``weight`` by cumulative rounding."""
    total = int(weight.astype(object).sum())
    if total == 0:
        return np.zeros(len(weight), np.int64)
    reached = np.cumsum(weight.astype(object)) * amount // total
    return np.diff(reached, prepend=0).astype(np.int64)


def neutrality(score: np.ndarray, paid: np.ndarray, pool_cents: int) -> dict[str, np.ndarray]:
    """Each covered TIN/NPI's adjustments after the budget-neutral scaling factor and the exceptional factor, and
    cents: decreases rounded half up, increases and the exceptional pool shared out by cumulative rounding."""
    adjustment = payment_adjustment(score)
    exceptional, band = payment(score, adjustment)
    positive, negative = np.maximum(adjustment, 0), np.maximum(-adjustment, 0)
    weight_positive = paid.astype(object) * positive.astype(object)
    decrease = ((2 * paid.astype(object) * negative.astype(object) + PERCENT_UNIT) // (2 * PERCENT_UNIT)).astype(np.int64)
    negative_sum, positive_sum = int((paid.astype(object) * negative.astype(object)).sum()), int(weight_positive.sum())
    factor = Fraction(negative_sum, positive_sum) if positive_sum and negative_sum else Fraction(0)
    increase_cents = int(decrease.sum()) if factor else 0
    if factor > MAXIMUM_FACTOR:
        capped = MAXIMUM_FACTOR * positive_sum / PERCENT_UNIT
        factor, increase_cents = MAXIMUM_FACTOR, (2 * capped.numerator + capped.denominator) // (2 * capped.denominator)
    exceptional_sum = int((paid.astype(object) * exceptional.astype(object)).sum())
    exceptional_factor = Fraction(pool_cents * PERCENT_UNIT, exceptional_sum) if exceptional_sum else Fraction(0)
    scaled = np.where(positive > 0, _scaled(positive, factor), -negative)
    extra = _scaled(exceptional, exceptional_factor)
    increase = _shared(weight_positive, increase_cents)
    cents = increase - decrease
    extra_cents = _shared(paid.astype(object) * exceptional.astype(object), pool_cents if exceptional_sum else 0)
    total = scaled + extra
    return {"band": band, "adjustment_before_scaling": adjustment, "exceptional_before_scaling": exceptional,
            "adjustment": scaled, "exceptional": extra, "total": total,
            "display": {name: np.sign(v) * (np.abs(v) // DISPLAY) * DISPLAY for name, v in
                        (("adjustment", scaled), ("exceptional", extra), ("total", total))},
            "cents": {"adjustment": cents, "exceptional": extra_cents, "total": cents + extra_cents}}


def payment_adjustment(score: np.ndarray) -> np.ndarray:
    negative = -divide(APPLICABLE * np.maximum(THRESHOLD - score, 0), THRESHOLD, 0)
    positive = divide(APPLICABLE * np.maximum(score - THRESHOLD, 0), FINAL_MAXIMUM - THRESHOLD, 0)
    cliff = score * ONE <= THRESHOLD * int(Fraction(str(PAYMENT["full_negative_fraction"])) * ONE)
    return np.where(cliff, -APPLICABLE, np.where(score < THRESHOLD, negative, np.where(score == THRESHOLD, 0, positive)))


def _decimal(values: np.ndarray, covered: np.ndarray, size: int) -> pa.Array:
    full = np.full(size, np.nan)
    full[covered] = values / ONE
    return pa.array(full, mask=np.isnan(full))


CHUNK_ROWS = 65_536  # submissions read and scored at a time


def score(submissions: Path) -> tuple[pa.Table, np.ndarray, float]:
    """Every submission's entity keys and final score (fixed point), a chunk of rows at a time; and the seconds spent
    reading."""
    keys, finals, reading = [], [], 0.0
    batches = pq.ParquetFile(submissions).iter_batches(CHUNK_ROWS, columns=COLUMNS)
    while True:
        start = time.perf_counter()
        batch = next(batches, None)
        reading += time.perf_counter() - start
        if batch is None:
            break
        table = pa.Table.from_batches([batch])
        finals.append(score_2020(inputs(table))["final_score"])
        keys.append(table.select(["entity_type", "tin", "npi", "entity_id"]))
    return pa.concat_tables(keys), np.concatenate(finals), reading


def pipeline(submissions: Path, entities_path: Path, output: Path, pool_cents: int = POOL_CENTS) -> dict[str, float]:
    """The whole pipeline; the seconds each stage took."""
    seconds, start = {}, time.perf_counter()
    keys, final, seconds["read"] = score(submissions)
    entities = pq.read_table(entities_path)
    seconds["score"] = time.perf_counter() - start - seconds["read"]
    start = time.perf_counter()
    chosen, kind, step, considered = hierarchy(entities, keys, final)
    seconds["hierarchy"] = time.perf_counter() - start
    start = time.perf_counter()
    covered = np.flatnonzero(step >= 0)
    paid = entities.column("paid_cents").to_numpy()
    rows = neutrality(chosen[covered], paid[covered], pool_cents)
    seconds["neutrality"] = time.perf_counter() - start
    start = time.perf_counter()
    size = entities.num_rows
    band = np.full(size, len(BANDS))
    band[covered] = rows["band"]
    columns = {"tin": entities.column("tin"), "npi": entities.column("npi"),
               "final_score": _decimal(chosen[covered], covered, size),
               "final_score_source": pa.array([*KINDS, ""]).take(pa.array(np.where(kind < 0, len(KINDS), kind))),
               "final_score_reason": pa.array([*STEPS, "no_score"]).take(pa.array(np.where(step < 0, len(STEPS), step))),
               "candidates": pa.array(considered), "payment.band": pa.array([*BANDS, ""]).take(pa.array(band))}
    for name in ("adjustment_before_scaling", "exceptional_before_scaling", "adjustment", "exceptional", "total"):
        columns[f"payment.{name}"] = _decimal(rows[name], covered, size)
    for name, values in rows["display"].items():
        columns[f"payment.display.{name}"] = _decimal(values, covered, size)
    columns["paid_cents"] = pa.array(paid)
    for name, values in rows["cents"].items():
        cents = np.zeros(size, np.int64)
        cents[covered] = values
        columns[f"cents.{name}"] = pa.array(cents)
    pq.write_table(pa.table(columns), output, compression="zstd")
    seconds["write"] = time.perf_counter() - start
    return seconds
