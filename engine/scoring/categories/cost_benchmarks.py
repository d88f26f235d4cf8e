"""Cost: measures CMS computes from claims, scored 1-10 against the year's cost benchmarks.

A submission never carries cost. The profile gives each cost measure as CMS reports it
(``costMeasures: [{measureId, attributedCases, score}]``); a measure below its case minimum or
without a benchmark is not scored, and with none scored the category is not scored.
"""

from __future__ import annotations

from engine.base.numbers import HUNDRED, ZERO, decimal
from engine.scoring.categories.decile_points import decile_points
from engine.scoring.context import CategoryScore, Context


def score(ctx: Context, category: str = "cost") -> CategoryScore:
    minimums = ctx.value("cost.case_minimums")
    spec = ctx.value("cost.decile_points")
    measures = []
    for index, reported in enumerate(ctx.profile.get("costMeasures", [])):
        measure_id = reported["measureId"]
        path = f"profile.costMeasures[{index}]"
        meta = ctx.book.reference.cost.get(measure_id)
        if meta is None:
            ctx.issue(path, f"{measure_id} is not a {ctx.book.year} cost measure", "profile")
            continue
        minimum = minimums.get("by_measure", {}).get(measure_id, minimums["default"])
        node = f"cost.measures.{measure_id}"
        benchmark = ctx.book.reference.benchmark(measure_id, "administrativeClaims")
        entry = {"measure_id": measure_id, "title": meta.get("title"), "attributed_cases": reported["attributedCases"],
                 "score": reported["score"], "case_minimum": minimum, "points": None}
        if reported["attributedCases"] < minimum:
            entry["reason"] = f"{reported['attributedCases']} attributed cases, below the case minimum of {minimum}"
            ctx.trace.add(node, None, ["cost.case_minimums"], {"attributed_cases": reported["attributedCases"]},
                          entry["reason"])
        elif benchmark is None:
            entry["reason"] = "no benchmark for this measure"
            ctx.trace.add(node, None, ["cost.case_minimums"], {}, entry["reason"])
        else:
            value = decimal(reported["score"])
            result = decile_points(value, benchmark.deciles, bool(meta.get("isInverse", True)),
                                   decimal(spec["floor"]), decimal(spec["maximum"]),
                                   spec["floor_below_decile"])
            reason = (f"cost {value} is in decile {result.decile}" if result.decile >= 1 else
                      f"cost {value} is above every decile bound; the floor of {spec['floor']} point applies")
            entry.update(points=result.points, decile=result.decile, reason=reason)
            ctx.trace.add(node, result.points, ["cost.decile_points", "cost.case_minimums"],
                          {"score": value, "deciles": list(benchmark.deciles)}, entry["reason"])
        measures.append(entry)
    scored = [m for m in measures if m["points"] is not None]
    maximum = decimal(spec["maximum"])
    percent = (sum((m["points"] for m in scored), ZERO) / (maximum * len(scored)) * HUNDRED
               if scored else ZERO)
    ctx.trace.add("cost.score", percent, ["cost.decile_points"], {"scored": len(scored)},
                  f"average of {len(scored)} scored cost measures" if scored else "no cost measure could be scored")
    return CategoryScore("cost", percent, bool(scored), {"measures": measures}, from_submission=False)
