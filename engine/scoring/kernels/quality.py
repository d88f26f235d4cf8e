"""Quality (``decile_benchmarks``): measure points from decile benchmarks, the counted measures, bonuses, the
category percent score. One definition, run on one entity (Python values) or a batch (numpy columns).

Measurement rows carry (see ``engine.scoring.kernels.quality_rows``): measure, method, row (submission order),
measure_type, high_priority, inverse, ratio, first_year, rate_num/rate_den (the rate in units of 10**-4 of a
percent, or of the ratio), dc_num/dc_den (data completeness the same way), cases (case count x 10**4),
end_to_end, bounds (the ten decile lower bounds), benchmark, topped_out, suppressed, reduce_when.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.rules.expressions import Expression
from engine.rules.model import Rulebook
from engine.scoring.fixed import Precision, fixed, precision

# Status and class codes of a measurement row (the explanation turns them into words).
SCORED, SUPPRESSED, EXCLUDED, SUPERSEDED = 0, 1, 2, 3
BENCHMARKED, COMPLETENESS_NOT_MET, NO_BENCHMARK = 0, 1, 2
# Why a measure had no benchmark-based points.
HAS_BENCHMARK, NO_BENCHMARK_DATA, BELOW_CASE_MINIMUM, NO_RATE = 0, 1, 2, 3
REDUCE_WHEN = {"data_submitted": 1, "data_completeness_met": 2}  # a suppressed measure's row: when it reduces
UNIT = 10**4  # rates, bounds and case counts are carried in units of 10**-4
# The readings a rulebook may name (each schema pins the one this kernel implements).
INVERSE_READINGS = {"mirrored": True}  # an inverse measure's deciles are read with the direction reversed
TIE_BREAKS = {"measure_id_ascending": "measure_order"}  # equal points: the lower measure ID counts first
COLLECTION_TIE_BREAKS = {"first_submitted": 1, "last_submitted": -1}  # equal points, one measure: row order x this


@dataclass(frozen=True)
class QualityParams:
    """The quality values a kernel reads, converted once (points and percents at the declared precision)."""

    precision: Precision
    completeness: int  # data completeness threshold, units of 10**-4 %
    case_minimum: int  # x 10**4
    two_decimal_rates: bool
    floor: int
    floor_below: int
    maximum: int
    below_completeness: dict[str, int]
    no_benchmark: int
    excluded_methods: tuple[str, ...]
    new_floors: dict[int, int]
    cap: int | None
    cap_exempt: tuple[str, ...]
    counted: int
    per_measure: int
    required_types: tuple[str, ...]
    required_otherwise_high_priority: bool
    tie_key: str
    best_collection_type: bool
    collection_order: int  # 1: of a measure's collection types with equal points the first submitted counts; -1: the last
    outcome_points: int
    outcome_types: tuple[str, ...]
    high_priority_points: int
    bonus_requires_completeness: bool
    bonus_requires_cases: bool
    bonus_requires_rate: bool
    bonus_excluded_methods: tuple[str, ...]
    bonus_cap_percent: int
    e2e_points: int
    e2e_excluded_methods: tuple[str, ...]
    e2e_requires_completeness: bool
    e2e_cap_percent: int
    suppressed_reduction: int
    small_practice_bonus: int
    small_practice_when: Expression
    improvement: bool
    improvement_maximum: int
    improvement_prior_floor: int
    improvement_multiplier: int
    maximum_percent: int
    facility_based: bool
    year: int
    mirrored: bool
    suppressed: dict[tuple[str, str], int]  # (measure, method) -> when it takes points off the denominator


def quality_params(book: Rulebook) -> QualityParams:
    p = precision(book)
    v = book.value
    points = v("quality.decile_points")
    bonus = v("quality.bonus_conditions")
    e2e = v("quality.end_to_end_bonus")
    improvement = v("quality.improvement")
    rule = v("quality.required_measure_types")
    cap = v("quality.topped_out_cap")
    return QualityParams(
        precision=p,
        completeness=fixed(v("quality.data_completeness_percent"), 4),
        case_minimum=fixed(v("quality.case_minimum"), 4),
        two_decimal_rates=v("quality.rate_precision") == "two_decimals",
        floor=p.fixed(points["floor"]), floor_below=points["floor_below_decile"], maximum=p.fixed(points["maximum"]),
        below_completeness={k: p.fixed(x) for k, x in v("quality.below_completeness_points").items()},
        no_benchmark=p.fixed(v("quality.no_benchmark_points")),
        excluded_methods=tuple(v("quality.excluded_without_benchmark_methods")),
        new_floors={int(k): p.fixed(x) for k, x in (v("quality.new_measure_floors") or {}).items()},
        cap=None if cap is None else p.fixed(cap), cap_exempt=tuple(v("quality.topped_out_cap_exempt_methods")),
        counted=v("quality.counted_measures"), per_measure=p.fixed(v("quality.points_per_measure")),
        required_types=tuple(rule["first"]), required_otherwise_high_priority=rule["otherwise"] == "high_priority",
        tie_key=TIE_BREAKS[v("quality.tie_break")], best_collection_type=bool(v("quality.best_collection_type")),
        collection_order=COLLECTION_TIE_BREAKS[v("quality.collection_type_tie_break")],
        outcome_points=p.fixed(v("quality.outcome_bonus")["points"]),
        outcome_types=tuple(v("quality.outcome_bonus")["measure_types"]),
        high_priority_points=p.fixed(v("quality.high_priority_bonus")["points"]),
        bonus_requires_completeness=bonus["requires_data_completeness"], bonus_requires_cases=bonus["requires_case_minimum"],
        bonus_requires_rate=bonus["requires_rate_above_zero"], bonus_excluded_methods=tuple(bonus["excluded_methods"]),
        bonus_cap_percent=v("quality.bonus_cap_percent"),
        e2e_points=p.fixed(e2e["points"]), e2e_excluded_methods=tuple(e2e["excluded_methods"]),
        e2e_requires_completeness=e2e["requires_data_completeness"], e2e_cap_percent=e2e["cap_percent"],
        suppressed_reduction=p.fixed(v("quality.suppressed_measure_reduction")),
        small_practice_bonus=p.fixed(v("quality.small_practice_bonus")),
        small_practice_when=book.rule("quality.small_practice_bonus_when").expression,
        improvement=improvement["enabled"], improvement_maximum=p.fixed(improvement["maximum_points"]),
        improvement_prior_floor=p.fixed(improvement["prior_floor_percent"]),
        improvement_multiplier=improvement["multiplier"],
        maximum_percent=p.fixed(v("quality.maximum_percent")),
        facility_based=bool(v("quality.facility_based")["enabled"]),
        year=book.year, mirrored=INVERSE_READINGS[v("quality.inverse_interpolation")],
        suppressed={(row["measure"], row["method"]): REDUCE_WHEN.get(row.get("reduce_when"), 1)
                    if row["effect"] == "reduce_denominator" else 0 for row in v("suppressed.measures")},
    )


def measure_points(xp: Any, r: dict[str, Any], p: QualityParams) -> dict[str, Any]:
    """One measurement's achievement points, class and status (elementwise)."""
    digits, rounding = p.precision.digits, p.precision.rounding
    has_dc = r["dc_den"] > 0
    dc_floor, _ = xp.floor_ceil(r["dc_num"], xp.maximum(r["dc_den"], 1))
    completeness_met = has_dc & (dc_floor >= p.completeness)
    has_rate = r["rate_den"] > 0
    rate_den = xp.maximum(r["rate_den"], 1)
    if p.two_decimal_rates:  # the rate rounded half up to two decimals before the lookup
        hundredths = xp.divide(r["rate_num"], rate_den * 100, 0, "half_up")
        rate_num, rate_den = hundredths * 100, rate_den * 0 + 1
    else:
        rate_num = r["rate_num"]
    low_rate, high_rate = xp.floor_ceil(rate_num, rate_den)
    inverse = r["inverse"] & p.mirrored
    decile = xp.decile(low_rate, high_rate, r["bounds"], inverse)
    lower = xp.take_bound(r["bounds"], xp.maximum(decile - 1, 0))
    upper = xp.take_bound(r["bounds"], xp.minimum(decile, 9))
    part = xp.fraction(rate_num, rate_den, lower, upper, digits, rounding, inverse,
                       (decile >= p.floor_below) & (decile < 10))  # used between the floor and the maximum only
    one = p.precision.one
    interpolated = xp.where(decile >= 10, p.maximum, xp.where(decile < p.floor_below, p.floor, decile * one + part))
    years = p.year - r["first_year"]
    new_floor = xp.where(r["first_year"] > 0, _lookup(xp, p.new_floors, years), -1)
    has_new_floor = new_floor >= 0
    capped_table = xp.where(has_new_floor, xp.maximum(interpolated, new_floor), interpolated)
    cap_applies = r["topped_out"] & xp.not_(r["cap_exempt"]) if p.cap is not None else r["topped_out"] & False
    benchmarked = xp.where(cap_applies, xp.minimum(capped_table, p.cap if p.cap is not None else 0), capped_table)
    why = xp.where(xp.not_(r["benchmark"]), NO_BENCHMARK_DATA,
                   xp.where(r["cases"] < p.case_minimum, BELOW_CASE_MINIMUM, xp.where(has_rate, HAS_BENCHMARK, NO_RATE)))
    no_benchmark = xp.where(has_new_floor, new_floor, p.no_benchmark)
    excluded = (why != HAS_BENCHMARK) & r["method_excluded"]
    below = _below_completeness(xp, p, r["below_method_points"], r["small_practice"])
    points = xp.where(xp.not_(completeness_met), below, xp.where(why != HAS_BENCHMARK, no_benchmark, benchmarked))
    status = xp.where(r["suppressed"], SUPPRESSED, xp.where(completeness_met & excluded, EXCLUDED, SCORED))
    kind = xp.where(xp.not_(completeness_met), COMPLETENESS_NOT_MET, xp.where(why != HAS_BENCHMARK, NO_BENCHMARK, BENCHMARKED))
    scored = status == SCORED
    return {
        "points": xp.where(scored, points, 0), "status": status, "class": kind, "why": why,
        "rate_read_num": rate_num, "rate_read_den": xp.where(has_rate, rate_den, 0),
        "decile": xp.where(scored & (kind == BENCHMARKED), decile, -1),
        "lower": lower, "upper": upper, "completeness_met": completeness_met, "has_rate": has_rate,
        "new_floor": xp.where(scored & has_new_floor & (kind != COMPLETENESS_NOT_MET), new_floor, -1),
        "capped": scored & (kind == BENCHMARKED) & cap_applies & (capped_table > benchmarked),
        "cap_applies": scored & (kind == BENCHMARKED) & cap_applies,
        "raised": scored & (kind == BENCHMARKED) & has_new_floor & (new_floor > interpolated),
        "above_zero": has_rate & xp.where(r["inverse"], r["ratio"] | (rate_num < 100 * UNIT * rate_den), rate_num > 0),
    }


