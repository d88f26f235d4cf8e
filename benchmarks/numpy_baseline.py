"""A hand-written numpy scoring of MIPS 2020: the baseline the array kernels are timed against.

``score_2020(stacked)`` reads the stacked input columns the kernels read (``engine.scoring.columnar.Stacked``)
and computes every entity's category percents, complex patient bonus, reweighting row, final score and payment
adjustment before scaling, in plain numpy written for 2020 alone: no engine kernel, no ScalarOps/ArrayOps, no
Batch group steps, no rule expressions. Every figure is an int64 count of 10**-6 (the rulebook's precision) and
every quotient is rounded half up by long division, as the kernels do, so that the two agree exactly.

Rule values are read once, at import, from rules/2020/*.yaml. The conditions and formulas are hand-coded for
2020; the rule texts they were coded from, and the switches they depend on (exact rates, mirrored inverse
measures, no new-measure floors, no PI substitutes, ...), are checked at import, so that an edited rule file
fails loudly rather than scores wrongly. Quality measure and activity IDs become integer codes (their rank in ID
order) through a perfect hash of the year's ID lists in rules/2020/reference/cms-measures.json, built at import.

Covered: every entity type 2020 scores (individual, group, virtual group, APM Entity; the MIPS program). Quality:
decile from the ten bounds, interpolation, floor, topped-out cap, data completeness and case minimum, no-benchmark
and excluded collection types, suppressed measures, best collection type, the required outcome/high-priority
slot and the top six with ties by measure ID, outcome/high-priority and end-to-end bonuses with their caps,
small-practice bonus, improvement percent, facility-based score. Improvement activities: weights, full-credit
activity, doubling for special statuses, cap, an activity counted once on its first true answer. PI: required
attestations, cehrtId, measure points after exclusions and their redistribution, public health, the PDMP bonus,
the one-point minimum, the cap. Cost not scored. The IA credits (certified medical home, APM Entity), the
reweighting conditions and tables, the complex patient bonus, the final score and the payment adjustment before
scaling. Left out: the exceptional-performance adjustment, the scaling factors and the displayed figures of
``engine.scoring.kernels.final.payment``, and every explanation output (statuses, zero reasons, row columns).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import yaml

YEAR = Path(__file__).resolve().parents[1] / "rules" / "2020"
CATEGORIES = ("quality", "cost", "ia", "pi")  # program.yaml categories: the bit order of a scored-category mask


# --------------------------------------------------------------------------------------- the 2020 rule values


def _file(stem: str) -> dict[str, Any]:
    return yaml.safe_load((YEAR / f"{stem}.yaml").read_text())


def _values(stem: str) -> dict[str, Any]:
    """A rule file's parameter values by name (the ``value`` of each ``name: {value: ...}``)."""
    return {name: spec["value"] for name, spec in _file(stem).items() if isinstance(spec, dict) and "value" in spec}


def _require(holds: bool, what: str) -> None:
    """Refuse to import when a 2020 rule file no longer says what the code below is written for."""
    if not holds:
        raise ValueError(f"numpy_baseline is hand-coded for 2020 rules where {what}")


def _text(condition: str) -> str:
    return " ".join(condition.split())


def fixed(value: Any, digits: int | None = None) -> int:
    """A rule value as an integer count of 10**-digits (DIGITS by default; refused if it has more decimals)."""
    digits = DIGITS if digits is None else digits
    number = Decimal(str(value)) * 10**digits
    _require(number == number.to_integral_value(), f"{value} has at most {digits} decimals")
    return int(number)


PROGRAM, QUALITY, IA, PI = _values("program"), _values("quality"), _values("ia"), _values("pi")
WEIGHTS, BONUSES, PAYMENT, FINAL = _file("weights"), _values("bonuses"), _values("payment"), _values("final")
DIGITS = PROGRAM["precision"]["decimals"]
ONE = 10**DIGITS
UNIT = 10**4  # rates, bounds, completeness and case counts are carried in units of 10**-4 (quality_rows)
_require(PROGRAM["precision"]["rounding"] == "half_up", "quotients are rounded half up")
_require(tuple(PROGRAM["categories"]) == CATEGORIES, f"the categories are {CATEGORIES}")
_require(PROGRAM["programs"] == ["mips"], "the one program is MIPS")
_require(_file("cost")["mechanism"] == "not_scored", "cost is not scored")

# Quality (quality.yaml; suppressed.yaml is in the rows' ``suppressed`` and ``reduce_when`` columns already).
_require(_file("quality")["mechanism"] == "decile_benchmarks", "quality is scored from decile benchmarks")
_require(QUALITY["rate_precision"] == "exact" and QUALITY["inverse_interpolation"] == "mirrored",
         "rates are exact and inverse measures mirrored")
_require(not QUALITY["new_measure_floors"], "no new measure has a floor")
_require(QUALITY["decile_points"]["interpolate"] and QUALITY["best_collection_type"]
         and QUALITY["collection_type_tie_break"] == "first_submitted", "points are interpolated and a measure counts "
         "once, by its best collection type (on equal points, the first submitted)")
_require(QUALITY["tie_break"] == "measure_id_ascending" and QUALITY["required_measure_types"]["otherwise"] ==
         "high_priority", "ties go to the lower measure ID and the required slot falls back on high priority")
