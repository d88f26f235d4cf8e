"""Promoting Interoperability (``measure_points``): required attestations, measure points after exclusions and
substitutes, public health, bonuses, the cap. One definition, run on one entity (Python values) or a batch (numpy
columns, one element per entity).

Entity columns (see ``engine.scoring.kernels.pi_inputs``): ``sets`` (a PI set may be scored), ``cehrt_missing`` (a
scored set has no cehrtId) and, for every measure ID in ``PiParams.ids``: ``<id>:present``, ``<id>:yes`` and
``<id>:no`` (a yes/no answer), ``<id>:num`` and ``<id>:den`` (a proportion's counts; 0 for anything else).
Outputs: ``percent``, ``points`` (before the cap), ``submitted``, ``zero_reason`` and ``zero_subject``; the public
health points, bonus, "yes" count and exclusions claimed; ``<id>:claimed`` per exclusion; per measure ``<id>:points``,
``<id>:status``, ``<id>:available`` and ``<id>:substituted_by``; per bonus measure ``<id>:points`` and ``<id>:status``.
Points and percents are integers at the declared precision; a measure's points are whole points.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.base.exact import ArrayOps, ScalarOps
from engine.rules.model import Rulebook
from engine.scoring.fixed import Precision, precision
from engine.scoring.frame import as_columns

# Why the category scores 0 (NONE: it does not), in the order the rules are checked; ``zero_subject`` names the
# attestation or measure (an index into ``PiParams.ids``, -1 for none).
(NONE, NOT_SUBMITTED, NO_CEHRT_ID, ATTESTATION_MISSING, ATTESTATION_NO, ANSWER_MISSING, SUBSTITUTE_NO,
 PUBLIC_HEALTH_MISSING, MEASURE_MISSING, MEASURE_NO, NUMERATOR_ZERO) = range(11)
# What became of a measure; NOT_REACHED: the category scored 0 before the measure was looked at (the measure that
# sent it to 0, ``zero_subject``, keeps its own status).
NOT_REPORTED, YES, NO, RATE, RATE_MINIMUM, SUBSTITUTED, EXCLUDED, NOT_REACHED = range(8)
WHOLE_ROUNDINGS = ("half_up", "half_even")  # how a measure's points are rounded to a whole point


@dataclass(frozen=True)
class PiMeasure:
    id: str
    points: int
    required: bool
    substitutes: tuple[str, ...]


@dataclass(frozen=True)
class PiExclusion:
    id: str
    excludes: str
    shares: tuple[tuple[str, int], ...]  # (target, share); a target gets moved x share / total
    total: int


@dataclass(frozen=True)
class PiParams:
    """The PI values the kernel reads, converted once (points at the declared precision)."""

    precision: Precision
    allowed_entity_types: tuple[str, ...]
    cehrt_required: bool
    attestations: tuple[str, ...]
    answers: tuple[str, ...]
    measures: tuple[PiMeasure, ...]
    substitute_no_zero: bool
    health_measures: tuple[str, ...]
    per_yes: int
    objective: int
    single_yes_with_exclusion: int
    health_exclusions: tuple[str, ...]
    all_excluded_to: str
    health_required: bool
    bonus_any_measures: tuple[str, ...]
    bonus_any_points: int
    bonus: tuple[tuple[str, int], ...]
    exclusions: tuple[PiExclusion, ...]
    rounding: str
    minimum: int
    maximum: int
    ids: tuple[str, ...]  # every measure ID the rulebook names or CMS's data lists: the input columns
    unscored: tuple[str, ...]  # IDs of CMS's data that no rule scores
    year: int

    def at(self, measure: str) -> int:
        return self.ids.index(measure)


def _exclusion(p: Precision, name: str, spec: dict[str, Any]) -> PiExclusion:
    shares = tuple((target, p.fixed(share)) for target, share in spec["redistribute"].items())
    total = sum(share for _, share in shares)
    if total <= 0:
        raise ValueError(f"pi.exclusions.{name}: the shares to redistribute add up to 0")
    return PiExclusion(name, spec["excludes"], shares, total)


def pi_params(book: Rulebook) -> PiParams:
    p = precision(book)
    v = book.value
    health = v("pi.public_health")
    bonus_any = health.get("bonus_any") or {"measures": [], "points": 0}
    rounding = v("pi.rounding")
    if rounding not in WHOLE_ROUNDINGS:
        raise ValueError(f"pi.rounding {rounding!r} is not one of {', '.join(WHOLE_ROUNDINGS)}")
    answers = tuple(book.value_or("pi.required_answers", []))
    named = dict.fromkeys([*v("pi.required_attestations"), *answers, *v("pi.measures"), *health["measures"],
                           *health["exclusion_measures"], *bonus_any["measures"], *v("pi.bonus_measures"),
                           *v("pi.exclusions")])
    return PiParams(
        precision=p, allowed_entity_types=tuple(v("pi.allowed_entity_types")),
        cehrt_required=bool(v("pi.cehrt_id_required")), attestations=tuple(v("pi.required_attestations")),
        answers=answers,
        measures=tuple(PiMeasure(k, p.fixed(s["points"]), bool(s["required"]), tuple(s.get("substitutes", ())))
                       for k, s in v("pi.measures").items()),
        substitute_no_zero=book.value_or("pi.substitute_answered_no", None) == "category_zero",
        health_measures=tuple(health["measures"]), per_yes=p.fixed(health["points_per_yes"]),
        objective=p.fixed(health["objective_points"]),
        single_yes_with_exclusion=p.fixed(health["single_yes_with_exclusion_points"]),
        health_exclusions=tuple(health["exclusion_measures"]), all_excluded_to=health["all_excluded_to"],
        health_required=bool(health.get("required")), bonus_any_measures=tuple(bonus_any["measures"]),
        bonus_any_points=p.fixed(bonus_any["points"]),
        bonus=tuple((k, p.fixed(x)) for k, x in v("pi.bonus_measures").items()),
        exclusions=tuple(_exclusion(p, k, s) for k, s in v("pi.exclusions").items()),
        rounding=rounding, minimum=p.fixed(v("pi.minimum_points_with_numerator")), maximum=p.fixed(v("pi.maximum_points")),
        ids=tuple(dict.fromkeys([*named, *sorted(book.reference.pi)])),
        unscored=tuple(k for k in sorted(book.reference.pi) if k not in named), year=book.year,
    )


def _first(xp: Any, zero: tuple[Any, Any], failed: Any, code: Any, subject: int = -1) -> tuple[Any, Any]:
    """The zero reason and subject, set by ``failed`` unless an earlier check already set them."""
    reason, who = zero
    hit = (reason == NONE) & failed
    return xp.where(hit, code, reason), xp.where(hit, subject, who)


def _answered_no(xp: Any, e: Mapping[str, Any], m: PiMeasure) -> Any:
    """A substitute answered no while none of the measures it replaces is reported."""
    none = e[f"{m.id}:no"]
    for other in m.substitutes:
        none = none & xp.not_(e[f"{other}:present"])
    return none


def _gate(xp: Any, e: Mapping[str, Any], p: PiParams) -> tuple[Any, Any]:
    """The checks before any measure is scored: data, cehrtId, attestations, answers, a substitute answered no."""
    zero = _first(xp, (NONE, -1), xp.not_(e["sets"]), NOT_SUBMITTED)
    if p.cehrt_required:
        zero = _first(xp, zero, e["cehrt_missing"], NO_CEHRT_ID)
    for name in p.attestations:
        code = xp.where(e[f"{name}:present"], ATTESTATION_NO, ATTESTATION_MISSING)
        zero = _first(xp, zero, xp.not_(e[f"{name}:yes"]), code, p.at(name))
    for name in p.answers:
        zero = _first(xp, zero, xp.not_(e[f"{name}:present"]), ANSWER_MISSING, p.at(name))
    if p.substitute_no_zero:
        for m in p.measures:
            if m.substitutes:
                zero = _first(xp, zero, _answered_no(xp, e, m), SUBSTITUTE_NO, p.at(m.id))
    return zero


def _available(xp: Any, e: Mapping[str, Any], p: PiParams) -> tuple[dict[str, Any], dict[str, Any]]:
    """Points available per measure after the claimed exclusions moved theirs, and which exclusions are claimed."""
    available: dict[str, Any] = {m.id: m.points for m in p.measures}
    known: dict[str, Any] = {m.id: True for m in p.measures}  # a target outside the measures becomes known when moved to
    claimed: dict[str, Any] = {}
    for x in p.exclusions:
        claimed[x.id] = e[f"{x.id}:yes"] & known.get(x.excludes, False)
        if x.excludes not in known:
            continue
        moved = available[x.excludes]
        available[x.excludes] = xp.where(claimed[x.id], 0, moved)
        for target, share in x.shares:
            part = xp.divide(moved * share, x.total, 0, p.precision.rounding)  # at the declared digits
            available[target] = available.get(target, 0) + xp.where(claimed[x.id], part, 0)
            known[target] = known.get(target, False) | claimed[x.id]
    return available, claimed


def _public_health(xp: Any, e: Mapping[str, Any], p: PiParams, available: dict[str, Any]) -> dict[str, Any]:
    """Registry points (capped at the objective), the bonus for any optional registry; all excluded moves them."""
    yes: Any = 0
    for name in p.health_measures:
        yes = yes + e[f"{name}:yes"]
    excluded: Any = 0
    for name in p.health_exclusions:
        excluded = excluded + e[f"{name}:yes"]
    single = (yes == 1) & (excluded > 0)
    points = xp.where(yes > 0, xp.where(single, p.single_yes_with_exclusion, xp.minimum(yes * p.per_yes, p.objective)), 0)
    target = p.all_excluded_to
    available[target] = available.get(target, 0) + xp.where((yes == 0) & (excluded > 0), p.objective, 0)
    bonus: Any = False
    for name in p.bonus_any_measures:
        bonus = bonus | e[f"{name}:yes"]
    return {"public_health": points, "public_health_bonus": xp.where(bonus, p.bonus_any_points, 0),
            "public_health_yes": yes, "public_health_excluded": excluded}


def _replaced(xp: Any, e: Mapping[str, Any], p: PiParams) -> dict[str, Any]:
    """Per measure, the substitute standing in its place (an index into ``ids``; -1: none)."""
    by: dict[str, Any] = {m.id: -1 for m in p.measures}
    for m in p.measures:
        reported = e[f"{m.id}:yes"] | (e[f"{m.id}:num"] >= 1)
        for other in m.substitutes:
            if other in by:
                by[other] = xp.where(reported, p.at(m.id), by[other])
    found: Any = False  # the first substitute answered no stands, with 0 points, in place of the others
    for m in p.measures:
        if m.substitutes:
            hit = _answered_no(xp, e, m) & xp.not_(found)
            for other in m.substitutes:
                if other in by:
                    by[other] = xp.where(hit, p.at(m.id), by[other])
            found = found | hit
    return by


def _whole(xp: Any, n: Any, d: Any, p: PiParams) -> Any:
    """n / d rounded to a whole point by ``pi.rounding``, at the declared precision (n >= 0, d > 0)."""
    q, r = n // d, n % d
    up = 2 * r >= d if p.rounding == "half_up" else (2 * r > d) | ((2 * r == d) & (q % 2 == 1))
    return (q + up) * p.precision.one


def _measure(xp: Any, e: Mapping[str, Any], p: PiParams, m: PiMeasure, available: Any, by: Any,
             claimed: Any) -> tuple[Any, Any, Any]:
    """One measure's status, points and, if required, whether it sends the category to 0 (and why)."""
    present, yes, no = e[f"{m.id}:present"], e[f"{m.id}:yes"], e[f"{m.id}:no"]
    num, den = e[f"{m.id}:num"], e[f"{m.id}:den"]
    rate = _whole(xp, num * available, xp.maximum(den, 1) * p.precision.one, p)
    raised = (num >= 1) & (rate < p.minimum)
    status = xp.where(by >= 0, SUBSTITUTED, xp.where((available == 0) & claimed, EXCLUDED, xp.where(
        xp.not_(present), NOT_REPORTED, xp.where(yes, YES, xp.where(no, NO, xp.where(raised, RATE_MINIMUM, RATE))))))
    points = xp.where(status == YES, available, xp.where(status == RATE_MINIMUM, p.minimum,
                                                         xp.where(status == RATE, rate, 0)))
    failed = m.required & ((status == NOT_REPORTED) | (status == NO) | ((status == RATE) & (num == 0)))
    code = xp.where(status == NOT_REPORTED, MEASURE_MISSING, xp.where(status == NO, MEASURE_NO, NUMERATOR_ZERO))
    return status, points, (failed, code)