def _lookup(xp: Any, table: dict[int, int], key: Any) -> Any:
    value = key * 0 - 1
    for k, points in table.items():
        value = xp.where(key == k, points, value)
    return value


def _below_completeness(xp: Any, p: QualityParams, by_method: Any, small_practice: Any) -> Any:
    """The points of a measure below data completeness: its collection type's own (``by_method``, -1 for none), else
    the small practice's or the default."""
    table = p.below_completeness
    default = xp.where(small_practice, table["small_practice"], table["default"]) if "small_practice" in table \
        else table["default"]
    return xp.where(by_method >= 0, by_method, default)


def _candidates(xp: Any, r: dict[str, Any], p: QualityParams) -> dict[str, Any]:
    scored = r["status"] == SCORED
    return {"scored": scored, "neg_points": -r["points"], "submitted_order": r["row"] * p.collection_order,
            "first_type": scored & r["required_type"],
            "high_priority_scored": scored & r["high_priority"]}


def _superseded(xp: Any, r: dict[str, Any], p: QualityParams) -> dict[str, Any]:
    candidate = r["scored"] & r["best"]
    return {"candidate": candidate, "status": xp.where(r["scored"] & xp.not_(r["best"]), SUPERSEDED, r["status"]),
            "first_candidate": r["first_type"] & r["best"], "high_priority_candidate": r["high_priority_scored"] & r["best"]}


