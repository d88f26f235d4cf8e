"""Advancing Care Information (``base_performance_bonus``): the all-or-nothing base score, performance points by
decile of each measure's rate times its weight, the registry and CEHRT bonuses, the best measure set, the cap. One
definition, run on one entity (Python values) or a batch (numpy columns, one element per entity).

Entity columns (see ``engine.scoring.kernels.aci_inputs``): ``sets`` (an ACI set may be scored) and, for every
measure ID of ``AciParams.ids``: ``<id>:present``, ``<id>:yes`` (attested true), ``<id>:rate`` (given as counts),
``<id>:num`` and ``<id>:den`` (the counts; 0 for anything else). Points and percents are at the declared precision.
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
# attestation (an index into ``AciParams.ids``, -1 for none).
NONE, NOT_SUBMITTED, ATTESTATION_MISSING, ATTESTATION_NO, NO_SET, BASE_NOT_EARNED = range(6)
# CMS's reporting categories: the required measures are base measures; base and performance measures earn points.
REQUIRED_CATEGORY = "base"
PERFORMANCE_CATEGORIES = ("base", "performanceBonus")
STANDARD = "standard"  # the measure set of every measure outside the transition set
DECILES = 10  # decile 10 earns the measure's whole weight
SET_CHOICES = ("best",)  # the highest total; on equal totals the set listed first (the standard set)


@dataclass(frozen=True)
class AciMeasure:
    id: str
    weight: int
    required: bool  # a required base measure: the base score needs it reported (or excluded)
    performance: bool  # earns performance points (a base or performance measure with a weight)
    registry: bool  # a registry-bonus measure


@dataclass(frozen=True)
class AciParams:
    """The ACI values the kernel reads, with CMS's measure data it needs, converted once."""

    precision: Precision
    allowed_entity_types: tuple[str, ...]
    attestations: tuple[str, ...]
    exclusions: tuple[tuple[str, str], ...]  # exclusion measure -> the required base measure it stands in for
    base: int
    decile_width: int
    minimum_percent: int  # a rate above 0 % and below this whole percent counts as it
    registry_points: int
    cehrt_measure: str
    cehrt_points: int
    maximum: int
    sets: tuple[tuple[str, tuple[AciMeasure, ...]], ...]  # (name, measures sorted by ID), the standard set first
    ids: tuple[str, ...]  # every measure ID the rulebook names or CMS's data lists: the input columns
    year: int

    def at(self, measure: str) -> int:
        return self.ids.index(measure)


def _sets(book: Rulebook, p: Precision) -> tuple[tuple[str, tuple[AciMeasure, ...]], ...]:
    marker, common = book.value("pi.transition_set_marker"), set(book.value("pi.common_categories"))
    registry = book.value("pi.registry_bonus")["category"]
    members: dict[str, list[AciMeasure]] = {STANDARD: [], marker: []}
    for measure, meta in sorted(book.reference.pi.items()):
        category = meta.get("reportingCategory")
        if category in common:
            continue
        weight = p.fixed(meta.get("weight") or 0)
        members[marker if marker in (meta.get("measureSets") or []) else STANDARD].append(AciMeasure(
            measure, weight, bool(meta.get("isRequired")) and category == REQUIRED_CATEGORY,
            weight != 0 and category in PERFORMANCE_CATEGORIES, category == registry))
    return tuple((name, tuple(measures)) for name, measures in members.items())


def aci_params(book: Rulebook) -> AciParams:
    p = precision(book)
    v = book.value
    if v("pi.set_choice") not in SET_CHOICES:
        raise ValueError(f"pi.set_choice {v('pi.set_choice')!r} is not one of {', '.join(SET_CHOICES)}")
    spec, cehrt = v("pi.performance_points"), v("pi.cehrt_bonus")
    exclusions = tuple(v("pi.base_exclusions").items())
    named = [*v("pi.required_attestations"), *(x for pair in exclusions for x in pair), cehrt["measure"]]
    return AciParams(
        precision=p, allowed_entity_types=tuple(v("pi.allowed_entity_types")),
        attestations=tuple(v("pi.required_attestations")), exclusions=exclusions, base=p.fixed(v("pi.base_score")),
        decile_width=p.fixed(spec["decile_width"]), minimum_percent=spec["minimum_percent_above_zero"],
        registry_points=p.fixed(v("pi.registry_bonus")["points"]), cehrt_measure=cehrt["measure"],
        cehrt_points=p.fixed(cehrt["points"]), maximum=p.fixed(v("pi.maximum_points")), sets=_sets(book, p),
        ids=tuple(dict.fromkeys([*named, *sorted(book.reference.pi)])), year=book.year,
    )


def _first(xp: Any, zero: tuple[Any, Any], failed: Any, code: Any, subject: int = -1) -> tuple[Any, Any]:
    """The zero reason and subject, set by ``failed`` unless an earlier check already set them."""
    reason, who = zero
    hit = (reason == NONE) & failed
    return xp.where(hit, code, reason), xp.where(hit, subject, who)


def _gate(xp: Any, e: Mapping[str, Any], p: AciParams) -> tuple[Any, Any]:
    """The checks before a measure set is scored: data, then each required attestation attested yes."""
    zero = _first(xp, (NONE, -1), xp.not_(e["sets"]), NOT_SUBMITTED)
    for name in p.attestations:
        code = xp.where(e[f"{name}:present"], ATTESTATION_NO, ATTESTATION_MISSING)
        zero = _first(xp, zero, xp.not_(e[f"{name}:yes"]), code, p.at(name))
    return zero