_require(all(QUALITY["bonus_conditions"][k] for k in ("requires_data_completeness", "requires_case_minimum",
                                                        "requires_rate_above_zero"))
         and QUALITY["end_to_end_bonus"]["requires_data_completeness"], "bonuses need completeness, cases and a rate")
_require(set(QUALITY["below_completeness_points"]) == {"default", "small_practice", "cmsWebInterface"},
         "points below completeness are by small practice, and for the CMS Web Interface")
_require(QUALITY["improvement"]["enabled"] and QUALITY["facility_based"]["enabled"],
         "improvement scoring and facility-based scoring are on")
COMPLETENESS = fixed(QUALITY["data_completeness_percent"], 4)
CASE_MINIMUM = fixed(QUALITY["case_minimum"], 4)
FLOOR = fixed(QUALITY["decile_points"]["floor"])
FLOOR_BELOW = QUALITY["decile_points"]["floor_below_decile"]
MAXIMUM_POINTS = fixed(QUALITY["decile_points"]["maximum"])
TOPPED_OUT_CAP = fixed(QUALITY["topped_out_cap"])
CAP_EXEMPT = tuple(QUALITY["topped_out_cap_exempt_methods"])
NO_BENCHMARK = fixed(QUALITY["no_benchmark_points"])
EXCLUDED_METHODS = tuple(QUALITY["excluded_without_benchmark_methods"])
BELOW = {name: fixed(points) for name, points in QUALITY["below_completeness_points"].items()}
COUNTED = QUALITY["counted_measures"]
PER_MEASURE = fixed(QUALITY["points_per_measure"])
REQUIRED_TYPES = tuple(QUALITY["required_measure_types"]["first"])
OUTCOME_POINTS = fixed(QUALITY["outcome_bonus"]["points"])
OUTCOME_TYPES = tuple(QUALITY["outcome_bonus"]["measure_types"])
HIGH_PRIORITY_POINTS = fixed(QUALITY["high_priority_bonus"]["points"])
BONUS_EXCLUDED = tuple(QUALITY["bonus_conditions"]["excluded_methods"])
PRIORITY_CAP_PERCENT = QUALITY["bonus_cap_percent"]
E2E_POINTS = fixed(QUALITY["end_to_end_bonus"]["points"])
E2E_EXCLUDED = tuple(QUALITY["end_to_end_bonus"]["excluded_methods"])
E2E_CAP_PERCENT = QUALITY["end_to_end_bonus"]["cap_percent"]
SUPPRESSED_REDUCTION = fixed(QUALITY["suppressed_measure_reduction"])
SMALL_PRACTICE_BONUS = fixed(QUALITY["small_practice_bonus"])
IMPROVEMENT_MAXIMUM = fixed(QUALITY["improvement"]["maximum_points"])
PRIOR_FLOOR = fixed(QUALITY["improvement"]["prior_floor_percent"])
IMPROVEMENT_MULTIPLIER = QUALITY["improvement"]["multiplier"]
MAXIMUM_PERCENT = fixed(QUALITY["maximum_percent"])
METHODS = tuple(dict.fromkeys([*CAP_EXEMPT, *EXCLUDED_METHODS, "cmsWebInterface", *BONUS_EXCLUDED, *E2E_EXCLUDED]))
REDUCE_ALWAYS, REDUCE_WHEN_COMPLETE = 1, 2  # quality_rows' ``reduce_when`` codes (suppressed.yaml reduce_when)
DECILE_BITS = (1 << np.arange(10)).astype(np.uint16)  # decile k: bit k - 1
ALL_DECILES = (1 << 10) - 1
HIGHEST_BIT = np.array([mask.bit_length() for mask in range(ALL_DECILES + 1)])  # a decile mask -> the highest decile

# Improvement activities (ia.yaml). Its credits, the only ones of 2020, apply after the categories.
_require(_file("ia")["mechanism"] == "activity_points", "activities earn points by weight")
CREDIT_WHEN = {"pcmh": "pcmh", "apm_entity": "entity_type == 'apm'"}  # coded in ``credited``
IA_CREDITS = tuple((c["id"], fixed(c["percent"])) for c in _file("ia").get("credits", []))
_require(all(CREDIT_WHEN.get(c["id"]) == _text(c["when"]) for c in _file("ia").get("credits", [])),
         f"the IA credits are among {CREDIT_WHEN}")
_require(not any("credits" in _file(stem) for stem in ("quality", "cost", "pi")), "only IA has credits")
ACTIVITY_POINTS = {name: fixed(points) for name, points in IA["activity_points"].items()}
DOUBLING_STATUSES = tuple(IA["doubling_statuses"])
STATUS_MULTIPLIER = IA["special_status_multiplier"]
IA_MAXIMUM = fixed(IA["maximum_points"])
FULL_CREDIT = tuple(IA["full_credit_activities"])

# Promoting Interoperability (pi.yaml).
HEALTH = PI["public_health"]
_require(_file("pi")["mechanism"] == "measure_points", "PI is scored by measure points")
_require(PI["cehrt_id_required"] and not PI.get("required_answers") and "substitute_answered_no" not in PI,
         "a cehrtId is required and no answer or substitute can send the category to 0")
_require(all(m["required"] and not m.get("substitutes") for m in PI["measures"].values()),
         "every PI measure is required and none has a substitute")