def _required(xp: Any, r: dict[str, Any], p: QualityParams) -> dict[str, Any]:
    fallback = r["best_high_priority"] & xp.not_(r["has_first"]) & p.required_otherwise_high_priority
    required = xp.where(r["has_first"], r["best_first"], fallback)
    return {"required": required, "other": r["candidate"] & xp.not_(required)}


def _counted_and_bonus(xp: Any, r: dict[str, Any], p: QualityParams) -> dict[str, Any]:
    counted = r["required"] | ((r["other_rank"] >= 0) & (r["other_rank"] < p.counted - 1))
    eligible = (r["candidate"] & xp.not_(r["required"]) & xp.not_(r["bonus_excluded"])
                & (r["completeness_met"] | (not p.bonus_requires_completeness))
                & ((r["cases"] >= p.case_minimum) | (not p.bonus_requires_cases))
                & (r["above_zero"] | (not p.bonus_requires_rate)))
    outcome = eligible & r["outcome_type"]
    priority = xp.where(outcome, p.outcome_points, xp.where(eligible & r["high_priority"], p.high_priority_points, 0))
    e2e = (r["candidate"] & r["end_to_end"] & xp.not_(r["e2e_excluded"])
           & (r["completeness_met"] | (not p.e2e_requires_completeness)))
    when = (r["reduce_when"] == 1) | ((r["reduce_when"] == 2) & r["completeness_met"])
    reduce = (r["status"] == EXCLUDED) | (r["suppressed"] & when)
    return {"counted": counted, "counted_points": xp.where(counted, r["points"], 0), "priority_bonus": priority,
            "e2e_bonus": xp.where(e2e, p.e2e_points, 0), "reduces": reduce}


