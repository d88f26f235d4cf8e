"""Quality (``decile_benchmarks``) nodes: each measurement's points, the denominator, achievement, bonuses,
improvement and the category score, from the quality kernel's outputs and row columns."""

from __future__ import annotations

from collections import Counter
from typing import Any

from engine.inputs.measurements import UNIT
from engine.scoring.fixed import number
from engine.scoring.kernels import quality as k
from engine.scoring.kernels.quality_rows import BELOW_EVERY_BOUND
from engine.scoring.nodes import Build, CategoryPart

STATUS = {k.SCORED: "scored", k.SUPPRESSED: "suppressed", k.EXCLUDED: "excluded", k.SUPERSEDED: "superseded"}
CLASS = {k.BENCHMARKED: "benchmarked", k.COMPLETENESS_NOT_MET: "completeness not met", k.NO_BENCHMARK: "no benchmark"}
WHY = {k.NO_BENCHMARK_DATA: "no_benchmark", k.BELOW_CASE_MINIMUM: "below_case_minimum", k.NO_RATE: "no_rate"}


def _bound(b: Build, value: int) -> int | float | None:
    return None if abs(value) >= BELOW_EVERY_BOUND else number(int(value), UNIT)


def _figures(b: Build, r: dict[str, Any]) -> dict[str, Any]:
    rate = b.ratio(r["rate_num"], r["rate_den"] * UNIT) if r["rate_den"] else None
    return {"rate": rate, "completeness": number(int(r["dc_num"]), UNIT) if r["dc_den"] else None,
            "case_count": number(int(r["cases"]), UNIT)}


def _benchmarked(b: Build, r: dict[str, Any], figures: dict[str, Any]) -> tuple[list[str], dict[str, Any], str]:
    deciles, benchmark_year = b.deciles(r["measure"], r["method"])
    spec = b.book.value("quality.decile_points")
    rules = ["quality.decile_points", "quality.rate_precision"]
    if r["inverse"]:
        rules.append("quality.inverse_interpolation")
    decile = r["decile"]
    rate = b.ratio(r["rate_read_num"], r["rate_read_den"] * UNIT) if r["rate_read_den"] else None  # as the kernel read it
    inputs: dict[str, Any] = {
        "rate": rate, "decile": decile, "deciles": deciles, "inverse": r["inverse"], "benchmark_year": benchmark_year,
        "topped_out_by_program": r["topped_out"],
        "decile_lower_bound": None if decile == 0 else _bound(b, r["lower"]),
        "decile_upper_bound": None if decile >= 10 else _bound(b, r["upper"])}
    reason = "decile"
    if decile < spec["floor_below_decile"]:
        reason, inputs["floor"] = "floor", b.d(b.precision.fixed(spec["floor"]))
    if r["raised"]:
        rules.append("quality.new_measure_floors")
        inputs.update(new_measure_floor=b.d(r["new_floor"]), first_year=r["first_year"])
    if r["cap_applies"]:
        rules += ["quality.topped_out_cap", "quality.topped_out_cap_exempt_methods"]
        if r["capped"]:
            inputs["capped_at"] = b.d(b.precision.fixed(b.book.value("quality.topped_out_cap")))
    return rules, inputs, reason


def _suppression(b: Build, r: dict[str, Any]) -> str:
    for row in b.book.value("suppressed.measures"):
        if row["measure"] == r["measure"] and row["method"] == r["method"]:
            return str(row["reason"])
    return ""


