"""Improvement activities (``activity_points``), cost (``cost_benchmarks``) and a category no one is scored on
(``not_scored``): nodes and detail from their kernels' outputs and row columns."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.scoring.fixed import number
from engine.scoring.kernels import cost as c
from engine.scoring.kernels.cost_rows import BELOW_EVERY_BOUND, UNIT
from engine.scoring.kernels.ia import IaParams
from engine.scoring.nodes import Build, CategoryPart


def build_ia(b: Build, name: str, out: dict[str, Any], rows: dict[str, list[Any]], p: IaParams) -> CategoryPart:
    statuses = [s for s in p.statuses if out[f"doubled_for:{s}"]]
    weights = dict(p.weights)
    maximum = b.d(p.maximum)
    activities = []
    for i in range(len(rows["row"])):
        if not rows["counted"][i]:
            continue
        activity = rows["activity"][i]
        meta = b.book.reference.ia.get(activity) or {}
        points = b.d(rows["points"][i])
        if rows["full_credit"][i]:
            activities.append({"id": activity, "title": meta.get("title"), "weight": "full credit", "points": points})
            continue
        weight = rows["weight"][i]
        activities.append({"id": activity, "title": meta.get("title"), "weight": weight, "points": points})
        b.trace.add(f"ia.activities.{activity}", points,
                    ["ia.activity_points", "ia.doubling_statuses", "ia.special_status_multiplier"],
                    {"weight": weight, "weight_points": b.d(weights.get(weight, 0)), "doubled_for": statuses,
                     "multiplier": out["factor"]}, "weight")
    credited = bool(out["full_credit"])
    points = b.d(out["points"])
    full = [a["id"] for a in activities if a["weight"] == "full credit"]
    reason = "full_credit_activity" if full else "activity_sum"
    b.trace.add("ia.points", points, ["ia.maximum_points"] + (["ia.full_credit_activities"] if credited else []),
                {"activity_points": b.d(out["activity_points"]), "maximum": maximum, "activities": full}, reason)
    percent = b.d(out["percent"])
    b.trace.add("ia.score", percent, ["ia.maximum_points"], {"points": points, "maximum": maximum}, "points_of_maximum")
    return CategoryPart(percent, bool(out["submitted"]), {"activities": activities, "points": points, "maximum": maximum,
                                                          "doubled_for": statuses, "full_credit": credited})


def _bound(value: int) -> int | float | None:
    return None if abs(value) >= BELOW_EVERY_BOUND else number(int(value), UNIT)


def build_cost(b: Build, name: str, out: dict[str, Any], rows: dict[str, list[Any]], p: c.CostParams) -> CategoryPart:
    measures = []
    for i in range(len(rows["row"])):
        measure = rows["measure"][i]
        meta = b.book.reference.cost.get(measure) or {}
        exact = Decimal(int(rows["score_num"][i])) / Decimal(int(rows["score_den"][i])) / UNIT
        score = int(exact) if exact == exact.to_integral_value() else float(exact)
        cases, minimum = rows["cases"][i], rows["case_minimum"][i]
        entry: dict[str, Any] = {"measure_id": measure, "title": meta.get("title"), "attributed_cases": cases,
                                 "score": score, "case_minimum": minimum, "points": None}
        inputs: dict[str, Any] = {"attributed_cases": cases, "case_minimum": minimum, "score": score}
        if rows["why"][i] == c.BELOW_CASE_MINIMUM:
            entry["reason"] = "below_case_minimum"
            b.trace.add(f"cost.measures.{measure}", None, ["cost.case_minimums"], inputs, entry["reason"])
        elif rows["why"][i] == c.NO_BENCHMARK:
            entry["reason"] = "no_benchmark"
            b.trace.add(f"cost.measures.{measure}", None, ["cost.case_minimums"], inputs, entry["reason"])
        else:
            decile = rows["decile"][i]
            floored = decile < p.floor_below or decile < rows["first"][i]
            inputs.update(decile=decile, deciles=b.deciles(measure, "administrativeClaims")[0],
                          decile_lower_bound=None if decile == 0 else _bound(rows["lower"][i]),
                          decile_upper_bound=None if decile >= 10 else _bound(rows["upper"][i]))
            if floored:
                inputs["floor"] = b.d(p.floor)
            entry.update(points=b.d(rows["points"][i]), decile=decile, reason="floor" if floored else "decile")
            b.trace.add(f"cost.measures.{measure}", entry["points"], ["cost.decile_points", "cost.case_minimums"],
                        inputs, entry["reason"])
        measures.append(entry)
    percent = b.d(out["percent"])
    b.trace.add("cost.score", percent, ["cost.decile_points"], {"scored": out["scored"]},
                "average" if out["scored"] else "none_scored")
    return CategoryPart(percent, bool(out["submitted"]), {"measures": measures})


def build_not_scored(b: Build, name: str, out: dict[str, Any]) -> CategoryPart:
    why = str(b.book.value(f"{name}.reason"))
    b.trace.add(f"{name}.score", b.d(out["percent"]), [f"{name}.reason"], {"why": why}, "not_scored")
    return CategoryPart(b.d(out["percent"]), bool(out["submitted"]), {"reason": why})