_require(not HEALTH["required"] and not HEALTH.get("bonus_any"), "public health is optional and has no bonus")
_require(all(x["excludes"] in PI["measures"] and set(x["redistribute"]) <= set(PI["measures"])
             for x in PI["exclusions"].values()), "exclusions move points between the measures")
_require(HEALTH["all_excluded_to"] in PI["measures"], "public health points go to a measure when all are excluded")
_require(PI["rounding"] == "half_up", "measure points are rounded half up")
PI_MEASURES = {name: fixed(spec["points"]) for name, spec in PI["measures"].items()}
ATTESTATIONS = tuple(PI["required_attestations"])
PI_EXCLUSIONS = tuple((name, x["excludes"], tuple((t, fixed(s)) for t, s in x["redistribute"].items()))
                      for name, x in PI["exclusions"].items())
PER_YES, OBJECTIVE = fixed(HEALTH["points_per_yes"]), fixed(HEALTH["objective_points"])
SINGLE_YES_WITH_EXCLUSION = fixed(HEALTH["single_yes_with_exclusion_points"])
PI_BONUS = {name: fixed(points) for name, points in PI["bonus_measures"].items()}
PI_MINIMUM, PI_MAXIMUM = fixed(PI["minimum_points_with_numerator"]), fixed(PI["maximum_points"])

# Reweighting (weights.yaml): the conditions coded in ``reweighting_mask`` and ``score_2020``; the table rows are
# looked up by the scored categories.
AUTOMATIC_EUC = "entity_type == 'individual'"
REWEIGHT_WHEN = {
    "quality": "not submitted_quality and not facility_based and (automatic_euc or 'quality' in eucApproved or "
               "noQualityMeasuresApplicable)",
    "cost": "True",
    "ia": "not submitted_ia and entity_type != 'apm' and (automatic_euc or 'ia' in eucApproved)",
    "pi": "not submitted_pi and (automatic_euc or entity_type == 'apm' or 'pi' in eucApproved or piHardship or "
          "hospitalBasedClinician or nonPatientFacing or ambulatorySurgicalCenter or clinicianType in "
          "pi_reweighting_clinician_types)",
}
TABLE_FOR = {"appendix_a": ("individual",), "appendix_b": ("group", "virtualGroup"), "apm_scoring_standard": ("apm",)}
TABLE_WHEN = ["entity_type == 'individual'", "entity_type in ('group', 'virtualGroup')", "entity_type == 'apm'"]
_require(_text(WEIGHTS["automatic_euc"]["when"]) == AUTOMATIC_EUC, f"the automatic EUC is {AUTOMATIC_EUC}")
_require({c: _text(spec["when"]) for c, spec in WEIGHTS["reweight_when"].items()} == REWEIGHT_WHEN,
         f"the reweighting conditions are {REWEIGHT_WHEN}")
_require([(t["id"], _text(t["applies_when"])) for t in WEIGHTS["tables"]] == list(zip(TABLE_FOR, TABLE_WHEN, strict=True)),
         f"the reweighting tables are {list(TABLE_FOR)}, by entity type")
PI_CLINICIAN_TYPES = tuple(WEIGHTS["pi_reweighting_clinician_types"]["value"])


def _tables() -> tuple[np.ndarray, np.ndarray]:
    """Per table (and a last one: none applies) and scored-category mask: the four weights (whole percent) and
    whether the row is neutral; a mask the table has no row for weighs every category 0 and is not neutral, as the
    kernel reads it."""
    weights = np.zeros((len(TABLE_FOR) + 1, 1 << len(CATEGORIES), len(CATEGORIES)), dtype=np.int64)
    neutral = np.zeros(weights.shape[:2], dtype=bool)
    for t, table in enumerate(WEIGHTS["tables"]):
        for row in table["rows"]:
            mask = sum(1 << CATEGORIES.index(c) for c in row["scored"])
            weights[t, mask] = [fixed(row["weights"][c], 0) for c in CATEGORIES]
            neutral[t, mask] = row["adjustment"] == "neutral"
    return weights, neutral


TABLE_WEIGHTS, TABLE_NEUTRAL = _tables()

# Final score, complex patient bonus, payment (final.yaml, bonuses.yaml, payment.yaml).
COMPLEX_FORMULA = "min(cap, multiplier * (averageHccScore + dual_weight * dualEligibleRatio))"  # coded in complex_patient
_require(_text(_file("bonuses")["complex_patient"]["formula"]) == COMPLEX_FORMULA,
         f"the complex patient bonus is {COMPLEX_FORMULA}")
_require(_file("final")["mechanism"] == "weighted_sum" and FINAL["neutral_final_score"] == "performance_threshold",
         "the final score is a weighted sum, the performance threshold for a neutral row")
_require(_file("payment")["mechanism"] == "linear_scale", "the payment adjustment is on a linear scale")
COMPLEX_CAP, COMPLEX_MULTIPLIER = fixed(BONUSES["cap"]), fixed(BONUSES["multiplier"])
DUAL_WEIGHT = fixed(BONUSES["dual_weight"])
COMPLEX_NEEDS_DATA = bool(BONUSES["requires_submitted_data"])
FINAL_MAXIMUM = fixed(FINAL["maximum"])
THRESHOLD, APPLICABLE = fixed(PAYMENT["performance_threshold"]), fixed(PAYMENT["applicable_percent"])
FULL_NEGATIVE = fixed(PAYMENT["full_negative_fraction"])