def _measure_node(b: Build, r: dict[str, Any], figures: dict[str, Any]) -> tuple[Any, list[str], dict[str, Any], str]:
    """A measurement's value, rules, inputs and reason code."""
    status = r["status"]
    if status == k.SUPPRESSED:
        return None, ["suppressed.measures"], {"method": r["method"], "why": _suppression(b, r)}, "suppressed"
    if status == k.EXCLUDED:
        return None, ["quality.excluded_without_benchmark_methods"], {
            "method": r["method"], "why": WHY[r["why"]], "case_count": figures["case_count"],
            "case_minimum": b.book.value("quality.case_minimum")}, "excluded"
    points = b.d(r["points"])
    if r["class"] == k.COMPLETENESS_NOT_MET:
        table = b.book.value("quality.below_completeness_points")
        small = r["method"] not in table and "small_practice" in table and bool(r["small_practice"])
        return points, ["quality.data_completeness_percent", "quality.below_completeness_points"], {
            "completeness": figures["completeness"], "threshold": b.book.value("quality.data_completeness_percent"),
            "small_practice": small}, "completeness_not_met"
    if r["class"] == k.NO_BENCHMARK:
        rules = ["quality.no_benchmark_points", "quality.case_minimum"]
        inputs: dict[str, Any] = {"case_count": figures["case_count"], "case_minimum": b.book.value("quality.case_minimum")}
        if r["new_floor"] >= 0:
            rules.append("quality.new_measure_floors")
            inputs.update(new_measure_floor=points, first_year=r["first_year"])
        return points, rules, inputs, WHY[r["why"]]
    rules, inputs, reason = _benchmarked(b, r, figures)
    return points, rules, inputs, reason


def _measures(b: Build, rows: dict[str, list[Any]], has_denominator: bool) -> list[dict[str, Any]]:
    measures = []
    names = list(rows)
    best = {m: (rows["method"][i], rows["points"][i]) for i, m in enumerate(rows["measure"])
            if rows["best"][i] and rows["scored"][i]}  # each measure's collection type that counts, and its points
    scored_by = Counter(m for m, scored in zip(rows["measure"], rows.get("scored", []), strict=True) if scored)
    one_counts = bool(b.book.value("quality.best_collection_type"))
    for values in zip(*rows.values(), strict=True):
        r = dict(zip(names, values, strict=True))
        figures = _figures(b, r)
        value, rules, inputs, reason = _measure_node(b, r, figures)
        if r["status"] == k.SUPERSEDED:  # another collection type of the measure counts in its place
            method, points = best[r["measure"]]
            tie = points == r["points"]
            rules = [*rules, "quality.best_collection_type", *(["quality.collection_type_tie_break"] if tie else [])]
            inputs = {**inputs, "counted_instead": method, "equal_points": tie}
        elif not one_counts and r["scored"] and scored_by[r["measure"]] > 1:  # each collection type counts
            rules = [*rules, "quality.best_collection_type"]
        b.trace.add(f"quality.measures.{r['measure']}.{r['method']}", value, rules, inputs, reason)
        meta = b.book.reference.quality.get(r["measure"]) or {}
        bonus: dict[str, int | float] = {}
        if has_denominator and r["priority_bonus"]:
            bonus["outcome_high_priority"] = b.d(r["priority_bonus"])
        if r["e2e_bonus"]:
            bonus["end_to_end"] = b.d(r["e2e_bonus"])
        scored = r["status"] != k.SUPPRESSED and r["status"] != k.EXCLUDED
        measures.append({
            "measure_id": r["measure"], "title": meta.get("title"), "method": r["method"], "path": r["path"],
            "status": STATUS[r["status"]], "class": CLASS[r["class"]] if scored else "",
            "rate": figures["rate"], "completeness": figures["completeness"], "case_count": figures["case_count"],
            "decile": r["decile"] if r["decile"] >= 0 else None, "points": b.d(r["points"]),
            "counted": bool(r["counted"]), "required": bool(r["required"]), "bonus": bonus, "reason": reason,
            "measure_type": meta.get("measureType"), "high_priority": meta.get("isHighPriority")})
    return sorted(measures, key=lambda m: (not m["counted"], m["measure_id"], m["method"]))