def score(rows: Any, entity: dict[str, Any], p: QualityParams) -> dict[str, Any]:
    """Score the quality category of every entity in ``rows`` (a OneEntity or a Batch)."""
    xp, digits, rounding = rows.ops, p.precision.digits, p.precision.rounding
    rows.put("small_practice", rows.spread(entity["small_practice"]))
    rows.apply(measure_points, p)
    rows.apply(_candidates, p)
    keys = [rows["neg_points"], rows[p.tie_key]]
    rows.put("best", rows.within_key(rows["measure_order"], [rows["neg_points"], rows["submitted_order"]], rows["scored"])
             if p.best_collection_type else rows["scored"])
    rows.apply(_superseded, p)
    rows.put("best_first", rows.best(keys, rows["first_candidate"]))
    rows.put("best_high_priority", rows.best(keys, rows["high_priority_candidate"]))
    rows.put("has_first", rows.spread(rows.any(rows["first_candidate"])))
    rows.apply(_required, p)
    rows.put("other_rank", rows.rank_among(keys, rows["other"]))
    rows.apply(_counted_and_bonus, p)
    reductions = rows.count(rows["reduces"])
    denominator = xp.maximum(p.counted * p.per_measure - p.suppressed_reduction * reductions, 0)
    achievement = rows.sum(rows["counted_points"])
    has_denominator = denominator > 0
    safe = xp.maximum(denominator, 1)
    priority_cap = xp.divide(denominator * p.bonus_cap_percent, 100, 0, rounding)
    e2e_cap = xp.divide(denominator * p.e2e_cap_percent, 100, 0, rounding)
    priority = xp.where(has_denominator, xp.minimum(rows.sum(rows["priority_bonus"]), priority_cap), 0)
    e2e = xp.where(has_denominator, xp.minimum(rows.sum(rows["e2e_bonus"]), e2e_cap), 0)
    submitted = rows.nonempty()
    small_applies = rows.holds(p.small_practice_when, {"smallGroupPractitioner": entity["small_practice"],
                                                       "measures_submitted": rows.rows_per_entity()})
    small = xp.where(small_applies, p.small_practice_bonus, 0)
    achievement_percent = xp.where(has_denominator, xp.divide(achievement * 100, safe, digits, rounding), 0)
    improved = _improvement(xp, p, entity, achievement_percent, has_denominator)
    improvement = improved["improvement"]
    raw = xp.where(has_denominator, xp.divide((achievement + priority + e2e + small) * 100, safe, digits, rounding)
                   + improvement, 0)
    percent = xp.minimum(raw, p.maximum_percent)
    facility = entity["facility_percent"]
    use_facility = (facility >= 0) & p.facility_based & (facility >= percent)
    return {
        "percent": xp.where(use_facility, facility, percent), "from_measures": percent, "facility_used": use_facility,
        "denominator": denominator, "reductions": reductions, "achievement": achievement,
        "achievement_percent": achievement_percent, "priority_bonus": priority, "e2e_bonus": e2e,
        "priority_earned": rows.sum(rows["priority_bonus"]), "e2e_earned": rows.sum(rows["e2e_bonus"]),
        "priority_cap": priority_cap, "e2e_cap": e2e_cap, "small_practice_bonus": small,
        "small_practice_applies": small_applies, **improved,
        "submitted": submitted | ((facility >= 0) & p.facility_based),
    }


def _improvement(xp: Any, p: QualityParams, entity: dict[str, Any], achievement_percent: Any,
                 has_denominator: Any) -> dict[str, Any]:
    """The improvement percent score, whether it applies, and the prior-year percent it was measured from."""
    prior = xp.maximum(entity["prior_percent"], p.improvement_prior_floor)
    applies = has_denominator & entity["prior_full"] & (entity["prior_percent"] >= 0) & p.improvement
    raw = xp.divide((achievement_percent - prior) * p.improvement_multiplier, xp.maximum(prior, 1), p.precision.digits,
                    p.precision.rounding)
    return {"improvement": xp.where(applies, xp.minimum(xp.maximum(raw, 0), p.improvement_maximum), 0),
            "improvement_applies": applies, "improvement_prior": prior}
