"""Advancing Care Information style scoring: an all-or-nothing base score, performance points by
decile of each measure's rate times its weight, and bonus points, capped.

Measure weights, required flags, reporting categories and exclusions come from CMS's reference data;
the rulebook sets the base score, the decile width, the bonuses and the cap. A submission that mixes
two measure sets is scored on each and given the higher.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from engine.base.numbers import ZERO, decimal
from engine.scoring.categories.measure_points import gather, reported
from engine.scoring.context import CategoryScore, Context


def _decile(ctx: Context, value: dict) -> Decimal:
    spec = ctx.value("pi.performance_points")
    if not value["denominator"]:
        return ZERO
    rate = decimal(value["numerator"]) / decimal(value["denominator"]) * 100
    if 0 < rate < 1:
        return Decimal(1)
    whole = rate.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return Decimal(math.ceil(whole / Decimal(spec["decile_width"])))


def _score_set(ctx: Context, name: str, members: dict[str, dict], values: dict[str, Any]) -> dict[str, Any]:
    exclusions = ctx.value("pi.base_exclusions")
    claimed = {target for exclusion, target in exclusions.items() if values.get(exclusion) is True}
    required = [m for m, meta in members.items() if meta.get("isRequired") and meta.get("reportingCategory") == "base"]
    missing = [m for m in required if not reported(values.get(m)) and m not in claimed]
    result: dict[str, Any] = {"set": name, "missing": missing, "measures": [], "base": ZERO, "performance": ZERO,
                              "bonus": ZERO}
    if missing:
        return result
    result["base"] = decimal(ctx.value("pi.base_score"))
    for measure, meta in sorted(members.items()):
        weight = decimal(meta.get("weight") or 0)
        value = values.get(measure)
        if weight == 0 or value is None or meta.get("reportingCategory") not in ("base", "performanceBonus"):
            continue
        if isinstance(value, dict):
            decile = _decile(ctx, value)
            points = decile * weight / 10
            note = f"{value['numerator']}/{value['denominator']}: decile {decile} x {weight}/10"
        else:
            points, note = (weight, "attested yes") if value is True else (ZERO, "attested no")
        result["performance"] += points
        result["measures"].append({"id": measure, "points": points, "weight": weight, "note": note})
    registry = ctx.value("pi.registry_bonus")
    if any(values.get(m) is True for m, meta in members.items() if meta.get("reportingCategory") == registry["category"]):
        result["bonus"] += decimal(registry["points"])
        result["registry_bonus"] = True
    cehrt = ctx.value("pi.cehrt_bonus")
    if values.get(cehrt["measure"]) is True:
        result["bonus"] += decimal(cehrt["points"])
        result["cehrt_bonus"] = True
    return result


# The highest-scoring measure set; on equal totals the standard set, as the rulebook's note says.
SET_CHOICES = {"best": lambda scored: max(scored, key=lambda r: (r["base"] + r["performance"] + r["bonus"],
                                                                 r["set"] == "standard"))}


def score(ctx: Context, category: str = "pi") -> CategoryScore:
    values, _, _, any_set = gather(ctx)
    if not any_set:
        ctx.trace.add("pi.score", ZERO, ["pi.allowed_entity_types"], {}, "no data for this category")
        return CategoryScore("pi", ZERO, False, {"measures": []})
    for attestation in ctx.value("pi.required_attestations"):
        if values.get(attestation) is not True:
            state = "missing" if attestation not in values else "answered no"
            ctx.trace.add("pi.score", ZERO, ["pi.required_attestations"], {}, f"{attestation} is {state}")
            return CategoryScore("pi", ZERO, True, {"measures": [], "zero_reason": f"{attestation} is {state}"})
    marker = ctx.value("pi.transition_set_marker")
    common = set(ctx.value("pi.common_categories"))
    sets: dict[str, dict[str, dict]] = {"standard": {}, marker: {}}
    for measure, meta in ctx.book.reference.pi.items():
        if meta.get("reportingCategory") in common:
            continue
        sets[marker if marker in (meta.get("measureSets") or []) else "standard"][measure] = meta
    scored = [_score_set(ctx, name, members, values) for name, members in sets.items()
              if any(m in values for m in members)]
    if not scored:
        ctx.trace.add("pi.score", ZERO, ["pi.transition_set_marker"], {}, "no measure of either measure set")
        return CategoryScore("pi", ZERO, True, {"measures": []})
    best = SET_CHOICES[ctx.value("pi.set_choice")](scored)
    cap = decimal(ctx.value("pi.maximum_points"))
    total = best["base"] + best["performance"] + best["bonus"]
    percent = min(total, cap)
    for item in best["measures"]:
        ctx.trace.add(f"pi.measures.{item['id']}", item["points"], ["pi.performance_points"],
                      {"weight": item["weight"]}, item["note"])
    ctx.trace.add("pi.base", best["base"], ["pi.base_score", "pi.base_exclusions"], {"missing": best["missing"]},
                  "all required base measures reported" if not best["missing"]
                  else "base score not earned: missing " + ", ".join(best["missing"]))
    ctx.trace.add("pi.bonus", best["bonus"], ["pi.registry_bonus", "pi.cehrt_bonus"], {}, "bonus points")
    ctx.trace.add("pi.score", percent, ["pi.maximum_points", "pi.set_choice"],
                  {"set": best["set"], "base": best["base"], "performance": best["performance"], "bonus": best["bonus"]},
                  f"{best['set']} measure set: base {best['base']} + performance {best['performance']} + bonus "
                  f"{best['bonus']}, at most {cap}" if not best["missing"] else "the base score was not earned, so 0")
    detail = {"set": best["set"], "base": best["base"], "performance": best["performance"], "bonus": best["bonus"],
              "missing": best["missing"],
              "measures": [{"id": m["id"], "points": m["points"]} for m in best["measures"]]}
    return CategoryScore("pi", percent, True, detail)
