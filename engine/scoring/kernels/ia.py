"""Improvement activities (``activity_points``): activity points by weight, multiplied for special statuses, full
credit, the cap, the category percent. One definition, run on one entity (Python values) or a batch (numpy columns).

Rows (see ``engine.scoring.kernels.ia_rows``): activity (ID), row (submission order), path, weight (the weight name
in CMS's activity data, "" for none), answer (attested true). Entity values: ``status:<name>`` for each special
status of ``IaParams.statuses``. (A certified medical home without an activity is a credit of the rulebook,
applied with the other credits after the categories.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.rules.model import Rulebook
from engine.scoring.fixed import Precision, precision


@dataclass(frozen=True)
class IaParams:
    """The improvement activity values the kernel reads, converted once (points at the declared precision)."""

    precision: Precision
    weights: tuple[tuple[str, int], ...]  # weight name -> points
    statuses: tuple[str, ...]  # profile flags that multiply every activity's points
    multiplier: int
    maximum: int
    full_credit: tuple[str, ...]  # activities that earn the maximum by themselves


def ia_params(book: Rulebook) -> IaParams:
    p = precision(book)
    v = book.value
    return IaParams(
        precision=p, weights=tuple((name, p.fixed(points)) for name, points in v("ia.activity_points").items()),
        statuses=tuple(v("ia.doubling_statuses")), multiplier=v("ia.special_status_multiplier"),
        maximum=p.fixed(v("ia.maximum_points")), full_credit=tuple(v("ia.full_credit_activities")),
    )


def _weight_points(xp: Any, weight: Any, p: IaParams) -> Any:
    """The points of an activity's weight name (0 for a name the rulebook does not list)."""
    points = xp.where(weight == "", 0, 0)
    for name, value in p.weights:
        points = xp.where(weight == name, value, points)
    return points


def activity_points(xp: Any, r: Mapping[str, Any], p: IaParams) -> dict[str, Any]:
    """One attested activity's points: full credit earns the maximum, others their weight x the factor."""
    full = xp.isin(r["activity"], p.full_credit)
    points = xp.where(full, p.maximum, _weight_points(xp, r["weight"], p) * r["factor"])
    return {"full_credit": r["counted"] & full, "points": xp.where(r["counted"], points, 0)}


def score(rows: Any, entity: Mapping[str, Any], p: IaParams) -> dict[str, Any]:
    """Score the improvement activities of every entity in ``rows`` (a OneEntity or a Batch)."""
    xp, digits, rounding = rows.ops, p.precision.digits, p.precision.rounding
    doubled = rows.nonempty() & False
    for status in p.statuses:
        doubled = doubled | entity[f"status:{status}"]
    factor = xp.where(doubled, p.multiplier, 1)
    rows.put("factor", rows.spread(factor))
    # An activity counts once, on its first "true": duplicates and "false" answers earn nothing.
    rows.put("counted", rows.within_key(rows["activity_order"], [rows["row"]], rows["answer"]))
    rows.apply(activity_points, p)
    raw = rows.sum(rows["points"])
    full_activity = rows.any(rows["full_credit"])
    credited = full_activity
    points = xp.where(credited, p.maximum, xp.minimum(raw, p.maximum))
    return {
        "percent": xp.divide(points * 100, p.maximum, digits, rounding), "points": points, "activity_points": raw,
        "submitted": rows.any(rows["counted"]), "full_credit": credited, "full_credit_activity": full_activity,
        "doubled": doubled, "factor": factor, **{f"doubled_for:{s}": entity[f"status:{s}"] for s in p.statuses},
    }