def _category_nodes(b: Build, out: dict[str, Any], rows: dict[str, list[Any]]) -> dict[str, int | float]:
    """The denominator, achievement, bonus and improvement nodes; the bonus points by kind."""
    v = b.book.value
    denominator = b.d(out["denominator"])
    reduced = [rows["measure"][i] for i in range(len(rows["row"])) if rows["reduces"][i]]
    b.trace.add("quality.denominator", denominator,
                ["quality.counted_measures", "quality.points_per_measure", "quality.suppressed_measure_reduction"],
                {"counted_measures": v("quality.counted_measures"), "points_per_measure": v("quality.points_per_measure"),
                 "reduction": v("quality.suppressed_measure_reduction"), "reduced_for": reduced}, "counted_measures")
    counted = [rows["measure"][i] for i in sorted(range(len(rows["row"])), key=lambda i: rows["row"][i])
               if rows["counted"][i]]
    several = len(set(rows["measure"])) < len(rows["measure"])  # a measure by more than one collection type
    b.trace.add("quality.achievement", b.d(out["achievement"]),
                ["quality.counted_measures", "quality.tie_break", "quality.required_measure_types",
                 *(["quality.best_collection_type"] if several else [])], {"counted": counted}, "counted")
    bonus: dict[str, int | float] = {}
    if out["denominator"] > 0:
        bonus["outcome_high_priority"] = b.trace.add(
            "quality.bonus.outcome_high_priority", b.d(out["priority_bonus"]),
            ["quality.outcome_bonus", "quality.high_priority_bonus", "quality.bonus_conditions", "quality.bonus_cap_percent"],
            {"earned": b.d(out["priority_earned"]), "cap": b.d(out["priority_cap"]),
             "cap_percent": v("quality.bonus_cap_percent"), "denominator": denominator}, "capped_bonus")
        bonus["end_to_end"] = b.trace.add(
            "quality.bonus.end_to_end", b.d(out["e2e_bonus"]), ["quality.end_to_end_bonus"],
            {"earned": b.d(out["e2e_earned"]), "cap": b.d(out["e2e_cap"]),
             "cap_percent": v("quality.end_to_end_bonus")["cap_percent"], "denominator": denominator}, "capped_bonus")
    if out["small_practice_applies"]:
        bonus["small_practice"] = b.trace.add("quality.bonus.small_practice", b.d(out["small_practice_bonus"]),
                                              ["quality.small_practice_bonus", "quality.small_practice_bonus_when"],
                                              {"measures_submitted": len(rows["row"])}, "small_practice")
    if out["improvement_applies"]:
        b.trace.add("quality.improvement", b.d(out["improvement"]), ["quality.improvement"],
                    {"current_achievement_percent": b.d(out["achievement_percent"]),
                     "prior_achievement_percent": b.d(out["improvement_prior"])}, "improvement")
    return bonus


def build(b: Build, name: str, out: dict[str, Any], rows: dict[str, list[Any]]) -> CategoryPart:
    measures = _measures(b, rows, out["denominator"] > 0)
    bonus = _category_nodes(b, out, rows)
    facility = b.profile.get("facilityBased")
    enabled = bool(b.book.value("quality.facility_based")["enabled"])
    rules = ["quality.maximum_percent"]
    inputs: dict[str, Any] = {"achievement": b.d(out["achievement"]), "bonus": bonus,
                              "denominator": b.d(out["denominator"]), "improvement": b.d(out["improvement"]),
                              "from_measures": b.d(out["from_measures"])}
    if facility and enabled:
        rules.append("quality.facility_based")
        inputs["facility_percent"] = facility["qualityScore"]
    percent = b.d(out["percent"])
    b.trace.add("quality.score", percent, rules, inputs, "facility_based" if out["facility_used"] else "measures")
    return CategoryPart(percent, bool(out["submitted"]), {
        "measures": measures, "achievement": b.d(out["achievement"]),
        "achievement_percent": b.d(out["achievement_percent"]), "denominator": b.d(out["denominator"]),
        "bonus": bonus, "improvement": b.d(out["improvement"]), "facility_based": bool(facility)})
