"""Each category's page of the view model, one builder per scoring mechanism, from the category's trace nodes and its
detail in the result document. A rule is footnoted where it changed a number: a floor, a cap, a credit, an
exclusion, a suppression, a reading no source settles; the rules every measure is scored by are described once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.outputs.view_model import (
    AciDetail,
    ActivityLine,
    BonusLine,
    CategoryView,
    CostDetail,
    CostLine,
    Credit,
    Figure,
    Ground,
    IaDetail,
    MeasureLine,
    NotScoredDetail,
    PiDetail,
    PiLine,
    PublicHealth,
    QualityDetail,
    Reason,
    Source,
)

# the rules every benchmarked quality measure is scored by: footnoted only where they changed its points
ORDINARY_QUALITY = frozenset({"quality.decile_points", "quality.rate_precision", "quality.topped_out_cap",
                              "quality.topped_out_cap_exempt_methods"})
NOT_SCORED = ("suppressed", "excluded")  # a quality measure's status when it is reported but excluded from scoring
BONUS_CAPS = ("quality.bonus_cap_percent", "quality.bonus_conditions")


def _title(s: Source, measure: str) -> str:
    """CMS's name of a Promoting Interoperability (or ACI) measure, on one line; its id when CMS's data has none."""
    return " ".join(str((s.book.reference.pi.get(measure) or {}).get("title") or measure).split())


def _quality_notes(s: Source, node: Mapping[str, Any]) -> tuple[int, ...]:
    rules = [a for a in node["rules"] if a not in ORDINARY_QUALITY]
    if node["reason"] == "floor":
        rules.insert(0, "quality.decile_points")
    if "capped_at" in node["inputs"]:
        rules.append("quality.topped_out_cap")
    return s.notes.cite(*rules)


def _measure(s: Source, m: Mapping[str, Any], counted: int) -> MeasureLine:
    node_id = f"quality.measures.{m['measure_id']}.{m['method']}"
    node = s.node(node_id)
    i = node["inputs"]
    excluded = m["status"] in NOT_SCORED
    points = Figure(None if excluded else m["points"], node_id, _quality_notes(s, node), "suppressed" if excluded else "")
    if m["counted"]:
        why = None
    elif excluded:
        why = Reason("excluded")
    elif m["status"] == "superseded":
        why = Reason("superseded", {"method": i["counted_instead"], "equal_points": i["equal_points"]})
    else:
        why = Reason("not_top", {"counted": counted})
    return MeasureLine(
        id=m["measure_id"], title=m["title"] or "", method=m["method"], points=points,
        bonus=sum(m["bonus"].values()) if m["bonus"] else None, rate=i.get("rate", m["rate"]),
        proportion=(s.book.reference.quality.get(m["measure_id"]) or {}).get("metricType") != "nonProportion",
        completeness=m["completeness"], cases=m["case_count"], decile=i.get("decile"),
        lower=i.get("decile_lower_bound"), upper=i.get("decile_upper_bound"), inverse=bool(i.get("inverse")),
        deciles=tuple(i.get("deciles") or ()), required=bool(m["required"]), reason=Reason(node["reason"], i),
        not_counted=why)


def _bonuses(s: Source) -> tuple[BonusLine, ...]:
    lines = []
    for kind in ("outcome_high_priority", "end_to_end", "small_practice"):
        node = s.nodes.get(f"quality.bonus.{kind}")
        if not node or not node["value"]:
            continue
        capped = node["inputs"].get("earned", 0) > node["value"]
        rules = [a for a in node["rules"] if a not in BONUS_CAPS] + (["quality.bonus_cap_percent"] if capped else [])
        lines.append(BonusLine(kind, s.figure(node["id"], s.notes.cite(*rules)), Reason(node["reason"], node["inputs"])))
    return tuple(lines)


def _quality(s: Source, name: str, detail: Mapping[str, Any]) -> QualityDetail:
    denominator = s.node("quality.denominator")
    counted_ids = s.node("quality.achievement")["inputs"]["counted"]
    measures = [_measure(s, m, denominator["inputs"]["counted_measures"]) for m in detail["measures"]]
    order = {measure: index for index, measure in enumerate(counted_ids)}
    counted = sorted((m for m in measures if m.not_counted is None), key=lambda m: order.get(m.id, len(order)))
    score = s.node("quality.score")
    improvement = s.nodes.get("quality.improvement")
    return QualityDetail(
        score_reason=Reason(score["reason"], score["inputs"]),
        achievement=s.figure("quality.achievement"),
        denominator=s.figure("quality.denominator", s.notes.cite("quality.suppressed_measure_reduction")
                             if denominator["inputs"]["reduced_for"] else ()),
        denominator_reason=Reason(denominator["reason"], denominator["inputs"]),
        bonuses=_bonuses(s),
        improvement=s.figure("quality.improvement", s.notes.cite("quality.improvement")) if improvement else None,
        method=(s.document["rules"].get("quality.decile_points") or {}).get("note") or "",
        counted=tuple(counted),
        bonus_only=tuple(m for m in measures if m.not_counted is not None and m.bonus),
        not_counted=tuple(m for m in measures if m.not_counted is not None and not m.bonus))


def _ia(s: Source, name: str, detail: Mapping[str, Any]) -> IaDetail:
    activities = []
    for a in detail["activities"]:
        node_id = f"ia.activities.{a['id']}"
        node = s.nodes.get(node_id)
        doubled = bool(node and node["inputs"]["doubled_for"])
        activities.append(ActivityLine(a["id"], a["title"] or "", a["weight"],
                                       Figure(a["points"], node_id if node else "",
                                              s.notes.cite("ia.special_status_multiplier") if doubled else ()),
                                       Reason(node["reason"], node["inputs"]) if node else None))
    points = s.node("ia.points")
    rules = (["ia.maximum_points"] if points["inputs"]["activity_points"] > points["value"] else []) + [
        a for a in points["rules"] if a == "ia.full_credit_activities"]
    credit = None
    if s.node(f"{name}.percent")["rules"]:
        address = s.node(f"{name}.percent")["rules"][0]
        credit = Credit(s.figure(f"{name}.credit", s.notes.cite(address)), s.document["rules"][address]["note"] or "")
    return IaDetail(s.figure("ia.points", s.notes.cite(*rules)), points["inputs"]["maximum"], s.figure("ia.score"),
                    tuple(activities), Reason(points["reason"], points["inputs"]), credit)


def _pi_line(s: Source, entry: Mapping[str, Any]) -> PiLine:
    node_id = f"pi.measures.{entry['id']}"
    node = s.node(node_id)
    rules = [a for a in node["rules"] if a in ("pi.exclusions", "pi.minimum_points_with_numerator",
                                                 "pi.bonus_measures")]
    if node["reason"] == "substituted":
        rules.append("pi.measures")
    args = dict(node["inputs"])
    if "by" in args:
        args["by_title"] = _title(s, args["by"])
    return PiLine(entry["id"], _title(s, entry["id"]), entry.get("numerator"), entry.get("denominator"),
                  entry.get("available"), s.figure(node_id, s.notes.cite(*rules)), Reason(node["reason"], args))


def _zero(s: Source, score: Mapping[str, Any]) -> Reason:
    args = dict(score["inputs"])
    if "measure" in args:
        args["measure_title"] = _title(s, args["measure"])
    if "replaces" in args:
        args["replaces_titles"] = [_title(s, m) for m in args["replaces"]]
    return Reason(score["reason"], args)


def _pi(s: Source, name: str, detail: Mapping[str, Any]) -> PiDetail:
    score = s.node("pi.score")
    health = s.nodes.get("pi.measures.public_health")
    public_health = None
    if health:
        bonus = s.nodes.get("pi.measures.public_health_bonus")
        public_health = PublicHealth(
            s.figure(health["id"], s.notes.cite("pi.public_health") if health["inputs"]["exclusions"] else ()),
            tuple(_title(s, m) for m in health["inputs"]["yes"]),
            tuple(_title(s, m) for m in health["inputs"]["exclusions"]),
            s.figure(bonus["id"]) if bonus else None)
    scored = score["reason"] == "points"
    return PiDetail(Figure(score["inputs"]["points"], "pi.score") if scored else None,
                    score["inputs"].get("maximum"), tuple(_pi_line(s, e) for e in detail["measures"]),
                    public_health, None if scored else _zero(s, score))


def _aci(s: Source, name: str, detail: Mapping[str, Any]) -> AciDetail | PiDetail:
    score = s.node("pi.score")
    if "pi.base" not in s.nodes:
        return PiDetail(None, None, (), None, _zero(s, score))
    base, bonus = s.node("pi.base"), s.node("pi.bonus")
    missing = [_title(s, m) for m in base["inputs"]["missing"]]
    return AciDetail(detail["set"], s.figure("pi.base", s.notes.cite("pi.base_score") if missing else ()),
                     Reason(base["reason"], {"missing": missing}), detail["performance"],
                     s.figure("pi.bonus", s.notes.cite(*bonus["rules"]) if bonus["value"] else ()),
                     Reason(bonus["reason"], bonus["inputs"]), score["inputs"]["maximum"],
                     tuple(_pi_line(s, e) for e in detail["measures"]))


def _cost(s: Source, name: str, detail: Mapping[str, Any]) -> CostDetail:
    lines = []
    for m in detail["measures"]:
        node_id = f"cost.measures.{m['measure_id']}"
        node = s.node(node_id)
        i = node["inputs"]
        notes = s.notes.cite("cost.decile_points" if node["reason"] == "floor" else "cost.case_minimums") \
            if node["reason"] in ("floor", "below_case_minimum") else ()
        lines.append(CostLine(m["measure_id"], m["title"] or "", m["score"], m["attributed_cases"], m["case_minimum"],
                              i.get("decile"), i.get("decile_lower_bound"), i.get("decile_upper_bound"),
                              tuple(i.get("deciles") or ()),
                              Figure(node["value"], node_id, notes, "" if node["value"] is not None else "suppressed"),
                              Reason(node["reason"], i)))
    score = s.node("cost.score")
    return CostDetail(tuple(lines), Reason(score["reason"], score["inputs"]))


def _not_scored(s: Source, name: str, detail: Mapping[str, Any]) -> NotScoredDetail:
    node = s.node(f"{name}.score")
    return NotScoredDetail(node["inputs"]["why"], s.notes.cite(*node["rules"]))


BUILDERS: dict[str, tuple[str, Callable[[Source, str, Mapping[str, Any]], Any]]] = {
    "decile_benchmarks": ("quality", _quality),
    "activity_points": ("ia", _ia),
    "measure_points": ("pi", _pi),
    "base_performance_bonus": ("aci", _aci),
    "cost_benchmarks": ("cost", _cost),
    "not_scored": ("not_scored", _not_scored),
}


def category_view(s: Source, name: str) -> CategoryView:
    """Category ``name``'s page: its score, weight and points, and either why it was reweighted or its detail."""
    category = s.document["categories"][name]
    kind, builder = BUILDERS[s.book.mechanisms[name]]
    score = s.node(f"{name}.score")
    rules = list(s.node(f"{name}.percent")["rules"])
    if score["reason"] not in ("points", "set_total", "base_not_earned", "not_submitted") and kind in ("pi", "aci"):
        rules += score["rules"]  # a rule that made the score 0
    grounds: tuple[Ground, ...] = ()
    state, detail = "", None
    if category["reweighted"]:
        state, grounds = "reweighted", s.grounds(name)
    else:
        detail = builder(s, name, category["detail"])
        if isinstance(detail, PiDetail) and kind == "aci":
            kind = "pi"
    return CategoryView(name, kind, category["title"], s.figure(f"{name}.percent", s.notes.cite(*rules), state),
                        s.figure(f"{name}.weight"), s.figure(f"{name}.contribution"), grounds, detail)
