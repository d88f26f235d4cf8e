"""Improvement activities: activity points by weight, multiplied for special statuses, capped."""

from __future__ import annotations

from decimal import Decimal

from engine.base.numbers import HUNDRED, ZERO
from engine.scoring.context import CategoryScore, Context


def score(ctx: Context, category: str = "ia") -> CategoryScore:
    weights = ctx.value("ia.activity_points")
    maximum = ctx.number("ia.maximum_points")
    full_credit = set(ctx.value("ia.full_credit_activities"))
    statuses = [s for s in ctx.value("ia.doubling_statuses") if ctx.flag(s)]
    multiplier = ctx.value("ia.special_status_multiplier")
    factor = multiplier if statuses else 1
    activities: list[dict] = []
    seen: set[str] = set()
    credited = ctx.flag("pcmh")
    for measurement_set in ctx.sets("ia"):
        for m in measurement_set.measurements:
            meta = ctx.book.reference.ia.get(m.measure_id)
            if meta is None:
                ctx.issue(m.path, f"{m.measure_id} is not an improvement activity of {ctx.book.year}",
                          measurement_set.source)
                continue
            if not isinstance(m.value, bool):
                ctx.issue(m.path, f"an activity is attested with true or false, found {m.value!r}",
                          measurement_set.source)
                continue
            if not m.value or m.measure_id in seen:
                continue
            seen.add(m.measure_id)
            if m.measure_id in full_credit:
                credited = True
                activities.append({"id": m.measure_id, "title": meta.get("title"), "weight": "full credit",
                                   "points": maximum})
                continue
            points = Decimal(weights[meta["weight"]]) * factor
            activities.append({"id": m.measure_id, "title": meta.get("title"), "weight": meta["weight"],
                               "points": points})
            ctx.trace.add(f"ia.activities.{m.measure_id}", points, ["ia.activity_points", "ia.doubling_statuses"],
                          {"weight": meta["weight"], "doubled_for": statuses},
                          f"{meta['weight']} activity: {weights[meta['weight']]} points"
                          + (f", doubled ({', '.join(statuses)})" if statuses else ""))
    raw = sum((a["points"] for a in activities), ZERO)
    points = maximum if credited else min(raw, maximum)
    rules = ["ia.maximum_points"] + (["ia.full_credit_activities"] if credited else [])
    ctx.trace.add("ia.points", points, rules, {"activity_points": raw},
                  "full credit (certified patient-centered medical home)" if credited
                  else f"sum of activity points, at most {maximum}")
    percent = points / maximum * HUNDRED
    ctx.trace.add("ia.score", percent, ["ia.maximum_points"], {"points": points}, f"{points} of {maximum} points")
    return CategoryScore("ia", percent, bool(seen) or ctx.flag("pcmh"),
                         {"activities": activities, "points": points, "maximum": maximum,
                          "doubled_for": statuses, "full_credit": credited})