# ------------------------------------------------------------------------------- exact arithmetic, grouping


def divide(n: np.ndarray, d: np.ndarray | int, digits: int) -> np.ndarray:
    """n x 10**digits / d rounded half up, for n >= 0 and d > 0, exactly: digit by digit (long division), so that
    n x 10**digits never has to fit in an int64."""
    quotient, rest = np.divmod(n, d)
    for _ in range(digits + 1):
        digit, rest = np.divmod(rest * 10, d)
        quotient = quotient * 10 + digit
    return (quotient + 5) // 10


def times(a: np.ndarray, b: int) -> np.ndarray:
    """The fixed-point product a x b, rounded half up by magnitude (a rule formula's ``*``)."""
    product = a * b
    magnitude = divide(np.abs(product), ONE, 0)
    return np.where(product >= 0, magnitude, -magnitude)


def segment_sums(columns: list[np.ndarray], starts: np.ndarray, ends: np.ndarray) -> list[np.ndarray]:
    """Per entity, the sum of each row column (rows grouped by entity, entity i's from starts[i] to ends[i])."""
    sums = []
    for column in columns:
        totals = np.zeros(len(column) + 1, dtype=np.int64)
        np.cumsum(column, out=totals[1:])
        sums.append(totals[ends] - totals[starts])
    return sums


def order(keys: list[np.ndarray]) -> np.ndarray:
    """The stable order sorting by ``keys`` (non-negative integers, the first key first): a single int64 argsort
    of the keys packed side by side when their widths fit in 63 bits, else np.lexsort."""
    widths = [int(key.max()).bit_length() if len(key) else 0 for key in keys]
    if sum(widths) > 63:
        return np.lexsort(keys[::-1])
    packed = np.zeros(len(keys[0]), dtype=np.int64)
    for key, width in zip(keys, widths, strict=True):
        packed = (packed << width) | key
    return np.argsort(packed, kind="stable")


def group_heads(*keys: np.ndarray) -> np.ndarray:
    """True where a row starts a run of equal ``keys`` (rows in sorted order)."""
    head = np.ones(len(keys[0]), dtype=bool)
    if len(head) > 1:
        head[1:] = False
        for key in keys:
            head[1:] |= key[1:] != key[:-1]
    return head


def any_equal(column: np.ndarray, options: tuple[str, ...]) -> np.ndarray:
    """column == any of ``options`` (a few comparisons, no sort)."""
    found = np.zeros(len(column), dtype=bool)
    for option in options:
        found |= column == option
    return found


def any_of(matches: dict[str, np.ndarray], names: tuple[str, ...]) -> np.ndarray:
    """The rows matching any of ``names``, from comparisons made once per name (``matches``)."""
    found = np.zeros(len(next(iter(matches.values()))), dtype=bool)
    for name in names:
        found |= matches[name]
    return found