def _measure(xp: Any, e: Mapping[str, Any], p: AciParams, m: AciMeasure) -> tuple[Any, Any]:
    """A measure's decile (-1 unless given as counts) and points: the decile of its rate, rounded to a whole percent
    half up, times weight / 10; a yes/no measure earns its weight on yes."""
    num, den, rate = e[f"{m.id}:num"], e[f"{m.id}:den"], e[f"{m.id}:rate"]
    whole = xp.divide(num * 100, xp.maximum(den, 1), 0, "half_up")
    whole = xp.where(num > 0, xp.maximum(whole, p.minimum_percent), whole)
    _, decile = xp.floor_ceil(whole * p.precision.one, p.decile_width)
    decile = xp.where(den > 0, decile, 0)
    points = xp.divide(decile * m.weight, DECILES, 0, p.precision.rounding)
    return xp.where(rate, decile, -1), xp.where(rate, points, xp.where(e[f"{m.id}:yes"], m.weight, 0))


def _score_set(xp: Any, e: Mapping[str, Any], p: AciParams, members: tuple[AciMeasure, ...],
               claimed: Mapping[str, Any]) -> dict[str, Any]:
    """One measure set: base earned (every required base measure reported or excluded), performance, bonuses."""
    out: dict[str, Any] = {}
    missing: Any = 0
    considered: Any = False
    for m in members:
        considered = considered | e[f"{m.id}:present"]
        if m.required:
            reported = e[f"{m.id}:yes"] | (e[f"{m.id}:num"] >= 1)
            out[f"{m.id}:missing"] = xp.not_(reported) & xp.not_(claimed.get(m.id, False))
            missing = missing + out[f"{m.id}:missing"]
    earned = missing == 0
    performance: Any = 0
    registry: Any = False
    for m in members:
        if m.performance:
            decile, points = _measure(xp, e, p, m)
            listed = earned & e[f"{m.id}:present"]
            out.update({f"{m.id}:listed": listed, f"{m.id}:decile": decile, f"{m.id}:points": xp.where(listed, points, 0)})
            performance = performance + out[f"{m.id}:points"]
        if m.registry:
            registry = registry | e[f"{m.id}:yes"]
    registry, cehrt = earned & registry, earned & e[f"{p.cehrt_measure}:yes"]
    bonus = xp.where(registry, p.registry_points, 0) + xp.where(cehrt, p.cehrt_points, 0)
    base = xp.where(earned, p.base, 0)
    out.update({"considered": considered, "earned": earned, "base": base, "performance": performance, "bonus": bonus,
                "registry_bonus": registry, "cehrt_bonus": cehrt, "total": base + performance + bonus})
    return out


def _best(xp: Any, scored: list[dict[str, Any]]) -> Any:
    """The index of the considered set with the highest total (the first on equal totals); -1 for none."""
    best: Any = -1
    best_total: Any = -1
    for index, s in enumerate(scored):
        better = s["considered"] & (s["total"] > best_total)
        best, best_total = xp.where(better, index, best), xp.where(better, s["total"], best_total)
    return best


# What a measure's output is outside the chosen set.
UNCHOSEN = {"listed": False, "missing": False, "decile": -1, "points": 0}
SET_OUTPUTS = {"base": 0, "performance": 0, "bonus": 0, "registry_bonus": False, "cehrt_bonus": False, "earned": False}


def _chosen(xp: Any, scored: list[dict[str, Any]], chosen: Any) -> dict[str, Any]:
    """The chosen set's outputs (each measure belongs to one set: its outputs are kept where its set is chosen)."""
    out: dict[str, Any] = {}
    for index, s in enumerate(scored):
        for key, value in s.items():
            if ":" in key:
                out[key] = xp.where(chosen == index, value, UNCHOSEN[key.rsplit(":", 1)[1]])
    for key, default in SET_OUTPUTS.items():
        out[key] = default
        for index, s in enumerate(scored):
            out[key] = xp.where(chosen == index, s[key], out[key])
    return out


def score(entities: Mapping[str, Any], p: AciParams) -> dict[str, Any]:
    """Score the ACI category of one entity (Python values) or a batch (numpy columns)."""
    e = entities
    xp: Any = ArrayOps if isinstance(e["sets"], np.ndarray) else ScalarOps
    zero = _gate(xp, e, p)
    claimed: dict[str, Any] = {}
    for exclusion, target in p.exclusions:
        claimed[target] = claimed.get(target, False) | e[f"{exclusion}:yes"]
    scored = [_score_set(xp, e, p, members, claimed) for _, members in p.sets]
    best = _best(xp, scored)
    zero = _first(xp, zero, best < 0, NO_SET)
    chosen = xp.where(zero[0] == NONE, best, -1)
    out = _chosen(xp, scored, chosen)
    zero = _first(xp, zero, (chosen >= 0) & xp.not_(out["earned"]), BASE_NOT_EARNED)
    total = out["base"] + out["performance"] + out["bonus"]
    out.update({"set": chosen, "points": total, "percent": xp.minimum(total, p.maximum), "submitted": e["sets"],
                "zero_reason": zero[0], "zero_subject": zero[1]})
    return as_columns(out, e["sets"])