def score(entities: Mapping[str, Any], p: PiParams) -> dict[str, Any]:
    """Score the PI category of one entity (Python values) or a batch (numpy columns)."""
    e = entities
    xp: Any = ArrayOps if isinstance(e["sets"], np.ndarray) else ScalarOps
    zero = _gate(xp, e, p)
    available, claimed = _available(xp, e, p)
    health = _public_health(xp, e, p, available)
    if p.health_required:
        zero = _first(xp, zero, (health["public_health_yes"] == 0) & (health["public_health_excluded"] == 0),
                      PUBLIC_HEALTH_MISSING)
    health_reached = (zero[0] == NONE)
    by = _replaced(xp, e, p)
    out: dict[str, Any] = {f"{x.id}:claimed": claimed[x.id] for x in p.exclusions}
    total = health["public_health"] + health["public_health_bonus"]
    for m in p.measures:
        excluded: Any = False
        for x in p.exclusions:
            if x.excludes == m.id:
                excluded = excluded | claimed[x.id]
        status, points, (failed, code) = _measure(xp, e, p, m, available[m.id], by[m.id], excluded)
        reached = zero[0] == NONE
        zero = _first(xp, zero, failed, code, p.at(m.id))
        points = xp.where(reached, points, 0)
        total = total + points
        out.update({f"{m.id}:points": points, f"{m.id}:status": xp.where(reached, status, NOT_REACHED),
                    f"{m.id}:available": available[m.id], f"{m.id}:substituted_by": by[m.id]})
    scored = zero[0] == NONE
    for name, bonus in p.bonus:
        yes = e[f"{name}:yes"]
        total = total + xp.where(yes, bonus, 0)
        out.update({f"{name}:points": xp.where(scored & yes, bonus, 0),
                    f"{name}:status": xp.where(scored, xp.where(yes, YES, NOT_REPORTED), NOT_REACHED)})
    out.update({k: xp.where(health_reached, v, 0) for k, v in health.items()})
    out.update({"percent": xp.where(scored, xp.minimum(total, p.maximum), 0), "points": xp.where(scored, total, 0),
                "submitted": e["sets"], "zero_reason": zero[0], "zero_subject": zero[1]})
    return as_columns(out, e["sets"])

