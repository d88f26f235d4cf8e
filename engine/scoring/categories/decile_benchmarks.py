"""Quality: measure points from decile benchmarks, the counted measures, bonuses, the category score."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from engine.base.numbers import HUNDRED, ZERO, decimal
from engine.inputs.measurements import MeasurementValueError, Performance, measure_performance
from engine.scoring.categories.decile_points import decile_points
from engine.scoring.context import CategoryScore, Context


@dataclass
class Scored:
    """One quality measurement as scored."""

    measure_id: str
    method: str
    path: str
    meta: dict
    performance: Performance
    points: Decimal = ZERO
    measure_class: str = ""
    reason: str = ""
    decile: int | None = None
    status: str = "scored"  # scored | suppressed | excluded | superseded
    counted: bool = False
    required: bool = False
    bonus: dict[str, Decimal] = field(default_factory=dict)

    @property
    def completeness_met(self) -> bool:
        return self.measure_class != "completeness not met"

    def as_dict(self) -> dict[str, Any]:
        perf = self.performance
        return {
            "measure_id": self.measure_id, "title": self.meta.get("title"), "method": self.method,
            "path": self.path, "status": self.status, "class": self.measure_class,
            "rate": perf.rate, "completeness": perf.completeness,
            "case_count": perf.case_count, "decile": self.decile,
            "points": self.points, "counted": self.counted, "required": self.required,
            "bonus": self.bonus, "reason": self.reason,
            "measure_type": self.meta.get("measureType"), "high_priority": self.meta.get("isHighPriority"),
        }


# The readings a rulebook may name (each schema pins the one this engine implements).
INVERSE_READINGS = {"mirrored": True}  # an inverse measure's deciles are read with the direction reversed
TIE_BREAKS = {"measure_id_ascending": lambda item: (-item.points, item.measure_id)}


def _suppression(ctx: Context, measure_id: str, method: str) -> dict | None:
    for row in ctx.value("suppressed.measures"):
        if row["measure"] == measure_id and row["method"] == method:
            return row
    return None


def _collect(ctx: Context) -> list[Scored]:
    found: list[Scored] = []
    first: dict[tuple[str, str], str] = {}
    for measurement_set in ctx.sets("quality"):
        for m in measurement_set.measurements:
            key = (m.measure_id, measurement_set.method)
            if key in first:
                ctx.issue(m.path, f"measure {m.measure_id} by {measurement_set.method} was already submitted at "
                          f"{first[key]}; the first is scored", measurement_set.source)
                continue
            first[key] = m.path
            meta = ctx.book.reference.quality.get(m.measure_id)
            if meta is None:
                ctx.issue(m.path, f"{m.measure_id} is not a {ctx.book.year} quality measure", measurement_set.source)
                continue
            if measurement_set.method not in meta.get("submissionMethods", []):
                ctx.issue(m.path, f"measure {m.measure_id} cannot be submitted by {measurement_set.method}; "
                          f"expected one of {', '.join(meta.get('submissionMethods', []))}", measurement_set.source)
                continue
            try:
                performance = measure_performance(m.value, meta)
            except MeasurementValueError as exc:
                ctx.issue(m.path, f"measure {m.measure_id} not scored: {exc}", measurement_set.source)
                continue
            found.append(Scored(m.measure_id, measurement_set.method, m.path, meta, performance))
    return found


def _points(ctx: Context, item: Scored) -> None:
    """Achievement points and class of one measurement (or mark it suppressed or excluded)."""
    perf = item.performance
    node = f"quality.measures.{item.measure_id}.{item.method}"
    suppressed = _suppression(ctx, item.measure_id, item.method)
    threshold = ctx.number("quality.data_completeness_percent")
    met = perf.completeness is not None and perf.completeness >= threshold
    if suppressed:
        item.status, item.reason = "suppressed", suppressed["reason"]
        ctx.trace.add(node, None, ["suppressed.measures"], {"method": item.method}, f"suppressed: {item.reason}")
        return
    small = ctx.flag("smallGroupPractitioner")
    if not met:
        table = ctx.value("quality.below_completeness_points")
        key = item.method if item.method in table else ("small_practice" if small else "default")
        item.points, item.measure_class = decimal(table[key]), "completeness not met"
        item.reason = (f"data completeness {_pct(perf.completeness)} is below {threshold} %"
                       + (" (small practice)" if key == "small_practice" else ""))
        ctx.trace.add(node, item.points, ["quality.data_completeness_percent", "quality.below_completeness_points"],
                      {"completeness": perf.completeness}, item.reason)
        return
    benchmark = ctx.book.reference.benchmark(item.measure_id, item.method)
    minimum = ctx.value("quality.case_minimum")
    if benchmark is None or perf.case_count < minimum or perf.rate is None:
        why = ("no benchmark" if benchmark is None else
               f"{perf.case_count} cases, below the case minimum of {minimum}" if perf.case_count < minimum
               else "no performance rate (no cases met or not met)")
        if item.method in ctx.value("quality.excluded_without_benchmark_methods"):
            item.status, item.reason = "excluded", f"{why}; {item.method} measures are then excluded"
            ctx.trace.add(node, None, ["quality.excluded_without_benchmark_methods"], {}, item.reason)
            return
        item.points, item.measure_class, item.reason = ctx.number("quality.no_benchmark_points"), "no benchmark", why
        rules = ["quality.no_benchmark_points", "quality.case_minimum"]
        new_floor = _new_measure_floor(ctx, item)
        if new_floor is not None:
            item.points = new_floor
            rules.append("quality.new_measure_floors")
            item.reason += f"; a measure new in {item.meta.get('firstPerformanceYear')} earns {new_floor}"
        ctx.trace.add(node, item.points, rules, {"case_count": perf.case_count}, item.reason)
        return
    spec = ctx.value("quality.decile_points")
    rate = perf.rate
    if ctx.value("quality.rate_precision") == "two_decimals":
        rate = rate.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    inverse = bool(item.meta.get("isInverse")) and INVERSE_READINGS[ctx.value("quality.inverse_interpolation")]
    result = decile_points(rate, benchmark.deciles, inverse,
                           decimal(spec["floor"]), decimal(spec["maximum"]), spec["floor_below_decile"])
    item.decile, item.points, item.measure_class = result.decile, result.points, "benchmarked"
    rules = ["quality.decile_points", "quality.rate_precision"]
    if item.meta.get("isInverse"):
        rules.append("quality.inverse_interpolation")
    reason = f"rate {_pct(rate)} is in decile {result.decile}"
    if result.decile < spec["floor_below_decile"]:
        reason += f"; the floor of {spec['floor']} points applies"
    new_floor = _new_measure_floor(ctx, item)
    if new_floor is not None and item.points < new_floor:
        item.points = new_floor
        rules.append("quality.new_measure_floors")
        reason += f"; a measure new in {item.meta.get('firstPerformanceYear')} earns at least {new_floor}"
    cap = ctx.value("quality.topped_out_cap")
    if (cap is not None and benchmark.topped_out_by_program
            and item.method not in ctx.value("quality.topped_out_cap_exempt_methods")):
        rules += ["quality.topped_out_cap", "quality.topped_out_cap_exempt_methods"]
        if item.points > cap:
            item.points = decimal(cap)
            reason += f"; topped out, capped at {cap} points"
    item.reason = reason
    ctx.trace.add(node, item.points, rules,
                  {"rate": rate, "deciles": list(benchmark.deciles), "inverse": bool(item.meta.get("isInverse")),
                   "benchmark_year": benchmark.benchmark_year, "topped_out_by_program": benchmark.topped_out_by_program,
                   "decile_lower_bound": result.lower, "decile_upper_bound": result.upper}, reason)


def _new_measure_floor(ctx: Context, item: Scored) -> Decimal | None:
    """The floor for a measure in its first years (keyed by years since its first performance year)."""
    floors = ctx.value("quality.new_measure_floors")
    first = item.meta.get("firstPerformanceYear")
    if not floors or first is None:
        return None
    points = {int(k): v for k, v in floors.items()}.get(ctx.book.year - first)
    return decimal(points) if points is not None else None


def _pct(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value.quantize(Decimal('0.01')).normalize():f} %"


def _best_per_measure(ctx: Context, items: list[Scored]) -> list[Scored]:
    scored = [i for i in items if i.status == "scored"]
    if not ctx.value("quality.best_collection_type"):
        return scored
    best: dict[str, Scored] = {}
    for item in scored:
        current = best.get(item.measure_id)
        if current is None or item.points > current.points:
            best[item.measure_id] = item
    for item in scored:
        if best[item.measure_id] is not item:
            item.status = "superseded"
            item.reason += f"; the {best[item.measure_id].method} submission of this measure scored higher"
    return list(best.values())


def _select(ctx: Context, candidates: list[Scored]) -> Scored | None:
    """Mark the counted measures; return the one filling the required outcome/high-priority slot."""
    count = ctx.value("quality.counted_measures")
    rule = ctx.value("quality.required_measure_types")
    order = sorted(candidates, key=TIE_BREAKS[ctx.value("quality.tie_break")])
    required = next((i for i in order if i.meta.get("measureType") in rule["first"]), None)
    if required is None and rule["otherwise"] == "high_priority":
        required = next((i for i in order if i.meta.get("isHighPriority")), None)
    others = [i for i in order if i is not required][: count - 1]
    for item in ([required] if required else []) + others:
        item.counted = True
    if required:
        required.required = True
    return required


def _above_zero(item: Scored) -> bool:
    """Performance above zero: better than the worst rate, i.e. above 0 % for a direct measure and below 100 %
    for an inverse one (a ratio measure, which has no worst rate, needs only a rate)."""
    rate = item.performance.rate
    if rate is None:
        return False
    if not item.meta.get("isInverse"):
        return rate > 0
    return rate < HUNDRED or item.meta.get("metricType") == "nonProportion"


def _bonuses(ctx: Context, candidates: list[Scored], required: Scored | None,
             denominator: Decimal) -> dict[str, Decimal]:
    outcome = ctx.value("quality.outcome_bonus")
    high_priority = ctx.value("quality.high_priority_bonus")
    conditions = ctx.value("quality.bonus_conditions")
    e2e = ctx.value("quality.end_to_end_bonus")
    minimum = ctx.value("quality.case_minimum")
    hp_total, e2e_total = ZERO, ZERO
    for item in sorted(candidates, key=lambda i: i.measure_id):
        perf = item.performance
        eligible = (item is not required and item.method not in conditions["excluded_methods"]
                    and (item.completeness_met or not conditions["requires_data_completeness"])
                    and (perf.case_count >= minimum or not conditions["requires_case_minimum"])
                    and (_above_zero(item) or not conditions["requires_rate_above_zero"]))
        if eligible and item.meta.get("measureType") in outcome["measure_types"]:
            item.bonus["outcome_high_priority"] = decimal(outcome["points"])
        elif eligible and item.meta.get("isHighPriority"):
            item.bonus["outcome_high_priority"] = decimal(high_priority["points"])
        if (perf.end_to_end and item.method not in e2e["excluded_methods"]
                and (item.completeness_met or not e2e["requires_data_completeness"])):
            item.bonus["end_to_end"] = decimal(e2e["points"])
        hp_total += item.bonus.get("outcome_high_priority", ZERO)
        e2e_total += item.bonus.get("end_to_end", ZERO)
    hp_cap = denominator * ctx.number("quality.bonus_cap_percent") / HUNDRED
    e2e_cap = denominator * decimal(e2e["cap_percent"]) / HUNDRED
    bonus = {"outcome_high_priority": min(hp_total, hp_cap), "end_to_end": min(e2e_total, e2e_cap)}
    ctx.trace.add("quality.bonus.outcome_high_priority", bonus["outcome_high_priority"],
                  ["quality.outcome_bonus", "quality.high_priority_bonus", "quality.bonus_conditions",
                   "quality.bonus_cap_percent"], {"earned": hp_total, "cap": hp_cap},
                  f"{hp_total} points earned by outcome and high-priority measures beyond the required one, "
                  f"capped at {hp_cap} (10 % of {denominator})")
    ctx.trace.add("quality.bonus.end_to_end", bonus["end_to_end"], ["quality.end_to_end_bonus"],
                  {"earned": e2e_total, "cap": e2e_cap},
                  f"{e2e_total} points for end-to-end electronic reporting, capped at {e2e_cap}")
    return bonus


def _improvement(ctx: Context, achievement_percent: Decimal) -> Decimal:
    spec = ctx.value("quality.improvement")
    prior = ctx.profile.get("priorYearQuality")
    if not spec["enabled"] or not prior or not prior.get("fullParticipation", False):
        return ZERO
    prior_percent = max(decimal(prior["achievementPercent"]), decimal(spec["prior_floor_percent"]))
    raw = (achievement_percent - prior_percent) / prior_percent * spec["multiplier"]
    value = min(max(raw, ZERO), decimal(spec["maximum_points"]))
    ctx.trace.add("quality.improvement", value, ["quality.improvement"],
                  {"current_achievement_percent": achievement_percent, "prior_achievement_percent": prior_percent},
                  "improvement percent score from the prior year's achievement")
    return value


def score(ctx: Context, category: str = "quality") -> CategoryScore:
    items = _collect(ctx)
    for item in items:
        _points(ctx, item)
    candidates = _best_per_measure(ctx, items)
    required = _select(ctx, candidates)
    per_measure = ctx.number("quality.points_per_measure")
    reduction = ctx.number("quality.suppressed_measure_reduction")
    base = ctx.value("quality.counted_measures") * per_measure
    reductions = []
    threshold = ctx.number("quality.data_completeness_percent")
    for item in items:
        row = _suppression(ctx, item.measure_id, item.method)
        if item.status == "excluded" or (row and row["effect"] == "reduce_denominator" and (
                row.get("reduce_when") != "data_completeness_met"
                or (item.performance.completeness or 0) >= threshold)):
            reductions.append(item.measure_id)
    denominator = max(base - reduction * len(reductions), ZERO)
    ctx.trace.add("quality.denominator", denominator,
                  ["quality.counted_measures", "quality.points_per_measure", "quality.suppressed_measure_reduction"],
                  {"reduced_for": reductions},
                  f"{ctx.value('quality.counted_measures')} measures x {per_measure} points"
                  + (f", less {reduction} for each of {', '.join(reductions)}" if reductions else ""))
    achievement = sum((i.points for i in candidates if i.counted), ZERO)
    ctx.trace.add("quality.achievement", achievement, ["quality.counted_measures", "quality.tie_break",
                                                       "quality.required_measure_types"],
                  {"counted": [i.measure_id for i in candidates if i.counted]},
                  "points of the counted measures (the required outcome or high-priority measure first, "
                  "then the highest-scoring, ties by measure ID)")
    bonus = _bonuses(ctx, candidates, required, denominator) if denominator else {}
    submitted = bool(items)
    if ctx.flag("smallGroupPractitioner") and submitted:
        small_bonus = ctx.number("quality.small_practice_bonus")
        bonus["small_practice"] = ctx.trace.add("quality.bonus.small_practice", small_bonus,
                                                ["quality.small_practice_bonus"], {},
                                                "small practice that submitted quality data")
    if denominator > 0:
        achievement_percent = achievement / denominator * HUNDRED
        improvement = _improvement(ctx, achievement_percent)
        raw = (achievement + sum(bonus.values(), ZERO)) / denominator * HUNDRED + improvement
    else:
        achievement_percent = improvement = raw = ZERO
    percent = min(raw, ctx.number("quality.maximum_percent"))
    rules = ["quality.maximum_percent"]
    note = "(achievement + bonus points) / available points" + (" + improvement" if improvement else "")
    facility = ctx.profile.get("facilityBased")
    if facility and ctx.value("quality.facility_based")["enabled"]:
        facility_percent = decimal(facility["qualityScore"])
        rules.append("quality.facility_based")
        if facility_percent >= percent:
            note = f"facility-based score {facility_percent} % (at least the {_pct(percent)} from submitted measures)"
            percent = facility_percent
        else:
            note += f"; higher than the facility-based score {facility_percent} %"
    ctx.trace.add("quality.score", percent, rules,
                  {"achievement": achievement, "bonus": bonus, "denominator": denominator,
                   "improvement": improvement}, note)
    return CategoryScore("quality", percent, submitted or bool(facility and ctx.value("quality.facility_based")["enabled"]), {
        "measures": [i.as_dict() for i in sorted(items, key=lambda i: (not i.counted, i.measure_id, i.method))],
        "achievement": achievement, "achievement_percent": achievement_percent, "denominator": denominator,
        "bonus": bonus, "improvement": improvement, "facility_based": bool(facility),
    })