@dataclass(frozen=True)
class IdCodes:
    """A list of IDs (the year's quality measures or activities) to their rank in ID order, through a perfect hash
    built at import: a string's characters, two to a 64-bit word, fold into one 64-bit hash whose top ``bits`` bits
    are a distinct slot for every ID of the list. A string whose hash is not its slot's (none of quality_rows' or
    ia_rows', which keep only listed IDs) sends the whole column to np.unique, whose codes order the IDs alike."""

    multipliers: np.ndarray  # uint64, one per word
    bits: int
    ranks: np.ndarray  # per slot: its ID's rank in sorted order, -1 for none
    hashes: np.ndarray  # per slot: its ID's full hash

    @staticmethod
    def build(ids: list[str], bits: int = 18) -> IdCodes:
        words = max(len(i) for i in ids) // 2 + 1
        strings = np.array(sorted(ids), dtype=f"<U{2 * words}")
        for seed in range(1000):
            multipliers = np.random.default_rng(seed).integers(0, 2**62, size=words, dtype=np.int64) * 2 + 1
            trial = IdCodes(multipliers.astype(np.uint64), bits, np.zeros(0, np.int64), np.zeros(0, np.uint64))
            hashes = trial.hash(strings)
            slots = trial.slot(hashes)
            if len(np.unique(slots)) == len(ids):
                ranks = np.full(1 << bits, -1, dtype=np.int64)
                ranks[slots] = np.arange(len(ids))
                table = np.zeros(1 << bits, dtype=np.uint64)
                table[slots] = hashes
                return IdCodes(trial.multipliers, bits, ranks, table)
        raise ValueError("no perfect hash found for the ID list")

    def hash(self, strings: np.ndarray) -> np.ndarray:
        chars = strings.dtype.itemsize // 4
        if chars % 2:  # two characters to a word
            strings, chars = strings.astype(f"<U{chars + 1}"), chars + 1
        words = np.ascontiguousarray(strings).view(np.uint64).reshape(len(strings), chars // 2)
        folded = np.zeros(len(strings), dtype=np.uint64)
        for j in range(words.shape[1]):
            folded += words[:, j] * self.multipliers[j]
        return folded

    def slot(self, hashes: np.ndarray) -> np.ndarray:
        return (hashes >> np.uint64(64 - self.bits)).astype(np.intp)

    def __call__(self, strings: np.ndarray) -> np.ndarray:
        """Each string's rank among the list's IDs (ordered as the strings are)."""
        if len(strings) == 0 or (strings.dtype.itemsize // 4 + 1) // 2 > len(self.multipliers):
            return np.unique(strings, return_inverse=True)[1].reshape(-1)
        hashes = self.hash(strings)
        slots = self.slot(hashes)
        ranks = self.ranks[slots]
        if ranks.min() < 0 or not np.array_equal(self.hashes[slots], hashes):
            return np.unique(strings, return_inverse=True)[1].reshape(-1)
        return ranks


REFERENCE = json.loads((YEAR / "reference" / "cms-measures.json").read_text())
MEASURE_CODES = IdCodes.build(list(REFERENCE["quality"]))
ACTIVITY_CODES = IdCodes.build(list(REFERENCE["ia"]))


# ------------------------------------------------------------------------------------------------- quality


def deciles(floor: np.ndarray, ceil: np.ndarray, bounds: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """The highest decile (1-10) whose lower bound the rate reaches, else 0, compared exactly on integers: the
    rate's floor at or above the bound (a direct measure), its ceiling at or below it (an inverse one: not
    ceiling - 1 at or above it). A row's ten answers become the bits of one integer (bit k - 1: decile k), whose
    highest bit set is looked up."""
    above = np.where(inverse, ceil - 1, floor)[:, None] >= bounds
    bits = above.view(np.uint8) @ DECILE_BITS
    return HIGHEST_BIT[bits ^ np.where(inverse, ALL_DECILES, 0).astype(np.uint16)]


def table_points(floor: np.ndarray, rest: np.ndarray, den: np.ndarray, bounds: np.ndarray, decile: np.ndarray,
                 inverse: np.ndarray) -> np.ndarray:
    """Decile-table points: the floor below decile FLOOR_BELOW, the maximum at decile 10, else the decile plus the
    fraction of the way from its bound to the next (computed for those rows only)."""
    points = np.where(decile >= 10, MAXIMUM_POINTS, FLOOR)
    rows = np.flatnonzero((decile >= FLOOR_BELOW) & (decile < 10))
    at = decile[rows]
    low, high = bounds[rows, np.maximum(at - 1, 0)], bounds[rows, at]
    points[rows] = at * ONE + fraction(floor[rows], rest[rows], den[rows], low, high, inverse[rows])
    return points


def fraction(floor: np.ndarray, rest: np.ndarray, den: np.ndarray, low: np.ndarray, high: np.ndarray,
             inverse: np.ndarray) -> np.ndarray:
    """How far the rate floor + rest/den lies from bound ``low`` towards bound ``high`` (downwards for an inverse
    measure), a fraction in [0, 1) at DIGITS decimals rounded half up; 0 outside the interval. Exact in int64: the
    quotient (whole + part/den) / width is a long division whose dividend is itself produced digit by digit."""
    whole = np.where(inverse, low - floor - (rest > 0), floor - low)
    part = np.where(inverse & (rest > 0), den - rest, np.where(inverse, 0, rest))
    width = np.where(inverse, low - high, high - low)
    outside = (width <= 0) | (whole < 0) | (whole >= width)
    width, whole, part = np.where(outside, 1, width), np.where(outside, 0, whole), np.where(outside, 0, part)
    quotient, remainder = np.zeros_like(whole), whole
    for _ in range(DIGITS + 1):
        digit, part = np.divmod(part * 10, den)
        step, remainder = np.divmod(remainder * 10 + digit, width)
        quotient = quotient * 10 + step
    return (quotient + 5) // 10


def measure_points(r: dict[str, np.ndarray], small_practice: np.ndarray, method: dict[str, np.ndarray]) -> dict[str, Any]:
    """Each measurement row's achievement points (0 unless scored), and the row facts selection and bonuses read."""
    completeness_met = (r["dc_den"] > 0) & (r["dc_num"] // np.maximum(r["dc_den"], 1) >= COMPLETENESS)
    num, den, inverse = r["rate_num"], np.maximum(r["rate_den"], 1), r["inverse"]
    has_rate = r["rate_den"] > 0
    floor, rest = np.divmod(num, den)
    decile = deciles(floor, floor + (rest > 0), r["bounds"], inverse)
    from_table = table_points(floor, rest, den, r["bounds"], decile, inverse)
    capped = np.where(r["topped_out"] & ~any_of(method, CAP_EXEMPT), np.minimum(from_table, TOPPED_OUT_CAP), from_table)
    benchmarked = r["benchmark"] & (r["cases"] >= CASE_MINIMUM) & has_rate
    below = np.where(method["cmsWebInterface"], BELOW["cmsWebInterface"],
                     np.where(small_practice, BELOW["small_practice"], BELOW["default"]))
    points = np.where(completeness_met, np.where(benchmarked, capped, NO_BENCHMARK), below)
    excluded = ~r["suppressed"] & completeness_met & ~benchmarked & any_of(method, EXCLUDED_METHODS)
    scored = ~r["suppressed"] & ~excluded
    return {"points": np.where(scored, points, 0), "scored": scored, "excluded": excluded,
            "completeness_met": completeness_met,
            "above_zero": has_rate & np.where(inverse, r["ratio"] | (num < 100 * UNIT * den), num > 0)}


def first_per_entity(owner: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Positions (in a ranked order, rows grouped by ``owner``) of each entity's first row where ``mask`` holds."""
    picks = np.flatnonzero(mask)
    return picks[group_heads(owner[picks])]


def selection(entity: np.ndarray, measure: np.ndarray, row: np.ndarray, points: np.ndarray, scored: np.ndarray,
              first_type: np.ndarray, high_priority: np.ndarray, entities: int) -> tuple[np.ndarray, ...]:
    """The candidate rows (a measure's best collection type: most points, then first submitted), the required
    one (the best outcome-type candidate, else the best high-priority one) and the counted ones (the required and
    the best others up to COUNTED), candidates ranked by points then measure ID. Returns row masks."""
    top = points.max(initial=0)
    rows = np.flatnonzero(scored)
    by_measure = rows[order([entity[rows], measure[rows], top - points[rows], row[rows]])]
    candidate = np.zeros(len(entity), dtype=bool)
    candidate[by_measure[group_heads(entity[by_measure], measure[by_measure])]] = True
    rows = np.flatnonzero(candidate)
    ranked = rows[order([entity[rows], top - points[rows], measure[rows]])]
    owner = entity[ranked]
    best_first = first_per_entity(owner, first_type[ranked])
    has_first = np.zeros(entities, dtype=bool)
    has_first[owner[best_first]] = True
    best_high_priority = first_per_entity(owner, high_priority[ranked])
    required = np.zeros(len(ranked), dtype=bool)
    required[best_first] = True
    required[best_high_priority[~has_first[owner[best_high_priority]]]] = True
    others = np.flatnonzero(~required)
    place = np.arange(len(others))
    place -= np.maximum.accumulate(np.where(group_heads(owner[others]), place, 0))  # rank among the entity's others
    counted = required.copy()
    counted[others[place < COUNTED - 1]] = True
    masks = np.zeros((2, len(entity)), dtype=bool)
    masks[0, ranked[required]] = True
    masks[1, ranked[counted]] = True
    return candidate, masks[0], masks[1]


def quality(batch: Any, entity: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Every entity's quality percent and whether quality counts as submitted."""
    r = batch.columns
    method = {name: r["method"] == name for name in METHODS}
    m = measure_points(r, entity["small_practice"][batch.entity], method)
    kind = r["measure_type"]
    outcome = {name: kind == name for name in dict.fromkeys([*REQUIRED_TYPES, *OUTCOME_TYPES])}
    candidate, required, counted = selection(
        batch.entity, MEASURE_CODES(r["measure"]), r["row"], m["points"], m["scored"],
        any_of(outcome, REQUIRED_TYPES), r["high_priority"], len(entity["small_practice"]))
    eligible = (candidate & ~required & ~any_of(method, BONUS_EXCLUDED) & m["completeness_met"]
                & (r["cases"] >= CASE_MINIMUM) & m["above_zero"])
    priority = np.where(eligible & any_of(outcome, OUTCOME_TYPES), OUTCOME_POINTS,
                        np.where(eligible & r["high_priority"], HIGH_PRIORITY_POINTS, 0))
    e2e = candidate & r["end_to_end"] & ~any_of(method, E2E_EXCLUDED) & m["completeness_met"]
    when = (r["reduce_when"] == REDUCE_ALWAYS) | ((r["reduce_when"] == REDUCE_WHEN_COMPLETE) & m["completeness_met"])
    reduces = m["excluded"] | (r["suppressed"] & when)
    sums = segment_sums([np.where(counted, m["points"], 0), priority, e2e * E2E_POINTS, reduces], batch.starts, batch.ends)
    return quality_percent(sums, entity, batch.ends > batch.starts)


def quality_percent(sums: list[np.ndarray], entity: dict[str, np.ndarray],
                    has_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """From each entity's counted points, bonuses earned and denominator reductions: the percent (bonuses capped,
    small-practice bonus, improvement, facility-based score when higher) and whether quality was submitted."""
    achievement, priority, e2e, reductions = sums
    denominator = np.maximum(COUNTED * PER_MEASURE - SUPPRESSED_REDUCTION * reductions, 0)
    has_denominator = denominator > 0
    safe = np.maximum(denominator, 1)
    priority = np.where(has_denominator, np.minimum(priority, divide(denominator * PRIORITY_CAP_PERCENT, 100, 0)), 0)
    e2e = np.where(has_denominator, np.minimum(e2e, divide(denominator * E2E_CAP_PERCENT, 100, 0)), 0)
    small = np.where(entity["small_practice"] & has_rows, SMALL_PRACTICE_BONUS, 0)
    achievement_percent = np.where(has_denominator, divide(achievement * 100, safe, DIGITS), 0)
    prior = np.maximum(entity["prior_percent"], PRIOR_FLOOR)
    gain = divide(np.maximum(achievement_percent - prior, 0) * IMPROVEMENT_MULTIPLIER, np.maximum(prior, 1), DIGITS)
    improves = has_denominator & entity["prior_full"] & (entity["prior_percent"] >= 0)
    improvement = np.where(improves, np.minimum(gain, IMPROVEMENT_MAXIMUM), 0)
    raw = np.where(has_denominator, divide((achievement + priority + e2e + small) * 100, safe, DIGITS) + improvement, 0)
    percent = np.minimum(raw, MAXIMUM_PERCENT)
    facility = entity["facility_percent"]
    return np.where((facility >= 0) & (facility >= percent), facility, percent), has_rows | (facility >= 0)


# ------------------------------------------------------------------------------------- improvement activities


def improvement_activities(batch: Any, entity: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Every entity's IA percent and whether IA was submitted: an activity counts once, on its first true answer;
    its weight's points (doubled for a special status), full credit for a medical home activity, at most IA_MAXIMUM."""
    r = batch.columns
    doubled = np.zeros(batch.entities, dtype=bool)
    for status in DOUBLING_STATUSES:
        doubled = doubled | entity[f"status:{status}"]
    factor = np.where(doubled, STATUS_MULTIPLIER, 1)[batch.entity]
    answered = np.flatnonzero(r["answer"])
    codes = ACTIVITY_CODES(r["activity"][answered])
    ranked = order([batch.entity[answered], codes, r["row"][answered]])
    counted = np.zeros(batch.size, dtype=bool)
    counted[answered[ranked][group_heads(batch.entity[answered][ranked], codes[ranked])]] = True
    weight = np.zeros(batch.size, dtype=np.int64)
    for name, value in ACTIVITY_POINTS.items():
        weight = np.where(r["weight"] == name, value, weight)
    full = any_equal(r["activity"], FULL_CREDIT)
    points = np.where(full, IA_MAXIMUM, weight * factor)
    raw, full_activity, activities = segment_sums([np.where(counted, points, 0), counted & full, counted],
                                                  batch.starts, batch.ends)
    earned = np.where(full_activity > 0, IA_MAXIMUM, np.minimum(raw, IA_MAXIMUM))
    return divide(earned * 100, IA_MAXIMUM, DIGITS), activities > 0


# ------------------------------------------------------------------------------------ promoting interoperability


def pi_measure(e: dict[str, np.ndarray], name: str, available: np.ndarray, claimed: np.ndarray) -> tuple[np.ndarray, ...]:
    """One required PI measure's points (yes: all available; counts: available x rate, rounded half up to a whole
    point, at least PI_MINIMUM with a numerator) and whether it sends the category to 0 (missing, no, numerator 0)."""
    present, yes, no, num = e[f"{name}:present"], e[f"{name}:yes"], e[f"{name}:no"], e[f"{name}:num"]
    n, d = num * available, np.maximum(e[f"{name}:den"], 1) * ONE
    whole, rest = np.divmod(n, d)
    rate = (whole + (2 * rest >= d)) * ONE
    excluded = claimed & (available == 0)
    counts = present & ~excluded & ~yes & ~no
    rate = np.where((num >= 1) & (rate < PI_MINIMUM), PI_MINIMUM, rate)
    points = np.where(excluded | ~present, 0, np.where(yes, available, np.where(counts, rate, 0)))
    failed = ~excluded & (~present | (no & ~yes) | (counts & (num == 0)))
    return points, failed


def promoting_interoperability(e: dict[str, np.ndarray], entities: int) -> tuple[np.ndarray, np.ndarray]:
    """Every entity's PI percent and whether PI was submitted."""
    scored = e["sets"] & ~e["cehrt_missing"]
    for name in ATTESTATIONS:
        scored = scored & e[f"{name}:yes"]
    available = {name: np.full(entities, points, dtype=np.int64) for name, points in PI_MEASURES.items()}
    claimed = {name: np.zeros(entities, dtype=bool) for name in PI_MEASURES}
    for name, excludes, shares in PI_EXCLUSIONS:  # in the rule file's order: a moved share may move again
        claim, moved = e[f"{name}:yes"], available[excludes]
        available[excludes] = np.where(claim, 0, moved)
        whole = sum(share for _, share in shares)
        for target, share in shares:
            available[target] = available[target] + np.where(claim, divide(moved * share, whole, 0), 0)
        claimed[excludes] = claimed[excludes] | claim
    yes = np.sum([e[f"{name}:yes"] for name in HEALTH["measures"]], axis=0, dtype=np.int64)
    excluded = np.sum([e[f"{name}:yes"] for name in HEALTH["exclusion_measures"]], axis=0, dtype=np.int64)
    total = np.where(yes > 0, np.where((yes == 1) & (excluded > 0), SINGLE_YES_WITH_EXCLUSION,
                                       np.minimum(yes * PER_YES, OBJECTIVE)), 0)
    target = HEALTH["all_excluded_to"]
    available[target] = available[target] + np.where((yes == 0) & (excluded > 0), OBJECTIVE, 0)
    for name in PI_MEASURES:
        points, failed = pi_measure(e, name, available[name], claimed[name])
        total = total + points
        scored = scored & ~failed
    for name, bonus in PI_BONUS.items():
        total = total + np.where(e[f"{name}:yes"], bonus, 0)
    return np.where(scored, np.minimum(total, PI_MAXIMUM), 0), e["sets"]


# ---------------------------------------------------------------------------- reweighting, final score, payment


def credited(facts: dict[str, np.ndarray]) -> np.ndarray:
    """The IA percent CMS assigns (the highest credit whose condition holds; -1 for none): ia.yaml credits."""
    holds = {"pcmh": facts["pcmh"], "apm_entity": facts["entity_type"] == "apm"}
    credit = np.full(len(facts["entity_type"]), -1, dtype=np.int64)
    for name, percent in IA_CREDITS:
        credit = np.where(holds[name], np.maximum(credit, percent), credit)
    return credit


def reweighting_mask(facts: dict[str, np.ndarray], submitted: dict[str, np.ndarray]) -> np.ndarray:
    """The scored categories as a bit mask (bit i: CATEGORIES[i]), from weights.yaml's reweight_when, hand-coded."""
    entities = len(facts["entity_type"])
    never = np.zeros(entities, dtype=bool)

    def euc(category: str) -> np.ndarray:
        return facts.get(f"eucApproved:{category}", never)

    automatic_euc = facts["entity_type"] == "individual"
    apm = facts["entity_type"] == "apm"
    pi_type = np.zeros(entities, dtype=bool)
    for clinician_type in PI_CLINICIAN_TYPES:
        pi_type |= facts["clinicianType"] == clinician_type
    reweighted = {
        "quality": ~submitted["quality"] & ~facts["facility_based"]
        & (automatic_euc | euc("quality") | facts["noQualityMeasuresApplicable"]),
        "cost": ~never,
        "ia": ~submitted["ia"] & ~apm & (automatic_euc | euc("ia")),
        "pi": ~submitted["pi"] & (automatic_euc | apm | euc("pi") | facts["piHardship"] | facts["hospitalBasedClinician"]
                                  | facts["nonPatientFacing"] | facts["ambulatorySurgicalCenter"] | pi_type),
    }
    mask = np.zeros(entities, dtype=np.int64)
    for bit, name in enumerate(CATEGORIES):
        mask |= np.where(reweighted[name], 0, 1 << bit)
    return mask


def complex_patient(bonus: tuple[dict[str, np.ndarray], np.ndarray], submitted_any: np.ndarray) -> np.ndarray:
    """min(cap, multiplier x (average HCC + dual weight x dual-eligible ratio)), not below 0; 0 without its inputs
    or (bonuses.yaml requires_submitted_data) without data submitted."""
    inputs, known = bonus
    inner = inputs["averageHccScore"] + times(inputs["dualEligibleRatio"], DUAL_WEIGHT)
    value = np.maximum(np.minimum(COMPLEX_CAP, times(inner, COMPLEX_MULTIPLIER)), 0)
    if COMPLEX_NEEDS_DATA:
        value = np.where(submitted_any, value, 0)
    return np.where(known, value, 0)


def payment_adjustment(score: np.ndarray) -> np.ndarray:
    """The payment adjustment before scaling (10**-6 percent): the full negative adjustment up to a fourth of the
    threshold, linear to 0 at the threshold, linear to the applicable percent at the maximum score."""
    negative = -divide(APPLICABLE * np.maximum(THRESHOLD - score, 0), THRESHOLD, 0)
    positive = divide(APPLICABLE * np.maximum(score - THRESHOLD, 0), FINAL_MAXIMUM - THRESHOLD, 0)
    return np.where(score * ONE <= THRESHOLD * FULL_NEGATIVE, -APPLICABLE,
                    np.where(score < THRESHOLD, negative, np.where(score == THRESHOLD, 0, positive)))


def score_2020(stacked: Any) -> dict[str, Any]:
    """Every entity's category percents (after credits), complex patient bonus, weights, neutral flag, final score
    and payment adjustment before scaling, as int64 columns at 10**-6 (weights in whole percent), from the stacked
    kernel inputs of the 2020 rulebook (a ``Stacked``; nothing in it is modified)."""
    facts = stacked.facts
    entities = len(facts["entity_type"])
    percent, submitted = {}, {}
    percent["quality"], submitted["quality"] = quality(*stacked.categories["quality"])
    percent["cost"], submitted["cost"] = np.zeros(entities, dtype=np.int64), np.zeros(entities, dtype=bool)
    percent["ia"], submitted["ia"] = improvement_activities(*stacked.categories["ia"])
    percent["pi"], submitted["pi"] = promoting_interoperability(stacked.categories["pi"], entities)
    submitted_any = submitted["quality"] | submitted["ia"] | submitted["pi"]  # cost is never submitted data
    credit = credited(facts)
    percent["ia"] = np.where(credit >= 0, np.maximum(percent["ia"], credit), percent["ia"])
    submitted["ia"] = submitted["ia"] | (credit >= 0)
    submitted_any = submitted_any | (credit >= 0)
    table = np.full(entities, len(TABLE_FOR))  # the last table slot: none applies
    for index, types in enumerate(TABLE_FOR.values()):
        table = np.where((table == len(TABLE_FOR)) & np.isin(facts["entity_type"], types), index, table)
    mask = reweighting_mask(facts, submitted)
    weights, neutral = TABLE_WEIGHTS[table, mask], TABLE_NEUTRAL[table, mask]
    bonus = complex_patient(stacked.bonus, submitted_any)
    total = bonus
    for position, name in enumerate(CATEGORIES):
        total = total + divide(percent[name] * weights[:, position], 100, 0)
    final = np.where(neutral, THRESHOLD, np.minimum(total, FINAL_MAXIMUM))
    return {"percent": percent, "complex_patient_bonus": np.where(neutral, 0, bonus),
            "weights": dict(zip(CATEGORIES, weights.T, strict=True)), "neutral": neutral, "final_score": final,
            "adjustment_before_scaling": payment_adjustment(final)}
